"""``--backend jax|tensorflow|torch`` against the real Keras 3.15.1 backends, live.

``initcli.sample(name, shape, dtype=..., draw=..., backend=B, seed=S, **config)``
must return the bytes of ``keras.initializers.<Class>(seed=S, **config)(shape,
dtype=dtype)`` under ``KERAS_BACKEND=B`` (``draw=k``: the ``(k + 1)``-th call of
the initializer built with ``seed=keras.random.SeedGenerator(S)``).  Documented
exceptions: Orthogonal (our QR is NumPy's; compared with a tolerance), on
JAX, a float64 request (JAX's x64 mode is off, so Keras returns float32; we
return float64 holding exactly those float32 values).  On torch, float16 arrays
are also compared with a model of torch's half-precision kernels written in
this module (:func:`_torch_half`), as an independent reference.

torch (CPU, ``KERAS_TORCH_DEVICE=cpu``) has grids of its own besides the shared
ones: every element count 1..17 and the next block boundaries (16-blocks of the
normal fill, 4 candidates per truncated normal), ranks 0-5, float32 and float64,
seeds that Keras wraps (``2**32 + 5`` is ``5``, ``-1`` is ``2**32 - 1``),
``SeedGenerator`` draws (which torch's Keras accepts for int32 seeds only: the
seed ``2**32 - 1`` is ``SeedGenerator(-1)`` there) and 2**20 + 3 elements.
``--backend torch`` reproduces torch's AVX2 kernels, the ones torch 2.13 runs
on AVX2 and AVX-512 CPUs alike (it has no AVX-512 copy of them); under
``ATEN_CPU_CAPABILITY=default`` torch runs other kernels: float32 normals of 16
or more elements differ, and so do float64 normals of fewer than 16 with a mean
other than 0 (the worker reports torch's ``cpu_capability`` into each message).

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
``KERAS_TORCH_DEVICE=cpu``, ``JAX_ENABLE_X64`` unset).  A backend that cannot be
imported there skips its tests, unless ``INITCLI_REQUIRE_JAX=1`` /
``INITCLI_REQUIRE_TENSORFLOW=1`` / ``INITCLI_REQUIRE_TORCH=1`` is set, or, for
JAX, JAX is installed: then every test of that backend fails.
"""

from __future__ import annotations

import importlib.util
import json
import math
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
from initcli.errors import InvalidArgument

from .helpers import keras_env, run_subprocess

