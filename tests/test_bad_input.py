"""Bad input: one line on stderr naming the value, exit 2 (usage) or 1 (runtime), no file written."""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import run_in_process, run_subprocess

# (arguments, exit code, text the single stderr line must contain)
CASES = [
    (["glorot_norml", "--shape", "3"], 2, "unknown initializer 'glorot_norml'; did you mean 'glorot_normal'?"),
    (["initializer", "--shape", "3"], 2, "abstract base class"),
    (["he_normal", "--shape", "3,3", "--bogus", "1"], 2, "no such option --bogus; he_normal takes"),
    (["zeros", "--shape", "3", "--seed", "1"], 2, "no such option --seed (zeros is deterministic"),
    (["identity", "--shape", "3,3", "--mean", "1"], 2, "no such option --mean; identity takes"),
    (["he_normal", "--shape", "3,-1"], 2, "shape '3,-1' has a negative dimension -1"),
    (["he_normal", "--shape", "3,a"], 2, "shape '3,a' has a bad dimension 'a'"),
    (["he_normal", "--shape", "3.5,2"], 2, "bad dimension '3.5'"),
    (["he_normal", "--shape", "3,,2"], 2, "bad dimension ''"),
    (["he_normal", "--shape", "3", "--seed", "-1"], 2, "seed -1 is out of range; use an integer from 0 to 4294967295"),
    (["he_normal", "--shape", "3", "--seed", "4294967296"], 2, "seed 4294967296 is out of range"),
    (["he_normal", "--shape", "3", "--seed", "1.5"], 2, "seed '1.5' is not an integer"),
    (["he_normal", "--shape", "3", "--seed", "abc"], 2, "seed 'abc' is not an integer"),
    (["random_normal", "--shape", "3", "--stddev", "-1"], 2, "stddev -1.0 is negative; use a number >= 0"),
    (["random_normal", "--shape", "3", "--stddev", "inf"], 2, "stddev inf is not finite"),
    (["random_normal", "--shape", "3", "--mean", "nan"], 2, "mean nan is not finite"),
    (["truncated_normal", "--shape", "3", "--mean", "x"], 2, "'x' is not a number"),
    (["orthogonal", "--shape", "3,3", "--gain", "nan"], 2, "gain nan is not finite"),
    (["identity", "--shape", "3,3", "--gain", "-inf"], 2, "gain -inf is not finite"),
    (["constant", "--shape", "3", "--value", "nan"], 2, "is not a number or JSON list"),
    (["constant", "--shape", "3", "--value", "[1, Infinity]"], 2, "is not finite"),
    (["constant", "--shape", "3,3", "--value", "[1, 2]"], 2, "value of shape (2,) cannot fill shape (3, 3)"),
    (["random_uniform", "--shape", "3", "--minval", "1", "--maxval", "0"], 2, "minval 1.0 is greater than maxval 0.0"),
    (
        ["variance_scaling", "--shape", "3", "--mode", "fan_sum"],
        2,
        "'fan_sum' is not one of 'fan_in', 'fan_out', 'fan_avg'",
    ),
    (["variance_scaling", "--shape", "3", "--distribution", "gamma"], 2, "'gamma' is not one of"),
    (["variance_scaling", "--shape", "3", "--scale", "0"], 2, "scale 0.0 must be positive"),
    (["variance_scaling", "--shape", "3", "--scale", "-2"], 2, "scale -2.0 must be positive"),
    (["glorot_uniform", "--shape", "3,4", "--input-axes", "0", "--output-axes", "5"], 2, "output_axes names axis 5"),
    (["orthogonal", "--shape", "10"], 2, "Orthogonal needs a shape of rank 2 or more, but shape (10,) has rank 1"),
    (["identity", "--shape", "3,3,3"], 2, "Identity needs a rank-2 shape (rows, cols), but shape (3, 3, 3) has rank 3"),
    (["stft", "--shape", "8,5"], 2, "STFT needs a rank-3 shape"),
    (["stft", "--shape", "8,1,1"], 2, "STFT needs at least 2 frequency bins"),
    (["stft", "--shape", "8,1,5", "--window", "nope"], 2, "window 'nope' is not known"),
    (["stft", "--shape", "8,1,5", "--window", "[1, 2]"], 2, "window has 2 values but the frame length"),
    (["stft", "--shape", "8,1,5", "--side", "both"], 2, "'both' is not one of 'real', 'imag'"),
    (
        ["he_normal", "--shape", "3", "--dtype", "int32"],
        2,
        "dtype 'int32' is not supported; use one of float16, bfloat16, float32, float64",
    ),
    (["he_normal", "--shape", "3", "--dtype", "float8_e4m3fn"], 2, "dtype 'float8_e4m3fn' is not supported"),
    (["he_normal", "--shape", "3", "--dtype", "complex64"], 2, "dtype 'complex64' is not supported"),
    (
        ["he_normal", "--shape", "3", "-o", "w.txt"],
        2,
        "output suffix '.txt' of 'w.txt' is not known; use .npy, .npz, .h5 (with --path) or .safetensors",
    ),
    (["he_normal", "--shape", "3", "-o", "w"], 2, "output suffix '(none)'"),
    (["he_normal", "--shape", "3"], 2, "nothing to write: give -o FILE"),
    (
        ["he_normal", "--shape", "3", "-s", "4", "-o", "w.npy"],
        2,
        "a .npy file holds one tensor, but 2 shapes were given",
    ),
    (["he_normal", "--shape", "3", "-s", "4", "-n", "a", "-o", "w.npz"], 2, "1 --name for 2 --shape"),
    (["he_normal", "--shape", "3", "-s", "4", "-n", "a", "-n", "a", "-o", "w.npz"], 2, "repeat"),
    (["he_normal", "--shape", "3", "-n", "a//b", "-o", "w.npz"], 2, "tensor name 'a//b' is not valid"),
    (["he_normal", "--shape", "3", "--append", "-o", "w.npy"], 2, "--append works with .npz output only"),
    (["he_normal", "--shape", "3", "-o", "-", "--json"], 2, "both write to stdout"),
    (["he_normal"], 2, ""),  # no arguments: help, exit 2 as click does for a missing command input
    (["he_normal", "--shape", "100000,100000,100", "-o", "w.npy"], 1, "needs about 3.6 TiB of disk space but only"),
    (["he_normal", "--shape", "100000,100000,100", "--json"], 1, "needs about 3.6 TiB of memory but only"),
    (["orthogonal", "--shape", "300000,300000", "-o", "w.npy"], 1, "Orthogonal of shape (300000, 300000) needs about"),
    (["he_normal", "--shape", "3", "-o", "missing/w.npy"], 1, "directory 'missing' does not exist"),
]


