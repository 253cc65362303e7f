"""Provenance in every file, byte-identical reruns, ``initcli verify`` and ``initcli inspect``."""

from __future__ import annotations

import io
import json
import math
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from initcli.initializers import GlorotUniform, HeNormal, RandomNormal, TruncatedNormal
from initcli.inspection import flags, predict, statistics

from .helpers import run_in_process, run_subprocess

CONFIGS = Path(__file__).resolve().parent.parent / "sample_configs"

OUTPUTS = {
    "npy": ["glorot_normal", "-s", "30,20", "--seed", "1", "-o", "t.npy", "--manifest"],
    "npz": ["he_uniform", "-s", "8,4", "-s", "4", "-n", "k", "-n", "b", "--seed", "2", "-o", "t.npz"],
    "hdf5-path": ["orthogonal", "-s", "6,6", "--seed", "3", "-o", "t.h5", "--path", "a/b/0"],
    "batch-keras3": ["batch", str(CONFIGS / "small_cnn.json"), "--seed", "4", "-o", "b.weights.h5"],
    "batch-legacy": ["batch", str(CONFIGS / "lstm_text_classifier.toml"), "--seed", "4", "-o", "b.h5"],
    "batch-npz": ["batch", str(CONFIGS / "transformer_encoder.yaml"), "--seed", "4", "-o", "b.npz"],
    "model-keras": ["model", "model.json", "--seed", "5", "-o", "m.keras"],
}


def _target(args: list[str]) -> str:
    return args[args.index("-o") + 1]


@pytest.fixture
def workdir(keras, tmp_path):
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input((9, 4)),
            L.LSTM(6, return_sequences=True, bias_initializer="random_normal"),
            L.SpectralNormalization(L.Dense(5)),
            L.Dense(3, kernel_initializer=keras.initializers.HeNormal(seed=11)),
        ]
    )
    (tmp_path / "model.json").write_text(model.to_json())
    return tmp_path


@pytest.mark.parametrize("kind", list(OUTPUTS))
def test_verify_passes_then_names_a_changed_tensor(workdir, kind):
    args = OUTPUTS[kind]
    assert run_in_process(args, workdir).exit_code == 0
    target = workdir / _target(args)
    result = run_in_process(["verify", str(target)], workdir)
    assert result.exit_code == 0, result.stdout.decode() + result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines and all(line.startswith("identical") for line in lines)
    name = _tamper(target)
    result = run_subprocess(["verify", str(target)], workdir)
    assert result.exit_code == 1
    different = [line for line in result.stdout.decode().splitlines() if line.startswith("DIFFERENT")]
    assert len(different) == 1 and name in different[0] and "first difference at index" in different[0]


def _tamper(path: Path) -> str:
    """Change one value of one tensor in place; return the tensor's name as verify shows it."""
    head = path.read_bytes()[:8]
    if head.startswith(b"\x93NUMPY"):
        array = np.load(path)
        array.flat[7] += 1
        np.save(path, array)
        return path.name
    if head.startswith(b"\x89HDF"):
        with h5py.File(path, "a") as handle:
            names: list[str] = []
            handle.visititems(lambda n, o: names.append(n) if hasattr(o, "shape") and o.size > 1 else None)
            data = handle[names[-1]][()]
            data.flat[1] += 1
            handle[names[-1]][...] = data
            return names[-1]
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
        comment = archive.comment
    if path.suffix == ".keras":
        info, data = next(m for m in members if m[0].filename == "model.weights.h5")
        scratch = path.with_suffix(".tmp.h5")
        scratch.write_bytes(data)
        name = _tamper(scratch)
        members = [(i, scratch.read_bytes() if i.filename == "model.weights.h5" else d) for i, d in members]
        scratch.unlink()
    else:
        info, data = members[0]
        array = np.load(io.BytesIO(data))
        array.flat[0] += 1
        buffer = io.BytesIO()
        np.save(buffer, array)
        members[0] = (info, buffer.getvalue())
        name = info.filename.removesuffix(".npy")
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            archive.writestr(info, data)
        archive.comment = comment
    return name


