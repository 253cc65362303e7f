"""How fast the jax and tensorflow streams are, against NumPy's own normal sampler.

For each backend stream, initializer and size this samples the whole tensor
with ``initcli.sample(..., backend=...)`` (float32, into one array, as Keras
returns it) and, interleaved in the same run, times
``numpy.random.default_rng().standard_normal(n, dtype=numpy.float32)`` for
the same element count; it prints the median times and their ratio.  The
target for the jax and tensorflow streams is a ratio of at most 3.  Nothing
here asserts a time: the machine is shared and noisy; read the ratios.

    python benchmarks/backend_streams.py             # sizes 2**16 .. 2**26, 5 repeats
    python benchmarks/backend_streams.py --quick     # sizes 2**16 .. 2**22, 3 repeats
    python benchmarks/backend_streams.py --json      # one JSON document on stdout

JAX normals of large tensors come from a table cached on disk (see the
README); ``--cold`` first empties a private cache directory, so the first
repeat of each JAX normal case includes building the table (the median
hides it; the ``first`` column shows it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

import initcli
from initcli.backends import tables
from initcli.parallel import workers

CASES = [
    ("jax", "random_uniform"),
    ("jax", "random_normal"),
    ("jax", "glorot_normal"),
    ("tensorflow", "random_uniform"),
    ("tensorflow", "random_normal"),
    ("tensorflow", "glorot_normal"),
    ("numpy", "random_normal"),
    ("numpy", "glorot_normal"),
]


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(backend: str, name: str, n: int, repeats: int) -> dict:
    shape = (n // 1024, 1024) if n >= 1024 else (n,)
    ours, numpy_times = [], []
    for repeat in range(repeats):
        ours.append(_timed(lambda seed=1 + repeat: initcli.sample(name, shape, seed=seed, backend=backend)))
        rng = np.random.default_rng(repeat)
        numpy_times.append(_timed(lambda rng=rng: rng.standard_normal(n, dtype=np.float32)))
    mine, base = statistics.median(ours), statistics.median(numpy_times)
    return {
        "backend": backend,
        "initializer": name,
        "elements": n,
        "seconds": mine,
        "first_seconds": ours[0],
        "numpy_standard_normal_seconds": base,
        "ratio": mine / base,
        "ns_per_element": mine / n * 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 2**22, 3 repeats")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    parser.add_argument("--cold", action="store_true", help="start from an empty JAX table cache")
    parser.add_argument("--only", action="append", default=[], help="backend or initializer to run (repeatable)")
    args = parser.parse_args()
    if args.cold:
        os.environ["INITCLI_CACHE_DIR"] = tempfile.mkdtemp(prefix="initcli-bench-cache-")
        tables.forget()
    sizes = [1 << 16, 1 << 20, 1 << 22] if args.quick else [1 << 16, 1 << 20, 1 << 22, 1 << 24, 1 << 26]
    repeats = 3 if args.quick else 5
    rows = []
    if not args.json:
        print(f"numpy {np.__version__}, {workers()} threads; ratio = initcli time / numpy standard_normal time")
        print(
            f"{'backend':<11}{'initializer':<16}{'elements':>10}{'initcli':>10}{'first':>10}{'numpy':>10}{'ratio':>7}"
        )
    for backend, name in CASES:
        if args.only and backend not in args.only and name not in args.only:
            continue
        for n in sizes:
            row = measure(backend, name, n, repeats)
            rows.append(row)
            if not args.json:
                print(
                    f"{backend:<11}{name:<16}{n:>10}{row['seconds']:>9.3f}s{row['first_seconds']:>9.3f}s"
                    f"{row['numpy_standard_normal_seconds']:>9.3f}s{row['ratio']:>7.2f}",
                    flush=True,
                )
    if args.json:
        json.dump({"numpy": np.__version__, "threads": workers(), "rows": rows}, sys.stdout, indent=1)
        sys.stdout.write("\n")


if __name__ == "__main__":
    main()
