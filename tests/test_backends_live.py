"""``--backend jax|tensorflow`` against the real Keras 3.15.1 backends, live.

``initcli.sample(name, shape, dtype=..., draw=..., backend=B, seed=S, **config)``
must return the bytes of ``keras.initializers.<Class>(seed=S, **config)(shape,
dtype=dtype)`` under ``KERAS_BACKEND=B`` (``draw=k``: the ``(k + 1)``-th call of
the initializer built with ``seed=keras.random.SeedGenerator(S)``).  Documented
exceptions: Orthogonal (our QR is NumPy's; compared with a tolerance) and, on
JAX, a float64 request (JAX's x64 mode is off, so Keras returns float32; we
return float64 holding exactly those float32 values).

JAX's float16 numbers depend on the CPU: where XLA:CPU computes float16
natively (AVX512-FP16, unless ``XLA_FLAGS`` limits ``--xla_cpu_max_isa`` to
AVX2 or less: :func:`initcli.backends.jax_native_half.xla_float16_is_native`,
from ``/proc/cpuinfo`` and the worker's ``XLA_FLAGS``), every float16 JAX case
is compared with :mod:`initcli.backends.jax_native_half` instead of the
``--backend jax`` stream, and the float16 cases are run a second time under
``XLA_FLAGS=--xla_cpu_max_isa=AVX2`` against the ``--backend jax`` stream, so
both float16 variants are compared with real JAX on such a machine.

Keras's backend is fixed per process, so the Keras side of every case of this
module is computed by ``tests/keras_backend_worker.py`` in one subprocess per
backend (``KERAS_BACKEND=B``, ``JAX_PLATFORMS=cpu``, ``TF_CPP_MIN_LOG_LEVEL=3``,
``JAX_ENABLE_X64`` unset).  A backend that cannot be imported there skips its
tests, unless ``INITCLI_REQUIRE_JAX=1`` / ``INITCLI_REQUIRE_TENSORFLOW=1`` is
set, or, for JAX, JAX is installed: then every test of that backend fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import initcli
from initcli import backends
from initcli.backends import jax_native_half

from .helpers import run_subprocess

WORKER = Path(__file__).with_name("keras_backend_worker.py")
UNAVAILABLE = 3  # keras_backend_worker.UNAVAILABLE
BACKENDS = ("jax", "tensorflow")
REQUIRE = {"jax": "INITCLI_REQUIRE_JAX", "tensorflow": "INITCLI_REQUIRE_TENSORFLOW"}
WORKER_TIMEOUT = 900


@dataclass(frozen=True)
class Case:
    """One Keras call: ``class_name(seed=seed, **config)(shape, dtype)``, draw ``draw``."""

    class_name: str
    config: tuple[tuple[str, object], ...]
    shape: tuple[int, ...]
    seed: int
    dtype: str = "float32"
    draw: int = 0

    @property
    def kwargs(self) -> dict[str, object]:
        return dict(self.config)

    @property
    def id(self) -> str:
        config = "".join(f",{k}={v}" for k, v in self.config)
        shape = "x".join(map(str, self.shape)) or "scalar"
        draw = f"-draw={self.draw}" if self.draw else ""
        return f"{self.class_name}{config}-{shape}-seed={self.seed}-{self.dtype}{draw}"

    def as_json(self) -> dict[str, object]:
        return {
            "class_name": self.class_name,
            "config": self.kwargs,
            "seed": self.seed,
            "draw": self.draw,
            "shape": list(self.shape),
            "dtype": self.dtype,
        }

    def ours(self, backend: str, native_half: bool = False) -> np.ndarray:
        """initcli's array for this case; ``native_half``: the JAX stream of CPUs where XLA computes
        float16 natively (:mod:`initcli.backends.jax_native_half`) in place of ``--backend jax``'s."""
        if native_half:
            with _jax_stream("initcli.backends.jax_native_half"):
                return self.ours(backend)
        return initcli.sample(
            self.class_name,
            self.shape,
            dtype=self.dtype,
            draw=self.draw,
            backend=backend,
            seed=self.seed,
            **self.kwargs,
        )


