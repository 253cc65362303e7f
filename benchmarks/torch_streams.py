"""How fast the torch stream is, against NumPy's own normal sampler.

For each initializer, dtype and size this samples the whole tensor with
``initcli.sample(..., backend="torch")`` and, interleaved in the same run,
times ``numpy.random.default_rng().standard_normal(n, dtype)`` for the same
element count; it prints the median times and their ratio (issue 13's target:
at most 3 from 2**20 elements).  Nothing is asserted: the machine is shared.

    python benchmarks/torch_streams.py            # sizes 2**16 .. 2**24, 5 repeats
    python benchmarks/torch_streams.py --quick    # sizes 2**16 .. 2**20, 3 repeats

float64 normals use the C library's ``log``/``sin``/``cos``: NumPy's vector
versions where they agree with it (AVX2 machines), else ``math``'s, element by
element, which is far slower (AVX-512 NumPy builds); the header says which.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import numpy as np

import initcli
from initcli.backends.tf_streams import numpy_matches_the_c_library
from initcli.parallel import workers

CASES = ["random_uniform", "random_normal", "truncated_normal", "glorot_normal"]


def _time(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 2**20, 3 repeats")
    args = parser.parse_args()
    sizes = [2**k for k in range(16, 21 if args.quick else 25, 2)]
    repeats = 3 if args.quick else 5
    print(f"threads {workers()}; float64 libm through NumPy: {numpy_matches_the_c_library()}")
    print(f"{'initializer':18} {'dtype':8} {'n':>9} {'torch s':>9} {'numpy s':>9} {'ratio':>6}")
    for dtype in ("float32", "float64"):
        for name in CASES:
            for n in sizes:
                sample = functools.partial(initcli.sample, name, (n // 64, 64), dtype=dtype, seed=1, backend="torch")
                ours = _time(sample, repeats)
                normal = functools.partial(np.random.default_rng(1).standard_normal, n, dtype=np.dtype(dtype))
                base = _time(normal, repeats)
                a, b = statistics.median(ours), statistics.median(base)
                print(f"{name:18} {dtype:8} {n:>9} {a:>9.4f} {b:>9.4f} {a / b:>6.1f}")


if __name__ == "__main__":
    main()
