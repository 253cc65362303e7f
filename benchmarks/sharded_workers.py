"""Throughput of sharded output with 1, 2 and 4 worker processes, against one process.

A Llama-style decoder (``sample_configs/llama_7b_decoder.yaml`` with its sizes scaled down to
about ``--gib`` GiB of float32) is written, in the same run and interleaved:

* as one ``.weights.h5`` by one process (the baseline),
* as a sharded ``.weights.json`` set (``--max-shard-size``) with ``--workers`` 1, 2 and 4,
* as sharded safetensors with the same workers,

each a fresh ``initcli`` process; the table gives the median wall time of the repeats, the
throughput (GB/s of tensor bytes) and its ratio to the baseline, and the peak resident memory of
the main process and of the largest worker.  The files go to ``--directory`` (default: a temporary
directory on the same disk as the system's; use a tmpfs to leave the disk out).  Nothing is
asserted: the machine is shared.

    python benchmarks/sharded_workers.py                 # about 2 GiB, 3 repeats
    python benchmarks/sharded_workers.py --gib 0.5 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

MEASURE = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: print('rss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
    " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr))\n"
    "from initcli.cli import main\n"
    "main()\n"
)


def _config(directory: Path, gib: float) -> tuple[Path, int]:
    """The 7B sample with width, feed-forward and vocabulary scaled so the model is about ``gib`` GiB."""
    document = yaml.safe_load((ROOT / "sample_configs" / "llama_7b_decoder.yaml").read_text())
    scale = (gib / 25.1) ** 0.5
    sizes = {32000: int(32000 * scale), 4096: int(4096 * scale) // 32 * 32, 11008: int(11008 * scale), 32: 32}
    sizes[128] = sizes[4096] // 32

    def shrink(value):
        if isinstance(value, dict):
            return {k: ([sizes[n] for n in v] if k == "shape" else shrink(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [shrink(v) for v in value]
        return value

    path = directory / "model.json"
    path.write_text(json.dumps(shrink(document)))
    plan = subprocess.run(
        [sys.executable, "-m", "initcli", "batch", str(path), "--dry-run", "--json"], capture_output=True, check=True
    )
    return path, json.loads(plan.stdout)["total_bytes"]


def _run(config: Path, output: Path, extra: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (KiB) of the main process and of its largest child."""
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            MEASURE,
            "batch",
            str(config),
            "--seed",
            "1",
            "-q",
            "-o",
            str(output),
            "--force",
            *extra,
        ],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    _, main_rss, child_rss = result.stderr.strip().splitlines()[-1].split()
    return wall, int(main_rss), int(child_rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0, help="model size in GiB (float32)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shard", default="256MiB", help="--max-shard-size of the sharded runs")
    parser.add_argument("--directory", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(dir=args.directory, prefix="initcli-bench-"))
    try:
        config, total = _config(work, args.gib)
        cases = {"one .weights.h5, 1 process": (work / "one.weights.h5", [])}
        for kind, name in (("keras sharded", "set.weights.json"), ("safetensors", "set.safetensors")):
            for workers in (1, 2, 4):
                extra = ["--max-shard-size", args.shard, "--workers", str(workers)]
                cases[f"{kind}, {workers} worker{'s' * (workers > 1)}"] = (work / name, extra)
        times: dict[str, list[float]] = {case: [] for case in cases}
        memory: dict[str, tuple[int, int]] = {}
        for _ in range(args.repeats):
            for case, (output, extra) in cases.items():
                wall, main_rss, child_rss = _run(config, output, extra)
                times[case].append(wall)
                memory[case] = max(memory.get(case, (0, 0)), (main_rss, child_rss))
        print(
            f"{total / 2**30:.2f} GiB of float32 tensors, shards of {args.shard}, {os.cpu_count()} CPUs, "
            f"median of {args.repeats}"
        )
        print(f"{'case':34} {'wall s':>8} {'GB/s':>7} {'vs one':>7} {'main MiB':>9} {'worker MiB':>11}")
        base = statistics.median(times["one .weights.h5, 1 process"])
        for case, walls in times.items():
            wall = statistics.median(walls)
            main_rss, child_rss = memory[case]
            print(
                f"{case:34} {wall:8.2f} {total / wall / 1e9:7.3f} {base / wall:7.2f} {main_rss / 1024:9.0f} "
                f"{(child_rss / 1024 if child_rss else 0):11.0f}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
