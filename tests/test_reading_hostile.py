"""Hostile and damaged files given to the readers (``inspect``, ``verify``): every one is refused
or read cleanly, one line naming the file, before any data it should not touch is read."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import warnings
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from initcli.errors import InvalidArgument, ResourceError
from initcli.provenance import Drawn, drawn_from_record
from initcli.readers import read_tensors
from initcli.verify import compare_streamed, verify_file

from .helpers import run_in_process


def test_max_bytes_refuses_before_reading(tmp_path):
    assert run_in_process(["zeros", "-s", "100", "-o", "a.npz"], tmp_path).exit_code == 0
    with pytest.raises(ResourceError, match="more than --max-bytes"), read_tensors(tmp_path / "a.npz", max_bytes=399):
        pass
    with pytest.raises(ResourceError, match="400 B of tensors"):
        verify_file(tmp_path / "a.npz", max_bytes=10)
    with read_tensors(tmp_path / "a.npz", max_bytes=400) as stored:
        assert np.array_equal(stored.tensors[0].load(), np.zeros(100, np.float32))


# ----------------------------------------------------------------------------- verify cannot be fooled


def _rewrite_npz(path: Path, records: dict[str, object], arrays: dict[str, np.ndarray]) -> None:
    """Rewrite an .npz that initcli wrote with new member comments (JSON of ``records``, or
    raw text/bytes) and member data (``arrays``), as an attacker would."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        comment = archive.comment
    with zipfile.ZipFile(path, "w") as archive:
        archive.comment = comment
        for info in infos:
            name = info.filename.removesuffix(".npy")
            stream = io.BytesIO()
            np.lib.format.write_array(stream, np.ascontiguousarray(arrays[name]))
            record = records[name]
            new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            new.compress_type = info.compress_type
            new.comment = record if isinstance(record, bytes) else json.dumps(record).encode()
            archive.writestr(new, stream.getvalue())


def _npz_state(path: Path) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    with zipfile.ZipFile(path) as archive:
        records = {info.filename.removesuffix(".npy"): json.loads(info.comment) for info in archive.infolist()}
    with np.load(path) as loaded:
        arrays = {name: loaded[name].copy() for name in loaded.files}
    return records, arrays


def _piece(record: dict) -> dict:
    return record["pieces"][0]


def _alias(record: dict, target: str) -> dict:
    kept = {k: record[k] for k in ("schema", "initcli", "stream", "path", "shape", "dtype")}
    return {**kept, "alias_of": target}


def _partial_cover(r, a):  # the one piece covers only the first half; the second half is changed
    a["a"][3:] += 1
    _piece(r["a"])["shape"] = [3, 4]


def _two_pieces_short(r, a):  # two pieces of 3 + 2 rows for 6 rows; the last row is changed
    a["a"][5] = 7
    first = _piece(r["a"])
    r["a"]["pieces"] = [{**first, "shape": [3, 4]}, {**first, "shape": [2, 4]}]


def _pieces_dict(r, a):
    a["a"][:] = 1
    r["a"]["pieces"] = {}


def _pieces_empty(r, a):
    a["a"][:] = 1
    r["a"]["pieces"] = []


def _pieces_string(r, a):
    r["a"]["pieces"] = "he_normal"


def _shape_string(r, a):
    r["a"]["shape"] = "6,4"


def _shape_huge(r, a):
    r["a"]["shape"] = [2**70, 4]
    _piece(r["a"])["shape"] = [2**70, 4]


def _shape_bools(r, a):
    r["b"]["shape"] = [6, True]
    _piece(r["b"])["shape"] = [6, True]


def _draw_bool(r, a):  # True is not the integer 1: tensor a given b's values, its draw "True"
    a["a"] = a["b"].copy()
    _piece(r["a"])["draw"] = True


def _draw_float(r, a):
    a["a"] = a["b"].copy()
    _piece(r["a"])["draw"] = 1.0


def _draw_negative(r, a):
    _piece(r["a"])["draw"] = -1


def _draw_huge(r, a):
    _piece(r["a"])["draw"] = 2**64


def _stream_string(r, a):
    r["a"]["stream"] = "numpy"


def _dtype_nonsense(r, a):
    r["a"]["dtype"] = "xyz"


def _dtype_object(r, a):
    r["a"]["dtype"] = "object"


def _initializer_unknown(r, a):
    _piece(r["a"])["initializer"] = {"class_name": "NoSuchThing", "config": {}}


def _initializer_list(r, a):
    _piece(r["a"])["initializer"] = [1, 2]


def _path_number(r, a):
    r["a"]["path"] = 5


def _alias_self(r, a):  # a changed tensor claims to be a copy of itself
    a["a"][:] = 9
    r["a"] = _alias(r["a"], "a")


def _alias_cycle(r, a):  # two changed tensors claim to be copies of each other
    a["a"][:] = 9
    a["b"][:] = 9
    r["a"], r["b"] = _alias(r["a"], "b"), _alias(r["b"], "a")