def _ids(case):
    return " ".join(case[0])[:60]


@pytest.mark.parametrize("args,code,message", CASES, ids=[_ids(c) for c in CASES])
def test_bad_input(tmp_path, args, code, message):
    result = run_in_process(args, tmp_path)
    assert result.exit_code == code, result.stderr
    if message:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("initcli: error: ")
        assert message in lines[0]
        assert "Traceback" not in result.stderr
    assert result.stdout == b"" or args == ["he_normal"]
    assert list(tmp_path.iterdir()) == [], "a file was written"


@pytest.mark.parametrize("case", [CASES[0], CASES[9], CASES[28], CASES[-2]], ids=_ids)
def test_bad_input_in_a_real_process(tmp_path, case):
    args, code, message = case
    result = run_subprocess(args, tmp_path)
    assert result.exit_code == code
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_never_replaced_without_force(tmp_path):
    target = tmp_path / "w.npy"
    target.write_bytes(b"precious")
    result = run_in_process(["he_normal", "--shape", "3", "--seed", "1", "-o", "w.npy"], tmp_path)
    assert result.exit_code == 1
    assert result.stderr.strip() == "initcli: error: 'w.npy' already exists; use --force to replace it"
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npy"]


def test_existing_file_survives_a_failed_forced_run(tmp_path):
    target = tmp_path / "w.npy"
    target.write_bytes(b"precious")
    result = run_in_process(["orthogonal", "--shape", "3", "-o", "w.npy", "--force"], tmp_path)
    assert result.exit_code == 2
    assert target.read_bytes() == b"precious"


def test_unwritable_directory_even_as_root(tmp_path):
    """A path whose parent is a file cannot be written, whoever runs it."""
    (tmp_path / "afile").write_text("x")
    result = run_in_process(["ones", "--shape", "3", "-o", "afile/w.npy"], tmp_path)
    assert result.exit_code == 1
    assert "'afile' is not a directory" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_output_is_a_directory(tmp_path):
    (tmp_path / "d.npy").mkdir()
    result = run_in_process(["ones", "--shape", "3", "-o", "d.npy"], tmp_path)
    assert result.exit_code == 1 and "it is a directory" in result.stderr


def test_append_to_something_that_is_not_npz(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    result = run_in_process(["ones", "--shape", "3", "-n", "b", "--append", "-o", "x.npz"], tmp_path)
    assert result.exit_code == 1 and "is not a .npz (zip) file" in result.stderr
    assert (tmp_path / "x.npz").read_bytes() == b"not a zip"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]


def test_python_api_raises_value_errors():
    import initcli

    with pytest.raises(ValueError, match="stddev -1 is negative"):
        initcli.RandomNormal(stddev=-1)
    with pytest.raises(ValueError, match="seed True is not an integer"):
        initcli.GlorotUniform(seed=True)
    with pytest.raises(ValueError, match=r"seed 1\.0 is not an integer"):
        initcli.GlorotUniform(seed=1.0)
    assert initcli.GlorotUniform(seed=np.int64(3)).seed == 3  # numpy ints are accepted (Keras refuses them)
    with pytest.raises(ValueError, match=r"non-integer dimension 2\.5"):
        initcli.Zeros()((2.5, 3))
    with pytest.raises(initcli.ResourceError, match="needs about"):
        initcli.Zeros()((10**12, 10**6))
