"""Golden vectors for JAX's float16 where XLA:CPU computes float16 natively (AVX512-FP16).

``tests/golden/backend_jax.json`` holds Keras-on-JAX float16 numbers as XLA:CPU
computes them on CPUs without AVX512-FP16 (each float16 operation rounded);
this script records them on a CPU with AVX512-FP16, where XLA fuses
``f·(high - low) + low`` into one float16 FMA (see
``initcli/backends/jax_native_half.py``).  Run it on such a CPU::

    KERAS_BACKEND=jax JAX_PLATFORMS=cpu python tests/golden/make_native_half_golden.py
        -> writes tests/golden/backend_jax_native_half.json

It refuses to run where XLA would not compute float16 natively (no
``avx512_fp16`` in ``/proc/cpuinfo``, or ``XLA_FLAGS`` limiting
``--xla_cpu_max_isa``).  Same file format as ``make_backend_golden.py``, plus
``cpu_flags`` (the ``/proc/cpuinfo`` flags that matter here) and ``xla_flags``.
Cases: float16 for every random initializer but Orthogonal on every shape of
``make_backend_golden.SHAPES`` (two seeds each), the float16 cases of that
script (dtype grid and 2.25M-element tensors), float16 ``SeedGenerator``
draws, and a few float32 cases (which this CPU does not change).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

import make_backend_golden as base  # this directory is on sys.path when run as a script

from initcli.backends import jax_native_half

DRAW_CASES = [
    base._case(name, config, seed, draw, (13, 5), "float16")
    for name, config in base.DRAW_CLASSES
    for seed in (1, 2**32 - 1)
    for draw in (1, 2)
]
FLOAT32_CASES = [
    base._case(name, config, 7, 0, (13, 5), "float32")
    for name, config in (("RandomUniform", {}), ("TruncatedNormal", {}), ("GlorotUniform", {}))
]
FLAGS_RECORDED = ("avx512f", "avx512_fp16", "f16c", "fma")


def case_grid() -> list[dict]:
    """The cases, in a deterministic order, without duplicates."""
    cases: list[dict] = []
    slot = 0
    for name, config in base.INITIALIZERS:
        if name == "Orthogonal":
            continue
        for shape in base.SHAPES:
            for _ in range(2):
                cases.append(base._case(name, config, base.SEEDS[slot % len(base.SEEDS)], 0, shape, "float16"))
                slot += 1
    cases += [case for case in base.case_grid() if case["dtype"] == "float16"]
    cases += DRAW_CASES + FLOAT32_CASES
    unique: dict[str, dict] = {}
    for case in cases:
        unique.setdefault(json.dumps(case, sort_keys=True), case)
    return list(unique.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("backend_jax_native_half.json"))
    args = parser.parse_args(argv)
    if os.environ.get("KERAS_BACKEND") != "jax":
        parser.error("set KERAS_BACKEND=jax")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if not jax_native_half.this_machine_is_native():
        parser.error("XLA:CPU does not compute float16 natively here (needs avx512_fp16, no --xla_cpu_max_isa<=AVX2)")
    flags = jax_native_half.cpu_flags(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))

    import jax
    import keras
    import numpy as np

    if keras.__version__ != base.KERAS_VERSION or keras.backend.backend() != "jax":
        parser.error(f"need keras {base.KERAS_VERSION} on jax, found {keras.__version__} on {keras.backend.backend()}")
    start = time.perf_counter()
    warning_counts: Counter = Counter()
    cases = [base.run_case(keras, np, case, warning_counts) for case in case_grid()]
    document = {
        "keras": keras.__version__,
        "backend": "jax",
        "backend_version": jax.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_flags": sorted(flag for flag in FLAGS_RECORDED if flag in flags),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "cases": cases,
    }
    args.output.write_text(base.render(document))
    errors = sum("error" in c for c in cases)
    print(f"{args.output}: {len(cases)} cases, {errors} errors, {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
