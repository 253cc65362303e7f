"""Initializers with fixed distribution parameters: ``RandomNormal``, ``RandomUniform``, ``TruncatedNormal``.

They mirror ``keras.src.initializers.random_initializers`` on the numpy
backend (see :mod:`initcli.streams` for the streams):

* ``RandomNormal(mean, stddev)``: ``w ~ N(mean, stddev²)``;
* ``RandomUniform(minval, maxval)``: ``w ~ U[minval, maxval)``;
* ``TruncatedNormal(mean, stddev)``: ``w ~ N(mean, stddev²)`` conditioned on
  ``|w - mean| <= 2*stddev`` (rejected draws are redrawn); its standard
  deviation is ``0.87962566103423978 * stddev``.

Keras accepts a negative ``stddev`` or ``minval > maxval`` and fails later
inside numpy; initcli rejects them when the initializer is built.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..backends import streams as backend_streams
from ..errors import InvalidArgument
from ..shapes import element_count
from .base import SEED_PARAM, Param, RandomInitializer, check_real

_MEAN = Param("mean", "float", 0.0, "Mean of the normal distribution.")
_STDDEV = Param("stddev", "float", 0.05, "Standard deviation of the normal distribution (>= 0).")


class _MeanStddev(RandomInitializer):
    """Shared constructor of the two normal initializers."""

    params = (_MEAN, _STDDEV, SEED_PARAM)
    config_keys = ("seed", "mean", "stddev")

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean = check_real("mean", mean)
        self.stddev = check_real("stddev", stddev, minimum=0)
        super().__init__(seed)


class RandomNormal(_MeanStddev):
    """Normal distribution: ``w ~ N(mean, stddev²)``."""

    def _chunks(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> Iterator[np.ndarray]:
        return backend_streams(backend).normal_chunks(
            element_count(shape), self.mean, self.stddev, dtype, self.seed, draw
        )


class TruncatedNormal(_MeanStddev):
    """Normal distribution truncated to ``mean ± 2*stddev``; out-of-range draws are redrawn."""

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
        super().__init__(seed)

    def _chunks(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> Iterator[np.ndarray]:
        return backend_streams(backend).uniform_chunks(
            element_count(shape), self.minval, self.maxval, dtype, self.seed, draw
        )
