"""``--resume``: a rerun after a crash keeps the shards the crashed run finished (checked by digest)
and makes only the rest; the set is the one an uninterrupted run writes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import run_subprocess

RESUME = ".m.weights.json.initcli-resume"


def _config(directory: Path) -> None:
    spec = [
        {"name": f"d{i}", "class": "Dense", "weights": {"kernel": {"shape": [1024, 1024], "initializer": "he_normal"}}}
        for i in range(10)
    ]
    (directory / "c.json").write_text(json.dumps({"layers": spec}))


def _args(seed: int = 1, *extra: str) -> list[str]:
    return ["batch", "c.json", "--seed", str(seed), "-q", "-o", "m.weights.json", "--max-shard-size", "4MiB", *extra]


def _digests(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != "c.json"
    }


def _crash_after(directory: Path, finished: int, *extra: str) -> dict[int, int]:
    """Start a resumable run, SIGKILL it once ``finished`` parts have digests; their inodes."""
    process = subprocess.Popen([sys.executable, "-m", "initcli", *_args(1, "--resume", *extra)], cwd=directory)
    store = directory / RESUME
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        done = sorted(p for p in store.glob("*.sha256") if p.name != "run.sha256") if store.is_dir() else []
        if len(done) >= finished:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    kept = {}
    for digest in store.glob("*.sha256"):
        if digest.name != "run.sha256":
            number = int(digest.name.split(".")[0])
            kept[number] = (store / f"{number:05}.part").stat().st_ino
    assert len(kept) >= finished and not (directory / "m.weights.json").exists()
    return kept


@pytest.fixture
def fresh(tmp_path):
    """The set an uninterrupted run writes, as digests."""
    directory = tmp_path / "fresh"
    directory.mkdir()
    _config(directory)
    assert run_subprocess(_args(), directory).exit_code == 0
    return _digests(directory)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_rerun_keeps_what_the_crashed_run_finished(tmp_path, fresh, workers):
    _config(tmp_path)
    kept = _crash_after(tmp_path, 3, "--workers", workers)
    result = run_subprocess(_args(1, "--resume", "--workers", workers), tmp_path)
    assert result.exit_code == 0, result.stderr
    for number, inode in kept.items():  # renamed into place, not made again
        assert (tmp_path / f"m_{number:05}.weights.h5").stat().st_ino == inode
    assert _digests(tmp_path) == fresh
    assert not (tmp_path / RESUME).exists()
    assert run_subprocess(["verify", "m.weights.json"], tmp_path).exit_code == 0


def test_a_damaged_kept_part_is_made_again(tmp_path, fresh):
    _config(tmp_path)
    kept = _crash_after(tmp_path, 2)
    damaged = min(kept)
    part = tmp_path / RESUME / f"{damaged:05}.part"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 1
    part.write_bytes(bytes(data))
    assert run_subprocess(_args(1, "--resume"), tmp_path).exit_code == 0
    assert _digests(tmp_path) == fresh  # the damaged part was not used


def test_another_job_starts_over(tmp_path):
    """A rerun with another master seed is another job: nothing of the first run is kept."""
    _config(tmp_path)
    kept = _crash_after(tmp_path, 2)
    assert kept
    assert run_subprocess(_args(2, "--resume"), tmp_path).exit_code == 0
    other = tmp_path / "other"
    other.mkdir()
    _config(other)
    assert run_subprocess(_args(2), other).exit_code == 0
    assert _digests(tmp_path) == _digests(other)


def test_a_planted_link_is_refused(tmp_path):
    _config(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / RESUME)
    result = run_subprocess(_args(1, "--resume"), tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "remove it to use --resume" in lines[0], result.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_resume_needs_a_sharded_output(tmp_path):
    _config(tmp_path)
    result = run_subprocess(["batch", "c.json", "--seed", "1", "-o", "one.weights.h5", "--resume"], tmp_path)
    assert result.exit_code == 2 and "keeps finished shards" in result.stderr