def test_reruns_are_byte_identical(workdir):
    first = {}
    for kind, args in OUTPUTS.items():
        assert run_in_process(args, workdir).exit_code == 0, kind
        first[kind] = (workdir / _target(args)).read_bytes()
        if kind == "npy":
            first["manifest"] = (workdir / "t.npy.json").read_bytes()
    time.sleep(1.1)  # any timestamp would now differ
    for kind, args in OUTPUTS.items():
        if kind == "hdf5-path":  # adds to an existing file: rerun from the same start, without it
            (workdir / _target(args)).unlink()
            assert run_in_process(args, workdir).exit_code == 0
        else:
            assert run_in_process([*args, "--force"], workdir).exit_code == 0, kind
        assert (workdir / _target(args)).read_bytes() == first[kind], kind
    assert (workdir / "t.npy.json").read_bytes() == first["manifest"]


def test_provenance_records_seeds_fans_and_inputs(workdir):
    assert run_in_process(OUTPUTS["batch-keras3"], workdir).exit_code == 0
    with h5py.File(workdir / "b.weights.h5") as handle:
        file_note = json.loads(handle.attrs["initcli"])
        kernel = json.loads(handle["layers/conv2d/vars/0"].attrs["initcli"])
        seeded = json.loads(handle["layers/dense/vars/0"].attrs["initcli"])
    assert file_note["command"] == "batch" and file_note["inputs"]["master_seed"] == 4
    assert len(file_note["inputs"]["config_sha256"]) == 64
    assert file_note["stream"]["backend"] == "numpy" and file_note["stream"]["version"] == 1
    assert kernel["path"] == "conv1/kernel" and kernel["fans"] == [9, 288]
    assert kernel["pieces"][0]["seed_source"] == "derived" and kernel["initializer"]["config"]["seed"] is None
    assert seeded["pieces"][0]["seed"] == 42 and seeded["pieces"][0]["seed_source"] == "config"
    assert math.isclose(kernel["std"], math.sqrt(2 / 9))


def test_files_with_provenance_still_load_in_keras(keras, workdir):
    assert run_in_process(OUTPUTS["model-keras"], workdir).exit_code == 0
    model = keras.models.load_model(str(workdir / "m.keras"))
    assert [tuple(w.shape) for w in model.weights][-2:] == [(5, 3), (3,)]
    result = run_in_process(["verify", "m.keras", "--json"], workdir)
    report = json.loads(result.stdout)
    # LSTM cell 3, SpectralNormalization's Dense 2 + its own 2 (the kernel again, vector_u), Dense 2
    assert report["counts"] == {"identical": 9, "different": 0, "unverifiable": 0}


def test_verify_without_provenance_fails_clearly(tmp_path):
    np.save(tmp_path / "plain.npy", np.zeros(3))
    result = run_in_process(["verify", "plain.npy"], tmp_path)
    assert result.exit_code == 1
    assert result.stdout.decode().startswith("UNVERIFIABLE") and "no initcli provenance" in result.stdout.decode()
    (tmp_path / "junk.bin").write_bytes(b"hello")
    result = run_in_process(["verify", "junk.bin"], tmp_path)
    assert (
        result.exit_code == 2
        and "is not a .npy, .npz, HDF5, .keras, safetensors file or an index of shards (.json)" in result.stderr
    )


def test_appending_a_layer_keeps_every_other_weight(keras, tmp_path):
    L = keras.layers
    base = [keras.Input((6,)), L.Dense(5, name="a"), L.Dense(4, name="b")]
    (tmp_path / "one.json").write_text(keras.Sequential(base).to_json())
    grown = keras.Sequential([*base, L.Dense(3, name="c")])
    (tmp_path / "two.json").write_text(grown.to_json())
    for name in ("one", "two"):
        assert run_in_process(["model", f"{name}.json", "--seed", "1", "-o", f"{name}.npz"], tmp_path).exit_code == 0
    assert run_in_process(["model", "one.json", "--seed", "2", "-o", "other.npz"], tmp_path).exit_code == 0
    one, two, other = (np.load(tmp_path / f"{n}.npz") for n in ("one", "two", "other"))
    for key in one:
        assert one[key].tobytes() == two[key].tobytes(), key
        if "kernel" in key:
            assert not np.array_equal(one[key], other[key]), key


