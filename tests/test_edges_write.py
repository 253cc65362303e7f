"""Writing at the edges of the file system: devices, FIFOs, descriptor links, symbolic links,
modes and owners, concurrent forced writers and adders, manifests, names a format cannot hold,
long file names, directory fsync, signals on the named scratch path, append-only directories,
links inside HDF5 files, ranks NumPy cannot load.

Every refusal is checked the same way (:func:`_refused`): exit code, exactly one line
``initcli: error: ...`` on stderr, and the directory exactly as before (names, kinds, SHA-256
of every regular file, device numbers, link targets): nothing replaced, nothing left behind."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from initcli.writers import atomic
from initcli.writers.hdf5 import write_dataset
from initcli.writers.npy import write_npy, write_npz

from .helpers import Run, run_in_process, run_subprocess
from .test_faults import _cli, _limit_file_size

CASES = {"tried": 0, "refused": 0}
"""Hostile or faulty cases tried, and how many of them were refused cleanly (the rest must succeed
doing the right thing)."""

NO_TMPFILE = {**os.environ, "INITCLI_NO_TMPFILE": "1"}


def _state(directory: Path) -> dict[str, object]:
    """Everything in ``directory`` (recursively): kind and content of each entry, without following links."""
    found: dict[str, object] = {}
    for path in sorted(directory.rglob("*")):
        info = path.lstat()
        name = str(path.relative_to(directory))
        if stat.S_ISLNK(info.st_mode):
            found[name] = ("link", os.readlink(path))
        elif stat.S_ISREG(info.st_mode):
            found[name] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(info.st_mode))
        elif stat.S_ISDIR(info.st_mode):
            found[name] = ("dir",)
        else:
            found[name] = (stat.S_IFMT(info.st_mode), info.st_rdev)
    return found


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("initcli: error: "), stderr
    assert "internal error" not in lines[0] and "Traceback" not in stderr
    return lines[0]


def _refused(result: Run, directory: Path, before: dict[str, object], *, code: int = 1, says: str = "") -> str:
    """The run was refused cleanly: ``code``, one line (containing ``says``), nothing changed."""
    CASES["tried"] += 1
    assert result.exit_code == code, result.stderr
    line = _one_line(result.stderr)
    assert says in line, line
    assert _state(directory) == before
    CASES["refused"] += 1
    return line


def _succeeded(result: Run) -> None:
    """A hostile-looking case that must simply work."""
    CASES["tried"] += 1
    assert result.exit_code == 0, result.stderr


def _no_scratch(directory: Path) -> None:
    assert [p.name for p in directory.rglob("*.part")] == []


def _batch_config(directory: Path, layers: list[dict], name: str = "model.json") -> str:
    (directory / name).write_text(json.dumps({"layers": layers}))
    return name


def _dense(name: str, units: int = 4) -> dict:
    return {"name": name, "class": "Dense", "weights": {"kernel": {"shape": [3, units], "initializer": "ones"}}}


# --- 1. devices, FIFOs and descriptor links are written into or refused, never replaced ---------------------------


@pytest.fixture
def null_device(tmp_path: Path) -> Path:
    """A null device of our own (major 1, minor 3), as /dev/null is."""
    path = tmp_path / "nul"
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["ones", "--shape", "3,4", "-o", "nul", "--format", "npy"],
        ["ones", "--shape", "3,4", "-o", "nul", "--format", "npy", "--force"],
        ["ones", "--shape", "3,4", "-o", "nul", "--format", "npz", "--force"],
        ["ones", "--shape", "3,4", "-o", "nul", "--format", "hdf5", "--path", "a/b", "--force"],
        ["batch", "model.json", "--seed", "1", "-o", "nul", "--layout", "keras3", "--force"],
        ["batch", "model.json", "--seed", "1", "-o", "nul", "--layout", "legacy"],
        ["batch", "model.json", "--seed", "1", "-o", "nul", "--layout", "npz", "--force"],
        ["ones", "--shape", "3", "-o", "out.npy", "--manifest=nul"],
    ],
    ids=["npy", "npy-force", "npz-force", "h5-force", "batch-keras3", "batch-legacy", "batch-npz", "manifest"],
)
def test_null_device_is_written_into_never_replaced(tmp_path, null_device, args):
    _batch_config(tmp_path, [_dense("d")])
    result = run_in_process(args, tmp_path)
    _succeeded(result)
    info = null_device.lstat()
    assert stat.S_ISCHR(info.st_mode) and info.st_rdev == os.makedev(1, 3)
    _no_scratch(tmp_path)


def _read_fifo(path: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(path, "rb") as handle:
            into.append(handle.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("fmt", ["npy", "npz", "hdf5", "keras3", "manifest"])
def test_fifo_is_streamed_into(tmp_path, fmt):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _batch_config(tmp_path, [_dense("d")])
    args = {
        "npy": ["glorot_uniform", "--shape", "30,20", "--seed", "1", "-o", "pipe", "--format", "npy"],
        "npz": ["glorot_uniform", "--shape", "30,20", "--seed", "1", "-o", "pipe", "--format", "npz", "-n", "w"],
        "hdf5": ["glorot_uniform", "--shape", "30,20", "--seed", "1", "-o", "pipe", "--format", "hdf5", "--path", "w"],
        "keras3": ["batch", "model.json", "--seed", "1", "-o", "pipe", "--layout", "keras3"],
        "manifest": ["glorot_uniform", "--shape", "30,20", "--seed", "1", "-o", "w.npy", "--manifest=pipe"],
    }[fmt]
    received: list[bytes] = []
    reader = _read_fifo(fifo, received)
    result = run_subprocess(args, tmp_path)
    reader.join(timeout=30)
    _succeeded(result)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    (tmp_path / "got").write_bytes(received[0])
    if fmt == "npy":
        assert np.load(tmp_path / "got").shape == (30, 20)
    elif fmt == "npz":
        assert np.load(tmp_path / "got")["w"].shape == (30, 20)
    elif fmt == "hdf5":
        with h5py.File(tmp_path / "got") as handle:
            assert handle["w"].shape == (30, 20)
    elif fmt == "keras3":
        with h5py.File(tmp_path / "got") as handle:
            assert handle["layers/dense/vars/0"].shape == (3, 4)
    else:
        assert json.loads(received[0])["tensors"][0]["shape"] == [30, 20]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["pipe", "got", "model.json", *(["w.npy"] if fmt == "manifest" else [])]
    )


DESCRIPTOR_LINKS = ["stdout", "fd/1", "/proc/self/fd/1"]
"""``stdout`` and ``fd`` are links made in the test directory exactly as ``/dev/stdout``
(-> ``/proc/self/fd/1``) and ``/dev/fd`` (-> ``/proc/self/fd``) are, so that a regression can
only ever replace the test's own links, never the system's."""


def _descriptor_links(directory: Path) -> None:
    os.symlink("/proc/self/fd/1", directory / "stdout")
    os.symlink("/proc/self/fd", directory / "fd")


@pytest.mark.parametrize("target", ["fifo", "null"])
def test_keras_archive_into_a_fifo_or_null_device(keras, tmp_path, target):
    """A .keras archive (its weights built in a scratch file in the temporary directory) streamed
    into a FIFO loads with Keras; into a null device it leaves the device a device."""
    from . import keras_models

    (tmp_path / "model.json").write_text(keras_models.mlp(keras).to_json())
    received: list[bytes] = []
    if target == "fifo":
        os.mkfifo(tmp_path / "out")
        reader = _read_fifo(tmp_path / "out", received)
    else:
        os.mknod(tmp_path / "out", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    _succeeded(run_subprocess(["model", "model.json", "--seed", "1", "-o", "out", "--layout", "keras"], tmp_path))
    kind = stat.S_ISFIFO if target == "fifo" else stat.S_ISCHR
    assert kind((tmp_path / "out").lstat().st_mode)
    if target == "fifo":
        reader.join(timeout=30)
        (tmp_path / "got.keras").write_bytes(received[0])
        model = keras.models.load_model(str(tmp_path / "got.keras"))
        assert tuple(model.weights[0].shape) == (20, 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["model.json", "out", *(["got.keras"] * bool(received))]
    )


@pytest.mark.parametrize("link", DESCRIPTOR_LINKS)
def test_descriptor_links_to_a_pipe_are_streamed(tmp_path, link):
    _descriptor_links(tmp_path)
    before = _state(tmp_path)
    result = run_subprocess(["ones", "--shape", "5", "-o", link, "--format", "npy", "--force"], tmp_path)
    _succeeded(result)
    assert _state(tmp_path) == before  # the links stay links, nothing appeared
    (tmp_path / "got.npy").write_bytes(result.stdout)
    assert np.load(tmp_path / "got.npy").tolist() == [1.0] * 5


@pytest.mark.parametrize("link", DESCRIPTOR_LINKS)
def test_descriptor_links_to_a_regular_file_are_refused(tmp_path, link):
    """The shell redirected stdout to a file: never rename over the file behind the descriptor,
    never replace the link: refuse (use -o -)."""
    _descriptor_links(tmp_path)
    out = tmp_path / "redirected"
    out.write_bytes(b"previous content")
    before = _state(tmp_path)
    with open(out, "r+b") as handle:
        proc = subprocess.run(
            [sys.executable, "-m", "initcli", "ones", "--shape", "5", "-o", link, "--format", "npy", "--force"],
            cwd=tmp_path,
            stdout=handle,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    _refused(Run(proc.returncode, b"", proc.stderr.decode()), tmp_path, before, says="use -o - instead")


def _socket(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    return server


@pytest.mark.parametrize(
    "kind", ["block-device", "socket", "directory", "random-device", "manifest-block-device", "manifest-directory"]
)
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_other_non_files_are_refused(tmp_path, kind, force):
    target = tmp_path / "thing"
    keep = None
    if kind.endswith("block-device"):
        os.mknod(target, 0o600 | stat.S_IFBLK, os.makedev(7, 250))
    elif kind == "socket":
        keep = _socket(target)
    elif kind.endswith("directory"):
        target.mkdir()
    else:
        os.mknod(target, 0o644 | stat.S_IFCHR, os.makedev(1, 8))  # /dev/random: not ours to write into
    try:
        before = _state(tmp_path)
        if kind.startswith("manifest"):
            args = ["ones", "--shape", "3", "-o", "out.npy", "--manifest=thing"]
        else:
            args = ["ones", "--shape", "3", "-o", "thing", "--format", "npz"]
        result = run_in_process([*args, *(["--force"] if force else [])], tmp_path)
        _refused(result, tmp_path, before, says="'thing'")
    finally:
        if keep is not None:
            keep.close()


# --- 2. modes, owners and groups are kept --------------------------------------------------------------------


def _prepare_owned(path: Path, mode: int = 0o640, owner: tuple[int, int] = (1234, 5678)) -> None:
    os.chmod(path, mode)
    os.chown(path, *owner)


def _owned(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid


@pytest.mark.parametrize("no_tmpfile", [False, True], ids=["tmpfile", "named"])
@pytest.mark.parametrize("case", ["npz-append", "h5-path", "npy-force", "h5-batch-force"])
def test_adding_and_replacing_keep_mode_owner_group(tmp_path, monkeypatch, case, no_tmpfile):
    if no_tmpfile:
        monkeypatch.setenv("INITCLI_NO_TMPFILE", "1")
    _batch_config(tmp_path, [_dense("d")])
    if case == "npz-append":
        run_in_process(["ones", "--shape", "3", "-n", "a", "-o", "f.npz"], tmp_path)
        args = ["ones", "--shape", "3", "-n", "b", "-o", "f.npz", "--append"]
        name = "f.npz"
    elif case == "npy-force":
        run_in_process(["ones", "--shape", "3", "-o", "f.npy"], tmp_path)
        args = ["zeros", "--shape", "3", "-o", "f.npy", "--force"]
        name = "f.npy"
    else:
        run_in_process(["ones", "--shape", "3", "-o", "f.weights.h5", "--path", "a"], tmp_path)
        args = (
            ["ones", "--shape", "3", "-o", "f.weights.h5", "--path", "b"]
            if case == "h5-path"
            else ["batch", "model.json", "--seed", "1", "-o", "f.weights.h5", "--force"]
        )
        name = "f.weights.h5"
    _prepare_owned(tmp_path / name, 0o600, (1234, 5678))
    before = (tmp_path / name).read_bytes()
    result = run_in_process(args, tmp_path)
    _succeeded(result)
    assert (tmp_path / name).read_bytes() != before
    assert _owned(tmp_path / name) == (0o600, 1234, 5678)
    _no_scratch(tmp_path)


def test_new_files_get_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        write_npy(tmp_path / "n.npy", np.ones(3))
    finally:
        os.umask(old)
    assert _owned(tmp_path / "n.npy")[0] == 0o640


# --- 3. a forced write and a concurrent adder never lose each other's work -----------------------------------------


def _wait_for(condition, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def _scratch_bytes(directory: Path) -> int:
    sizes = []
    for path in directory.glob(".*.part"):
        with contextlib.suppress(FileNotFoundError):
            sizes.append(path.stat().st_size)
    return max(sizes, default=-1)


def _contents(path: Path) -> set[str]:
    if path.suffix == ".npz":
        with np.load(path) as archive:
            return set(archive.files)
    found: set[str] = set()
    with h5py.File(path) as handle:
        handle.visititems(lambda name, obj: found.add(name) if isinstance(obj, h5py.Dataset) else None)
    return found


CONCURRENT = {
    "npz": {
        "old": ["ones", "--shape", "1000", "-n", "old", "-q", "-o", "shared.npz"],
        "force-big": ["glorot_uniform", "--shape", "4096,4096", "--seed", "1", "-n", "forced", "-q", "--force"],
        "force-small": ["ones", "--shape", "1000", "-n", "forced", "-q", "--force"],
        "add-big": ["glorot_uniform", "--shape", "4096,4096", "--seed", "2", "-n", "added", "-q", "--append"],
        "add-small": ["ones", "--shape", "1000", "-n", "added", "-q", "--append"],
        "forced": {"forced"},
        "added": {"added"},
    },
    "h5": {
        "old": ["ones", "--shape", "1000", "-q", "-o", "shared.weights.h5", "--path", "old"],
        "force-big": ["batch", "big.json", "--seed", "1", "-q", "--force"],
        "force-small": ["batch", "model.json", "--seed", "1", "-q", "--force"],
        "add-big": ["glorot_uniform", "--shape", "4096,4096", "--seed", "2", "-q", "--path", "added"],
        "add-small": ["ones", "--shape", "1000", "-q", "--path", "added"],
        "forced": {"layers/dense/vars/0"},
        "added": {"added"},
    },
}


@pytest.mark.parametrize("fmt", ["npz", "h5"])
@pytest.mark.parametrize("order", ["adder-first", "force-first", "force-then-add"])
def test_forced_write_and_adder_never_lose_each_other(tmp_path, fmt, order):
    """Deterministic interleavings, made with SIGSTOP/SIGCONT on real processes (named scratch
    files show how far each got):

    * adder-first: the adder has copied the old content and is writing its tensor (stopped
      there); the forced writer starts, writes and tries to commit.  The adder's add happened
      first, so the result is the forced content alone -- never the old content plus the add
      (the forced write lost);
    * force-first: the forced writer is stopped mid-write (holding no lock: the adder must finish
      meanwhile, and does); the forced write commits last: its content alone;
    * force-then-add: one after the other: the forced content plus the added tensor."""
    case = CONCURRENT[fmt]
    output = "shared.npz" if fmt == "npz" else "shared.weights.h5"
    _batch_config(tmp_path, [_dense("d")])
    _batch_config(
        tmp_path,
        [{"name": "d", "class": "Dense", "weights": {"kernel": {"shape": [4096, 4096], "initializer": "he_normal"}}}],
        "big.json",
    )
    for round_ in range(2):
        for stale in tmp_path.glob("shared*"):
            stale.unlink()
        assert run_subprocess(case["old"], tmp_path).exit_code == 0
        old_size = (tmp_path / output).stat().st_size
        CASES["tried"] += 1
        early = False
        if order == "force-then-add":
            assert run_subprocess([*case["force-small"], "-o", output], tmp_path).exit_code == 0
            assert run_subprocess([*case["add-small"], "-o", output], tmp_path).exit_code == 0
            expected = case["forced"] | case["added"]
        else:
            first_args, second_args = (
                (case["add-big"], case["force-small"])
                if order == "adder-first"
                else (case["force-big"], case["add-small"])
            )
            first = _cli([*first_args, "-o", output], tmp_path, env=NO_TMPFILE)
            try:
                # past the copy of the old content (adder) or well into the data (forced writer)
                threshold = old_size + (1 << 20)
                _wait_for(lambda: _scratch_bytes(tmp_path) > threshold, what="the first scratch file")  # noqa: B023
                first.send_signal(signal.SIGSTOP)
                second = _cli([*second_args, "-o", output], tmp_path, env=NO_TMPFILE)
                if order == "adder-first":
                    # the forced writer gets as far as it can: its own scratch file, then the commit
                    _wait_for(
                        lambda: second.poll() is not None or len(list(tmp_path.glob(".*.part"))) > 1,  # noqa: B023
                        what="the forced writer's scratch file",
                    )
                    time.sleep(1.0)
                    early = second.poll() is not None  # checked after the content, which shows the damage
                else:
                    assert second.wait(timeout=60) == 0, "the adder waited for a forced writer that held no lock"
            finally:
                first.send_signal(signal.SIGCONT)
            assert first.wait(timeout=120) == 0, first.stderr.read().decode()
            assert second.wait(timeout=120) == 0, second.stderr.read().decode()
            expected = case["forced"]
        found = _contents(tmp_path / output)
        assert found == expected, (round_, found)
        assert not early, "the forced write committed while the adder held the file"
        _no_scratch(tmp_path)


# --- 4. manifests: not the output itself; no stale sidecar; size and SHA-256 recorded --------------------------


@pytest.mark.parametrize("how", ["same-name", "symlink", "hard-link", "new-output"])
def test_manifest_that_is_the_output_is_refused(tmp_path, how):
    run_in_process(["ones", "--shape", "3", "-o", "w.npy"], tmp_path)
    if how == "same-name":
        manifest = "w.npy"
    elif how == "symlink":
        os.symlink("w.npy", tmp_path / "link.json")
        manifest = "link.json"
    elif how == "hard-link":
        os.link(tmp_path / "w.npy", tmp_path / "hard.json")
        manifest = "hard.json"
    else:
        os.symlink("fresh.npy", tmp_path / "ahead.json")
        manifest = "ahead.json"
    output = "fresh.npy" if how == "new-output" else "w.npy"
    before = _state(tmp_path)
    result = run_in_process(["zeros", "--shape", "3", "-o", output, f"--manifest={manifest}", "--force"], tmp_path)
    _refused(result, tmp_path, before, code=2, says="is the output file")


@pytest.mark.parametrize("manifest", DESCRIPTOR_LINKS)
@pytest.mark.parametrize("output", ["-o -", "--json"])
def test_manifest_on_standard_output_beside_the_data_is_refused(tmp_path, manifest, output):
    _descriptor_links(tmp_path)
    before = _state(tmp_path)
    result = run_subprocess(["ones", "--shape", "3", *output.split(), f"--manifest={manifest}"], tmp_path)
    _refused(result, tmp_path, before, code=2, says="is standard output")
    assert result.stdout == b""


def _sha_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_records_the_output_size_and_sha256(tmp_path):
    assert (
        run_in_process(["he_normal", "--shape", "8,8", "--seed", "3", "-o", "w.npy", "--manifest"], tmp_path).exit_code
        == 0
    )
    document = json.loads((tmp_path / "w.npy.json").read_text())
    assert document["output"] == "w.npy"
    assert document["file_bytes"] == (tmp_path / "w.npy").stat().st_size
    assert document["file_sha256"] == _sha_file(tmp_path / "w.npy")
    # and for a file a run adds to: the whole file as committed
    run_in_process(["ones", "--shape", "2", "-n", "a", "-o", "f.npz"], tmp_path)
    run_in_process(["ones", "--shape", "2", "-n", "b", "-o", "f.npz", "--append", "--manifest=f.json"], tmp_path)
    document = json.loads((tmp_path / "f.json").read_text())
    assert document["file_sha256"] == _sha_file(tmp_path / "f.npz")


def test_forced_rewrite_removes_only_its_own_stale_manifest(tmp_path):
    run_in_process(["he_normal", "--shape", "8,8", "--seed", "1", "-o", "w.npy", "--manifest"], tmp_path)
    assert (tmp_path / "w.npy.json").exists()
    _succeeded(run_in_process(["he_normal", "--shape", "8,8", "--seed", "2", "-o", "w.npy", "--force"], tmp_path))
    assert not (tmp_path / "w.npy.json").exists()  # it described the file this run replaced
    # a manifest of another output under this name, and a JSON file of someone else's, are kept
    run_in_process(["ones", "--shape", "2", "-o", "other.npy", "--manifest"], tmp_path)
    os.rename(tmp_path / "other.npy.json", tmp_path / "w.npy.json")
    kept = _sha_file(tmp_path / "w.npy.json")
    _succeeded(run_in_process(["he_normal", "--shape", "8,8", "--seed", "3", "-o", "w.npy", "--force"], tmp_path))
    assert _sha_file(tmp_path / "w.npy.json") == kept
    (tmp_path / "w.npy.json").write_text('{"mine": true}')
    _succeeded(run_in_process(["he_normal", "--shape", "8,8", "--seed", "4", "-o", "w.npy", "--force"], tmp_path))
    assert (tmp_path / "w.npy.json").read_text() == '{"mine": true}'
    # an add without --force keeps the sidecar (nothing was replaced by force)
    run_in_process(["ones", "--shape", "2", "-o", "h.weights.h5", "--path", "a", "--manifest"], tmp_path)
    run_in_process(["ones", "--shape", "2", "-o", "h.weights.h5", "--path", "b"], tmp_path)
    assert (tmp_path / "h.weights.h5.json").exists()


# --- 5. names a format cannot hold; names up to NAME_MAX -------------------------------------------------------


NAME_CASES = {
    "nul-keras3": ([_dense("a\0x"), _dense("a\0y")], "x.weights.h5", "\\x00"),
    "nul-legacy": ([_dense("a\0x"), _dense("a\0y")], "x.h5", "\\x00"),
    "nul-npz": ([_dense("a\0x"), _dense("a\0y")], "x.npz", "\\x00"),
    "long-npz": ([_dense("L" * 70000)], "x.npz", "65535"),
}


@pytest.mark.parametrize("case", list(NAME_CASES))
def test_names_the_format_cannot_hold_are_refused(tmp_path, case):
    layers, output, says = NAME_CASES[case]
    _batch_config(tmp_path, layers)
    before = _state(tmp_path)
    result = run_subprocess(["batch", "model.json", "--seed", "1", "-o", output, "--force"], tmp_path)
    _refused(result, tmp_path, before, code=2, says=says)


def _plan(*weights: tuple[str, str, str, int]):
    """A plan of one-weight layers: (layer name, weight path, HDF5 object, HDF5 index)."""
    from initcli.initializers import lookup
    from initcli.model.plan import LayerPlan, ModelPlan, Piece, WeightPlan

    ones = lookup("ones")()
    layers = []
    for layer, path, obj, index in weights:
        weight = WeightPlan("kernel", path, (2,), np.dtype("float32"), [Piece(ones, (2,))], obj, index)
        layers.append(LayerPlan(layer, "Dense", obj, [weight], {obj: layer}))
    return ModelPlan("m", layers)


@pytest.mark.parametrize(
    "layout,weights",
    [
        ("keras3", [("a", "a/kernel", "layers/a", 0), ("b", "b/kernel", "layers//a", 0)]),
        ("keras3", [("a", "a/kernel", "layers/a", 0), ("b", "b/kernel", "layers/a/vars/0", 0)]),
        ("keras3", [("a\0", "a/kernel", "layers/a", 0)]),
        ("legacy", [("x", "k", "x", 0), ("x//", "k", "x", 0)]),
        ("legacy", [("x", "x/k", "x", 0), ("x/x/k", "x/x/k/j", "x/x/k", 0)]),
        ("legacy", [("x", "x/k\0a", "x", 0), ("y", "y/k\0b", "y", 0)]),
    ],
    ids=[
        "double-slash",
        "dataset-as-group",
        "nul-layer",
        "legacy-double-slash",
        "legacy-dataset-as-group",
        "nul-weight",
    ],
)
def test_library_refuses_names_that_become_one_hdf5_path(tmp_path, layout, weights):
    """Names a config cannot produce (configs refuse '/') but the library API can: the writer
    itself refuses them, before the file exists."""
    from initcli.errors import InvalidArgument
    from initcli.writers.keras_h5 import write_weights_h5

    plan = _plan(*weights)
    arrays = {w.path: np.ones(2, np.float32) for layer in plan.layers for w in layer.weights}
    CASES["tried"] += 1
    with pytest.raises(InvalidArgument) as refused:
        write_weights_h5(tmp_path / "m.weights.h5", plan, arrays, layout=layout)
    assert "\n" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []
    CASES["refused"] += 1


def test_names_that_are_not_utf8_are_refused(tmp_path):
    """A name from a command line in another encoding (Python keeps the bytes as surrogates)."""
    before = _state(tmp_path)
    for args, code in (
        ([b"ones", b"--shape", b"3", b"-n", b"caf\xe9", b"-o", b"x.npz"], 2),
        ([b"ones", b"--shape", b"3", b"-o", b"x.weights.h5", b"--path", b"caf\xe9"], 2),
    ):
        proc = subprocess.run([sys.executable.encode(), b"-m", b"initcli", *args], cwd=tmp_path, capture_output=True)
        _refused(Run(proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")), tmp_path, before, code=code)


@pytest.mark.parametrize("no_tmpfile", [False, True], ids=["tmpfile", "named"])
@pytest.mark.parametrize("suffix", [".npz", ".weights.h5", ".npy"])
def test_names_up_to_name_max_can_be_replaced_and_added_to(tmp_path, monkeypatch, suffix, no_tmpfile):
    if no_tmpfile:
        monkeypatch.setenv("INITCLI_NO_TMPFILE", "1")
    name = "n" * (255 - len(suffix)) + suffix
    extra = {".npz": ["-n", "a"], ".weights.h5": ["--path", "a"], ".npy": []}[suffix]
    _succeeded(run_in_process(["ones", "--shape", "3", "-o", name, *extra], tmp_path))
    _succeeded(run_in_process(["zeros", "--shape", "3", "-o", name, *extra, "--force"], tmp_path))
    if suffix != ".npy":
        add = {".npz": ["-n", "b", "--append"], ".weights.h5": ["--path", "b"]}[suffix]
        _succeeded(run_in_process(["ones", "--shape", "3", "-o", name, *add], tmp_path))
        assert _contents(tmp_path / name) == {"a", "b"}
    assert [p.name for p in tmp_path.iterdir()] == [name]


# --- 6. the directory is fsynced after the final link or rename ------------------------------------------------


@pytest.mark.parametrize("no_tmpfile", [False, True], ids=["tmpfile", "named"])
def test_directory_is_synced_after_the_commit(tmp_path, monkeypatch, no_tmpfile):
    """os.fsync, os.link and os.replace are wrapped to record what they were called on (they
    still do their work on the real file system)."""
    if no_tmpfile:
        monkeypatch.setenv("INITCLI_NO_TMPFILE", "1")
    events: list[tuple[str, object]] = []
    real_fsync, real_link, real_replace = os.fsync, os.link, os.replace

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        events.append(("fsync-dir" if stat.S_ISDIR(info.st_mode) else "fsync", (info.st_dev, info.st_ino)))
        real_fsync(fd)

    def link(*args: object, **kwargs: object) -> None:
        real_link(*args, **kwargs)
        events.append(("link", None))

    def replace(*args: object, **kwargs: object) -> None:
        real_replace(*args, **kwargs)
        events.append(("rename", None))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "replace", replace)
    directory = (tmp_path.stat().st_dev, tmp_path.stat().st_ino)
    writes = [
        lambda: write_npy(tmp_path / "a.npy", np.ones(3)),
        lambda: write_npy(tmp_path / "a.npy", np.zeros(3), force=True),
        lambda: write_npz(tmp_path / "b.npz", {"x": np.ones(2)}),
        lambda: write_npz(tmp_path / "b.npz", {"y": np.ones(2)}, append=True),
        lambda: write_dataset(tmp_path / "c.h5", "g/d", np.ones(4)),
        lambda: write_dataset(tmp_path / "c.h5", "g/e", np.ones(4)),
    ]
    for write in writes:
        events.clear()
        write()
        commits = [i for i, (kind, _) in enumerate(events) if kind in ("link", "rename")]
        assert commits, events
        assert ("fsync-dir", directory) in events[commits[-1] + 1 :], events
        assert any(kind == "fsync" for kind, _ in events[: commits[0]]), "the data is synced before the commit"


# --- 7. signals on the named scratch path ------------------------------------------------------------------------


SIGNAL_CASES = {
    "npy": ["glorot_normal", "--shape", "8192,8192", "--seed", "1", "-q", "-o", "out.npy"],
    "h5-add": ["he_normal", "--shape", "8192,8192", "--seed", "1", "-q", "-o", "keep.weights.h5", "--path", "x"],
    "npz-force": ["glorot_uniform", "--shape", "8192,8192", "--seed", "1", "-q", "-o", "keep.npz", "--force"],
}
ENDINGS = {
    signal.SIGHUP: (129, "hung up"),
    signal.SIGQUIT: (131, "quit"),
    signal.SIGTERM: (143, "terminated"),
    signal.SIGINT: (130, "interrupted"),
}


@pytest.mark.parametrize("case", list(SIGNAL_CASES))
@pytest.mark.parametrize("sig", list(ENDINGS), ids=[s.name for s in ENDINGS])
def test_signals_clean_the_named_scratch_file(tmp_path, case, sig):
    with h5py.File(tmp_path / "keep.weights.h5", "w") as handle:
        handle["a"] = np.arange(10.0)
    np.savez(tmp_path / "keep.npz", a=np.arange(3.0))
    before = _state(tmp_path)
    process = _cli(SIGNAL_CASES[case], tmp_path, env=NO_TMPFILE)
    _wait_for(lambda: _scratch_bytes(tmp_path) > 1 << 20 or process.poll() is not None, what="the scratch file")
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    CASES["tried"] += 1
    code, word = ENDINGS[sig]
    assert process.returncode == code, stderr
    assert _one_line(stderr.decode()) == f"initcli: error: {word}"
    assert _state(tmp_path) == before  # existing files intact, no .part, nothing new
    CASES["refused"] += 1


@pytest.mark.parametrize(
    "args",
    [
        ["glorot_normal", "--shape", "1024,1024", "--seed", "1", "-o", "out.npy"],
        ["glorot_normal", "--shape", "1024,1024", "--seed", "1", "-o", "keep.npz", "--force"],
        ["glorot_normal", "--shape", "1024,1024", "--seed", "1", "-o", "keep.weights.h5", "--path", "x/y"],
    ],
    ids=["npy", "npz-force", "h5-add"],
)
def test_failure_on_the_named_path_leaves_no_scratch(tmp_path, args):
    with h5py.File(tmp_path / "keep.weights.h5", "w") as handle:
        handle["a"] = np.arange(10.0)
    np.savez(tmp_path / "keep.npz", a=np.arange(3.0))
    before = _state(tmp_path)
    process = _cli(args, tmp_path, preexec_fn=_limit_file_size(1 << 20), env=NO_TMPFILE)
    _, stderr = process.communicate(timeout=120)
    _refused(Run(process.returncode, b"", stderr.decode()), tmp_path, before, says="File too large")


# --- 8. append-only directories ---------------------------------------------------------------------------------


@pytest.fixture
def append_only(tmp_path):
    directory = tmp_path / "ao"
    directory.mkdir()
    run_in_process(["ones", "--shape", "3", "-o", "ao/keep.npy"], tmp_path)
    run_in_process(["ones", "--shape", "3", "-n", "a", "-o", "ao/keep.npz"], tmp_path)
    run_in_process(["ones", "--shape", "3", "-o", "ao/keep.weights.h5", "--path", "a"], tmp_path)
    result = subprocess.run(["chattr", "+a", str(directory)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"chattr +a is not available here: {result.stderr.decode().strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["chattr", "-a", str(directory)], check=True)


@pytest.mark.parametrize(
    "args,env",
    [
        (["zeros", "--shape", "3", "-o", "keep.npy", "--force"], None),
        (["zeros", "--shape", "3", "-n", "b", "-o", "keep.npz", "--append"], None),
        (["zeros", "--shape", "3", "-o", "keep.weights.h5", "--path", "b"], None),
        (["zeros", "--shape", "3", "-o", "new.npy"], NO_TMPFILE),
        (["zeros", "--shape", "3", "-o", "keep.npy", "--force"], NO_TMPFILE),
    ],
    ids=["force", "append", "h5-add", "named-new", "named-force"],
)
def test_append_only_directory_refused_up_front(append_only, args, env):
    before = _state(append_only)
    proc = subprocess.run(
        [sys.executable, "-m", "initcli", *args], cwd=append_only, capture_output=True, env=env, timeout=60
    )
    _refused(Run(proc.returncode, proc.stdout, proc.stderr.decode()), append_only, before, says="append-only")


def test_append_only_directory_still_takes_new_files(append_only):
    """An unnamed scratch file needs no name to lose: a new file is just linked in."""
    _succeeded(run_subprocess(["zeros", "--shape", "3", "-o", "new.npy"], append_only))
    assert sorted(p.name for p in append_only.iterdir()) == ["keep.npy", "keep.npz", "keep.weights.h5", "new.npy"]


# --- 9. symbolic links as outputs; links inside HDF5 files ------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    ["npz-append", "h5-path", "npy-force", "other-directory"],
)
def test_symlinked_output_changes_the_file_it_points_to(tmp_path, case):
    real_dir = tmp_path / "real" if case == "other-directory" else tmp_path
    real_dir.mkdir(exist_ok=True)
    if case in ("npz-append", "other-directory"):
        run_in_process(["ones", "--shape", "3", "-n", "a", "-o", str(real_dir / "f.npz")], tmp_path)
        os.symlink(real_dir / "f.npz", tmp_path / "link.npz")
        args, link, expected = (
            ["zeros", "--shape", "3", "-n", "b", "--append", "-o", "link.npz"],
            "link.npz",
            {"a", "b"},
        )
    elif case == "h5-path":
        run_in_process(["ones", "--shape", "3", "-o", "f.weights.h5", "--path", "a"], tmp_path)
        os.symlink("f.weights.h5", tmp_path / "link.weights.h5")
        args, link, expected = (
            ["zeros", "--shape", "3", "--path", "b", "-o", "link.weights.h5"],
            "link.weights.h5",
            {"a", "b"},
        )
    else:
        run_in_process(["ones", "--shape", "3", "-o", "f.npy"], tmp_path)
        os.symlink("f.npy", tmp_path / "link.npy")
        args, link, expected = ["zeros", "--shape", "3", "--force", "-o", "link.npy"], "link.npy", None
    target = os.readlink(tmp_path / link)
    _succeeded(run_in_process(args, tmp_path))
    assert (tmp_path / link).is_symlink() and os.readlink(tmp_path / link) == target
    real = Path(target) if os.path.isabs(target) else tmp_path / target
    if expected is None:
        assert np.load(real).tolist() == [0.0, 0.0, 0.0]
    else:
        assert _contents(real) == expected
    _no_scratch(tmp_path)


@pytest.mark.parametrize("case", ["dangling", "loop", "dangling-append", "loop-h5", "dangling-manifest"])
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_dangling_and_looping_links_are_refused(tmp_path, case, force):
    if case.startswith("dangling"):
        os.symlink("nowhere.npz", tmp_path / "out.npz")
    else:
        os.symlink("out.npz", tmp_path / "out.npz")
    args = {
        "dangling": ["ones", "--shape", "3", "-o", "out.npz"],
        "loop": ["ones", "--shape", "3", "-o", "out.npz"],
        "dangling-append": ["ones", "--shape", "3", "-o", "out.npz", "--append"],
        "loop-h5": ["ones", "--shape", "3", "-o", "out.npz", "--format", "hdf5", "--path", "a"],
        "dangling-manifest": ["ones", "--shape", "3", "-o", "w.npy", "--manifest=out.npz"],
    }[case]
    before = _state(tmp_path)
    result = run_in_process([*args, *(["--force"] if force else [])], tmp_path)
    _refused(result, tmp_path, before, says="symbolic link")


def _h5_with_links(directory: Path) -> None:
    with h5py.File(directory / "other.h5", "w") as other:
        other["grp/x"] = np.arange(3.0)
    with h5py.File(directory / "f.weights.h5", "w") as handle:
        handle["real/d"] = np.arange(3.0)
        handle["soft"] = h5py.SoftLink("/real")
        handle["ext"] = h5py.ExternalLink("other.h5", "/grp")
        handle["dangling"] = h5py.SoftLink("/nowhere")
        handle["loop1"] = h5py.SoftLink("/loop2")
        handle["loop2"] = h5py.SoftLink("/loop1")
        handle.create_group("deep")
        handle["deep/soft"] = h5py.SoftLink("/real")


@pytest.mark.parametrize(
    "dataset", ["soft/new", "ext/new", "ext", "dangling", "dangling/new", "loop1/new", "deep/soft/new", "soft"]
)
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_links_inside_hdf5_are_refused_before_any_work(tmp_path, dataset, force):
    _h5_with_links(tmp_path)
    before = _state(tmp_path)
    args = ["ones", "--shape", "3", "-o", "f.weights.h5", "--path", dataset, *(["--force"] if force else [])]
    result = run_in_process(args, tmp_path)
    line = _refused(result, tmp_path, before, says="link")
    assert "wrote" not in result.stderr and line


# --- 10. ranks NumPy cannot load ---------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["r.npy", "r.npz", "-"])
def test_rank_above_32_is_refused_for_npy_and_npz(tmp_path, output):
    shape = ",".join(["1"] * 33)
    before = _state(tmp_path)
    result = run_subprocess(["ones", "--shape", shape, "-o", output], tmp_path)
    line = _refused(result, tmp_path, before, code=2, says="32")
    assert "64" in line and result.stdout == b""


def test_rank_32_is_written(tmp_path):
    _succeeded(run_in_process(["ones", "--shape", ",".join(["1"] * 32), "-o", "r.npy"], tmp_path))
    assert np.load(tmp_path / "r.npy").ndim == 32


# --- the re-entrant lock ---------------------------------------------------------------------------------------


def test_directory_lock_is_reentrant_and_exclusive(tmp_path):
    """Within a thread the lock is taken again at once (by any name of the directory); another
    process waits for it."""
    os.symlink(tmp_path, tmp_path.parent / f"{tmp_path.name}-alias")
    alias = tmp_path.parent / f"{tmp_path.name}-alias"
    try:
        with atomic.directory_lock(tmp_path / "a"), atomic.directory_lock(alias / "b"):
            write_npy(tmp_path / "c.npy", np.ones(2), force=True)  # commits under the same lock
            probe = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); "
                    "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)",
                    str(tmp_path),
                ],
                capture_output=True,
                timeout=60,
            )
            assert probe.returncode != 0 and b"BlockingIOError" in probe.stderr
    finally:
        alias.unlink()


def test_report_edge_counts():
    """Printed for the README's reliability section (run with -s to see it)."""
    print("edge cases tried:", CASES["tried"], "refused cleanly:", CASES["refused"])
