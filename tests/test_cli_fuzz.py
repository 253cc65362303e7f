"""Property-based tests of the command line: no input gives a traceback or an unexpected exit code."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import run_in_process

COMMANDS = ["glorot_normal", "orthogonal", "identity", "stft", "constant", "variance_scaling", "zeros", "nope", "list"]
OPTIONS = [
    "--shape",
    "-s",
    "--seed",
    "--dtype",
    "--mean",
    "--stddev",
    "--gain",
    "--value",
    "--mode",
    "--window",
    "--input-axes",
    "--output-axes",
    "-n",
    "--json",
    "-q",
    "--scale",
    "--distribution",
    "--minval",
]
VALUES = [
    "3",
    "3,4",
    "-1",
    "0",
    "()",
    "[2, 3]",
    "1e400",
    "nan",
    "x",
    "",
    "fan_in",
    "float16",
    "int8",
    "4294967296",
    "hann",
    "[1, 2]",
    "none",
    "0,1",
    "2",
    "3x3x3",
    "1.5",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    command=st.sampled_from(COMMANDS),
    tokens=st.lists(st.one_of(st.sampled_from(OPTIONS), st.sampled_from(VALUES)), max_size=8),
)
def test_no_traceback_and_meaningful_exit_codes(tmp_path_factory, command, tokens):
    workdir = tmp_path_factory.mktemp("fuzz")
    result = run_in_process([command, *tokens, "--json"] if command != "list" else [command, *tokens], workdir)
    assert result.exit_code in (0, 1, 2), (tokens, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, (tokens, result.stderr)
    if result.exit_code != 0:
        assert len(result.stderr.strip().splitlines()) <= 1 or "Usage:" in result.stderr, result.stderr
    assert list(workdir.iterdir()) == []
