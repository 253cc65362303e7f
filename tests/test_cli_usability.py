"""The command line at its edges: bare calls, empty shapes, pipes and closed streams, shipped
examples, shell completion, and hostile config files (all through the real CLI)."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from initcli import examples
from tests.helpers import run_in_process, run_subprocess

ROOT = Path(__file__).resolve().parent.parent
PYTHON_CLI = [sys.executable, "-m", "initcli"]


def _close_stdout() -> None:
    os.close(1)


def _run_with_stdout_closed(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """``initcli ARGS >&-``: file descriptor 1 really closed in the child, stderr captured."""
    return subprocess.run(
        [*PYTHON_CLI, *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_close_stdout,
        timeout=120,
    )


# 1. A bare command shows its help, readable, not as one 2,000-character error line.


@pytest.mark.parametrize("args", [[], ["glorot_normal"], ["xavier_uniform"], ["zeros"]])
def test_a_bare_command_prints_its_help_as_help_shows_it(args, tmp_path):
    bare = run_subprocess(args, tmp_path)
    helped = run_subprocess([*args, "--help"], tmp_path)
    assert helped.exit_code == 0
    assert bare.exit_code == 2
    assert bare.stdout == b""
    assert bare.stderr == helped.stdout.decode()
    assert bare.stderr.startswith("Usage: initcli ")
    assert bare.stderr.count("\n") > 10
    assert "error" not in bare.stderr.splitlines()[0]
    in_process = run_in_process(args, tmp_path)
    in_process_help = run_in_process([*args, "--help"], tmp_path)
    assert (in_process.exit_code, in_process.stderr) == (2, in_process_help.stdout.decode())


@pytest.mark.parametrize(
    "args", [["glorot_normal", "--shap", "3"], ["batch"], ["glorot_normal", "--shape", "3"], ["no_such_thing"]]
)
def test_real_usage_errors_stay_one_line(args, tmp_path):
    result = run_subprocess(args, tmp_path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("initcli: error: ")
    assert "Usage:" not in result.stderr


# 2. An empty shape is an error (an unset variable), not a scalar; () and [] stay the scalar.


@pytest.mark.parametrize("text", ["", " ", "\t"])
def test_an_empty_shape_is_an_error_naming_it(text, tmp_path):
    result = run_in_process(["glorot_normal", "--shape", text, "--seed", "1", "--json"], tmp_path)
    assert result.exit_code == 2
    assert result.stdout == b""
    assert result.stderr.count("\n") == 1
    assert f"shape {text!r} is empty" in result.stderr and "() for a scalar" in result.stderr


@pytest.mark.parametrize("text", ["()", "[]", "( )", "scalar"])
def test_the_scalar_spellings_stay_scalars(text, tmp_path):
    result = run_in_process(["glorot_normal", "--shape", text, "--seed", "1", "--json", "-q"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["tensors"][0]["shape"] == []


def test_an_empty_shape_in_a_batch_config_is_an_error(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "layers:\n  - {name: d, class: Dense, weights: {kernel: {shape: '', initializer: zeros}}}\n"
    )
    result = run_in_process(["batch", "c.yaml", "--dry-run"], tmp_path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "shape '' is empty" in result.stderr and "c.yaml" in result.stderr
    (tmp_path / "s.yaml").write_text(
        "layers:\n  - {name: d, class: Dense, weights: {kernel: {shape: [], initializer: zeros}}}\n"
    )
    assert run_in_process(["batch", "s.yaml", "--dry-run"], tmp_path).exit_code == 0


@pytest.mark.parametrize(
    "text,message",
    [
        ("1" + "0" * 400, "a dimension of 401 digits"),
        ("1" + "0" * 30, "a dimension of 31 digits"),
        ("3," + "9" * 5000, "a dimension of 5000 digits"),
        (",".join(["9" * 30] * 11), "more than 10**300 elements"),
    ],
)
def test_an_absurd_dimension_is_one_short_line(text, message, tmp_path):
    for args in (["-o", "w.npy"], ["--json"], ["-o", "w.h5", "--path", "x"]):
        result = run_in_process(["he_normal", "--shape", text, "--seed", "1", *args], tmp_path)
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and message in result.stderr and "no array is that large" in result.stderr
        assert len(result.stderr) < 400
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dims", [[10**31, 3], [3, 10**400], [10**30 - 1] * 11])
def test_absurd_shapes_in_a_batch_config_are_one_line(dims, tmp_path):
    shape = "[" + ", ".join(map(str, dims)) + "]"
    (tmp_path / "c.yaml").write_text(
        f"layers:\n  - {{name: d, class: Dense, weights: {{kernel: {{shape: {shape}, initializer: zeros}}}}}}\n"
    )
    for args in (["--dry-run"], ["--seed", "1", "-o", "w.weights.h5"]):
        result = run_in_process(["batch", "c.yaml", *args], tmp_path)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "c.yaml" in result.stderr


# 4. The sample configs ship with the package; 'initcli examples' lists, prints and copies them.


def test_the_packaged_examples_are_the_repository_sample_configs():
    packaged = Path(str(examples.directory()))
    repository = ROOT / "sample_configs"
    assert repository.resolve() == (ROOT / "initcli" / "sample_configs").resolve()
    names = sorted(p.name for p in repository.iterdir())
    assert names == sorted(examples.names()) == sorted(examples.DESCRIPTIONS)
    assert len(names) >= 5
    _, mismatch, errors = filecmp.cmpfiles(repository, packaged, names, shallow=False)
    assert (mismatch, errors) == ([], [])
    for name in names:
        assert examples.read_bytes(name) == (repository / name).read_bytes()


def test_the_installed_package_serves_the_repository_files(tmp_path):
    """A fresh process outside the repository imports the installed initcli (CI installs it with
    ``pip install .``, not in editable mode), so this compares the package data pip shipped."""
    script = (
        "import base64, json, initcli.examples as e; "
        "print(json.dumps({n: base64.b64encode(e.read_bytes(n)).decode() for n in e.names()}))"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    import base64

    shipped = {name: base64.b64decode(data) for name, data in json.loads(proc.stdout).items()}
    repository = {p.name: p.read_bytes() for p in (ROOT / "sample_configs").iterdir()}
    assert shipped == repository


def test_pyproject_ships_every_example_as_package_data():
    import fnmatch

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["initcli"]
    for name in examples.names():
        assert any(fnmatch.fnmatch(f"sample_configs/{name}", p) for p in patterns), name


def test_examples_lists_prints_and_copies(tmp_path):
    listed = run_in_process(["examples"], tmp_path)
    assert listed.exit_code == 0
    for name in examples.names():
        assert name in listed.stdout.decode()
    printed = run_subprocess(["examples", "mnist_mlp.yaml"], tmp_path)
    assert printed.exit_code == 0 and printed.stderr == ""
    assert printed.stdout == (ROOT / "sample_configs" / "mnist_mlp.yaml").read_bytes()
    assert run_in_process(["examples", "small_cnn"], tmp_path).stdout == examples.read_bytes("small_cnn.json")
    copied = run_subprocess(["examples", "transformer_encoder.yaml", "-o", "t.yaml"], tmp_path)
    assert copied.exit_code == 0, copied.stderr
    assert (tmp_path / "t.yaml").read_bytes() == (ROOT / "sample_configs" / "transformer_encoder.yaml").read_bytes()
    again = run_subprocess(["examples", "mnist_mlp.yaml", "-o", "t.yaml"], tmp_path)
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert (tmp_path / "t.yaml").read_bytes() == examples.read_bytes("transformer_encoder.yaml")
    unknown = run_in_process(["examples", "nope.yaml"], tmp_path)
    assert unknown.exit_code == 2 and "mnist_mlp.yaml" in unknown.stderr and unknown.stderr.count("\n") == 1
    built = run_subprocess(["batch", "t.yaml", "--seed", "1", "-o", "t.weights.h5", "-q"], tmp_path)
    assert built.exit_code == 0, built.stderr
    model = run_subprocess(["examples", "classifier_model.json", "-o", "m.json"], tmp_path)
    assert model.exit_code == 0
    assert run_subprocess(["model", "m.json", "--dry-run"], tmp_path).exit_code == 0


def test_batch_help_points_to_the_examples_command(tmp_path):
    text = run_in_process(["batch", "--help"], tmp_path).stdout.decode()
    assert "initcli examples" in text


# 6. A reader that leaves early and a closed stdout.


def test_a_pipe_closed_early_ends_quietly_like_other_unix_tools(tmp_path):
    proc = subprocess.Popen(
        [*PYTHON_CLI, "glorot_normal", "--shape", "4096,4096", "--seed", "1", "-o", "-"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    head = proc.stdout.read(100)
    proc.stdout.close()  # like `| head -c 100`
    stderr = proc.stderr.read()
    code = proc.wait(timeout=120)
    assert head.startswith(b"\x93NUMPY")
    assert code in (141, 0)
    assert stderr == b""


@pytest.mark.parametrize("args", [["list", "--json"], ["glorot_normal", "--shape", "512,512", "--seed", "1", "--json"]])
def test_shell_head_on_text_output_is_quiet(args, tmp_path):
    command = " ".join(["exec", *(f"'{a}'" for a in PYTHON_CLI), *args]) + " | head -c 10 >/dev/null"
    proc = subprocess.run(
        ["bash", "-c", f"{command}; echo ${{PIPESTATUS[0]}} >&2"], cwd=tmp_path, capture_output=True, timeout=120
    )
    lines = proc.stderr.decode().splitlines()
    assert lines[-1] in ("141", "0")
    assert lines[:-1] == []


@pytest.mark.parametrize(
    "args",
    [
        ["glorot_normal", "--shape", "4,4", "--seed", "1", "--json"],
        ["list"],
        ["list", "--json"],
        ["examples", "mnist_mlp.yaml"],
        ["glorot_normal", "--shape", "64,64", "--seed", "1", "-o", "-"],
        ["batch", "sample_configs/mnist_mlp.yaml", "--dry-run", "--json"],
        ["--help"],
    ],
)
def test_a_closed_stdout_is_one_line_and_exit_1(args, tmp_path):
    (tmp_path / "sample_configs").symlink_to(ROOT / "sample_configs")
    proc = _run_with_stdout_closed(args, tmp_path)
    stderr = proc.stderr.decode()
    assert proc.returncode == 1
    assert stderr == (
        "initcli: error: cannot write to standard output: it is closed; redirect it to a file or to /dev/null\n"
    )


def test_what_a_command_printed_before_failing_still_reaches_a_pipe(tmp_path):
    script = (
        "import sys, click\n"
        "from initcli.cli.group import InitcliGroup\n"
        "@click.group(cls=InitcliGroup)\n"
        "def group(): pass\n"
        "@group.command()\n"
        "def report():\n"
        "    sys.stdout.write('first result\\n')  # buffered, as json.dump writes\n"
        "    raise click.UsageError('then a bad value')\n"
        "group.main(['report'], prog_name='initcli')\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # a pipe is block-buffered
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=environment, capture_output=True, timeout=60
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, b"first result\n", b"initcli: error: then a bad value\n")


def test_a_closed_stdout_does_not_hand_its_descriptor_to_an_output_file(tmp_path):
    proc = _run_with_stdout_closed(["glorot_normal", "--shape", "8,8", "--seed", "1", "-o", "w.npy"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    import numpy as np

    assert np.load(tmp_path / "w.npy").shape == (8, 8)
    assert proc.stderr.decode() == "wrote w.npy: 8x8 float32 seed 1\n"


# 7. Hostile configs: huge integers, other encodings, NaN tokens, alias bombs.

_DENSE = '"layers": [{"name": "d", "class": "Dense", "weights": {"kernel": {"shape": %s, "initializer": %s}}}]'


def _hostile_configs() -> list[tuple[str, bytes, str]]:
    big, huge = "1" + "0" * 400, "1" + "0" * 5000
    cases = [
        ("shape10e400.json", ("{" + _DENSE % (f"[{big}, 3]", '"zeros"') + "}").encode(), "401 digits"),
        (
            "seed10e4000.json",
            ("{" + f'"seed": 1{"0" * 4000}, ' + _DENSE % ("[3, 3]", '"he_normal"') + "}").encode(),
            "4001 digits",
        ),
        (
            "seed10e5000.json",
            ("{" + f'"seed": {huge}, ' + _DENSE % ("[3, 3]", '"he_normal"') + "}").encode(),
            "5001 digits",
        ),
        ("seed10e5000.yaml", f"seed: {huge}\nlayers: []\n".encode(), "integer is too large"),
        ("seed10e5000.toml", f"seed = {huge}\nlayers = []\n".encode(), "integer is too large"),
        (
            "shape10e400.yaml",
            f"layers:\n  - {{name: d, class: Dense, weights: {{kernel: {{shape: [{big}, 3], "
            "initializer: zeros}}}\n".encode(),
            "401 digits",
        ),
        (
            "shape10e400.toml",
            f'[[layers]]\nname = "d"\nclass = "Dense"\n[layers.weights.kernel]\nshape = [{big}]\n'
            'initializer = "zeros"\n'.encode(),
            "401 digits",
        ),
        ("latin1.yaml", "# café\nlayers: []\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 at line 1, column 6)"),
        ("latin1.json", '{"name": "caf\xe9", "layers": []}'.encode("latin-1"), "not UTF-8 text"),
        ("latin1.toml", 'name = "caf\xe9"\nlayers = []\n'.encode("latin-1"), "not UTF-8 text"),
        ("utf16.json", ('{"layers": []}').encode("utf-16"), "UTF-16 text"),
        ("utf16.yaml", "layers: []\n".encode("utf-16"), "UTF-16 text"),
        ("utf32.json", ('{"layers": []}').encode("utf-32"), "UTF-32 text"),
        (
            "nan.json",
            ("{" + _DENSE % ("[3, 3]", '{"class_name": "RandomNormal", "config": {"stddev": NaN}}') + "}").encode(),
            "NaN is not JSON",
        ),
        (
            "infinity.json",
            ('{"seed": Infinity, ' + _DENSE % ("[3, 3]", '"zeros"') + "}").encode(),
            "Infinity is not JSON",
        ),
        ("neginf.json", ("{" + _DENSE % ("[3, -Infinity]", '"zeros"') + "}").encode(), "-Infinity is not JSON"),
    ]
    laughs = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    laughs += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 13)]
    cases.append(("laughs.yaml", ("\n".join(laughs) + "\nlayers: []\n").encode(), "expand to more than 10,000,000"))
    nested = [
        "layers:",
        "  - name: d",
        "    class: Dense",
        "    weights:",
        "      kernel:",
        "        shape: [3, 3]",
        "        initializer: {class_name: Constant, config: {value: *a12}}",
    ]
    cases.append(
        (
            "laughs_in_a_weight.yaml",
            ("\n".join([*laughs[:-1], laughs[-1], *nested]) + "\n").encode(),
            "expand to more than 10,000,000",
        )
    )
    return cases


HOSTILE = _hostile_configs()


@pytest.mark.parametrize("name,data,message", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_configs_are_one_clean_line_naming_the_file(name, data, message, tmp_path):
    (tmp_path / name).write_bytes(data)
    before = set(tmp_path.iterdir())
    result = run_subprocess(["batch", name, "--seed", "1", "-o", "out.weights.h5"], tmp_path)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("initcli: error: ")
    assert name in result.stderr and message in result.stderr
    assert len(result.stderr) < 300
    assert set(tmp_path.iterdir()) == before  # nothing written


def test_a_billion_laughs_is_refused_quickly_and_aliases_below_the_limit_still_work(tmp_path):
    import time

    from initcli.model.config_files import EXPANDED_LIMIT, read_document

    bomb = tmp_path / "b.yaml"
    bomb.write_bytes(dict((c[0], c[1]) for c in HOSTILE)["laughs.yaml"])
    start = time.monotonic()
    with pytest.raises(ValueError, match="expand to more than"):
        read_document(bomb)
    assert time.monotonic() - start < 2
    fine = tmp_path / "ok.yaml"
    fine.write_text(
        "w: &w {shape: [3, 3], initializer: zeros}\nlayers:\n"
        "  - {name: a, class: Dense, weights: {kernel: *w}}\n"
        "  - {name: b, class: Dense, weights: {kernel: *w}}\n"
    )
    assert read_document(fine)["layers"][1]["weights"]["kernel"]["shape"] == [3, 3]
    assert EXPANDED_LIMIT == 10**7


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "c.json").write_bytes(b"\xef\xbb\xbf" + ("{" + _DENSE % ("[3, 3]", '"zeros"') + "}").encode())
    result = run_in_process(["batch", "c.json", "--dry-run"], tmp_path)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("latin1.json", '{"class_name": "Sequential", "config": {"name": "caf\xe9"}}'.encode("latin-1"), "not UTF-8"),
        ("utf16.json", '{"class_name": "Sequential"}'.encode("utf-16"), "UTF-16 text"),
        ("nan.json", b'{"class_name": "Sequential", "config": {"x": NaN}}', "NaN is not JSON"),
        ("big.json", b'{"class_name": "Sequential", "config": {"x": 1' + b"0" * 5000 + b"}}", "5001 digits"),
    ],
)
def test_hostile_model_configs_are_one_clean_line(name, data, message, tmp_path):
    import zipfile

    (tmp_path / name).write_bytes(data)
    with zipfile.ZipFile(tmp_path / f"{name}.keras", "w") as archive:
        archive.writestr("config.json", data)
    for target in (name, f"{name}.keras"):
        result = run_in_process(["model", target, "--dry-run"], tmp_path)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.count("\n") == 1 and message in result.stderr and name in result.stderr


# 5. Shell completion, through Click's protocol in a real process (as bash asks for it).


def _complete(words: str, tmp_path: Path) -> list[tuple[str, str]]:
    """What ``initcli`` answers bash for the command line ``words`` (the cursor at its end)."""
    environment = {
        **os.environ,
        "_INITCLI_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    proc = subprocess.run(PYTHON_CLI, cwd=tmp_path, env=environment, capture_output=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    return [tuple(line.split(",", 1)) for line in proc.stdout.decode().splitlines()]  # type: ignore[misc]


COMPLETIONS = [
    ("initcli xav", {("plain", "xavier_normal"), ("plain", "xavier_uniform")}),
    ("initcli kaiming_", {("plain", "kaiming_normal"), ("plain", "kaiming_uniform")}),
    ("initcli Glorot", {("plain", "GlorotNormal"), ("plain", "GlorotUniform")}),
    ("initcli exa", {("plain", "examples")}),
    ("initcli glorot_normal -o ", {("file", "")}),
    ("initcli glorot_normal --output w", {("file", "w")}),
    ("initcli glorot_normal --manifest ", {("file", "")}),
    ("initcli batch c.yaml -o ", {("file", "")}),
    ("initcli model m.json --output ", {("file", "")}),
    ("initcli batch ", {("file", "")}),
    (
        "initcli glorot_normal --dtype ",
        {("plain", "float16"), ("plain", "bfloat16"), ("plain", "float32"), ("plain", "float64")},
    ),
    ("initcli zeros --dtype float6", {("plain", "float64")}),
    ("initcli he_normal --backend ", {("plain", name) for name in ("numpy", "jax", "tensorflow", "torch")}),
    ("initcli he_normal --backend t", {("plain", "tensorflow"), ("plain", "torch")}),
    ("initcli batch c.yaml --backend j", {("plain", "jax")}),
    ("initcli he_normal --format ", {("plain", f) for f in ("npy", "npz", "hdf5", "safetensors")}),
    (
        "initcli batch c.yaml --layout ",
        {("plain", f) for f in ("keras3", "legacy", "keras", "npz", "sharded", "safetensors")},
    ),
    ("initcli examples m", {("plain", "mnist_mlp.yaml")}),
    ("initcli examples mnist_mlp.yaml -o ", {("file", "")}),
]


@pytest.mark.parametrize("words,expected", COMPLETIONS, ids=[c[0] for c in COMPLETIONS])
def test_shell_completion(words, expected, tmp_path):
    assert set(_complete(words, tmp_path)) == expected


def test_completion_of_a_prefix_offers_every_matching_name_and_alias(tmp_path):
    offered = {value for _, value in _complete("initcli ", tmp_path)}
    from initcli.initializers.registry import all_names

    assert {"list", "batch", "model", "verify", "inspect", "examples"} <= offered
    assert {n for n, c in all_names().items() if c.__name__ != "Initializer"} <= offered
    assert {"xavier_normal", "kaiming_uniform", "normal", "OrthogonalInitializer"} <= offered


# 8. A dry run of a .keras reads config.json only; digests stream.


def _keras_with_large_weights(path: Path, megabytes: int) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("metadata.json", b"{}")
        archive.writestr("config.json", examples.read_bytes("classifier_model.json"))
        with archive.open("model.weights.h5", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(megabytes):
                member.write(block)


def _peak_rss_mib(args: list[str], cwd: Path) -> tuple[int, float, str]:
    """Run ``initcli ARGS`` under a fresh parent process, so that its RUSAGE_CHILDREN is this run's alone."""
    script = (
        "import json, resource, subprocess, sys; "
        f"p = subprocess.run({[*PYTHON_CLI, *args]!r}, capture_output=True, timeout=120); "
        "print(json.dumps([p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "
        "p.stdout.decode()[-200:] + p.stderr.decode()]))"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    code, peak, output = json.loads(proc.stdout)
    return code, peak, output


def test_a_dry_run_of_a_large_keras_archive_reads_only_its_config(tmp_path):
    _keras_with_large_weights(tmp_path / "big.keras", 300)
    code, peak, output = _peak_rss_mib(["model", "big.keras", "--dry-run"], tmp_path)
    assert code == 0, output
    assert "total: 8 weights, 213.0 KiB" in output
    assert peak < 200, f"peak resident size {peak:.0f} MiB for a dry run of a 300 MiB archive"


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's /proc/self/io")
def test_a_dry_run_of_a_large_keras_archive_does_not_read_its_weights(tmp_path):
    _keras_with_large_weights(tmp_path / "big.keras", 300)
    script = (
        "import atexit, sys; "
        "atexit.register(lambda: sys.stderr.write(open('/proc/self/io').read())); "
        "sys.argv = ['initcli', 'model', 'big.keras', '--dry-run']; "
        "from initcli.cli import main; main()"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    counters = dict(line.split(": ") for line in proc.stderr.decode().splitlines() if ": " in line)
    assert int(counters["rchar"]) < 100 * 2**20, counters  # imports and config.json, not 300 MiB of weights


def test_writing_from_a_large_keras_archive_records_its_digest_with_flat_memory(tmp_path):
    import hashlib

    from initcli import provenance

    _keras_with_large_weights(tmp_path / "big.keras", 300)
    code, peak, output = _peak_rss_mib(["model", "big.keras", "--seed", "1", "-o", "w.npz", "-q"], tmp_path)
    assert code == 0, output
    assert peak < 250, f"peak resident size {peak:.0f} MiB to write 213 KiB of weights"
    expected = hashlib.sha256((tmp_path / "big.keras").read_bytes()).hexdigest()
    assert provenance.digest(tmp_path / "big.keras") == expected
    import zipfile

    with zipfile.ZipFile(tmp_path / "w.npz") as archive:
        assert json.loads(archive.comment)["inputs"]["model_sha256"] == expected
