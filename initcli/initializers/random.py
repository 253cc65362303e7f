"""Initializers with fixed distribution parameters: ``RandomNormal``, ``RandomUniform``, ``TruncatedNormal``.

They mirror ``keras.src.initializers.random_initializers`` on the numpy
backend (see :mod:`initcli.backends.numpy_streams` for the streams):

* ``RandomNormal(mean, stddev)``: ``w ~ N(mean, stddev²)``;
* ``RandomUniform(minval, maxval)``: ``w ~ U[minval, maxval)``;
* ``TruncatedNormal(mean, stddev)``: ``w ~ N(mean, stddev²)`` conditioned on
  ``|w - mean| <= 2*stddev`` (rejected draws are redrawn); its standard
  deviation is ``0.87962566103423978 * stddev``.

Keras accepts a negative ``stddev`` or ``minval > maxval`` and fails later
inside numpy; initcli rejects them when the initializer is built.  It also
refuses, rather than writing infinities as Keras does, parameters whose values
overflow: a uniform width ``maxval - minval`` beyond float64 (NumPy refuses it
too), normals with ``|mean| + 10·stddev`` beyond float64 (where the draws are
made), and -- when a tensor is asked for -- uniform or truncated bounds beyond
the dtype's largest finite value; untruncated normals are checked chunk by
chunk as they are drawn.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..backends import DEFAULT as DEFAULT_BACKEND
from ..backends import streams as backend_streams
from ..errors import InvalidArgument
from ..shapes import element_count
from .base import (
    SEED_PARAM,
    Param,
    RandomInitializer,
    check_range,
    check_real,
    check_width,
    finite_chunks,
    fmt,
    largest,
    range_dtype,
)

NORMAL_REACH = 10.0
"""How far (in standard deviations) normal draws are taken to reach: P(|Z| > 10) = 1.5e-23 per draw,
so ``|mean| + 10 stddev`` within float64 means the float64 draws never overflow."""

_FLOAT64_MAX = largest(np.dtype(np.float64))

_MEAN = Param("mean", "float", 0.0, "Mean of the normal distribution.")
_STDDEV = Param("stddev", "float", 0.05, "Standard deviation of the normal distribution (>= 0).")


class _MeanStddev(RandomInitializer):
    """Shared constructor of the two normal initializers."""

    params = (_MEAN, _STDDEV, SEED_PARAM)
    config_keys = ("seed", "mean", "stddev")

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean = check_real("mean", mean)
        self.stddev = check_real("stddev", stddev, minimum=0)
        if not abs(float(mean)) + NORMAL_REACH * float(stddev) <= _FLOAT64_MAX:
            raise InvalidArgument(
                f"mean {mean!r} and stddev {stddev!r} overflow float64, in which the draws are made "
                f"(they reach mean ± 10·stddev); use |mean| + 10·stddev <= {fmt(_FLOAT64_MAX)}"
            )
        super().__init__(seed)

    def _what(self) -> str:
        return f"{type(self).__name__}(mean={self.mean!r}, stddev={self.stddev!r})"


class RandomNormal(_MeanStddev):
    """Normal distribution: ``w ~ N(mean, stddev²)``."""

    def _chunks(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> Iterator[np.ndarray]:
        # unbounded: each chunk is checked for values that overflowed the dtype
        n = element_count(shape)
        return finite_chunks(
            lambda: backend_streams(backend).normal_chunks(n, self.mean, self.stddev, dtype, self.seed, draw),
            self._what(),
            dtype,
            "use a smaller mean and stddev",
            backend,
        )


class TruncatedNormal(_MeanStddev):
    """Normal distribution truncated to ``mean ± 2*stddev``; out-of-range draws are redrawn."""

    def check_values(self, shape: tuple[int, ...], dtype: np.dtype, backend: str = DEFAULT_BACKEND) -> None:
        low, high = self.mean - 2 * self.stddev, self.mean + 2 * self.stddev
        top = largest(range_dtype(dtype, backend))
        check_range(self._what(), low, high, dtype, f"use |mean| + 2·stddev <= {fmt(top)}", backend)

    def _chunks(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> Iterator[np.ndarray]:
        return backend_streams(backend).truncated_normal_chunks(
            element_count(shape), self.mean, self.stddev, dtype, self.seed, draw
        )


class RandomUniform(RandomInitializer):
    """Uniform distribution: ``w ~ U[minval, maxval)``."""

    params = (
        Param("minval", "float", -0.05, "Lower bound of the range (inclusive)."),
        Param("maxval", "float", 0.05, "Upper bound of the range (exclusive)."),
        SEED_PARAM,
    )
    config_keys = ("seed", "minval", "maxval")

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        self.minval = check_real("minval", minval)
        self.maxval = check_real("maxval", maxval)
        if minval > maxval:
            raise InvalidArgument(f"minval {minval!r} is greater than maxval {maxval!r}; use minval <= maxval")
        if not float(maxval) - float(minval) <= _FLOAT64_MAX:  # NumPy: "high - low range exceeds valid bounds"
            raise InvalidArgument(
                f"minval {minval!r} and maxval {maxval!r} are too far apart: maxval - minval overflows float64 "
                f"(NumPy's uniform refuses it too); use maxval - minval <= {fmt(_FLOAT64_MAX)}"
            )
        super().__init__(seed)

    def check_values(self, shape: tuple[int, ...], dtype: np.dtype, backend: str = DEFAULT_BACKEND) -> None:
        what = f"RandomUniform(minval={self.minval!r}, maxval={self.maxval!r})"
        top = largest(range_dtype(dtype, backend, uniform_bounds=True))
        check_range(
            what, self.minval, self.maxval, dtype, f"use bounds within ±{fmt(top)}", backend, uniform_bounds=True
        )
        check_width(what, float(self.maxval) - float(self.minval), dtype, backend)

    def _chunks(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> Iterator[np.ndarray]:
        return backend_streams(backend).uniform_chunks(
            element_count(shape), self.minval, self.maxval, dtype, self.seed, draw
        )
