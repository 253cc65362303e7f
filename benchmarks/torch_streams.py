"""How fast the torch streams are, against NumPy's own normal sampler.

For each stream (uniform, normal, truncated normal with Keras's default
parameters), dtype (float32, float64), size (2**20, 2**24 elements) and thread
count (1 and 2, set through the CPU affinity that :func:`initcli.parallel.workers`
reads), this draws the whole stream chunk by chunk (the chunks are dropped, so
memory stays at a few chunks) and, interleaved in the same run, times
``numpy.random.default_rng().standard_normal(n, dtype)`` on the same element
count and dtype.  It prints median wall times of several repeats and their
ratio (the target: at most 3 from 2**20 elements), the same for CPU time (all
threads of the process: less sensitive to other load on a shared machine, and
with 2 threads about twice the wall time when both cores are free), then the
peak memory NumPy allocated while drawing 2**24 elements once.  Nothing is
asserted: the machine is shared and noisy, hence the medians.

    python benchmarks/torch_streams.py              # 2**20 and 2**24, 7 and 3 repeats
    python benchmarks/torch_streams.py --quick      # 2**20 only, 5 repeats
    python benchmarks/torch_streams.py --kinds normal --dtypes float64

float64 normals need the C library's ``log``/``sin``/``cos``; the header says
whether NumPy's own agree with it here (else :mod:`initcli.backends.libm64`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from initcli.backends import torch_streams
from initcli.parallel import workers

STREAMS: dict[str, tuple[Callable, float, float]] = {
    "uniform": (torch_streams.uniform_chunks, -0.05, 0.05),
    "normal": (torch_streams.normal_chunks, 0.0, 0.05),
    "truncated": (torch_streams.truncated_normal_chunks, 0.0, 0.05),
}


def _drain(kind: str, n: int, dtype: np.dtype) -> None:
    chunks, a, b = STREAMS[kind]
    for _ in chunks(n, a, b, dtype, 1):
        pass


def _timed(function: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def _peak_mib(kind: str, n: int, dtype: np.dtype) -> float:
    tracemalloc.start()
    _drain(kind, n, dtype)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def _ops_status() -> str:
    try:
        from initcli.backends import libm64

        return libm64.describe()
    except ImportError:
        from initcli.backends.tf_streams import numpy_matches_the_c_library

        return f"NumPy's float64 log/sin/cos are the C library's: {numpy_matches_the_c_library()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2**20 only, 5 repeats")
    parser.add_argument("--kinds", nargs="+", default=list(STREAMS), choices=list(STREAMS))
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--threads", nargs="+", type=int, default=None, help="thread counts (default 1 and all)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory pass")
    args = parser.parse_args()
    sizes = [(2**20, 5)] if args.quick else [(2**20, 7), (2**24, 3)]
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    counts = args.threads or sorted({1, workers()})
    print(_ops_status())
    print(
        f"{'stream':10} {'dtype':8} {'n':>9} {'thr':>3} {'torch s':>8} {'numpy s':>8} {'ratio':>6}"
        f" {'cpu s':>8} {'np cpu':>8} {'cpu ratio':>9}"
    )
    for threads in counts:
        if cpus:
            os.sched_setaffinity(0, cpus[:threads])
        for dtype in map(np.dtype, args.dtypes):
            for kind in args.kinds:
                for n, repeats in sizes:
                    _drain(kind, min(n, 2**16), dtype)  # warm up: tables, thread pool, allocator
                    ours, base = [], []
                    rng = np.random.default_rng(1)
                    for _ in range(repeats):  # interleaved, so both see the same load
                        ours.append(_timed(lambda: _drain(kind, n, dtype)))  # noqa: B023
                        base.append(_timed(lambda: rng.standard_normal(n, dtype=dtype)))  # noqa: B023
                    (a, ac), (b, bc) = (tuple(map(statistics.median, zip(*t, strict=True))) for t in (ours, base))
                    print(
                        f"{kind:10} {dtype.name:8} {n:>9} {workers():>3} {a:>8.4f} {b:>8.4f} {a / b:>6.2f}"
                        f" {ac:>8.4f} {bc:>8.4f} {ac / bc:>9.2f}",
                        flush=True,
                    )
    if cpus:
        os.sched_setaffinity(0, cpus)
    if not args.no_memory:
        n = 2**20 if args.quick else 2**24
        for dtype in map(np.dtype, args.dtypes):
            for kind in args.kinds:
                print(f"peak NumPy memory, {kind} {dtype.name} n={n}: {_peak_mib(kind, n, dtype):.1f} MiB", flush=True)


if __name__ == "__main__":
    main()
