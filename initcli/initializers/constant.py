"""Deterministic initializers: ``Zeros``, ``Ones``, ``Constant`` and ``Identity``.

They mirror ``keras.src.initializers.constant_initializers``:

* ``Zeros()``: ``zeros(shape, dtype)``;
* ``Ones()``: ``ones(shape, dtype)``;
* ``Constant(value)``: ``cast(value, dtype) * ones(shape, dtype)``; a list
  ``value`` broadcasts by numpy rules and must broadcast to ``shape`` exactly;
* ``Identity(gain)``: ``gain * eye(rows, cols, dtype)`` for rank-2 shapes,
  rectangular ones included.

Differences from Keras 3.15, on purpose: ``Identity.get_config()`` keeps
``gain`` (Keras drops it, so a round trip lost it), and ``get("constant")``
gives ``Constant(0.0)`` (Keras raises ``KeyError: 'value'``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgument
from .base import Initializer, Param, check_real


class Zeros(Initializer):
    """All zeros: ``w = 0``."""

    integer_dtypes = True

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int) -> np.ndarray:
        return np.zeros(shape, dtype=dtype)


class Ones(Initializer):
    """All ones: ``w = 1``."""

    integer_dtypes = True

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int) -> np.ndarray:
        return np.ones(shape, dtype=dtype)


class Constant(Initializer):
    """Every element equal to ``value``: ``w = cast(value, dtype) * ones(shape)``.

    ``value`` is a number, or a (nested) list of numbers that broadcasts to
    the requested shape by numpy rules (``[1, 2]`` fills shape ``(3, 2)``).
    """

    integer_dtypes = True
    params = (
        Param(
            "value",
            "value",
            0.0,
            "A number, or a JSON list of numbers that broadcasts to the shape (e.g. [1,2] fills 3,2).",
        ),
    )

    def __init__(self, value: Any = 0.0) -> None:
        array = np.asarray(value)
        if array.dtype.kind not in "iuf" or array.dtype == object:
            raise InvalidArgument(f"value {value!r} is not a number or list of numbers; use e.g. 0.5 or [1, 2]")
        if not np.all(np.isfinite(array)):
            raise InvalidArgument(f"value {value!r} is not finite; use finite numbers")
        self.value = value

    def check_shape(self, shape: tuple[int, ...]) -> None:
        value_shape = np.shape(self.value)
        try:
            result = np.broadcast_shapes(value_shape, shape)
        except ValueError:
            result = None
        if result != shape:
            raise InvalidArgument(
                f"value of shape {value_shape} cannot fill shape {shape}; "
                "use a number or a list that broadcasts to the shape"
            )

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int) -> np.ndarray:
        return np.asarray(self.value).astype(dtype) * np.ones(shape, dtype=dtype)


class Identity(Initializer):
    """The identity matrix times ``gain``: ``w = gain * eye(rows, cols)`` (rank 2 only)."""

    params = (Param("gain", "float", 1.0, "Multiplicative factor applied to the identity matrix."),)

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = check_real("gain", gain)

    def check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 2:
            raise InvalidArgument(
                f"Identity needs a rank-2 shape (rows, cols), but shape {shape} has rank {len(shape)}"
            )

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int) -> np.ndarray:
        return (self.gain * np.eye(*shape, dtype=dtype)).astype(dtype, copy=False)
