"""``--workers N``: the shards of a set made by N forked processes, byte for byte the files of one
process; a failing or killed worker, and Ctrl-C, leave nothing behind."""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import dense_config, file_digests, run_subprocess

COUNT_FORKS = (
    "import atexit, os, sys\n"
    "forks = []\n"
    "os.register_at_fork(after_in_parent=lambda: forks.append(1))\n"
    "atexit.register(lambda: print('forks:', len(forks), file=sys.stderr))\n"
    "from initcli.cli import main\n"
    "main()\n"
)


def _config(directory: Path, layers: int = 6, size: int = 256) -> None:
    dense_config(directory, layers, size)


def _digests(directory: Path) -> dict[str, str]:
    return file_digests(directory)


def _run(directory: Path, output: str, workers: int, *extra: str, preexec=None) -> subprocess.CompletedProcess:
    args = ["batch", "c.json", "--seed", "4", "-q", "-o", output, "--max-shard-size", "300KiB", *extra]
    return subprocess.run(
        [sys.executable, "-c", COUNT_FORKS, *args, "--workers", str(workers)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
    )


@pytest.mark.parametrize("output", ["m.weights.json", "m.safetensors"])
def test_any_number_of_workers_writes_the_same_bytes(tmp_path, output):
    results = {}
    for workers in (1, 2, 4):
        directory = tmp_path / f"w{workers}"
        directory.mkdir()
        _config(directory)
        run = _run(directory, output, workers)
        assert run.returncode == 0, run.stderr
        forks = int(run.stderr.strip().splitlines()[-1].split()[-1])
        assert forks == (0 if workers == 1 else workers)  # really forked: 6 shards of 256 KiB
        (directory / "c.json").unlink()
        results[workers] = _digests(directory)
    assert len(results[1]) == 7  # six shards and the index
    assert results[1] == results[2] == results[4]
    assert (
        run_subprocess(["verify", output if output.endswith(".json") else f"{output}.index.json"], directory).exit_code
        == 0
    )


def test_workers_need_a_sharded_output(tmp_path):
    _config(tmp_path)
    result = run_subprocess(["batch", "c.json", "--seed", "1", "-o", "m.weights.h5", "--workers", "2"], tmp_path)
    assert result.exit_code == 2 and "splits the work by shard" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def test_a_failing_worker_is_reported_with_its_shard(tmp_path):
    """A file-size limit below one shard: each worker's first write fails (EFBIG); the error names
    the shard, and nothing is committed."""
    _config(tmp_path)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    run = _run(tmp_path, "m.weights.json", 3, preexec=limit)
    lines = [line for line in run.stderr.strip().splitlines() if not line.startswith("forks:")]
    assert run.returncode == 1 and len(lines) == 1, run.stderr
    assert "worker" in lines[0] and "failed making m_0000" in lines[0] and "File too large" in lines[0]
    assert re.search(r"\(tensor 'd\d/kernel'\)", lines[0]), lines[0]  # and the tensor it was writing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


@pytest.mark.parametrize("how", ["kill-a-worker", "ctrl-c"])
def test_a_killed_worker_or_ctrl_c_leaves_the_previous_set(tmp_path, how):
    _config(tmp_path, layers=6, size=2048)  # 16 MiB shards: a second or two of work
    args = ["batch", "c.json", "--seed", "4", "-q", "-o", "m.weights.json", "--max-shard-size", "16MiB"]
    assert run_subprocess(args, tmp_path).exit_code == 0
    before = _digests(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "initcli", *args[:3], "5", *args[4:], "--force", "--workers", "3"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: (signal.signal(signal.SIGINT, signal.SIG_DFL), os.setpgrp()),
    )
    workers: list[int] = []
    deadline = time.monotonic() + 30
    while len(workers) < 3 and time.monotonic() < deadline and process.poll() is None:
        workers = _children(process.pid)
        time.sleep(0.02)
    assert len(workers) >= 3, "the workers never started"
    time.sleep(0.3)
    if how == "kill-a-worker":
        os.kill(workers[0], signal.SIGKILL)
    else:
        os.killpg(process.pid, signal.SIGINT)  # the terminal's Ctrl-C reaches the whole group
    _, stderr = process.communicate(timeout=60)
    lines = stderr.decode().strip().splitlines()
    if how == "kill-a-worker":
        assert process.returncode == 1 and "a worker process died (signal 9)" in lines[-1], lines
    else:
        assert process.returncode == 130 and lines[-1] == "initcli: error: interrupted", lines
    assert _digests(tmp_path) == before
    assert all(not Path(f"/proc/{pid}").exists() or _zombie(pid) for pid in workers)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True
