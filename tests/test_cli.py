"""The real command line, in-process (CliRunner) and as a subprocess."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import initcli
from initcli.initializers import BUILTIN_CLASSES, aliases, canonical_name

from .helpers import run_in_process, run_subprocess

RUNNERS = [run_in_process, run_subprocess]


@pytest.mark.parametrize("run", RUNNERS, ids=["clirunner", "subprocess"])
def test_readme_command_gives_keras_bytes(keras, tmp_path, run):
    result = run(["glorot_normal", "--shape", "784,64", "--seed", "1", "-o", "w.npy"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == b""
    assert result.stderr.strip() == "wrote w.npy: 784x64 float32 seed 1"
    written = np.load(tmp_path / "w.npy", allow_pickle=False)
    expected = np.asarray(keras.initializers.GlorotNormal(seed=1)((784, 64)))
    assert written.dtype == np.float32 and written.tobytes() == expected.tobytes()


def test_console_script_is_installed(tmp_path):
    script = Path(sys.executable).with_name("initcli")
    executable = str(script) if script.exists() else shutil.which("initcli")
    assert executable, "the initcli console script is not installed"
    proc = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"initcli {initcli.__version__}"


@pytest.mark.parametrize("run", RUNNERS, ids=["clirunner", "subprocess"])
def test_version(tmp_path, run):
    for flag in ("--version", "-V"):
        result = run([flag], tmp_path)
        assert result.exit_code == 0
        assert result.stdout.decode().strip() == f"initcli {initcli.__version__}"


def test_every_command_has_help_with_an_example(tmp_path):
    names = ["list"] + [canonical_name(c) for c in BUILTIN_CLASSES]
    top = run_in_process(["--help"], tmp_path)
    assert top.exit_code == 0 and b"Examples:" in top.stdout
    for name in names:
        result = run_in_process([name, "--help"], tmp_path)
        assert result.exit_code == 0, name
        text = result.stdout.decode()
        assert "Example" in text and f"initcli {name}" in text, name


def test_random_normal_help_documents_its_options_and_defaults(tmp_path):
    text = run_in_process(["random_normal", "--help"], tmp_path).stdout.decode()
    for expected in ("--mean", "--stddev", "--seed", "--shape", "--dtype", "default: 0.05", "default: 0.0", "N(mean"):
        assert expected in text, expected


def test_variance_scaling_help_shows_choices(tmp_path):
    text = run_in_process(["variance_scaling", "--help"], tmp_path).stdout.decode()
    assert "fan_in" in text and "fan_avg" in text and "untruncated_normal" in text and "--input-axes" in text


@pytest.mark.parametrize("alias", ["xavier_uniform", "GlorotUniform", "GLOROT-UNIFORM", "glorot_uniform"])
def test_aliases_are_subcommands(tmp_path, alias):
    result = run_in_process([alias, "--shape", "5,7", "--seed", "3", "-o", "a.npy", "-q"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert np.load(tmp_path / "a.npy").tobytes() == initcli.GlorotUniform(seed=3)((5, 7)).tobytes()


def test_every_keras_name_is_a_subcommand(tmp_path):
    from initcli.initializers.registry import KERAS_NAMES

    for name, cls in KERAS_NAMES.items():
        if cls is initcli.Initializer:
            continue
        shape = {"Orthogonal": "4,4", "Identity": "4,4", "STFT": "8,1,5"}.get(cls.__name__, "4,4")
        result = run_in_process([name, "--shape", shape, "--json", "-q"], tmp_path)
        assert result.exit_code == 0, (name, result.stderr)
        document = json.loads(result.stdout)
        assert document["tensors"][0]["initializer"]["class_name"] == cls.__name__


@pytest.mark.parametrize("spelling", ["784x64", "[784, 64]", "(784, 64)", "784 64"])
def test_shape_spellings(tmp_path, spelling):
    result = run_in_process(["he_uniform", "--shape", spelling, "--seed", "2", "-o", "a.npy"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert np.load(tmp_path / "a.npy").shape == (784, 64)


def test_scalar_and_rank5_shapes(tmp_path, keras):
    assert run_in_process(["random_uniform", "--shape", "()", "--seed", "4", "-o", "s.npy"], tmp_path).exit_code == 0
    scalar = np.load(tmp_path / "s.npy")
    assert scalar.shape == () and scalar.tobytes() == np.asarray(keras.initializers.RandomUniform(seed=4)(())).tobytes()
    assert run_in_process(["he_normal", "-s", "2,3,3,4,5", "--seed", "4", "-o", "r5.npy"], tmp_path).exit_code == 0
    assert np.load(tmp_path / "r5.npy").shape == (2, 3, 3, 4, 5)


def test_parameters_and_dtype_reach_the_core(tmp_path, keras):
    args = ["variance_scaling", "--scale", "2.5", "--mode", "FAN_AVG", "--distribution", "uniform"]
    result = run_in_process([*args, "--shape", "30,20", "--seed", "9", "--dtype", "float64", "-o", "v.npy"], tmp_path)
    assert result.exit_code == 0, result.stderr
    expected = keras.initializers.VarianceScaling(scale=2.5, mode="fan_avg", distribution="uniform", seed=9)(
        (30, 20), dtype="float64"
    )
    assert np.load(tmp_path / "v.npy").tobytes() == np.asarray(expected).tobytes()
    result = run_in_process(
        ["glorot_normal", "--input-axes", "0", "--output-axes", "1,2", "-s", "32,2,8", "--seed", "1", "-o", "e.npy"],
        tmp_path,
    )
    assert result.exit_code == 0, result.stderr
    expected = keras.initializers.GlorotNormal(seed=1, input_axes=[0], output_axes=[1, 2])((32, 2, 8))
    assert np.load(tmp_path / "e.npy").tobytes() == np.asarray(expected).tobytes()


def test_stft_and_constant_options(tmp_path, keras):
    result = run_in_process(
        [
            "stft",
            "--side",
            "imag",
            "--window",
            "hamming",
            "--scaling",
            "spectrum",
            "--periodic",
            "-s",
            "16,1,9",
            "-o",
            "k.npy",
        ],
        tmp_path,
    )
    assert result.exit_code == 0, result.stderr
    expected = keras.initializers.STFT(side="imag", window="hamming", scaling="spectrum", periodic=True)((16, 1, 9))
    assert np.load(tmp_path / "k.npy").tobytes() == np.asarray(expected).tobytes()
    result = run_in_process(["stft", "--window", "none", "--scaling", "none", "-s", "8,1,5", "--json", "-q"], tmp_path)
    assert json.loads(result.stdout)["tensors"][0]["initializer"]["config"]["window"] is None
    result = run_in_process(["constant", "--value", "[1, 2]", "-s", "3,2", "-o", "c.npy"], tmp_path)
    assert result.exit_code == 0
    assert np.load(tmp_path / "c.npy").tolist() == [[1, 2]] * 3


def test_no_seed_draws_one_and_reports_it(tmp_path):
    result = run_in_process(["he_normal", "--shape", "6,4", "-o", "a.npy"], tmp_path)
    assert result.exit_code == 0
    first_line = result.stderr.splitlines()[0]
    assert first_line.startswith("seed: ")
    seed = int(first_line.split()[1])
    assert np.load(tmp_path / "a.npy").tobytes() == initcli.HeNormal(seed=seed)((6, 4)).tobytes()
    quiet = run_in_process(["he_normal", "--shape", "6,4", "-o", "b.npy", "-q"], tmp_path)
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_deterministic_initializers_report_no_seed(tmp_path):
    result = run_in_process(["ones", "--shape", "3", "-o", "o.npy"], tmp_path)
    assert result.exit_code == 0 and "seed" not in result.stderr


@pytest.mark.parametrize("run", RUNNERS, ids=["clirunner", "subprocess"])
def test_stdout_npy_for_pipes(tmp_path, run):
    result = run(["orthogonal", "--shape", "16,8", "--seed", "5", "-o", "-"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    array = np.load(io.BytesIO(result.stdout), allow_pickle=False)
    assert array.tobytes() == initcli.Orthogonal(seed=5)((16, 8)).tobytes()
    assert list(tmp_path.iterdir()) == []


def test_json_output_is_exact(tmp_path, keras):
    result = run_in_process(["truncated_normal", "--shape", "3,4", "--seed", "6", "--json"], tmp_path)
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    tensor = document["tensors"][0]
    assert tensor["shape"] == [3, 4] and tensor["seed"] == 6 and tensor["dtype"] == "float32"
    values = np.asarray(tensor["values"], dtype=np.float32)
    assert values.tobytes() == np.asarray(keras.initializers.TruncatedNormal(seed=6)((3, 4))).tobytes()
    assert tensor["initializer"] == initcli.serialize(initcli.TruncatedNormal(seed=6))


def test_several_tensors_in_one_npz_follow_a_keras_seed_generator(tmp_path, keras):
    args = ["he_uniform", "-s", "3,3,16,32", "-s", "3,3,32,64", "-s", "64", "-n", "conv1", "-n", "conv2", "-n", "v"]
    result = run_in_process([*args, "--seed", "7", "-o", "convs.npz"], tmp_path)
    assert result.exit_code == 0, result.stderr
    archive = np.load(tmp_path / "convs.npz", allow_pickle=False)
    assert list(archive) == ["conv1", "conv2", "v"]
    generator = keras.initializers.HeUniform(seed=keras.random.SeedGenerator(7))
    for name, shape in zip(["conv1", "conv2", "v"], [(3, 3, 16, 32), (3, 3, 32, 64), (64,)], strict=False):
        assert archive[name].tobytes() == np.asarray(generator(shape)).tobytes()
    # the first tensor is exactly the integer-seed result
    assert archive["conv1"].tobytes() == np.asarray(keras.initializers.HeUniform(seed=7)((3, 3, 16, 32))).tobytes()


def test_append_to_npz_keeps_the_other_tensors(tmp_path):
    assert (
        run_in_process(
            ["glorot_uniform", "-s", "4,3", "-n", "kernel", "--seed", "1", "-o", "m.npz"], tmp_path
        ).exit_code
        == 0
    )
    before = np.load(tmp_path / "m.npz")["kernel"].copy()
    assert run_in_process(["zeros", "-s", "3", "-n", "bias", "--append", "-o", "m.npz"], tmp_path).exit_code == 0
    archive = np.load(tmp_path / "m.npz")
    assert list(archive) == ["kernel", "bias"]
    assert np.array_equal(archive["kernel"], before)
    clash = run_in_process(["ones", "-s", "3", "-n", "bias", "--append", "-o", "m.npz"], tmp_path)
    assert clash.exit_code == 1 and "already holds 'bias'" in clash.stderr
    assert np.load(tmp_path / "m.npz")["bias"].tolist() == [0, 0, 0]
    forced = run_in_process(["ones", "-s", "3", "-n", "bias", "--append", "--force", "-o", "m.npz"], tmp_path)
    assert forced.exit_code == 0
    assert np.load(tmp_path / "m.npz")["bias"].tolist() == [1, 1, 1]


def test_npz_is_reproducible_byte_for_byte(tmp_path):
    args = ["lecun_normal", "-s", "10,10", "-s", "10", "--seed", "3"]
    assert run_in_process([*args, "-o", "a.npz"], tmp_path).exit_code == 0
    assert run_in_process([*args, "-o", "b.npz", "--compress"], tmp_path).exit_code == 0
    assert run_in_process([*args, "-o", "c.npz"], tmp_path).exit_code == 0
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "c.npz").read_bytes()
    with zipfile.ZipFile(tmp_path / "b.npz") as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    assert np.array_equal(np.load(tmp_path / "a.npz")["arr_1"], np.load(tmp_path / "b.npz")["arr_1"])


def test_force_replaces_an_existing_file(tmp_path):
    assert run_in_process(["ones", "-s", "2", "-o", "x.npy"], tmp_path).exit_code == 0
    assert run_in_process(["zeros", "-s", "2", "-o", "x.npy", "--force"], tmp_path).exit_code == 0
    assert np.load(tmp_path / "x.npy").tolist() == [0, 0]


def test_list_command(tmp_path):
    text = run_in_process(["list"], tmp_path).stdout.decode()
    for cls in BUILTIN_CLASSES:
        assert canonical_name(cls) in text
    table = json.loads(run_in_process(["list", "--json"], tmp_path).stdout)
    assert len(table) == len(BUILTIN_CLASSES) == 16
    by_name = {row["name"]: row for row in table}
    assert by_name["random_normal"]["arguments"] == {"mean": 0.0, "stddev": 0.05, "seed": None}
    assert set(by_name["glorot_uniform"]["aliases"]) == set(aliases(initcli.GlorotUniform)[1:])
    assert "xavier_uniform" in by_name["glorot_uniform"]["aliases"]


def test_python_api_mirrors_the_cli(tmp_path):
    result = run_in_process(["he_normal", "--shape", "3,3,16,32", "--seed", "1", "-o", "w.npy"], tmp_path)
    assert result.exit_code == 0
    api = initcli.sample("he_normal", (3, 3, 16, 32), seed=1)
    assert np.load(tmp_path / "w.npy").tobytes() == api.tobytes()
    initcli.write_npy(tmp_path / "api.npy", api)
    assert (tmp_path / "api.npy").read_bytes() == (tmp_path / "w.npy").read_bytes()


def test_npz_to_stdout(tmp_path):
    result = run_subprocess(
        ["he_normal", "-s", "4,3", "-s", "3", "--seed", "2", "--format", "npz", "-o", "-"], tmp_path
    )
    assert result.exit_code == 0, result.stderr
    archive = np.load(io.BytesIO(result.stdout), allow_pickle=False)
    assert list(archive) == ["arr_0", "arr_1"]
    assert archive["arr_0"].tobytes() == initcli.HeNormal(seed=2)((4, 3)).tobytes()
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_exits_130_without_leaving_files(tmp_path):
    """SIGINT during a long run: one line, exit code 130, no output file."""
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "initcli", "orthogonal", "--shape", "4000,4000", "--seed", "1", "-o", "w.npy"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even if our parent ignores it
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.fail("the run finished before the interrupt; make the tensor larger")
    assert proc.returncode == 130, stderr
    assert stderr.decode().strip().splitlines()[-1] == "initcli: error: interrupted"
    assert list(tmp_path.iterdir()) == []
