"""Helpers to run the real CLI in-process (CliRunner) and as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from initcli.cli import cli


@dataclass
class Run:
    exit_code: int
    stdout: bytes
    stderr: str


def run_in_process(args: list[str], cwd: Path) -> Run:
    """Run ``initcli ARGS`` through click's CliRunner in ``cwd``."""
    runner = CliRunner()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(cli, args, prog_name="initcli")
    finally:
        os.chdir(old)
    return Run(result.exit_code, result.stdout_bytes, result.stderr)


def run_subprocess(args: list[str], cwd: Path, stdin: bytes | None = None) -> Run:
    """Run ``python -m initcli ARGS`` as a real process in ``cwd``."""
    proc = subprocess.run(
        [sys.executable, "-m", "initcli", *args], cwd=cwd, capture_output=True, input=stdin, timeout=120
    )
    return Run(proc.returncode, proc.stdout, proc.stderr.decode())


def keras_env(backend: str, **extra: str) -> dict[str, str]:
    """The environment of a Keras worker process on ``backend``: CPU only, quiet TensorFlow, JAX's
    default 32-bit mode (``JAX_ENABLE_X64`` unset), plus ``extra``."""
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "KERAS_TORCH_DEVICE": "cpu",
        **extra,
    }
    env.pop("JAX_ENABLE_X64", None)
    return env


def h5_datasets(path: Path) -> dict[str, tuple[int, ...]]:
    """Every dataset of an HDF5 file with its shape."""
    import h5py

    found: dict[str, tuple[int, ...]] = {}
    with h5py.File(path) as handle:
        handle.visititems(lambda name, obj: found.__setitem__(name, obj.shape) if hasattr(obj, "shape") else None)
    return found


def constant_weight(value: float, shape: list[int]) -> dict:
    """A batch config's weight entry: ``shape`` filled by ``Constant(value)``."""
    return {"shape": shape, "initializer": {"class_name": "Constant", "config": {"value": value}}}


def strip_build_configs(value):
    """A model config without what records its layers' built shapes (``build_config``, a Sequential's
    ``build_input_shape``): as Keras <= 2.12 wrote configs, so shapes must come from the graph."""
    if isinstance(value, dict):
        return {k: strip_build_configs(v) for k, v in value.items() if k not in ("build_config", "build_input_shape")}
    if isinstance(value, list):
        return [strip_build_configs(v) for v in value]
    return value


def json_paths(value, prefix=()):
    """Every path (tuple of keys and indices) into a JSON-like value, the value itself first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, (*prefix, index))


_PEAK_LAUNCHER = (
    "import json, os, subprocess, sys\n"
    "command = [sys.executable, '-m', 'initcli', *json.loads(sys.argv[1])]\n"
    "process = subprocess.Popen(command, stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(process.pid, 0)\n"
    "print(json.dumps([os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024]))\n"
)


def peak_mib(args: list[str], cwd: Path) -> float:
    """Peak resident memory (MiB) of ``initcli ARGS``, which must succeed, measured by a small
    launcher process (a child forked from a large test process would count its pages until it
    execs)."""
    import json

    result = subprocess.run(
        [sys.executable, "-c", _PEAK_LAUNCHER, json.dumps(args)], cwd=cwd, capture_output=True, text=True
    )
    code, peak = json.loads(result.stdout)
    assert code == 0, result.stderr
    return peak


def dense_config(directory: Path, layers: int, size: int) -> None:
    """``directory/c.json``: a batch config of ``layers`` Dense layers named ``d0`` ... with
    ``size`` x ``size`` he_normal kernels (float32: ``4 * size**2`` bytes each)."""
    import json

    spec = [
        {"name": f"d{i}", "class": "Dense", "weights": {"kernel": {"shape": [size, size], "initializer": "he_normal"}}}
        for i in range(layers)
    ]
    (directory / "c.json").write_text(json.dumps({"layers": spec}))


def file_digests(directory: Path) -> dict[str, str]:
    """SHA-256 of every regular file in ``directory``, by name."""
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}