@contextmanager
def _jax_stream(module: str) -> Iterator[None]:
    """Draw ``backend="jax"`` numbers with the stream module ``module`` for a moment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(backends._MODULES, "jax", module)
        yield


def _config(**kwargs: object) -> tuple[tuple[str, object], ...]:
    return tuple(kwargs.items())


SEEDS = (0, 1, 42, 12345, 987654321, 2**31 - 2, 2**31 - 1, 2**31, 2**32 - 1)
SHAPES = ((), (7,), (13, 5), (3, 5, 7), (1025,), (3, 3, 16, 32), (2, 3, 3, 4, 5))

CONFIGS: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = (
    ("RandomUniform", _config()),
    ("RandomUniform", _config(minval=-3.0, maxval=0.5)),
    ("RandomNormal", _config()),
    ("RandomNormal", _config(mean=0.3, stddev=2.0)),
    ("TruncatedNormal", _config()),
    ("TruncatedNormal", _config(mean=1.5, stddev=0.7)),
    ("GlorotUniform", _config()),
    ("GlorotNormal", _config()),
    ("HeUniform", _config()),
    ("HeNormal", _config()),
    ("LecunUniform", _config()),
    ("LecunNormal", _config()),
    *(
        ("VarianceScaling", _config(scale=2.5, mode=mode, distribution=distribution))
        for mode in ("fan_in", "fan_out", "fan_avg")
        for distribution in ("truncated_normal", "untruncated_normal", "uniform")
    ),
)

GRID = [Case(name, config, shape, seed) for name, config in CONFIGS for shape in SHAPES for seed in SEEDS]

DTYPE_CONFIGS = (
    ("RandomUniform", _config()),
    ("RandomNormal", _config(mean=0.3, stddev=2.0)),
    ("TruncatedNormal", _config()),
    ("GlorotUniform", _config()),
    ("HeNormal", _config()),
    ("VarianceScaling", _config(scale=2.5, mode="fan_in", distribution="untruncated_normal")),
)
DTYPE_GRID = [
    Case(name, config, shape, seed, dtype)
    for dtype in ("float16", "float64")
    for name, config in DTYPE_CONFIGS
    for shape in ((7,), (13, 5), (3, 3, 16, 32))
    for seed in (0, 2**31, 2**32 - 1)
]

DRAW_GRID = [
    Case(name, (), shape, seed, draw=draw)
    for name in ("RandomUniform", "RandomNormal", "TruncatedNormal")
    for shape in ((13, 5), (3, 3, 16, 32), (784, 64))
    for seed in (1, 2**31 - 1, 2**32 - 1)
    for draw in (1, 3)
]

# More than 4M elements: crosses initcli's chunk size and JAX's table threshold.
LARGE_GRID = [
    Case("RandomNormal", (), (2048, 2049), 1),
    Case("TruncatedNormal", (), (2048, 2049), 2**31),
    Case("RandomUniform", (), (2048, 2049), 2**32 - 1),
    Case("RandomNormal", (), (1500, 1500), 12345, "float16"),
    Case("TruncatedNormal", (), (1500, 1500), 0, "float16"),
    Case("RandomUniform", (), (1500, 1500), 2**31 - 2, "float16"),
]

ORTHOGONAL_GRID = [
    Case("Orthogonal", _config(gain=gain), shape, seed)
    for gain in (1.0, 0.5)
    for shape in ((64, 64), (784, 64), (3, 3, 16, 32))
    for seed in (0, 1, 2**32 - 1)
]

CLI_CASE = Case("GlorotNormal", (), (784, 64), 1)

ALL_CASES = list(dict.fromkeys([*GRID, *DTYPE_GRID, *DRAW_GRID, *LARGE_GRID, *ORTHOGONAL_GRID, CLI_CASE]))
INDEX = {case: i for i, case in enumerate(ALL_CASES)}


def _params(cases: list[Case]) -> list:
    return [pytest.param(case, id=case.id) for case in cases]


class KerasSide:
    """Keras's arrays for cases of :data:`ALL_CASES` on one backend, or why there are none."""

    def __init__(
        self,
        backend: str,
        arrays: dict[str, np.ndarray],
        meta: dict,
        failure: str | None = None,
        native_half: bool = False,
    ):
        self.backend = backend
        self.arrays = arrays
        self.meta = meta
        self.failure = failure
        self.native_half = native_half
        """Whether the worker's XLA computed float16 natively (JAX on a CPU with AVX512-FP16)."""

    def __getitem__(self, case: Case) -> np.ndarray:
        if self.failure is not None:
            pytest.fail(self.failure, pytrace=False)
        index = INDEX[case]
        error = self.meta["errors"].get(str(index))
        if error is not None:
            pytest.fail(f"Keras ({self.backend}) raised for {case.id}: {error}", pytrace=False)
        return self.arrays[f"case_{index}"]


