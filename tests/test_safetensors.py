"""safetensors output (``-o m.safetensors``, sharded with ``--max-shard-size``): read back with
the real ``safetensors`` library, shards as ``huggingface_hub`` splits them, verify and inspect,
and hostile headers refused in one line."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.numpy import load_file

from tests.helpers import run_in_process, run_subprocess


def _config(tmp_path: Path, sizes=((64, 32), (32,), (300, 300), (16, 8)), dtype: str = "float32") -> None:
    layers = []
    for i, shape in enumerate(sizes):
        name = "kernel" if len(shape) > 1 else "bias"
        initializer = "glorot_normal" if len(shape) > 1 else "random_uniform"
        weight = {"shape": list(shape), "initializer": initializer, "dtype": dtype}
        layers.append({"name": f"l{i}", "class": "Dense", "weights": {name: weight}})
    (tmp_path / "c.json").write_text(json.dumps({"layers": layers}))


def _run(tmp_path: Path, *args: str) -> None:
    result = run_subprocess(["batch", "c.json", "--seed", "3", "-q", *args], tmp_path)
    assert result.exit_code == 0, result.stderr


def _npz(tmp_path: Path) -> dict[str, np.ndarray]:
    """The same weights through the .npz writer, read back with NumPy: an independent reader."""
    _run(tmp_path, "-o", "same.npz")
    with np.load(tmp_path / "same.npz") as archive:
        return {name: archive[name] for name in archive.files}


def test_single_file_loads_with_the_safetensors_library(tmp_path):
    _config(tmp_path)
    _run(tmp_path, "-o", "w.safetensors")
    loaded = load_file(tmp_path / "w.safetensors")
    expected = _npz(tmp_path)
    assert list(loaded) == list(expected) or set(loaded) == set(expected)
    for name, array in expected.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)
    with safe_open(tmp_path / "w.safetensors", "np") as handle:
        metadata = handle.metadata()
    record = json.loads(metadata["initcli"])
    assert record["inputs"]["master_seed"] == 3 and record["tensors"] == list(expected)
    assert json.loads(metadata["initcli:l2/kernel"])["path"] == "l2/kernel"
    raw = (tmp_path / "w.safetensors").read_bytes()
    assert struct.unpack("<Q", raw[:8])[0] % 8 == 0  # the header is padded to 8 bytes


def _hub_split(sizes: dict[str, int], limit: int) -> dict[str, list[str]]:
    """huggingface_hub's own split of tensors of these byte sizes."""
    from huggingface_hub import split_state_dict_into_shards_factory

    split = split_state_dict_into_shards_factory(
        dict(sizes), get_storage_size=lambda size: size, filename_pattern="w{suffix}.safetensors", max_shard_size=limit
    )
    return {name: list(tensors) for name, tensors in split.filename_to_tensors.items()}


@pytest.mark.parametrize("limit", [100_000, 360_000, 360_128, 400_000, 10_000_000, 8192, 8320])
def test_shards_as_huggingface_hub_splits_them(tmp_path, limit):
    """Kernels of 8 KiB, 351.6 KiB and 512 B and a 128 B bias: limits that put the big kernel alone
    (it is larger than the limit), make a tensor just fit (8320 = 8192 + 128: a shard filled exactly)
    or just tip over, or need one file."""
    _config(tmp_path)
    _run(tmp_path, "-o", "w.safetensors", "--max-shard-size", str(limit))
    expected = _npz(tmp_path)
    sizes = {name: array.nbytes for name, array in expected.items()}
    split = _hub_split(sizes, limit)
    written = sorted(p.name for p in tmp_path.glob("w*.safetensors"))
    assert written == sorted(split)
    if len(split) == 1:
        assert not (tmp_path / "w.safetensors.index.json").exists()
        return
    index = json.loads((tmp_path / "w.safetensors.index.json").read_text())
    assert index == {
        "metadata": {"total_size": sum(sizes.values())},
        "weight_map": {name: shard for shard, names in split.items() for name in names},
    }
    assert (tmp_path / "w.safetensors.index.json").read_text() == json.dumps(index, indent=2, sort_keys=True) + "\n"
    for shard, names in split.items():
        assert struct.unpack("<Q", (tmp_path / shard).read_bytes()[:8])[0] % 8 == 0  # padded to 8 bytes
        loaded = load_file(tmp_path / shard)
        assert list(loaded) == names or set(loaded) == set(names)
        for name in names:
            np.testing.assert_array_equal(loaded[name], expected[name])
    for run in (run_in_process, run_subprocess):
        report = run(["verify", "w.safetensors.index.json", "--json"], tmp_path)
        assert report.exit_code == 0, report.stderr
        assert json.loads(report.stdout)["counts"]["identical"] == len(expected)


def test_verify_finds_a_changed_value_and_a_misplaced_tensor(tmp_path):
    _config(tmp_path)
    _run(tmp_path, "-o", "w.safetensors")
    assert run_subprocess(["verify", "w.safetensors"], tmp_path).exit_code == 0
    raw = bytearray((tmp_path / "w.safetensors").read_bytes())
    raw[-5] ^= 0x40  # inside the last tensor
    (tmp_path / "w.safetensors").write_bytes(bytes(raw))
    report = run_subprocess(["verify", "w.safetensors", "--json"], tmp_path)
    assert report.exit_code == 1 and json.loads(report.stdout)["counts"]["different"] == 1
    _run(tmp_path, "-o", "s.safetensors", "--max-shard-size", "100000")
    index = json.loads((tmp_path / "s.safetensors.index.json").read_text())
    index["weight_map"]["l0/kernel"], index["weight_map"]["l2/kernel"] = (
        index["weight_map"]["l2/kernel"],
        index["weight_map"]["l0/kernel"],
    )
    (tmp_path / "s.safetensors.index.json").write_text(json.dumps(index))
    result = run_subprocess(["verify", "s.safetensors.index.json"], tmp_path)
    assert result.exit_code != 0 and result.stderr.count("\n") == 1 and "does not list" in result.stderr


