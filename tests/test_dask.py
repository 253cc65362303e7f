"""``--dask ADDRESS``: the shards of a set made on a real ``dask.distributed.LocalCluster`` of worker
processes, byte for byte the files of one process, also when a worker is killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import dense_config, file_digests, run_subprocess

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        ) as local,
        distributed.Client(local) as client,
    ):
        yield local.scheduler_address, client


def _config(directory: Path, layers: int = 4, size: int = 256) -> None:
    dense_config(directory, layers, size)


def _digests(directory: Path) -> dict[str, str]:
    return file_digests(directory)


def _write(directory: Path, output: str, shard: str, *extra: str) -> subprocess.CompletedProcess:
    args = ["batch", "c.json", "--seed", "6", "-q", "-o", output, "--max-shard-size", shard, *extra]
    return subprocess.run([sys.executable, "-m", "initcli", *args], cwd=directory, capture_output=True, text=True)


@pytest.mark.parametrize("output", ["m.weights.json", "m.safetensors"])
def test_the_cluster_writes_the_bytes_one_process_writes(tmp_path, cluster, output):
    address, _ = cluster
    results = {}
    for where, extra in (("local", []), ("dask", ["--dask", address])):
        directory = tmp_path / where
        directory.mkdir()
        _config(directory)
        run = _write(directory, output, "300KiB", *extra)
        assert run.returncode == 0, run.stderr
        (directory / "c.json").unlink()
        results[where] = _digests(directory)
    assert len(results["local"]) == 5  # four shards and the index; no scratch or marker file left
    assert results["dask"] == results["local"]


_BIG_RUN = ["batch", "c.json", "--seed", "6", "-q", "-o", "m.weights.json", "--max-shard-size", "16MiB"]


def test_a_worker_killed_mid_run_changes_nothing(tmp_path, cluster):
    """Dask runs the killed worker's task again elsewhere; the task rewrites its own part."""
    address, client = cluster
    for where in ("local", "dask"):
        (tmp_path / where).mkdir()
        _config(tmp_path / where, layers=6, size=2048)
    assert _write(tmp_path / "local", "m.weights.json", "16MiB").returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "initcli", *_BIG_RUN, "--dask", address],
        cwd=tmp_path / "dask",
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list((tmp_path / "dask").glob(".initcli-*.live")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the tasks are under way
    pids = client.run(os.getpid)
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    for directory in ("local", "dask"):
        (tmp_path / directory / "c.json").unlink()
    assert _digests(tmp_path / "dask") == _digests(tmp_path / "local")
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it, for the tests after this one


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    _config(tmp_path)
    env = {**os.environ, "INITCLI_DASK_CONNECT_SECONDS": "1"}
    args = ["batch", "c.json", "--seed", "1", "-o", "m.weights.json", "--max-shard-size", "300KiB"]
    run = subprocess.run(
        [sys.executable, "-m", "initcli", *args, "--dask", "tcp://127.0.0.1:9"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1 and lines[-1].startswith("initcli: error: cannot reach the Dask scheduler"), lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["-o", "m.weights.h5"], "--dask splits the work by shard"),
        (["-o", "m.weights.json", "--workers", "2"], "give one"),
    ],
)
def test_dask_usage_errors(tmp_path, extra, words):
    _config(tmp_path)
    run = run_subprocess(["batch", "c.json", "--seed", "1", *extra, "--dask", "tcp://127.0.0.1:9"], tmp_path)
    assert run.exit_code == 2 and words in run.stderr


def test_a_stopped_run_leaves_no_part_behind(tmp_path, cluster):
    """Ctrl-C while shards are being made: tasks already running finish on the cluster after the
    run has gone; each sees the run's marker gone and removes its own part."""
    address, client = cluster
    _config(tmp_path, layers=6, size=2048)
    process = subprocess.Popen(
        [sys.executable, "-m", "initcli", *_BIG_RUN, "--dask", address],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".initcli-*.live")) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # tasks under way on both workers
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    deadline = time.monotonic() + 60  # until no worker runs a task (cancelled tasks run to their end)
    while time.monotonic() < deadline:
        busy = client.run(lambda dask_worker: dask_worker.state.executing_count)
        if not any(busy.values()):
            break
        time.sleep(0.1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def test_resume_on_the_cluster_keeps_what_a_killed_client_finished(tmp_path, cluster):
    """The client (initcli) killed after some shards are recorded; a rerun with --resume on the
    cluster renames those parts into place and makes the rest: the bytes of one process."""
    address, client = cluster
    for where in ("local", "dask"):
        (tmp_path / where).mkdir()
        _config(tmp_path / where, layers=8, size=1024)
    args = ["batch", "c.json", "--seed", "6", "-q", "-o", "m.weights.json", "--max-shard-size", "4MiB"]
    assert run_subprocess(args, tmp_path / "local").exit_code == 0
    store = tmp_path / "dask" / ".m.weights.json.initcli-resume"
    process = subprocess.Popen(
        [sys.executable, "-m", "initcli", *args, "--resume", "--dask", address], cwd=tmp_path / "dask"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if store.is_dir() and len([p for p in store.glob("*.sha256") if p.name != "run.sha256"]) >= 2:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    kept = {int(p.name.split(".")[0]) for p in store.glob("*.sha256") if p.name != "run.sha256"}
    inodes = {n: (store / f"{n:05}.part").stat().st_ino for n in kept}
    deadline = time.monotonic() + 60  # the killed client's tasks run to their end on the cluster
    while time.monotonic() < deadline and any(
        client.run(lambda dask_worker: dask_worker.state.executing_count).values()
    ):
        time.sleep(0.1)
    result = run_subprocess([*args, "--resume", "--dask", address], tmp_path / "dask")
    assert result.exit_code == 0, result.stderr
    for number, inode in inodes.items():
        assert (tmp_path / "dask" / f"m_{number:05}.weights.h5").stat().st_ino == inode
    for where in ("local", "dask"):
        (tmp_path / where / "c.json").unlink()
    assert _digests(tmp_path / "dask") == _digests(tmp_path / "local")


def test_a_failing_task_names_its_shard_and_tensor(tmp_path, cluster):
    """A file-size limit on the cluster's workers (not on initcli): every try of a shard fails
    with EFBIG; the error names the shard and the tensor, and nothing is left behind."""
    import resource

    address, client = cluster

    def limit(size: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))

    _config(tmp_path)
    client.run(limit, 100_000)
    try:
        run = _write(tmp_path, "m.weights.json", "300KiB", "--dask", address)
    finally:
        client.run(limit, resource.RLIM_INFINITY)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1 and len(lines) == 1, run.stderr
    assert "the Dask cluster failed making m_0000" in lines[0] and "tensor 'd" in lines[0], lines[0]
    assert "File too large" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]
