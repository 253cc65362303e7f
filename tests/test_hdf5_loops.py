"""HDF5 files on which the HDF5 library itself never returns: ``inspect``, ``verify`` and a
``--path`` that adds to such a file end with one line within the time limit, change nothing, and
leave no process behind -- also when stopped by a signal while they wait.

The damage is the one a fuzzer found: in the global heap (the collection that holds every
variable-length string attribute, such as initcli's provenance), the free-space object's size
rewritten to less than the free space there is (968 bytes to 768); reading any such attribute then loops inside
HDF5, where no Python code runs.  The files here are made by the real CLI and damaged the same
way, byte for byte, by :func:`_damage_global_heap`, which parses the collection as the HDF5
file format specifies it (``GCOL``, version 1, then objects: index, references, reserved,
size, data padded to 8 bytes; index 0 is the free space)."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from .helpers import run_in_process

LIMIT = "1"
ENV = {**os.environ, "INITCLI_HDF5_SECONDS": LIMIT}
CONFIG = """
layers:
  - name: dense
    class: Dense
    weights:
      kernel: {shape: [4, 3], initializer: glorot_uniform}
      bias: {shape: [3], initializer: zeros}
"""


def _free_space_offset(data: bytes) -> int:
    """Offset of the size field of the free-space object of the file's first global heap."""
    at = data.index(b"GCOL")
    assert data[at + 4] == 1  # collection version 1
    end = at + struct.unpack_from("<Q", data, at + 8)[0]
    cursor = at + 16
    while cursor < end:
        index, _references = struct.unpack_from("<HH", data, cursor)
        size = struct.unpack_from("<Q", data, cursor + 8)[0]
        if index == 0:
            return cursor + 8
        cursor += 16 + -(-size // 8) * 8
    raise AssertionError("no free-space object")


def _damage_global_heap(data: bytes) -> bytes:
    at = _free_space_offset(data)
    size = struct.unpack_from("<Q", data, at)[0]
    assert size > 200
    return data[:at] + struct.pack("<Q", size - 200) + data[at + 8 :]


def _damaged_weights(tmp_path: Path) -> bytes:
    (tmp_path / "m.yaml").write_text(CONFIG)
    made = run_in_process(["batch", "m.yaml", "--seed", "1", "-o", "made.weights.h5"], tmp_path)
    assert made.exit_code == 0, made.stderr
    data = (tmp_path / "made.weights.h5").read_bytes()
    (tmp_path / "made.weights.h5").unlink()
    (tmp_path / "m.yaml").unlink()
    return _damage_global_heap(data)


def _write_keras(path: Path, weights: bytes) -> None:
    """A ``.keras`` archive whose stored ``model.weights.h5`` is ``weights`` (as Keras stores it)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("metadata.json", '{"keras_version": "3.15.1"}')
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", weights)


@pytest.fixture
def damaged(tmp_path):
    weights = _damaged_weights(tmp_path)
    (tmp_path / "w.weights.h5").write_bytes(weights)
    _write_keras(tmp_path / "w.keras", weights)
    return tmp_path


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_damage_makes_the_library_loop(damaged):
    """The premise: h5py itself does not return from reading the provenance attribute."""
    script = "import h5py, sys; h5py.File(sys.argv[1])['layers/dense/vars/0'].attrs['initcli']"
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-c", script, "w.weights.h5"], cwd=damaged, timeout=3, capture_output=True)


@pytest.mark.parametrize("name", ["w.weights.h5", "w.keras"])
@pytest.mark.parametrize("command", [["inspect"], ["verify", "--json"]])
def test_reading_a_file_the_library_loops_on_is_one_line(damaged, name, command):
    before = _listing(damaged)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "initcli", *command, name], cwd=damaged, env=ENV, capture_output=True, timeout=20
    )
    assert time.monotonic() - started < 15
    lines = proc.stderr.decode().strip().splitlines()
    assert proc.returncode == 1, proc.stderr
    assert lines == [
        f"initcli: error: reading {name!r} did not finish in {LIMIT} s: the file is damaged "
        "(the HDF5 library loops on it)"
    ]
    assert proc.stdout == b""
    assert _listing(damaged) == before


def test_in_process_too(damaged):
    """Through click's CliRunner (the library path, in a process of its own: a hang there could
    not be stopped from here): the same line."""
    script = (
        "from click.testing import CliRunner\n"
        "from initcli.cli import cli\n"
        "result = CliRunner().invoke(cli, ['verify', 'w.weights.h5'])\n"
        "print(result.exit_code, result.stderr.strip())\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=damaged, env=ENV, capture_output=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().startswith(f"1 initcli: error: reading 'w.weights.h5' did not finish in {LIMIT} s")


def test_adding_to_a_file_the_library_loops_on_changes_nothing(damaged):
    before = _listing(damaged)
    proc = subprocess.run(
        [sys.executable, "-m", "initcli", "zeros", "-s", "3", "-o", "w.weights.h5", "--path", "extra/vars/0"],
        cwd=damaged,
        env=ENV,
        capture_output=True,
        timeout=20,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.decode().strip().splitlines() == [
        f"initcli: error: reading 'w.weights.h5' to add to it did not finish in {LIMIT} s: the file is damaged "
        "(the HDF5 library loops on it)"
    ]
    assert _listing(damaged) == before


def _processes(marker: str, where: str = "cmdline") -> list[int]:
    """Live processes whose command line (or, ``where="environ"``, environment: inherited by every
    process they start) holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / where).read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _processes_reading(marker: str) -> list[int]:
    return _processes(marker)