def _alias_of_changed(r, a):  # b copies a, but a itself was changed
    a["a"][0, 0] = 9
    a["b"] = a["a"].copy()
    r["b"] = _alias(r["b"], "a")


def _alias_shape(r, a):  # the alias's record says another shape
    a["b"] = a["a"].copy()
    r["b"] = {**_alias(r["b"], "a"), "shape": [24]}


def _alias_missing(r, a):
    r["b"] = _alias(r["b"], "nothing")


def _alias_number(r, a):
    r["b"] = _alias(r["b"], "a") | {"alias_of": 1}


def _duplicate_path(r, a):  # two tensors claim the same path; b aliases it
    a["b"] = a["a"].copy()
    r["b"] = _alias(r["b"], "a") | {"path": "a"}


def _deep_json(r, a):
    r["a"] = b'{"schema": "initcli/provenance/1", "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"


# target tensor -> acceptable verdicts (never "identical")
ATTACKS = {
    _partial_cover: ("a", "unverifiable"),
    _two_pieces_short: ("a", "unverifiable"),
    _pieces_dict: ("a", "unverifiable"),
    _pieces_empty: ("a", "unverifiable"),
    _pieces_string: ("a", "unverifiable"),
    _shape_string: ("a", "unverifiable"),
    _shape_huge: ("a", "unverifiable"),
    _shape_bools: ("b", "unverifiable"),
    _draw_bool: ("a", "unverifiable"),
    _draw_float: ("a", "unverifiable"),
    _draw_negative: ("a", "unverifiable"),
    _draw_huge: ("a", "unverifiable"),
    _stream_string: ("a", "unverifiable"),
    _dtype_nonsense: ("a", "unverifiable"),
    _dtype_object: ("a", "unverifiable"),
    _initializer_unknown: ("a", "unverifiable"),
    _initializer_list: ("a", "unverifiable"),
    _path_number: ("a", "unverifiable"),
    _alias_self: ("a", "unverifiable"),
    _alias_cycle: ("b", "unverifiable"),
    _alias_of_changed: ("b", "unverifiable"),
    _alias_shape: ("b", "different"),
    _alias_missing: ("b", "unverifiable"),
    _alias_number: ("b", "unverifiable"),
    _duplicate_path: ("b", "unverifiable"),
    _deep_json: ("a", "unverifiable"),
}


