"""Make tests/golden/backend_torch_half.json: float16 and bfloat16 tensors of Keras 3.15.1 on torch 2.13.0+cpu.

Run with a Python that has torch 2.13.0 and keras 3.15.1 (no initcli needed)::

    KERAS_BACKEND=torch KERAS_TORCH_DEVICE=cpu python tests/golden/make_backend_torch_half.py

Each case is ``[class_name, config, shape, seed, draw, dtype, sha256-prefix]``: the bytes of
``keras.initializers.<class_name>(seed=..., **config)(shape, dtype=dtype)`` (``draw`` k: the
(k+1)-th call of the initializer built with ``seed=keras.random.SeedGenerator(seed)``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import keras
import numpy as np
import torch

CONFIGS = [
    ("RandomUniform", {}),
    ("RandomUniform", {"minval": -3.0, "maxval": 0.5}),
    ("RandomNormal", {}),
    ("RandomNormal", {"mean": 0.3, "stddev": 2.5}),
    ("TruncatedNormal", {}),
    ("TruncatedNormal", {"mean": 0.3, "stddev": 0.05}),
    ("GlorotNormal", {}),
    ("GlorotUniform", {}),
    ("HeNormal", {}),
    ("LecunUniform", {}),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "untruncated_normal"}),
]
SHAPES = [(1,), (3,), (5,), (15,), (16,), (17,), (31,), (33,), (7, 9), (3, 3, 4, 5), (2049,)]
SEEDS = [(0, 0), (1, 0), (2**31 - 1, 0), (2**32 - 1, 0), (5, 2)]
DTYPES = ["float16", "bfloat16"]


def main() -> None:
    assert keras.backend.backend() == "torch" and torch.__version__.startswith("2.13.0"), "run under torch 2.13"
    cases = []
    for dtype, name, config, shape, (seed, draw) in (
        (d, n, c, sh, sd) for d in DTYPES for n, c in CONFIGS for sh in SHAPES for sd in SEEDS
    ):
        keras_seed = seed - 2**32 if seed >= 2**31 else seed  # Keras on torch: int32 seeds
        if draw:
            init = getattr(keras.initializers, name)(seed=keras.random.SeedGenerator(keras_seed), **config)
            for _ in range(draw):
                init(shape, dtype=dtype)
        else:
            init = getattr(keras.initializers, name)(seed=keras_seed, **config)
        values = keras.ops.convert_to_numpy(init(shape, dtype=dtype))
        assert values.dtype.name == dtype, values.dtype
        sha = hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:16]
        cases.append([name, config, list(shape), seed, draw, dtype, sha])
    out = {
        "about": "float16 and bfloat16 initializers of Keras 3.15.1 on torch 2.13.0+cpu (KERAS_TORCH_DEVICE=cpu); "
        "made by tests/golden/make_backend_torch_half.py",
        "torch": torch.__version__,
        "keras": keras.__version__,
        "capability": torch.backends.cpu.get_cpu_capability(),
        "cases": cases,
    }
    path = Path(__file__).with_name("backend_torch_half.json")
    path.write_text(json.dumps(out, indent=0) + "\n")
    print(f"wrote {path}: {len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