def _processes_with(marker: str) -> list[int]:
    return _processes(marker, "environ")


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to list processes")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_waiting_ends_it_and_its_child(damaged, sig):
    """Stopped while the child loops: the command ends at once with the signal's code, and the
    child that was going through the file is gone too."""
    marker = str(damaged / "w.weights.h5")
    process = subprocess.Popen(
        [sys.executable, "-m", "initcli", "verify", marker],
        env={**os.environ, "INITCLI_HDF5_SECONDS": "120"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a test runner may ignore it
    )
    deadline = time.monotonic() + 30
    while len(_processes_reading(marker)) < 2 and time.monotonic() < deadline:  # the child has started
        time.sleep(0.05)
    assert len(_processes_reading(marker)) == 2
    time.sleep(0.5)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 128 + sig, stderr
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initcli: error: "), stderr
    deadline = time.monotonic() + 10
    while _processes_reading(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_reading(marker) == []


READER_SCRIPT = """
import sys, time, warnings
import jax.numpy
jax.numpy.zeros(1)  # JAX, running, is multithreaded and warns on every fork: initcli must not fork this
from click.testing import CliRunner
from initcli.cli import cli
warnings.simplefilter("error")
for name in sys.argv[1:]:
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["verify", name])
    print(result.exit_code, round(time.monotonic() - started, 1), result.stderr.strip(), flush=True)
"""


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to list processes")
def test_a_process_with_jax_loaded_reads_through_a_reader_process(damaged):
    """In a process that has JAX (which declares fork unsafe) the file is gone through by a reader
    process instead: the damaged file is one line in time, a good file before and after it still
    verifies (the reader that was killed is replaced), nothing warns about forking, and no reader
    outlives the process."""
    good = damaged / "good.weights.h5"
    (damaged / "m.yaml").write_text(CONFIG)
    assert run_in_process(["batch", "m.yaml", "--seed", "1", "-o", good.name], damaged).exit_code == 0
    marker = f"INITCLI_TEST_{os.getpid()}_{time.monotonic_ns()}"
    proc = subprocess.run(
        [sys.executable, "-c", READER_SCRIPT, good.name, "w.weights.h5", "w.keras", good.name],
        cwd=damaged,
        env={**ENV, marker: "1"},
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"fork" not in proc.stderr, proc.stderr
    lines = proc.stdout.decode().strip().splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith("0 ") and lines[3].startswith("0 "), lines
    for line, name in zip(lines[1:3], ["w.weights.h5", "w.keras"], strict=True):
        code, seconds, message = line.split(" ", 2)
        assert code == "1" and float(seconds) < 10, line
        assert message == (
            f"initcli: error: reading {name!r} did not finish in {LIMIT} s: the file is damaged "
            "(the HDF5 library loops on it)"
        )
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal is Linux's")
@pytest.mark.parametrize("hostile", [False, True], ids=["forked-child", "reader-process"])
def test_a_reader_does_not_outlive_a_caller_killed_outright(damaged, hostile):
    """SIGKILL gives initcli no chance to clean up; the process looping on the file (a forked
    child, or the reader process of a process with JAX loaded) is ended by the kernel with it."""
    marker = f"INITCLI_TEST_{os.getpid()}_{time.monotonic_ns()}"
    script = ("import jax\n" if hostile else "") + (
        "from initcli.readers import read_tensors\nwith read_tensors('w.weights.h5'):\n    pass\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=damaged,
        env={**os.environ, "INITCLI_HDF5_SECONDS": "120", marker: "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while len(_processes_with(marker)) < 2 and time.monotonic() < deadline:  # the reader has started
        time.sleep(0.05)
    time.sleep(1)
    found = _processes_with(marker)
    assert len(found) == 2, [Path(f"/proc/{pid}/cmdline").read_bytes()[:200] for pid in found]
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []


FORK_COUNT_SCRIPT = """
import os, sys, threading
forks = []
os.register_at_fork(before=lambda: forks.append(1))
if sys.argv[2] == "thread":  # a second Python thread, as a program with a worker thread has
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
from initcli.verify import verify_file
kind, verdicts = verify_file(sys.argv[1])
print(len(forks), [v.status for v in verdicts])
"""


@pytest.mark.parametrize(("threads", "forks"), [("one", True), ("thread", False)])
def test_only_a_single_threaded_process_forks(damaged, threads, forks):
    """Forking a process while another of its threads holds a lock (the import lock, a logging
    handler's) could leave the child waiting for ever, and the file reported as damaged: with a
    second Python thread, the reader process is used (no fork at all), without one a fork."""
    good = damaged / "good.weights.h5"
    (damaged / "m.yaml").write_text(CONFIG)
    assert run_in_process(["batch", "m.yaml", "--seed", "1", "-o", good.name], damaged).exit_code == 0
    proc = subprocess.run(
        [sys.executable, "-c", FORK_COUNT_SCRIPT, good.name, threads],
        cwd=damaged,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    count, statuses = proc.stdout.split(" ", 1)
    assert statuses.strip() == str(["identical", "identical"])
    assert (int(count) > 0) is forks, proc.stdout


THREAD_EXIT_SCRIPT = """
import sys, threading
from initcli.verify import verify_file
threading.Thread(target=threading.Event().wait, daemon=True).start()  # so that no call forks
results = []
for _ in range(3):  # each thread starts the reader (a second thread is running) and then ends,
    worker = threading.Thread(target=lambda: results.append(verify_file(sys.argv[1])[1]))
    worker.start()
    worker.join()
    # and the kernel kills a reader with the thread that started it: the next call must not fail
    results.append(verify_file(sys.argv[1])[1])
print(sorted({v.status for verdicts in results for v in verdicts}), len(results), flush=True)
"""


def test_a_reader_that_died_with_its_thread_is_replaced(damaged):
    """A reader process ends with the thread that started it (the parent-death signal is per
    thread): a later call from another thread starts a new one, or retries once if it finds the
    old one dying, instead of reporting the file as unreadable."""
    good = damaged / "good.weights.h5"
    (damaged / "m.yaml").write_text(CONFIG)
    assert run_in_process(["batch", "m.yaml", "--seed", "1", "-o", good.name], damaged).exit_code == 0
    proc = subprocess.run(
        [sys.executable, "-c", THREAD_EXIT_SCRIPT, good.name], cwd=damaged, env=ENV, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['identical']", "6"], proc.stdout


SHADOW_SCRIPT = """
import os, sys, threading
del sys.path[0]  # this process imports the real package; then it works in the other directory
from initcli.verify import verify_file
threading.Thread(target=threading.Event().wait, daemon=True).start()  # the reader process is used
good = os.path.abspath(sys.argv[1])
os.chdir(sys.argv[2])
print([v.status for v in verify_file(good)[1]])
"""


def test_the_reader_process_does_not_import_code_from_the_working_directory(damaged, tmp_path_factory):
    """A directory named ``initcli`` where the caller works (a downloaded model folder, say) is not
    imported by the reader process in place of the package."""
    good = damaged / "good.weights.h5"
    (damaged / "m.yaml").write_text(CONFIG)
    assert run_in_process(["batch", "m.yaml", "--seed", "1", "-o", good.name], damaged).exit_code == 0
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    marker = elsewhere / "imported"
    (elsewhere / "initcli" / "reading").mkdir(parents=True)
    (elsewhere / "initcli" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (elsewhere / "initcli" / "reading" / "__init__.py").write_text("")
    (elsewhere / "initcli" / "reading" / "bounded.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    proc = subprocess.run(
        [sys.executable, "-c", SHADOW_SCRIPT, str(good), str(elsewhere)], cwd=damaged, env=ENV,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(["identical", "identical"])
    assert not marker.exists()