WORKER = Path(__file__).with_name("keras_backend_worker.py")
UNAVAILABLE = 3  # keras_backend_worker.UNAVAILABLE
BACKENDS = ("jax", "tensorflow", "torch")
REQUIRE = {"jax": "INITCLI_REQUIRE_JAX", "tensorflow": "INITCLI_REQUIRE_TENSORFLOW", "torch": "INITCLI_REQUIRE_TORCH"}
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
    keras_seed: int | None = None
    """The seed given to Keras where it is not ``seed`` (one that Keras wraps onto ``seed``)."""

    @property
    def kwargs(self) -> dict[str, object]:
        return dict(self.config)

    @property
    def id(self) -> str:
        config = "".join(f",{k}={v}" for k, v in self.config)
        shape = "x".join(map(str, self.shape)) or "scalar"
        draw = f"-draw={self.draw}" if self.draw else ""
        seed = self.seed if self.keras_seed is None else f"{self.seed}(keras:{self.keras_seed})"
        return f"{self.class_name}{config}-{shape}-seed={seed}-{self.dtype}{draw}"

    def as_json(self) -> dict[str, object]:
        return {
            "class_name": self.class_name,
            "config": self.kwargs,
            "seed": self.seed if self.keras_seed is None else self.keras_seed,
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

# ---- torch's own grids (besides the shared ones) -------------------------------------------
# torch.normal fills 16-blocks (the last 16 outputs recomputed from fresh uniforms when 16 does
# not divide n) and draws fewer than 16 elements serially; Keras's truncated normal draws 4
# candidates per element.  So every count 1..17 (truncated: 4..68 normals) and the next boundaries.
TORCH_SEEDS = (0, 1, 2**31 - 1, 2**31, 2**32 - 1)
TORCH_COUNTS = (*range(1, 18), 31, 33, 63, 64, 65, 255, 257)
TORCH_SIZE_CONFIGS = (
    ("RandomNormal", _config(mean=0.3, stddev=2.5)),  # std not a power of 2: the serial path's fma shows
    ("RandomUniform", _config(minval=-3.0, maxval=0.5)),
    ("TruncatedNormal", _config(mean=1.5, stddev=0.7)),
    ("HeNormal", _config()),
    ("GlorotUniform", _config()),
    ("VarianceScaling", _config(scale=2.5, mode="fan_avg", distribution="untruncated_normal")),
)
TORCH_SIZE_GRID = [
    Case(name, config, (count,), seed, dtype)
    for name, config in TORCH_SIZE_CONFIGS
    for count in TORCH_COUNTS
    for dtype in ("float32", "float64")
    for seed in (0, 2**31, 2**32 - 1)
]
# ranks 0-5, element counts on and off the block boundaries (fans differ with the rank)
TORCH_SHAPES = ((), (1, 1, 1, 1, 1), (3, 5), (4, 4), (17, 1), (3, 11), (2, 3, 5), (3, 3, 2, 4), (2, 3, 3, 2, 5))
TORCH_RANK_GRID = [
    Case(name, config, shape, seed, dtype)
    for name, config in CONFIGS
    for shape in TORCH_SHAPES
    for dtype in ("float32", "float64")
    for seed in (1, 2**31 - 1)
]
# Keras takes any int seed and keeps its low 32 bits (as int32): initcli takes the uint32 it is.
TORCH_WRAPPED_SEEDS = ((2**32 + 5, 5), (-1, 2**32 - 1), (-(2**31), 2**31), (2**40 + 5, 5))
TORCH_WRAP_GRID = [
    Case(name, (), shape, seed, dtype, keras_seed=keras_seed)
    for name in ("RandomNormal", "RandomUniform", "TruncatedNormal", "GlorotNormal")
    for shape in ((5,), (33, 7))
    for dtype in ("float32", "float64")
    for keras_seed, seed in TORCH_WRAPPED_SEEDS
]
# SeedGenerator(s) on torch takes int32 seeds only (s >= 2**31 raises in Keras): the uint32 seed
# s >= 2**31 is SeedGenerator(s - 2**32).
TORCH_DRAW_GRID = [
    Case(name, (), shape, seed, dtype, draw, keras_seed=seed - 2**32 if seed >= 2**31 else None)
    for name in ("RandomUniform", "RandomNormal", "TruncatedNormal", "GlorotNormal")
    for shape in ((17,), (3, 3, 16, 32))
    for dtype in ("float32", "float64")
    for seed in (0, 1, 2**31 - 1, 2**31, 2**32 - 1)
    for draw in (1, 4)
]
TORCH_LARGE = 2**20 + 3
TORCH_LARGE_GRID = [
    Case("RandomNormal", (), (TORCH_LARGE,), 7),
    Case("TruncatedNormal", (), (TORCH_LARGE,), 2**32 - 1),
    Case("RandomUniform", _config(minval=-3.0, maxval=0.5), (TORCH_LARGE,), 2**31),
    Case("RandomNormal", _config(mean=0.3, stddev=2.0), (TORCH_LARGE,), 0, "float64"),
    Case("TruncatedNormal", _config(mean=1.5, stddev=0.7), (TORCH_LARGE,), 1, "float64"),
    Case("GlorotUniform", (), (1024, TORCH_LARGE // 1024), 12345, "float64"),
]
TORCH_ORTHOGONAL_GRID = [
    Case("Orthogonal", _config(gain=gain), shape, seed, "float64")
    for gain in (1.0, 0.5)
    for shape in ((64, 64), (784, 64), (3, 3, 16, 32), (5, 17))
    for seed in (0, 2**32 - 1)
]
# float16: --backend torch and Keras's arrays, both checked against _torch_half below
TORCH_HALF_GRID = [
    Case(name, config, shape, seed, "float16", draw)
    for name, config in (
        *TORCH_SIZE_CONFIGS,
        ("RandomUniform", _config()),
        ("RandomNormal", _config()),
        ("TruncatedNormal", _config(mean=0.3, stddev=0.05)),
        ("GlorotNormal", _config()),
        ("LecunUniform", _config()),
    )
    for shape in ((1,), (7,), (15,), (16,), (17,), (3, 11), (2, 3, 5), (3, 3, 16, 32))
    for seed, draw in ((0, 0), (2**31, 0), (2**32 - 1, 0), (5, 3))
] + [
    Case("RandomNormal", (), (TORCH_LARGE,), 3, "float16"),
    Case("TruncatedNormal", _config(mean=0.3, stddev=0.05), (TORCH_LARGE,), 4, "float16"),
    Case("RandomUniform", _config(minval=-0.05, maxval=0.05), (TORCH_LARGE,), 5, "float16"),
]
TORCH_CASES = [
    *TORCH_SIZE_GRID,
    *TORCH_RANK_GRID,
    *TORCH_WRAP_GRID,
    *TORCH_DRAW_GRID,
    *TORCH_LARGE_GRID,
    *TORCH_ORTHOGONAL_GRID,
    *TORCH_HALF_GRID,
]
TORCH_ALL_CASES = list(dict.fromkeys([*ALL_CASES, *TORCH_CASES]))
"""What the torch worker computes: the shared cases and torch's own."""

INDEX = {case: i for i, case in enumerate(TORCH_ALL_CASES)}


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
def keras_side(backend, request, tmp_path_factory) -> KerasSide:
    """Run the worker once for this backend over every case of the module."""
    if backend == "torch":
        return request.getfixturevalue("keras_torch")
    return _run_worker(backend, ALL_CASES, {}, tmp_path_factory)


@pytest.fixture(scope="module")
def keras_torch(tmp_path_factory) -> KerasSide:
    """Keras on torch (CPU) for the shared cases and torch's own grids, in one worker."""
    return _run_worker("torch", TORCH_ALL_CASES, {}, tmp_path_factory)


def _run_worker(backend: str, cases: list[Case], extra_env: dict[str, str], tmp_path_factory) -> KerasSide:
    """Keras's arrays for ``cases`` (of :data:`ALL_CASES`) from one worker process, run with
    ``extra_env`` added to its environment."""
    work = tmp_path_factory.mktemp(f"keras-{backend}")
    cases_path, out_path = work / "cases.json", work / "keras.npz"
    cases_path.write_text(json.dumps([case.as_json() for case in cases]))
    env = keras_env(backend, **extra_env)
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
    if backend == "torch" and case.dtype == "float16":
        _check_torch_half(keras_side, case, theirs)
        return
    native_half = keras_side.native_half and case.dtype == "float16"
    label = f"{backend}{' (XLA float16 native: jax_native_half)' if native_half else ''} {case.id}"
    if backend == "torch":
        label = f"torch (cpu_capability {keras_side.meta.get('cpu_capability')}) {case.id}"
    assert_bitwise(case.ours(backend, native_half), theirs, label)


# ---- torch's float16 ------------------------------------------------------------------------
# What torch 2.13 (CPU) does for float16, measured live (and read from its normal_fill and
# uniform_kernel); built here from --backend torch's float32 numbers and formulas, not from the
# stream code.  RN16 rounds to float16, RN32 to float32.
#   torch.rand:    RN16(u) with u = (w & 0xFFFFFF)·2**-24 the float32 uniform; 1.0 becomes 0.0.
#   torch.normal:  n < 16: RN16 of the float32 serial values; n >= 16: the float32 16-block fill on
#                  float32 uniforms, RN16 of each, but the 16 fresh uniforms of the recomputed last
#                  block (16 ∤ n) follow block n // 16's words, not word n: nothing is drawn for
#                  the n % 16 outputs the last block overwrites.
#   x * scalar:    RN16(RN32(x·RN32(scalar)))  (float32 arithmetic, the scalar as float32)
#   x + scalar:    RN16(x + RN16(scalar))      (the scalar cast to float16 first)


def _torch_f32(case: Case, name: str, shape: tuple[int, ...], **config: object) -> np.ndarray:
    """``--backend torch``'s float32 numbers for ``name(**config)`` at ``case``'s seed and draw."""
    return initcli.sample(name, shape, dtype="float32", draw=case.draw, backend="torch", seed=case.seed, **config)


def _half_normal(case: Case, n: int, mean: float, stddev: float) -> np.ndarray:
    """torch.normal(mean, stddev, size=(n,), dtype=float16) for ``case``'s torch seed."""
    if n < 16:
        return _torch_f32(case, "RandomNormal", (n,), mean=mean, stddev=stddev).astype(np.float16)
    padded = 16 * -(-n // 16)  # no tail block: block n // 16 drawn from its own words
    full = _torch_f32(case, "RandomNormal", (padded,), mean=mean, stddev=stddev)
    out = full[:n].copy()
    if n % 16:
        out[n - 16 :] = full[padded - 16 :]
    return out.astype(np.float16)


def _half_mul(x: np.ndarray, scalar: float) -> np.ndarray:
    return (x.astype(np.float32) * np.float32(scalar)).astype(np.float16)


def _half_add(x: np.ndarray, scalar: float) -> np.ndarray:
    return (x + np.float16(scalar)).astype(np.float16)


def _fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """Keras's ``compute_fans``."""
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


PRESETS = {
    "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
    "GlorotUniform": (1.0, "fan_avg", "uniform"),
    "HeNormal": (2.0, "fan_in", "truncated_normal"),
    "HeUniform": (2.0, "fan_in", "uniform"),
    "LecunNormal": (1.0, "fan_in", "truncated_normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"),
}


def _torch_half(case: Case) -> np.ndarray:
    """Keras on torch (CPU) for a float16 ``case``, from the rules above."""
    name, config, n = case.class_name, case.kwargs, math.prod(case.shape)
    kind, a, b = {
        "RandomUniform": ("uniform", config.get("minval", -0.05), config.get("maxval", 0.05)),
        "RandomNormal": ("normal", config.get("mean", 0.0), config.get("stddev", 0.05)),
        "TruncatedNormal": ("truncated", config.get("mean", 0.0), config.get("stddev", 0.05)),
    }.get(name, (None, 0.0, 0.0))
    if kind is None:  # VarianceScaling and its presets, as Keras computes std and limit (in double)
        if name in PRESETS:
            scale, mode, distribution = PRESETS[name]
        else:
            scale, mode, distribution = config["scale"], config["mode"], config["distribution"]
        fan_in, fan_out = _fans(case.shape)
        scale /= max(1.0, {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode])
        if distribution == "truncated_normal":
            kind, a, b = "truncated", 0.0, math.sqrt(scale) / 0.87962566103423978
        elif distribution == "untruncated_normal":
            kind, a, b = "normal", 0.0, math.sqrt(scale)
        else:
            limit = math.sqrt(3.0 * scale)
            kind, a, b = "uniform", -limit, limit
    if kind == "uniform":  # Keras: (maxval - minval) * torch.rand(...) + minval
        u = _torch_f32(case, "RandomUniform", (n,), minval=0.0, maxval=1.0).astype(np.float16)
        u[u == 1] = 0
        out = _half_add(_half_mul(u, b - a), a)
    elif kind == "normal":
        out = _half_normal(case, n, a, b)
    else:  # Keras: first of 4 float16 candidates inside (-2, 2), then .mul_(stddev).add_(mean)
        candidates = _half_normal(case, 4 * n, 0.0, 1.0).reshape(n, 4)
        first = np.argmax((candidates > -2) & (candidates < 2), axis=1)
        out = _half_add(_half_mul(candidates[np.arange(n), first], b), a)
    return out.reshape(case.shape)


def _check_torch_half(keras_side: KerasSide, case: Case, theirs: np.ndarray) -> None:
    """float16 on torch: Keras's array is the one :func:`_torch_half` builds from the rules above
    (an independent model, from --backend torch's float32 numbers), and --backend torch's float16."""
    label = f"torch float16 (cpu_capability {keras_side.meta.get('cpu_capability')}) {case.id}"
    assert_bitwise(_torch_half(case), theirs, f"model: {label}")
    assert_bitwise(case.ours("torch"), theirs, label)


@pytest.mark.parametrize("case", _params(GRID))
def test_float32_grid_matches_keras(backend, keras_side, case):
    _check(backend, keras_side, case)


@pytest.mark.parametrize("case", _params(DTYPE_GRID))
def test_float16_float64_match_keras(backend, keras_side, case):
    _check(backend, keras_side, case)


@pytest.mark.parametrize("case", _params(DRAW_GRID))
def test_seed_generator_draws_match_keras(backend, keras_side, case):
    if backend == "torch" and case.seed >= 2**31:
        # torch's Keras keeps SeedGenerator state in int32: see TORCH_DRAW_GRID (SeedGenerator(seed - 2**32))
        error = keras_side.meta["errors"].get(str(INDEX[case]), "")
        assert "int32" in error, f"Keras on torch took SeedGenerator({case.seed}): {error or 'no error'}"
        return
    _check(backend, keras_side, case)


@pytest.mark.parametrize("case", _params(LARGE_GRID))
def test_large_tensors_match_keras(backend, keras_side, case):
    _check(backend, keras_side, case)


@pytest.mark.parametrize("case", _params(ORTHOGONAL_GRID))
def test_orthogonal_close_to_keras(backend, keras_side, case):
    """Orthogonal is NOT bit-identical to Keras on JAX/TensorFlow/torch: Keras takes the QR of the
    same normal matrix with the backend's own QR, we with NumPy's, so values differ by up to
    ~1e-5.  Checked: same dtype and shape, max |ours - Keras| <= 2e-5, and ours orthogonal
    (Q^T Q = gain^2 I to 1e-5 over the flattened (prod(shape[:-1]), shape[-1]) matrix)."""
    _check_orthogonal(backend, keras_side, case, 2e-5)


def _check_orthogonal(backend: str, keras_side: KerasSide, case: Case, tolerance: float) -> None:
    theirs = _expected(backend, case, keras_side[case])
    mine = case.ours(backend)
    assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
    diff = float(np.max(np.abs(mine.astype(np.float64) - theirs.astype(np.float64))))
    assert diff <= tolerance, f"{backend} {case.id}: max |ours - Keras| = {diff:.3g} > {tolerance:g}"
    flat = mine.astype(np.float64).reshape(-1, case.shape[-1])
    if flat.shape[0] < flat.shape[1]:
        flat = flat.T
    gain = case.kwargs["gain"]
    gram_error = float(np.max(np.abs(flat.T @ flat - gain**2 * np.eye(flat.shape[1]))))
    assert gram_error <= tolerance / 2, f"{backend} {case.id}: max |Q^T Q - gain^2 I| = {gram_error:.3g}"


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


# ---- torch's own grids ----------------------------------------------------------------------


def test_torch_worker_ran_on_the_cpu(keras_torch):
    """The Keras side drew with torch's CPU generator (mt19937), with kernels torch reports."""
    assert keras_torch.failure is None, keras_torch.failure
    assert keras_torch.meta["device"] == "cpu"
    assert keras_torch.meta["backend_version"].startswith("2.13.0")
    assert keras_torch.meta["cpu_capability"] in ("DEFAULT", "AVX2", "AVX512")


@pytest.mark.parametrize("case", _params(TORCH_SIZE_GRID))
def test_torch_every_block_boundary_matches_keras(keras_torch, case):
    _check("torch", keras_torch, case)


@pytest.mark.parametrize("case", _params(TORCH_RANK_GRID))
def test_torch_ranks_0_to_5_match_keras(keras_torch, case):
    _check("torch", keras_torch, case)


@pytest.mark.parametrize("case", _params(TORCH_WRAP_GRID))
def test_torch_seeds_keras_wraps_match_keras(keras_torch, case):
    """Keras's seed ``2**32 + 5`` (``-1``, ``-2**31``, ``2**40 + 5``) is initcli's ``5``
    (``2**32 - 1``, ``2**31``, ``5``); initcli itself takes seeds in ``[0, 2**32)`` only."""
    _check("torch", keras_torch, case)
    with pytest.raises(InvalidArgument, match="seed"):
        initcli.sample(case.class_name, case.shape, backend="torch", seed=case.keras_seed)


@pytest.mark.parametrize("case", _params(TORCH_DRAW_GRID))
def test_torch_seed_generator_draws_match_keras(keras_torch, case):
    _check("torch", keras_torch, case)


@pytest.mark.parametrize("case", _params(TORCH_LARGE_GRID))
def test_torch_large_tensors_match_keras(keras_torch, case):
    _check("torch", keras_torch, case)


def _orthogonal_from_float64_normals(case: Case) -> np.ndarray:
    """Keras's Orthogonal built in float64: the QR (NumPy's) of --backend torch's float64 normal matrix."""
    rows, cols = math.prod(case.shape[:-1]), case.shape[-1]
    flat_shape = (max(rows, cols), min(rows, cols))
    a = initcli.sample(
        "RandomNormal", flat_shape, dtype="float64", backend="torch", seed=case.seed, mean=0.0, stddev=1.0
    )
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return case.kwargs["gain"] * q.reshape(case.shape)


@pytest.mark.parametrize("case", _params(TORCH_ORTHOGONAL_GRID))
def test_torch_orthogonal_float64_is_the_qr_of_float64_normals(keras_torch, case):
    """Keras on torch computes a float64 Orthogonal in float64 (float64 normals, torch's float64 QR),
    unlike on numpy/JAX (README: float32 QR): it equals the NumPy QR of --backend torch's float64
    normal matrix to 1e-12."""
    theirs = keras_torch[case]
    assert theirs.dtype == np.float64
    diff = float(np.max(np.abs(_orthogonal_from_float64_normals(case) - theirs)))
    assert diff <= 1e-12, f"torch {case.id}: max |QR(float64 normals) - Keras| = {diff:.3g}"


@pytest.mark.parametrize("case", _params(TORCH_ORTHOGONAL_GRID))
def test_torch_orthogonal_float64_matches_keras(keras_torch, case):
    """initcli's float64 Orthogonal on torch is built in float64 too (the normal draw exact, the QR NumPy's)."""
    _check_orthogonal("torch", keras_torch, case, 1e-12)


@pytest.mark.parametrize("case", _params(TORCH_HALF_GRID))
def test_torch_float16_matches_keras_and_the_half_model(keras_torch, case):
    _check("torch", keras_torch, case)