def _required(backend: str) -> bool:
    """A backend must be compared (failing, not skipping) when asked for, and JAX whenever it is
    installed here: the test extras install it (Keras's numpy backend imports it), so a JAX that
    is present but cannot run Keras is a failure, not a reason to skip."""
    if backend == "jax" and importlib.util.find_spec("jax") is not None:
        return True
    return os.environ.get(REQUIRE[backend], "") not in ("", "0")


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    return request.param


def _cpu_flags() -> frozenset[str]:
    try:
        return jax_native_half.cpu_flags(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return frozenset()


@pytest.fixture(scope="module")
def keras_side(backend, tmp_path_factory) -> KerasSide:
    """Run the worker once for this backend over every case of the module."""
    return _run_worker(backend, ALL_CASES, {}, tmp_path_factory)


def _run_worker(backend: str, cases: list[Case], extra_env: dict[str, str], tmp_path_factory) -> KerasSide:
    """Keras's arrays for ``cases`` (of :data:`ALL_CASES`) from one worker process, run with
    ``extra_env`` added to its environment."""
    work = tmp_path_factory.mktemp(f"keras-{backend}")
    cases_path, out_path = work / "cases.json", work / "keras.npz"
    cases_path.write_text(json.dumps([case.as_json() for case in cases]))
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3", **extra_env}
    env.pop("JAX_ENABLE_X64", None)
    native_half = backend == "jax" and jax_native_half.xla_float16_is_native(_cpu_flags(), env.get("XLA_FLAGS", ""))
    try:
        proc = subprocess.run(
            [sys.executable, str(WORKER), str(cases_path), str(out_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return KerasSide(backend, {}, {}, f"the Keras {backend} worker took over {WORKER_TIMEOUT}s")
    stderr_tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
    if proc.returncode == UNAVAILABLE:
        reason = f"{backend} backend is not importable: {stderr_tail.splitlines()[-1] if stderr_tail else '?'}"
        if _required(backend):
            return KerasSide(backend, {}, {}, f"{REQUIRE[backend]} is set but {reason}")
        pytest.skip(reason)
    if proc.returncode != 0:
        return KerasSide(backend, {}, {}, f"the Keras {backend} worker exited {proc.returncode}:\n{stderr_tail}")
    with np.load(out_path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    meta = json.loads(str(arrays.pop("meta")))
    assert meta["cases"] == len(cases)
    # Keyed by the cases' places in ALL_CASES, as KerasSide looks them up.
    arrays = {f"case_{INDEX[case]}": arrays[f"case_{i}"] for i, case in enumerate(cases) if f"case_{i}" in arrays}
    meta["errors"] = {str(INDEX[cases[int(i)]]): error for i, error in meta["errors"].items()}
    return KerasSide(backend, arrays, meta, native_half=native_half)


def _expected(backend: str, case: Case, theirs: np.ndarray) -> np.ndarray:
    """What we promise for ``case``: Keras's array, except float64 on JAX (float32 values, as float64)."""
    if backend == "jax" and case.dtype == "float64":
        assert theirs.dtype == np.float32, f"Keras on JAX returned {theirs.dtype} for float64 (x64 mode is on?)"
        return theirs.astype(np.float64)
    assert theirs.dtype == np.dtype(case.dtype), f"Keras returned {theirs.dtype} for {case.dtype}"
    return theirs


def assert_bitwise(mine: np.ndarray, theirs: np.ndarray, label: str) -> None:
    """Same dtype, same shape, same bytes (compared as unsigned integers of the element width)."""
    assert isinstance(mine, np.ndarray), f"{label}: got {type(mine).__name__}, not an ndarray"
    assert mine.dtype == theirs.dtype, f"{label}: dtype {mine.dtype} != Keras {theirs.dtype}"
    assert mine.shape == theirs.shape, f"{label}: shape {mine.shape} != Keras {theirs.shape}"
    unsigned = np.dtype(f"u{mine.dtype.itemsize}")
    a, b = mine.reshape(-1).view(unsigned), theirs.reshape(-1).view(unsigned)
    if np.array_equal(a, b):
        return
    bad = np.flatnonzero(a != b)
    i = int(bad[0])
    diff = np.abs(mine.astype(np.float64) - theirs.astype(np.float64))
    pytest.fail(
        f"{label}: {bad.size} of {a.size} elements differ; first at flat index {i}: "
        f"ours {mine.reshape(-1)[i]!r} ({int(a[i]):#x}) vs Keras {theirs.reshape(-1)[i]!r} ({int(b[i]):#x}); "
        f"max |diff| {np.nanmax(diff):.3g}",
        pytrace=False,
    )


def _check(backend: str, keras_side: KerasSide, case: Case) -> None:
    theirs = _expected(backend, case, keras_side[case])
    native_half = keras_side.native_half and case.dtype == "float16"
    label = f"{backend}{' (XLA float16 native: jax_native_half)' if native_half else ''} {case.id}"
    assert_bitwise(case.ours(backend, native_half), theirs, label)


@pytest.mark.parametrize("case", _params(GRID))
def test_float32_grid_matches_keras(backend, keras_side, case):
    _check(backend, keras_side, case)


@pytest.mark.parametrize("case", _params(DTYPE_GRID))
def test_float16_float64_match_keras(backend, keras_side, case):
    _check(backend, keras_side, case)


@pytest.mark.parametrize("case", _params(DRAW_GRID))
def test_seed_generator_draws_match_keras(backend, keras_side, case):
    _check(backend, keras_side, case)


@pytest.mark.parametrize("case", _params(LARGE_GRID))
def test_large_tensors_match_keras(backend, keras_side, case):
    _check(backend, keras_side, case)


@pytest.mark.parametrize("case", _params(ORTHOGONAL_GRID))
def test_orthogonal_close_to_keras(backend, keras_side, case):
    """Orthogonal is NOT bit-identical to Keras on JAX/TensorFlow: Keras takes the QR of the
    same normal matrix with the backend's own QR, we with NumPy's, so values differ by up to
    ~1e-5.  Checked: same dtype and shape, max |ours - Keras| <= 2e-5, and ours orthogonal
    (Q^T Q = gain^2 I to 1e-5 over the flattened (prod(shape[:-1]), shape[-1]) matrix)."""
    theirs = _expected(backend, case, keras_side[case])
    mine = case.ours(backend)
    assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
    diff = float(np.max(np.abs(mine.astype(np.float64) - theirs.astype(np.float64))))
    assert diff <= 2e-5, f"{backend} {case.id}: max |ours - Keras| = {diff:.3g} > 2e-5"
    flat = mine.astype(np.float64).reshape(-1, case.shape[-1])
    if flat.shape[0] < flat.shape[1]:
        flat = flat.T
    gain = case.kwargs["gain"]
    gram_error = float(np.max(np.abs(flat.T @ flat - gain**2 * np.eye(flat.shape[1]))))
    assert gram_error <= 1e-5, f"{backend} {case.id}: max |Q^T Q - gain^2 I| = {gram_error:.3g}"


def test_cli_writes_keras_values(backend, keras_side, tmp_path):
    """``python -m initcli glorot_normal --shape 784,64 --seed 1 --backend B -o out.npy``."""
    theirs = _expected(backend, CLI_CASE, keras_side[CLI_CASE])
    args = ["glorot_normal", "--shape", "784,64", "--seed", "1", "--backend", backend, "-o", "out.npy"]
    run = run_subprocess(args, tmp_path)
    assert run.exit_code == 0, run.stderr
    assert_bitwise(np.load(tmp_path / "out.npy"), theirs, f"initcli {' '.join(args)}")


HALF_CASES = [case for case in ALL_CASES if case.dtype == "float16"]


@pytest.fixture(scope="module")
def keras_jax_widened(tmp_path_factory) -> KerasSide:
    """Keras on JAX for :data:`HALF_CASES` with XLA:CPU limited to AVX2, so that it widens each
    float16 operation to float32 as on CPUs without AVX512-FP16; only on CPUs with AVX512-FP16."""
    if not jax_native_half.xla_float16_is_native(_cpu_flags()):
        pytest.skip(
            "this CPU has no AVX512-FP16: XLA widens float16 here anyway, so "
            "test_float16_float64_match_keras already compares the --backend jax float16 stream with real JAX"
        )
    xla_flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_max_isa=AVX2".strip()
    return _run_worker("jax", HALF_CASES, {"XLA_FLAGS": xla_flags}, tmp_path_factory)


@pytest.mark.parametrize("case", _params(HALF_CASES))
def test_jax_float16_widened_by_xla_matches_the_jax_stream(keras_jax_widened, case):
    """On a CPU with AVX512-FP16, ``XLA_FLAGS=--xla_cpu_max_isa=AVX2`` gives the float16 numbers of
    CPUs without it: those of ``--backend jax`` (and of the golden vectors)."""
    assert not keras_jax_widened.native_half
    _check("jax", keras_jax_widened, case)
