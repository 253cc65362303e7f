"""``initcli torch calculate_gain`` and ``initcli torch fans``: torch's numbers on stdout.

Expected values are torch's documented formulas written out here and, where torch is
installed (``INITCLI_REQUIRE_TORCH=1`` makes a missing torch a failure), torch's own functions
in a separate process."""

from __future__ import annotations

import json
import math
import os
import subprocess

import pytest

from .helpers import run_in_process, run_subprocess
from .test_torch_init import _torch_python

GAINS = {
    **dict.fromkeys(["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                     "conv_transpose3d", "sigmoid"], 1.0),
    "tanh": 5 / 3,
    "relu": math.sqrt(2),
    "selu": 0.75,
}  # fmt: skip
SLOPES = [None, 0.0, 0.2, -0.5, 3.0]
SHAPES = [[5, 3], [128, 64, 3, 3], [16, 4, 1, 2, 3], [7, 0, 3], [1, 1]]


def _gain(args: list[str]) -> str:
    result = run_in_process(["torch", "calculate_gain", *args], os.getcwd())
    assert result.exit_code == 0, result.stderr
    return result.stdout.decode()


@pytest.mark.parametrize("nonlinearity", list(GAINS))
def test_gain_of_each_nonlinearity(nonlinearity):
    assert float(_gain([nonlinearity])) == GAINS[nonlinearity]


@pytest.mark.parametrize("slope", SLOPES)
def test_gain_of_leaky_relu(slope):
    args = ["leaky_relu"] + ([] if slope is None else ["--param", str(slope)])
    expected = math.sqrt(2 / (1 + (0.01 if slope is None else slope) ** 2))
    assert float(_gain(args)) == expected
    assert json.loads(_gain([*args, "--json"])) == {"nonlinearity": "leaky_relu", "param": slope, "gain": expected}


@pytest.mark.parametrize("shape", SHAPES)
def test_fans(shape, tmp_path):
    receptive = math.prod(shape[2:])
    result = run_subprocess(["torch", "fans", ",".join(map(str, shape))], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.decode() == f"{shape[1] * receptive} {shape[0] * receptive}\n"
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["calculate_gain", "swish"], "Unsupported nonlinearity swish; use one of linear,"),
        (["calculate_gain", "relu", "--param", "x"], "'x' is not a valid float"),
        (["fans", "3"], "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"),
        (["fans", "3,-1"], "-1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    result = run_subprocess(["torch", *args], tmp_path)
    assert result.exit_code == 2
    assert result.stdout == b""
    lines = result.stderr.strip().splitlines()
    assert message in lines[-1], result.stderr
    assert "Traceback" not in result.stderr


def test_against_torch(tmp_path):
    python = _torch_python()
    if python is None:
        if os.environ.get("INITCLI_REQUIRE_TORCH") == "1":
            pytest.fail("INITCLI_REQUIRE_TORCH=1 but no torch: set INITCLI_TORCH_PYTHON to a Python with torch")
        pytest.skip("torch is not available: set INITCLI_TORCH_PYTHON to a Python with torch 2.13.0 (CPU)")
    script = (
        "import json, sys, torch\n"
        "gains, shapes = json.loads(sys.stdin.read())\n"
        "out = {'gains': [torch.nn.init.calculate_gain(n, p) for n, p in gains],\n"
        "       'fans': [torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(s)) for s in shapes]}\n"
        "print(json.dumps(out))\n"
    )
    gains = [[n, None] for n in GAINS] + [["leaky_relu", s] for s in SLOPES]
    done = subprocess.run(
        [python, "-c", script], input=json.dumps([gains, SHAPES]), capture_output=True, text=True, check=True
    )
    theirs = json.loads(done.stdout)
    for (name, slope), gain in zip(gains, theirs["gains"], strict=True):
        args = [name] + ([] if slope is None else ["--param", str(slope)])
        assert float(_gain(args)) == gain, (name, slope)
    for shape, fans in zip(SHAPES, theirs["fans"], strict=True):
        result = run_in_process(["torch", "fans", ",".join(map(str, shape))], tmp_path)
        assert result.stdout.decode().split() == [str(f) for f in fans]