def _header_file(path: Path, header: object, data: bytes = b"", length: int | None = None) -> None:
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)


@pytest.mark.parametrize(
    ("header", "data", "length", "words"),
    [
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, None, "accounts for"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, None, "declares"),
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, None, "gap or overlap"),
        (
            {
                "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
            },
            b"\0" * 8,
            None,
            "gap or overlap",
        ),
        ({"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8, None, "dtype"),
        ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, None, "negative"),
        ({"a": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 4]}}, b"\0" * 4, None, "declares"),
        ({"__metadata__": {"initcli": 3}}, b"", None, "__metadata__"),
        ({"a": [1]}, b"", None, "exactly dtype"),
    ],
)
def test_hostile_headers_are_one_line(tmp_path, header, data, length, words):
    _header_file(tmp_path / "x.safetensors", header, data, length)
    result = run_subprocess(["inspect", "x.safetensors"], tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code != 0 and len(lines) == 1 and words in lines[0], result.stderr


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=0, max_size=64), st.integers(0, 2**64 - 1))
def test_fuzzed_headers_never_crash(tmp_path_factory, body, length):
    """Random header bytes after a random length: a clean result or one error line, in process."""
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "x.safetensors").write_bytes(struct.pack("<Q", length) + b"{" + body)
    result = run_in_process(["inspect", "x.safetensors"], directory)
    assert result.exit_code in (0, 1, 2)
    if result.exit_code:
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("initcli: error:"), result.stderr
        assert "internal error" not in result.stderr


def _torch():
    """torch, or a skip (a failure where ``INITCLI_REQUIRE_TORCH=1``: CI's frameworks environment)."""
    import importlib.util
    import os

    if importlib.util.find_spec("torch") is None:
        if os.environ.get("INITCLI_REQUIRE_TORCH") == "1":
            pytest.fail("INITCLI_REQUIRE_TORCH=1 but torch is not installed")
        pytest.skip("torch is not installed (CI's frameworks environment has it)")
    import torch

    return torch


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
def test_torch_loads_the_files(tmp_path, dtype):
    """``safe_open(framework="pt")`` and ``safetensors.torch.load_file`` give torch tensors of
    the dtype and bits written (bfloat16 as torch.bfloat16: NumPy cannot load those at all)."""
    torch = _torch()
    from safetensors.torch import load_file as torch_load

    _config(tmp_path, dtype=dtype)
    _run(tmp_path, "-o", "w.safetensors", "--max-shard-size", "100000")
    _run(tmp_path, "-o", "same.npz")
    index = json.loads((tmp_path / "w.safetensors.index.json").read_text())
    with np.load(tmp_path / "same.npz") as archive:
        expected = {name: archive[name] for name in archive.files}
    for name, shard in index["weight_map"].items():
        with safe_open(tmp_path / shard, framework="pt") as handle:
            tensor = handle.get_tensor(name)
        assert tensor.dtype == getattr(torch, dtype) and tuple(tensor.shape) == expected[name].shape
        bits = tensor.view(
            torch.int16 if tensor.element_size() == 2 else torch.int32 if dtype == "float32" else torch.int64
        )
        raw = expected[name].view({2: np.int16, 4: np.int32, 8: np.int64}[tensor.element_size()])
        np.testing.assert_array_equal(bits.numpy(), raw)
        assert torch.equal(torch_load(tmp_path / shard)[name].view(bits.dtype), bits)


def test_single_tensor_commands_write_safetensors(tmp_path):
    """``initcli NAME ... -o w.safetensors`` (several --shape/--name) and ``--format safetensors -o -``:
    the values of the same command's .npz, provenance that verifies."""
    base = ["glorot_normal", "--shape", "300,40", "--shape", "40", "--name", "kernel", "--name", "bias", "--seed", "2"]
    for run in (run_in_process, run_subprocess):
        for output in ("w.safetensors", "w.npz"):
            result = run([*base, "-q", "-o", output, "--force"], tmp_path)
            assert result.exit_code == 0, result.stderr
        loaded = load_file(tmp_path / "w.safetensors")
        with np.load(tmp_path / "w.npz") as archive:
            assert set(loaded) == set(archive.files) == {"kernel", "bias"}
            for name in archive.files:
                np.testing.assert_array_equal(loaded[name], archive[name])
        assert run(["verify", "w.safetensors"], tmp_path).exit_code == 0
    streamed = run_subprocess([*base, "--format", "safetensors", "-o", "-"], tmp_path)
    assert streamed.exit_code == 0 and streamed.stdout == (tmp_path / "w.safetensors").read_bytes()
    refused = run_subprocess(["zeros", "--shape", "3", "--name", "__metadata__", "-o", "z.safetensors"], tmp_path)
    assert refused.exit_code == 2 and "__metadata__" in refused.stderr
    assert not (tmp_path / "z.safetensors").exists()