@pytest.fixture(scope="module")
def sampled_npz(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("attacks")
    assert (
        run_in_process(
            ["random_normal", "-s", "6,4", "-s", "6,4", "-n", "a", "-n", "b", "--seed", "3", "-o", "a.npz", "-q"], work
        ).exit_code
        == 0
    )
    return work / "a.npz"


@pytest.mark.parametrize("attack", list(ATTACKS), ids=lambda f: f.__name__.strip("_"))
def test_verify_cannot_be_fooled(sampled_npz, tmp_path, attack):
    target, expected = ATTACKS[attack]
    path = tmp_path / "a.npz"
    shutil.copy(sampled_npz, path)
    records, arrays = _npz_state(path)
    attack(records, arrays)
    _rewrite_npz(path, records, arrays)
    verdicts = {v.name: v for v in verify_file(path)[1]}
    assert verdicts[target].status == expected, verdicts[target]
    assert verdicts[target].detail and "\n" not in verdicts[target].detail
    result = run_in_process(["verify", str(path)], tmp_path)
    assert result.exit_code == 1, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert re.search(rf"^{expected.upper()} +{target}\b", result.stdout.decode(), re.M), result.stdout


def test_untouched_npz_still_verifies(sampled_npz, tmp_path):
    path = tmp_path / "a.npz"
    shutil.copy(sampled_npz, path)
    _rewrite_npz(path, *_npz_state(path))  # the rewrite itself changes nothing that matters
    assert [v.status for v in verify_file(path)[1]] == ["identical", "identical"]


def test_compare_streamed_needs_every_element(sampled_npz):
    """A regenerated stream that covers only part of the stored tensor (or overruns it) is no match."""
    with read_tensors(sampled_npz) as stored:
        tensor = stored.tensors[0]
        whole = drawn_from_record(tensor.provenance)
        assert compare_streamed(tensor, whole) == ""
        half = Drawn([replace(whole.draws[0], shape=(3, 4))], (6, 4), whole.dtype)
        assert "12 elements" in compare_streamed(tensor, half)
        double = Drawn([whole.draws[0], whole.draws[0]], (6, 4), whole.dtype)
        assert compare_streamed(tensor, double) != ""


BIG = 4_500_000  # a bit over two 2**21-element chunks


@pytest.fixture(scope="module")
def big_files(tmp_path_factory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("big")
    base = ["random_uniform", "-s", str(BIG), "--seed", "1", "-q"]
    for args in (["-o", "big.npy", "--manifest"], ["-o", "big.npz"], ["-o", "big.h5", "--path", "w"]):
        assert run_in_process(base + args, work).exit_code == 0
    return {kind: work / f"big.{kind}" for kind in ("npy", "npz", "h5")}


def _tamper(path: Path, index: int) -> None:
    """Change element ``index`` (float32) of the one tensor of ``path`` in place."""
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r+") as handle:
            handle["w"][index] = 2.5
    elif path.suffix == ".npz":
        with np.load(path) as loaded:
            array = loaded["w"].copy() if "w" in loaded.files else loaded[loaded.files[0]].copy()
        records = {}
        with zipfile.ZipFile(path) as archive:
            records = {i.filename.removesuffix(".npy"): i.comment for i in archive.infolist()}
        array[index] = 2.5
        _rewrite_npz(path, records, {next(iter(records)): array})
    else:
        with open(path, "r+b") as handle:
            handle.seek(128 + 4 * index)
            handle.write(np.float32(2.5).tobytes())


@pytest.mark.parametrize("kind", ["npy", "npz", "h5"])
@pytest.mark.parametrize("index", [BIG // 2, BIG - 1])
def test_verify_reads_every_chunk(big_files, tmp_path, kind, index):
    path = tmp_path / big_files[kind].name
    shutil.copy(big_files[kind], path)
    if kind == "npy":
        shutil.copy(big_files[kind].with_name("big.npy.json"), tmp_path / "big.npy.json")
    _tamper(path, index)
    (verdict,) = verify_file(path)[1]
    assert verdict.status == "different"
    assert f"first difference at index ({index},): 2.5 in the file" in verdict.detail


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory, keras) -> Path:
    """A small .keras archive written by ``initcli model``."""
    work = tmp_path_factory.mktemp("keras")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    (work / "tiny.json").write_text(model.to_json())
    assert run_in_process(["model", "tiny.json", "--seed", "1", "-o", "m.keras", "-q"], work).exit_code == 0
    return work / "m.keras"


@pytest.fixture(scope="module")
def sampled_h5(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("h5")
    args = ["random_normal", "-s", "6,4", "--seed", "3", "-o", "a.h5", "--path", "g/w", "-q"]
    assert run_in_process(args, work).exit_code == 0
    return work / "a.h5"


def _h5_partial(record: dict) -> object:
    record["pieces"][0]["shape"] = [3, 4]
    return json.dumps(record)


def _h5_bool_draw(record: dict) -> object:
    record["pieces"][0]["draw"] = False
    return json.dumps(record)


H5_ATTRIBUTES = {
    "int": lambda record: 7,
    "float-array": lambda record: np.arange(3.0),
    "string-array": lambda record: np.array([json.dumps(record)] * 2, dtype=object),
    "empty": lambda record: __import__("h5py").Empty("f4"),
    "not-utf8-bytes": lambda record: np.void(b"\xff\xfe" * 8),
    "json-list": lambda record: json.dumps([record]),
    "partial-pieces": _h5_partial,
    "bool-draw": _h5_bool_draw,
}


@pytest.mark.parametrize("variant", list(H5_ATTRIBUTES))
def test_hdf5_provenance_attribute_of_any_type(sampled_h5, tmp_path, variant):
    """The ``initcli`` attribute edited to other types, or to provenance that does not cover
    the (changed) data: never identical, never an error other than one clean line."""
    import h5py

    path = tmp_path / "a.h5"
    shutil.copy(sampled_h5, path)
    with h5py.File(path, "r+") as handle:
        dataset = handle["g/w"]
        record = json.loads(dataset.attrs["initcli"])
        dataset[3:] = 1.0
        del dataset.attrs["initcli"]
        dataset.attrs["initcli"] = H5_ATTRIBUTES[variant](record)
    (verdict,) = verify_file(path)[1]
    assert verdict.status == "unverifiable", verdict
    for args in (["verify", str(path)], ["inspect", str(path)], ["inspect", "--json", str(path)]):
        result = run_in_process(args, tmp_path)
        assert result.exit_code in (0, 1), result.stderr
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert "Warning" not in result.stderr, result.stderr


def test_npy_sidecar_cannot_vouch_for_changed_data(tmp_path):
    assert (
        run_in_process(["random_normal", "-s", "6,4", "--seed", "3", "-o", "a.npy", "--manifest"], tmp_path).exit_code
        == 0
    )
    document = json.loads((tmp_path / "a.npy.json").read_text())
    array = np.load(tmp_path / "a.npy")
    array[3:] = 0
    np.save(tmp_path / "a.npy", array)
    document["tensors"][0]["pieces"][0]["shape"] = [3, 4]
    (tmp_path / "a.npy.json").write_text(json.dumps(document))
    (verdict,) = verify_file(tmp_path / "a.npy")[1]
    assert verdict.status == "unverifiable" and "one piece has shape [3, 4]" in verdict.detail
    document["tensors"] = {"not": "a list"}
    (tmp_path / "a.npy.json").write_text(json.dumps(document))
    assert verify_file(tmp_path / "a.npy")[1][0].detail == "no initcli provenance"


# ----------------------------------------------------------------------------- nothing outside FILE is read


def _outside(tmp_path: Path) -> Path:
    """A FIFO with no writer: opening it to read would block, so a hang means it was read."""
    fifo = tmp_path / "outside"
    os.mkfifo(fifo)
    return fifo


def _external_storage(handle, outside: Path) -> str:
    handle.create_dataset("x/ext", shape=(4,), dtype="f4", external=[(str(outside), 0, 16)])
    return "dataset 'x/ext' of {} keeps its data in external files"


def _virtual(handle, outside: Path) -> str:
    import h5py

    layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
    layout[:] = h5py.VirtualSource(str(outside), "w", shape=(4,))
    handle.create_virtual_dataset("x/virt", layout)
    return "dataset 'x/virt' of {} is a virtual dataset"


def _external_link(handle, outside: Path) -> str:
    import h5py

    handle["x/link"] = h5py.ExternalLink(str(outside), "/w")
    return "{}: 'x/link' is an external link"


def _soft_link(handle, outside: Path) -> str:
    import h5py

    handle["x/soft"] = h5py.SoftLink("/w")
    return "{}: 'x/soft' is a soft link"


OUTSIDE = [_external_storage, _virtual, _external_link, _soft_link]


def _with_outside(path: Path, outside: Path, add) -> str:
    import h5py

    with h5py.File(path, "a") as handle:
        return add(handle, outside)


@pytest.mark.parametrize("add", OUTSIDE, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("container", ["h5", "keras"])
def test_reading_never_reads_other_files(sampled_h5, keras_file, tmp_path, add, container):
    outside = _outside(tmp_path)
    if container == "h5":
        path = tmp_path / "a.h5"
        shutil.copy(sampled_h5, path)
        text = _with_outside(path, outside, add)
    else:
        path = tmp_path / "m.keras"
        with zipfile.ZipFile(keras_file) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
        (tmp_path / "weights.h5").write_bytes(members["model.weights.h5"])
        text = _with_outside(tmp_path / "weights.h5", outside, add)
        members["model.weights.h5"] = (tmp_path / "weights.h5").read_bytes()
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    text = text.format(repr(str(path)))
    with pytest.raises(InvalidArgument) as raised:
        verify_file(path)
    assert text in str(raised.value)
    for command in ("inspect", "verify"):
        proc = subprocess.run(
            [sys.executable, "-m", "initcli", command, str(path)], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("initcli: error: ") and text in lines[0], proc.stderr
        assert proc.stdout == ""


# ----------------------------------------------------------------------------- bounded memory and time

_READ_ALL = (
    "import json, os, sys\n"
    "from initcli.readers import read_tensors\n"
    "with read_tensors(sys.argv[1]) as stored:\n"
    "    for tensor in stored.tensors:\n"
    "        read = tensor.flat_reader()\n"
    "        while read(1 << 20).size:\n"
    "            pass\n"
)
_LAUNCHER = (
    "import os, subprocess, sys\n"
    "process = subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]])\n"
    "_, status, usage = os.wait4(process.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024)\n"
)


def _reading_peak_mib(path: Path) -> float:
    """Peak resident memory of a fresh process that reads every element of ``path`` (measured
    by a small launcher: a child forked from this large test process would count our pages)."""
    proc = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, _READ_ALL, str(path)], capture_output=True, text=True, timeout=120
    )
    code, peak = proc.stdout.split()
    assert code == "0", proc.stderr
    return float(peak)


@pytest.fixture(scope="module")
def big_keras(tmp_path_factory, keras) -> Path:
    """A .keras archive whose stored ``model.weights.h5`` holds a 256 MiB kernel."""
    work = tmp_path_factory.mktemp("bigkeras")
    model = keras.Sequential([keras.Input((8192,)), keras.layers.Dense(8192, use_bias=False)])
    (work / "big.json").write_text(model.to_json())
    assert run_in_process(["model", "big.json", "--seed", "1", "-o", "big.keras", "-q"], work).exit_code == 0
    return work / "big.keras"


def test_keras_weights_are_read_in_place(big_keras):
    """A stored member is read through a window on the archive, not loaded whole: reading all
    256 MiB peaks far below 256 MiB."""
    with zipfile.ZipFile(big_keras) as archive:
        info = archive.getinfo("model.weights.h5")
    assert info.compress_type == zipfile.ZIP_STORED and info.file_size > 256 * 2**20
    peak = _reading_peak_mib(big_keras)
    assert peak < 160, f"peak resident memory {peak:.0f} MiB"


def test_compressed_keras_weights_are_inflated_to_disk_not_memory(big_keras, tmp_path):
    """A deflated member (here 256 MiB of zeros: a 250 KiB bomb) goes to an unnamed temporary
    file: read whole with bounded memory; refused up front under a smaller --max-bytes."""
    import h5py

    weights = tmp_path / "model.weights.h5"
    with zipfile.ZipFile(big_keras) as archive:
        weights.write_bytes(archive.read("model.weights.h5"))
        config = archive.read("config.json")
    with h5py.File(weights, "r+") as handle:
        (name,) = [n for n, node in _datasets(handle)]
        dataset = handle[name]
        for row in range(0, dataset.shape[0], 1024):
            dataset[row : row + 1024] = 0.0
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", config)
        archive.write(weights, "model.weights.h5")
    weights.unlink()
    assert bomb.stat().st_size < 2 * 2**20
    peak = _reading_peak_mib(bomb)
    assert peak < 160, f"peak resident memory {peak:.0f} MiB"
    result = run_in_process(["inspect", str(bomb)], tmp_path)
    assert result.exit_code == 0 and "256.0 MiB" in result.stdout.decode(), result.stderr
    with pytest.raises(ResourceError, match=r"declares 256\.0 MiB, more than the 65\.0 MiB"):
        verify_file(bomb, max_bytes=2**20)


def _datasets(handle) -> list[tuple[str, object]]:
    import h5py

    found: list[tuple[str, object]] = []
    handle.visititems(lambda name, node: found.append((name, node)) if isinstance(node, h5py.Dataset) else None)
    return found


def _unallocated_chunked(handle) -> str:
    handle.create_dataset("w", shape=(2**40,), dtype="f4", chunks=(2**20,))
    return "declares 1099511627776 float32 (4398046511104 bytes) but stores 0 bytes"


def _unwritten_contiguous(handle) -> str:
    handle.create_dataset("w", shape=(2**31,), dtype="f4")
    return "declares 2147483648 float32 (8589934592 bytes) but stores 0 bytes"


def _compressed_unallocated(handle) -> str:
    handle.create_dataset("w", shape=(2**36,), dtype="f4", chunks=(2**20,), compression="gzip")
    return "from 0 compressed bytes, more than 1100x"


def _compressed_one_chunk(handle) -> str:
    dataset = handle.create_dataset("w", shape=(2**36,), dtype="f4", chunks=(2**20,), compression="gzip")
    dataset[: 2**20] = 0.0
    return "compressed bytes, more than 1100x"


@pytest.mark.parametrize(
    "make", [_unallocated_chunked, _unwritten_contiguous, _compressed_unallocated, _compressed_one_chunk]
)
def test_declared_sizes_must_be_stored(tmp_path, make):
    """A tiny HDF5 file declaring terabytes of fill values is refused at once, with the numbers."""
    import h5py

    path = tmp_path / "huge.h5"
    with h5py.File(path, "w") as handle:
        text = make(handle)
    assert path.stat().st_size < 2**20
    for command in ("inspect", "verify"):
        proc = subprocess.run(
            [sys.executable, "-m", "initcli", command, str(path)], capture_output=True, text=True, timeout=60
        )
        lines = proc.stderr.splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert text in lines[0] and f"dataset 'w' of {str(path)!r}" in lines[0], lines[0]


def test_compressed_and_chunked_datasets_still_read(tmp_path):
    import h5py

    path = tmp_path / "ok.h5"
    values = np.random.default_rng(1).standard_normal((300, 7)).astype(np.float32)
    with h5py.File(path, "w") as handle:
        handle.create_dataset("gz", data=values, chunks=(64, 7), compression="gzip")
        handle.create_dataset("chunked", data=values, chunks=(128, 4))
        handle.create_dataset("zeros", data=np.zeros(100_000, np.float32), chunks=(10_000,), compression="gzip")
        handle.create_dataset("empty", shape=(0, 3), dtype="f4")
    with read_tensors(path) as stored:
        loaded = {t.name: t.load() for t in stored.tensors}
    assert np.array_equal(loaded["gz"], values) and np.array_equal(loaded["chunked"], values)
    assert loaded["empty"].shape == (0, 3) and not loaded["zeros"].any()


def _npy_member(shape: tuple[int, ...], data: bytes, descr: str = "<f4") -> bytes:
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": descr, "fortran_order": False, "shape": shape})
    return stream.getvalue() + data


def _patched_sizes(path: Path, size: int) -> None:
    """Set the uncompressed size of the archive's one member (local header and central
    directory) to ``size``."""
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, raw.find(b"PK\x03\x04") + 22, size)
    struct.pack_into("<I", raw, raw.find(b"PK\x01\x02") + 24, size)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("sizes", ["honest", "patched"])
def test_npz_member_shorter_than_its_header(tmp_path, compression, sizes):
    """A member holding 50 of the 100 values its header declares: refused up front when the zip
    says so, and mid-stream (never a short array) when the zip's sizes were forged too."""
    path = tmp_path / "short.npz"
    body = _npy_member((100,), np.arange(50, dtype=np.float32).tobytes())
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("a.npy", body)
    if sizes == "patched":
        _patched_sizes(path, len(body) + 200)
    for args in (["inspect", str(path)], ["inspect", "--json", str(path)]):
        result = run_in_process(args, tmp_path)
        lines = result.stderr.splitlines()
        assert result.exit_code == 2 and len(lines) == 1, result.stderr
        assert f"member 'a.npy' of {str(path)!r} is truncated" in lines[0], lines[0]
        assert result.stdout == b""


def test_npy_truncated_while_being_read(tmp_path):
    """Another process truncates the .npy between open and read: a clean error, no SIGBUS
    (a memory map would kill the process), no short array."""
    assert (
        run_in_process(["random_uniform", "-s", "1000000", "--seed", "1", "-o", "a.npy", "-q"], tmp_path).exit_code == 0
    )
    path = tmp_path / "a.npy"
    with read_tensors(path) as stored:
        (tensor,) = stored.tensors
        read = tensor.flat_reader()
        assert read(1000).size == 1000
        os.truncate(path, 200_000)
        with pytest.raises(ResourceError, match=r"changed while being read"):
            read(999_000)
        with pytest.raises(ResourceError, match=r"changed while being read"):
            tensor.load()
    with pytest.raises(InvalidArgument, match=r"is truncated: its header declares 1000000 float32"):
        verify_file(path)


def test_hdf5_locked_by_another_writer(sampled_h5, tmp_path):
    path = tmp_path / "a.h5"
    shutil.copy(sampled_h5, path)
    script = "import h5py, sys, time; f = h5py.File(sys.argv[1], 'a'); print('open', flush=True); time.sleep(60)"
    with subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout.readline().strip() == "open"
            for command in ("inspect", "verify"):
                result = run_in_process([command, str(path)], tmp_path)
                lines = result.stderr.splitlines()
                assert result.exit_code == 1 and len(lines) == 1, result.stderr
                assert f"{str(path)!r} is locked by another process" in lines[0]
        finally:
            holder.kill()


# ----------------------------------------------------------------------------- damaged and unusual files


def _npy_file(header: str, data: bytes = b"") -> bytes:
    """A .npy 1.0 file with a literal header dict (padded as numpy pads it)."""
    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def _cli_file(tmp_path: Path, args: list[str], name: str) -> Path:
    assert run_in_process([*args, "-o", name, "-q"], tmp_path).exit_code == 0
    return tmp_path / name


def _zip_flags(path: Path, *, flag: int | None = None, method: int | None = None) -> None:
    """Set the general-purpose flag or the compression method of every member, local and central."""
    raw = bytearray(path.read_bytes())
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = raw.find(signature)
        while at >= 0:
            if flag is not None:
                struct.pack_into("<H", raw, at + flag_at, struct.unpack_from("<H", raw, at + flag_at)[0] | flag)
            if method is not None:
                struct.pack_into("<H", raw, at + method_at, method)
            at = raw.find(signature, at + 4)
    path.write_bytes(bytes(raw))


def _bad_crc(tmp_path):
    path = _cli_file(tmp_path, ["random_normal", "-s", "64", "--seed", "1"], "a.npz")
    raw = bytearray(path.read_bytes())
    raw[raw.find(b"a.npy") + 5 + 128 + 40] ^= 0x01  # a data byte of the stored member
    path.write_bytes(bytes(raw))
    return path, "Bad CRC-32"


def _encrypted(tmp_path):
    path = _cli_file(tmp_path, ["random_normal", "-s", "64", "--seed", "1"], "a.npz")
    _zip_flags(path, flag=0x1)
    return path, "is encrypted"


def _unknown_method(tmp_path):
    path = _cli_file(tmp_path, ["random_normal", "-s", "64", "--seed", "1"], "a.npz")
    _zip_flags(path, method=99)
    return path, "compression method 99"


def _duplicate_names(tmp_path):
    path = tmp_path / "dup.npz"
    body = _npy_member((2,), np.zeros(2, np.float32).tobytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a.npy", body)
            archive.writestr("a.npy", body)
    return path, "two members named 'a.npy'"


def _npy(header: str, data: bytes = b"", text: str = ""):
    def make(tmp_path):
        path = tmp_path / "x.npy"
        path.write_bytes(_npy_file(header, data))
        return path, text

    make.__name__ = f"npy {header}"
    return make


def _truncated(args: list[str], name: str, keep: float, text: str):
    def make(tmp_path):
        path = _cli_file(tmp_path, args, name)
        os.truncate(path, int(path.stat().st_size * keep))
        return path, text

    make.__name__ = f"truncated {' '.join(args[4:])} {name} {keep}"
    return make


def _zero_bytes(tmp_path):
    (tmp_path / "z.npy").write_bytes(b"")
    return tmp_path / "z.npy", "is empty"


def _fifo(tmp_path):
    os.mkfifo(tmp_path / "f.npy")
    return tmp_path / "f.npy", "is not a regular file"


def _symlink_loop(tmp_path):
    os.symlink(tmp_path / "loop2.npy", tmp_path / "loop1.npy")
    os.symlink(tmp_path / "loop1.npy", tmp_path / "loop2.npy")
    return tmp_path / "loop1.npy", "loop"


def _directory(tmp_path):
    (tmp_path / "d.npy").mkdir()
    return tmp_path / "d.npy", "directory"


def _text_file(tmp_path):
    (tmp_path / "t.npy").write_text("just text\n")
    return tmp_path / "t.npy", "is not a .npy, .npz, HDF5, .keras, safetensors file or an index of shards (.json)"


def _damaged_object_header(tmp_path):
    path = _cli_file(tmp_path, ["random_normal", "-s", "64", "--seed", "1", "--path", "g/w"], "a.h5")
    import h5py

    with h5py.File(path) as handle:
        at = h5py.h5o.get_info(handle["g/w"].id).addr  # the dataset's object header
    raw = bytearray(path.read_bytes())
    raw[at : at + 64] = b"\xa5" * 64
    path.write_bytes(bytes(raw))
    return path, ""


def _keras_garbage_weights(tmp_path):
    path = tmp_path / "g.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\x00" * 100)
    return path, ""


def _keras_deflated_garbage(tmp_path):
    path = tmp_path / "g.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\x00" * 100_000)
    return path, "is not an HDF5 file"


DAMAGED = [
    _bad_crc,
    _encrypted,
    _unknown_method,
    _duplicate_names,
    _npy("{'descr': 'xyz', 'fortran_order': False, 'shape': (2,), }", b"\0" * 8),
    _npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", b"\0" * 16, "pickled"),
    _npy("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }", b"\0" * 16, "dtype"),
    _npy("{'descr': '<U5', 'fortran_order': False, 'shape': (2,), }", b"\0" * 40, "integer and floating-point"),
    _npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", b"\0" * 16, "complex64"),
    _npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", b"\0" * 2, "bool"),
    _npy("{'descr': ('<f4', (2,)), 'fortran_order': False, 'shape': (2,), }", b"\0" * 16, "dtype"),
    _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-5,), }", b"", "negative shape"),
    _npy(f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({2**62}, 4), }}", b"", "more than int64"),
    _npy(f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({2**40},), }}", b"\0" * 16, "is truncated"),
    _npy("{'descr': '<f4', 'fortran_order': False, 'shape': 5, }", b"\0" * 20),
    _npy("{'descr': '<f4', 'fortran_order': 'yes', 'shape': (2,), }", b"\0" * 8),
    _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", b"\0" * 12, "4 bytes more than its header"),
    _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", b"\0" * 8),
    _npy("[1, 2, 3]", b""),
    _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), " + "(" * 500 + ")" * 500 + "}", b""),
    _truncated(["random_normal", "-s", "64", "--seed", "1"], "a.npy", 0.05, "damaged .npy header"),
    _truncated(["random_normal", "-s", "64", "--seed", "1"], "a.npy", 0.7, "is truncated"),
    _truncated(["random_normal", "-s", "64", "--seed", "1"], "a.npz", 0.5, "damaged"),
    _truncated(["random_normal", "-s", "64", "--seed", "1", "--compress"], "a.npz", 0.6, "damaged"),
    _truncated(["random_normal", "-s", "64", "--seed", "1", "--path", "w"], "a.h5", 0.5, ""),
    _truncated(["random_normal", "-s", "64", "--seed", "1", "--path", "w"], "a.h5", 0.01, ""),
    _zero_bytes,
    _fifo,
    _symlink_loop,
    _directory,
    _text_file,
    _damaged_object_header,
    _keras_garbage_weights,
    _keras_deflated_garbage,
]


