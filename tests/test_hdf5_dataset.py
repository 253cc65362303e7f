"""One tensor into an HDF5 file at a dataset path; real Keras loads the result."""

from __future__ import annotations

import hashlib

import h5py
import numpy as np

from .helpers import run_in_process, run_subprocess


def _write(tmp_path, args, run=run_in_process):
    result = run(args, tmp_path)
    assert result.exit_code == 0, result.stderr
    return result


def test_dataset_by_dataset_weights_file_loads_into_keras(keras, tmp_path):
    _write(
        tmp_path,
        ["glorot_uniform", "-s", "784,64", "--seed", "1", "-o", "m.weights.h5", "--path", "layers/dense/vars/0"],
    )
    _write(tmp_path, ["zeros", "-s", "64", "-o", "m.weights.h5", "--path", "layers/dense/vars/1"], run_subprocess)
    _write(
        tmp_path, ["he_normal", "-s", "64,10", "--seed", "2", "-o", "m.weights.h5", "--path", "layers/dense_1/vars/0"]
    )
    _write(
        tmp_path, ["constant", "--value", "0.1", "-s", "10", "-o", "m.weights.h5", "--path", "layers/dense_1/vars/1"]
    )
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(64), keras.layers.Dense(10)])
    model.load_weights(str(tmp_path / "m.weights.h5"))
    kernel, bias, kernel2, bias2 = (np.asarray(w) for w in model.weights)
    assert kernel.tobytes() == np.asarray(keras.initializers.GlorotUniform(seed=1)((784, 64))).tobytes()
    assert not bias.any()
    assert kernel2.tobytes() == np.asarray(keras.initializers.HeNormal(seed=2)((64, 10))).tobytes()
    assert np.array_equal(bias2, np.full(10, 0.1, np.float32))


def test_adding_keeps_other_datasets_and_replacing_needs_force(tmp_path):
    _write(tmp_path, ["ones", "-s", "3", "-o", "w.h5", "--path", "a/x"])
    with h5py.File(tmp_path / "w.h5", "a") as handle:
        handle["a/x"].attrs["note"] = "kept"
        handle.create_dataset("other", data=np.arange(5))
    _write(tmp_path, ["zeros", "-s", "2", "-o", "w.h5", "--path", "b/y"])
    with h5py.File(tmp_path / "w.h5") as handle:
        assert handle["a/x"][()].tolist() == [1, 1, 1] and handle["a/x"].attrs["note"] == "kept"
        assert handle["other"][()].tolist() == list(range(5))
        assert handle["b/y"][()].tolist() == [0, 0]
    before = hashlib.sha256((tmp_path / "w.h5").read_bytes()).hexdigest()
    refused = run_in_process(["zeros", "-s", "3", "-o", "w.h5", "--path", "a/x"], tmp_path)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == "initcli: error: 'a/x' already exists in the file; use --force to replace it"
    assert hashlib.sha256((tmp_path / "w.h5").read_bytes()).hexdigest() == before
    _write(tmp_path, ["zeros", "-s", "3", "-o", "w.h5", "--path", "a/x", "--force"])
    with h5py.File(tmp_path / "w.h5") as handle:
        assert handle["a/x"][()].tolist() == [0, 0, 0] and handle["other"].shape == (5,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.h5"]


def test_bad_hdf5_requests(tmp_path):
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    cases = [
        (["ones", "-s", "3", "-o", "w.h5"], 2, "HDF5 output needs --path DATASET"),
        (["ones", "-s", "3", "-o", "w.h5", "--path", "../x"], 2, "HDF5 path '../x' is not valid"),
        (["ones", "-s", "3", "-o", "w.h5", "--path", "/abs"], 2, "HDF5 path '/abs' is not valid"),
        (["ones", "-s", "3", "-o", "w.h5", "--path", "a//b"], 2, "HDF5 path 'a//b' is not valid"),
        (["ones", "-s", "3", "-o", "w.npy", "--path", "a"], 2, "--path names a dataset in an HDF5 file"),
        (["ones", "-s", "3", "-s", "2", "-o", "w.h5", "--path", "a"], 2, "writes one tensor at --path"),
        (["ones", "-s", "3", "-o", "junk.h5", "--path", "a"], 1, "cannot add to 'junk.h5': it is not an HDF5 file"),
    ]
    for args, code, message in cases:
        result = run_in_process(args, tmp_path)
        assert result.exit_code == code, (args, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.h5"]
    assert (tmp_path / "junk.h5").read_bytes() == b"not hdf5"