def test_statistics_match_numpy():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(300, 7)).astype(np.float32), np.arange(10.0), np.full((2, 2), 3.0), rng.uniform(size=5)]
    for array in arrays:
        stats = statistics(array)
        x = array.astype(np.float64).ravel()
        assert math.isclose(stats["mean"], x.mean(), rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(stats["std"], x.std(), rel_tol=1e-12, abs_tol=1e-15)
        assert stats["min"] == x.min() and stats["max"] == x.max()
        assert stats["beyond_2std"] == np.mean(np.abs(x - x.mean()) > 2 * x.std())
        assert sum(stats["histogram"]) == x.size
        if x.max() > x.min():
            assert stats["histogram"] == np.histogram(x, bins=24, range=(x.min(), x.max()))[0].tolist()
    assert statistics(np.zeros((0, 3))) == {"n": 0}


def test_predictions_and_flags():
    shape = (400, 300)
    for initializer in (GlorotUniform(seed=1), HeNormal(seed=2), RandomNormal(mean=1, stddev=2, seed=3)):
        prediction = predict(initializer, shape)
        sample = initializer(shape)
        assert flags(statistics(sample), prediction, sample.dtype) == [], initializer
    truncated = predict(TruncatedNormal(stddev=1.0), shape)
    assert math.isclose(truncated.beyond, 0.03470, abs_tol=1e-4)  # P(|Z|>1.759 | |Z|<=2)
    wrong = HeNormal(seed=2)(shape) * 1.1
    assert "std" in flags(statistics(wrong), predict(HeNormal(), shape), wrong.dtype)
    shifted = GlorotUniform(seed=1)(shape) + 0.01
    assert {"mean", "range"} <= set(flags(statistics(shifted), predict(GlorotUniform(), shape), shifted.dtype))


def test_inspect_reports_and_flags(workdir):
    assert run_in_process(OUTPUTS["batch-keras3"], workdir).exit_code == 0
    strict = run_in_process(["inspect", "b.weights.h5", "--strict"], workdir)
    assert strict.exit_code == 0, strict.stdout.decode()
    text = strict.stdout.decode()
    assert "written by initcli" in text and "conv1/kernel" in text and "DISAGREES" not in text
    with h5py.File(workdir / "b.weights.h5", "a") as handle:
        handle["layers/conv2d_1/vars/0"][...] = handle["layers/conv2d_1/vars/0"][()] * 3
    report = json.loads(run_in_process(["inspect", "b.weights.h5", "--json"], workdir).stdout)
    flagged = {t["name"]: t["flags"] for t in report["tensors"] if t.get("flags")}
    assert list(flagged) == ["layers/conv2d_1/vars/0"] and "std" in flagged["layers/conv2d_1/vars/0"]
    assert run_in_process(["inspect", "b.weights.h5", "--strict"], workdir).exit_code == 1


def test_inspect_reads_files_initcli_did_not_write(keras, tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6.0).reshape(2, 3))
    np.savez(tmp_path / "b.npz", x=np.ones(4), y=np.zeros((2, 2)))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.save_weights(str(tmp_path / "k.weights.h5"))
    model.save(str(tmp_path / "k.keras"))
    for name, count in (("a.npy", 1), ("b.npz", 2), ("k.weights.h5", 2), ("k.keras", 2)):
        result = run_in_process(["inspect", name, "--json"], tmp_path)
        assert result.exit_code == 0, result.stderr
        report = json.loads(result.stdout)
        assert len(report["tensors"]) == count and report["provenance"] is None
        assert all("flags" not in t and "stats" in t for t in report["tensors"])
    report = json.loads(run_in_process(["inspect", "a.npy", "--json"], tmp_path).stdout)
    assert report["tensors"][0]["stats"]["mean"] == 2.5
