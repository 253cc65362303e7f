"""Generate golden vectors for ``--backend jax|tensorflow`` from the real Keras 3.

The Keras backend is fixed per process, so run this script once per backend,
in an environment that has ``keras==3.15.1`` and that backend installed::

    KERAS_BACKEND=jax JAX_PLATFORMS=cpu python tests/golden/make_backend_golden.py
        -> writes tests/golden/backend_jax.json

    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 python tests/golden/make_backend_golden.py
        -> writes tests/golden/backend_tensorflow.json

``JAX_PLATFORMS=cpu`` and ``TF_CPP_MIN_LOG_LEVEL=3`` are set by default if
absent.  ``--output PATH`` writes elsewhere (e.g. to check that two runs give
identical files).

File format: one JSON object (keys sorted) with the versions of Keras, the
backend, NumPy and the platform, and ``cases``, a list with one case per line.
Each case records ``class_name``, ``config`` (the keyword arguments given to the
initializer class, without ``seed``), ``seed``, ``draw``, ``shape`` and the
requested ``dtype``, and either ``error`` ("<ExceptionType>: <first line>") or:

* ``returned_dtype``: the dtype of the array Keras returned;
* ``sha256``: of ``np.ascontiguousarray(value).tobytes()`` in that dtype;
* ``head`` / ``tail``: hex of the bytes of the first / last ``min(n, 16)`` elements;
* ``values``: hex of all bytes, only when ``n <= 256``.

``draw == 0`` means the initializer was given the integer seed and called once.
``draw == k > 0`` means it was given ``keras.random.SeedGenerator(seed)`` and
called ``k + 1`` times; the last result is recorded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

KERAS_VERSION = "3.15.1"
BACKENDS = ("jax", "tensorflow")

SEEDS = (0, 1, 42, 12345, 2**31 - 2, 2**31 - 1, 2**31, 2**32 - 1, 987654321)

SHAPES = (
    (),
    (1,),
    (3,),
    (7,),
    (13, 5),
    (784, 64),
    (3, 5, 7),
    (3, 3, 16, 32),
    (2, 3, 3, 4, 5),
    (1000,),
    (1025,),
    (5, 5, 3, 64),
    (1, 1, 1, 1, 3),
    (0, 5),
)
ORTHOGONAL_SHAPES = tuple(s for s in SHAPES if len(s) >= 2)

# (class name, config) in a fixed order.
INITIALIZERS: tuple[tuple[str, dict], ...] = (
    ("RandomUniform", {}),
    ("RandomUniform", {"minval": -1.0, "maxval": 3.0}),
    ("RandomNormal", {}),
    ("RandomNormal", {"mean": 0.5, "stddev": 2.0}),
    ("TruncatedNormal", {}),
    ("TruncatedNormal", {"mean": -1.0, "stddev": 0.3}),
    ("GlorotUniform", {}),
    ("GlorotNormal", {}),
    ("HeUniform", {}),
    ("HeNormal", {}),
    ("LecunUniform", {}),
    ("LecunNormal", {}),
    *(
        ("VarianceScaling", {"scale": 1.0, "mode": mode, "distribution": dist})
        for mode in ("fan_in", "fan_out", "fan_avg")
        for dist in ("truncated_normal", "untruncated_normal", "uniform")
    ),
    ("VarianceScaling", {"scale": 0.1, "mode": "fan_avg", "distribution": "truncated_normal"}),
    ("Orthogonal", {"gain": 1.0}),
    ("Orthogonal", {"gain": 0.5}),
)

# Seeds per (initializer, shape) in the float32 grid; seeds rotate through SEEDS.
SEEDS_PER_SHAPE = 2

# Every seed on one small shape, for these classes (covers seed reduction/collisions).
ALL_SEEDS_CLASSES = (
    ("RandomUniform", {}),
    ("RandomNormal", {}),
    ("TruncatedNormal", {}),
    ("HeNormal", {}),
)
ALL_SEEDS_SHAPE = (13, 5)

# Extra dtypes, on a few shapes and seeds.
EXTRA_DTYPES = ("float16", "float64")
EXTRA_DTYPE_CLASSES = (
    ("RandomUniform", {}),
    ("RandomNormal", {}),
    ("TruncatedNormal", {}),
    ("GlorotUniform", {}),
    ("HeNormal", {}),
    ("VarianceScaling", {"scale": 1.0, "mode": "fan_in", "distribution": "untruncated_normal"}),
)
EXTRA_DTYPE_SHAPES = ((7,), (13, 5), (5, 5, 3, 64))
EXTRA_DTYPE_SEEDS = (1, 2**31, 2**32 - 1)

# SeedGenerator draws (float32).
DRAW_CLASSES = (
    ("RandomUniform", {}),
    ("RandomNormal", {}),
    ("TruncatedNormal", {}),
)
DRAW_SHAPES = ((13, 5), (784, 64))
DRAW_SEEDS = (1, 2**31 - 1, 2**32 - 1)
DRAWS = (1, 2, 5)

# Large cases, appended after all others so that adding them left earlier lines
# unchanged.  They cross initcli's internal boundaries: chunks of 2**21 elements
# and the lookup-table path from 2**22 elements on ((1500, 1500) has 2_250_000
# elements, (2048, 2049) has 4_196_352).
LARGE_CLASSES = (
    ("RandomUniform", {}),
    ("RandomNormal", {"mean": 0.5, "stddev": 2.0}),
    ("TruncatedNormal", {}),
    ("GlorotUniform", {}),
    ("HeNormal", {}),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_in", "distribution": "untruncated_normal"}),
)
LARGE_SHAPES = ((1500, 1500), (2048, 2049))
LARGE_SEEDS = (3, 2**32 - 1)
LARGE_DTYPE_CLASSES = (
    ("RandomUniform", {}),
    ("RandomNormal", {}),
    ("TruncatedNormal", {}),
)
LARGE_DTYPE_SHAPE = (1500, 1500)
LARGE_DTYPE_SEED = 5
# (class name, config, seed, draw, shape), float32.
LARGE_DRAW_CASES = (("TruncatedNormal", {}, 9, 2, (1500, 1500)),)

EDGE = 16
VALUES_MAX = 256


def case_grid() -> list[dict]:
    """All cases (without results), in a deterministic order, without duplicates."""
    cases: list[dict] = []
    slot = 0
    for name, config in INITIALIZERS:
        shapes = ORTHOGONAL_SHAPES if name == "Orthogonal" else SHAPES
        for shape in shapes:
            for _ in range(SEEDS_PER_SHAPE):
                cases.append(_case(name, config, SEEDS[slot % len(SEEDS)], 0, shape, "float32"))
                slot += 1
    for name, config in ALL_SEEDS_CLASSES:
        for seed in SEEDS:
            cases.append(_case(name, config, seed, 0, ALL_SEEDS_SHAPE, "float32"))
    for name, config in EXTRA_DTYPE_CLASSES:
        for dtype in EXTRA_DTYPES:
            for shape in EXTRA_DTYPE_SHAPES:
                for seed in EXTRA_DTYPE_SEEDS:
                    cases.append(_case(name, config, seed, 0, shape, dtype))
    for name, config in DRAW_CLASSES:
        for shape in DRAW_SHAPES:
            for seed in DRAW_SEEDS:
                for draw in DRAWS:
                    cases.append(_case(name, config, seed, draw, shape, "float32"))
    for name, config in LARGE_CLASSES:
        for shape in LARGE_SHAPES:
            for seed in LARGE_SEEDS:
                cases.append(_case(name, config, seed, 0, shape, "float32"))
    for dtype in EXTRA_DTYPES:
        for name, config in LARGE_DTYPE_CLASSES:
            cases.append(_case(name, config, LARGE_DTYPE_SEED, 0, LARGE_DTYPE_SHAPE, dtype))
    for name, config, seed, draw, shape in LARGE_DRAW_CASES:
        cases.append(_case(name, config, seed, draw, shape, "float32"))

    seen: set[str] = set()
    unique = []
    for case in cases:
        key = json.dumps(case, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(case)
    return unique


def _case(name: str, config: dict, seed: int, draw: int, shape: tuple, dtype: str) -> dict:
    return {
        "class_name": name,
        "config": dict(config),
        "seed": seed,
        "draw": draw,
        "shape": list(shape),
        "dtype": dtype,
    }


def run_case(keras, np, case: dict, warning_counts: Counter) -> dict:
    """Call the real Keras initializer for ``case`` and return the case with its results."""
    cls = getattr(keras.initializers, case["class_name"])
    shape = tuple(case["shape"])
    out = dict(case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if case["draw"] == 0:
                init = cls(seed=case["seed"], **case["config"])
                value = init(shape, dtype=case["dtype"])
            else:
                gen = keras.random.SeedGenerator(case["seed"])
                init = cls(seed=gen, **case["config"])
                for _ in range(case["draw"] + 1):
                    value = init(shape, dtype=case["dtype"])
            value = np.asarray(keras.ops.convert_to_numpy(value))
        except Exception as exc:
            first_line = (str(exc).strip().splitlines() or [""])[0]
            out["error"] = f"{type(exc).__name__}: {first_line}"
            value = None
    for w in caught:
        first_line = (str(w.message).strip().splitlines() or [""])[0]
        warning_counts[(w.category.__name__, first_line, case["dtype"])] += 1
    if value is None:
        return out

    value = np.ascontiguousarray(value)
    flat = value.reshape(-1)
    n = flat.size
    k = min(n, EDGE)
    out["returned_dtype"] = str(value.dtype)
    out["sha256"] = hashlib.sha256(value.tobytes()).hexdigest()
    out["head"] = flat[:k].tobytes().hex()
    out["tail"] = flat[n - k :].tobytes().hex()
    if n <= VALUES_MAX:
        out["values"] = flat.tobytes().hex()
    return out


def render(document: dict) -> str:
    """Sorted-keys JSON with each case on its own line."""
    parts = []
    for key in sorted(document):
        if key == "cases":
            lines = ",\n".join(json.dumps(c, sort_keys=True) for c in document["cases"])
            value = f"[\n{lines}\n]"
        else:
            value = json.dumps(document[key], sort_keys=True)
        parts.append(f"{json.dumps(key)}: {value}")
    text = "{" + ", ".join(parts) + "}\n"
    if json.loads(text) != document:
        raise AssertionError("rendered JSON does not round-trip")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="where to write (default tests/golden/backend_<backend>.json)")
    args = parser.parse_args(argv)

    backend = os.environ.get("KERAS_BACKEND")
    if backend not in BACKENDS:
        parser.error(f"set KERAS_BACKEND to one of {', '.join(BACKENDS)} (got {backend!r})")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import keras
    import numpy as np

    if keras.__version__ != KERAS_VERSION:
        parser.error(f"need keras {KERAS_VERSION}, found {keras.__version__}")
    if keras.backend.backend() != backend:
        parser.error(f"keras runs on {keras.backend.backend()!r}, not {backend!r}")
    if backend == "jax":
        import jax

        backend_version = jax.__version__
    else:
        import tensorflow as tf

        backend_version = tf.__version__

    output = args.output or Path(__file__).with_name(f"backend_{backend}.json")
    start = time.perf_counter()
    warning_counts: Counter = Counter()
    cases = [run_case(keras, np, case, warning_counts) for case in case_grid()]
    document = {
        "keras": keras.__version__,
        "backend": backend,
        "backend_version": backend_version,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cases": cases,
    }
    output.write_text(render(document))

    elapsed = time.perf_counter() - start
    errors = sum("error" in c for c in cases)
    print(f"{output}: {len(cases)} cases, {errors} errors, {elapsed:.1f}s", file=sys.stderr)
    returned = Counter((c["dtype"], c.get("returned_dtype", "error")) for c in cases)
    for (requested, got), count in sorted(returned.items()):
        print(f"  requested {requested} -> {got}: {count}", file=sys.stderr)
    for (category, message, dtype), count in sorted(warning_counts.items()):
        print(f"  warning x{count} ({dtype}) {category}: {message}", file=sys.stderr)
    for error, count in sorted(Counter(c["error"] for c in cases if "error" in c).items()):
        print(f"  error x{count}: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