def run_clean(args: list[str], cwd: Path, *, subprocess_: bool = False) -> tuple[int, str, str]:
    """``initcli ARGS``: in-process (warnings recorded: there must be none), or as a real
    process with a timeout (for FIFOs: a hang must fail the test, not stop it)."""
    if subprocess_:
        proc = subprocess.run(
            [sys.executable, "-m", "initcli", *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
        )
        return proc.returncode, proc.stdout, proc.stderr
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_in_process(args, cwd)
    assert not caught, [str(w.message) for w in caught]
    return result.exit_code, result.stdout.decode(errors="replace"), result.stderr


@pytest.mark.parametrize("make", DAMAGED, ids=lambda f: f.__name__.strip("_"))
def test_damaged_files_are_one_clean_line(tmp_path, make):
    path, text = make(tmp_path)
    for command in (["inspect"], ["inspect", "--json"], ["verify"]):
        code, stdout, stderr = run_clean([*command, str(path)], tmp_path, subprocess_=make is _fifo)
        lines = stderr.splitlines()
        assert code in (1, 2), stderr
        assert len(lines) == 1 and lines[0].startswith("initcli: error: "), stderr
        assert text in lines[0], lines[0]
        assert path.name in lines[0], lines[0]
        for bad in ("internal error", "Traceback", "Warning", "/site-packages/", ".py:"):
            assert bad not in stderr, stderr
        assert stdout == ""


def test_unusual_but_valid_files_are_read(tmp_path):
    """Fortran order, big-endian, float16, integers, scalars, empty tensors, bzip2/lzma members;
    HDF5 datasets that hold no numeric tensor (strings, booleans, complex, compounds, no
    dataspace) are not listed."""
    import h5py

    values = {
        "fortran": np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
        "big": np.arange(5, dtype=">f8"),
        "half": np.arange(4, dtype=np.float16),
        "ints": np.arange(-3, 3, dtype=np.int16),
        "scalar": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    for name, array in values.items():
        np.save(tmp_path / f"{name}.npy", array)
        with read_tensors(tmp_path / f"{name}.npy") as stored:
            (tensor,) = stored.tensors
            assert np.array_equal(tensor.load(), array) and tensor.load().dtype == array.dtype
            read = tensor.flat_reader()
            assert np.array_equal(np.concatenate([read(7) for _ in range(3)]), array.reshape(-1)[:21])
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        path = tmp_path / f"m{method}.npz"
        with zipfile.ZipFile(path, "w", method) as archive:
            for name, array in values.items():
                stream = io.BytesIO()
                np.lib.format.write_array(stream, array)
                archive.writestr(f"{name}.npy", stream.getvalue())
        with read_tensors(path) as stored:
            assert {t.name: t.load().tolist() for t in stored.tensors} == {k: v.tolist() for k, v in values.items()}
    path = tmp_path / "mixed.h5"
    with h5py.File(path, "w") as handle:
        handle["w"] = np.arange(6, dtype=np.float32)
        handle["text"] = np.array([b"abc", b"de"])
        handle["flags"] = np.array([True, False])
        handle["complex"] = np.array([1 + 2j])
        handle["pairs"] = np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")])
        handle.create_dataset("nothing", data=h5py.Empty("f4"))
        handle.attrs["initcli"] = np.arange(3)
    with read_tensors(path) as stored:
        assert [t.name for t in stored.tensors] == ["w"] and stored.provenance is None
    code, stdout, stderr = run_clean(["inspect", str(path)], tmp_path)
    assert code == 0 and "1 tensors" in stdout, stderr


def test_fuzz_findings_stay_fixed(sampled_npz, sampled_h5, tmp_path):
    """Found by tests/test_fuzz_files.py with other seeds: a provenance record whose
    initializer lost its ``config`` key, a dataset name that is not UTF-8, a signalling NaN."""
    import h5py

    path = tmp_path / "a.npz"
    shutil.copy(sampled_npz, path)
    records, arrays = _npz_state(path)
    _piece(records["a"])["initializer"]["conbig"] = _piece(records["a"])["initializer"].pop("config")
    _rewrite_npz(path, records, arrays)
    verdicts = {v.name: v for v in verify_file(path)[1]}
    assert verdicts["a"].status == "unverifiable" and "malformed provenance" in verdicts["a"].detail
    for args in (["inspect", str(path)], ["inspect", "--json", str(path)], ["verify", str(path)]):
        code, _, stderr = run_clean(args, tmp_path)
        assert code in (0, 1) and stderr.count("initcli: error") == 0, stderr

    path = tmp_path / "a.h5"
    shutil.copy(sampled_h5, path)
    raw = bytearray(path.read_bytes())
    at = raw.find(b"\x00w\x00")  # the dataset's link name "w" in the group's local heap
    raw[at + 1] = 0xFF
    path.write_bytes(bytes(raw))
    with h5py.File(path) as handle:
        assert any(isinstance(name, bytes) for name in handle["g"])
    for args in (["inspect", str(path)], ["inspect", "--json", str(path)], ["verify", str(path)]):
        code, stdout, stderr = run_clean(args, tmp_path)
        assert code == 0 and "g/\\" in stdout and "xff" in stdout, stderr

    signalling = np.array([0x7FA00000, 0x3F800000], dtype=np.uint32).view(np.float32)
    np.save(tmp_path / "s.npy", signalling)
    code, stdout, stderr = run_clean(["inspect", str(tmp_path / "s.npy")], tmp_path)
    assert code == 0 and "1 NaN" in stdout and stderr == "", stderr


def test_user_defined_link_types_are_refused(sampled_h5, tmp_path):
    """A link of a type this HDF5 library does not know (an external link whose type byte is
    changed to 99, a user-defined type) is refused like the others."""
    import h5py

    path = tmp_path / "a.h5"
    shutil.copy(sampled_h5, path)
    with h5py.File(path, "a") as handle:
        handle["g/udlink"] = h5py.ExternalLink(str(_outside(tmp_path)), "/w")
    raw = bytearray(path.read_bytes())
    at = raw.find(b"\x40\x06udlink")  # link message: ... type 64 (external), name length 6, name
    assert at > 0
    raw[at] = 99
    path.write_bytes(bytes(raw))
    with h5py.File(path) as handle:
        kinds: list[int] = []
        handle.id.links.visit(lambda name, info: kinds.append(info.type), info=True)
        assert 99 in kinds
    for command in ("inspect", "verify"):
        code, stdout, stderr = run_clean([command, str(path)], tmp_path, subprocess_=True)
        assert code == 2 and stdout == "", stderr
        assert stderr.strip() == (
            f"initcli: error: {str(path)!r}: 'g/udlink' is a link of type 99; initcli reads only objects stored "
            "in the file itself (hard links)"
        )
