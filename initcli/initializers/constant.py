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
gives ``Constant(0.0)`` (Keras raises ``KeyError: 'value'``); a ``value`` or
``gain`` that does not fit the dtype is refused (Keras writes infinities, or
NaN off the diagonal of an ``Identity``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..backends import DEFAULT as DEFAULT_BACKEND
from ..backends.buffers import CHUNK
from ..dtypes import is_float
from ..errors import InvalidArgument
from ..shapes import element_count
from .base import Initializer, Param, StreamedInitializer, check_range, check_real, fmt, largest


class _Filled(StreamedInitializer):
    """A tensor of one repeated value, streamed in chunks."""

    integer_dtypes = True

    def fill_value(self, dtype: np.dtype) -> Any:
        raise NotImplementedError

    def _chunks(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> Iterator[np.ndarray]:
        n = element_count(shape)
        block = np.full(min(n, CHUNK), self.fill_value(dtype), dtype=dtype)
        for offset in range(0, n, CHUNK):
            yield block[: min(CHUNK, n - offset)]


class Zeros(_Filled):
    """All zeros: ``w = 0``."""

    def fill_value(self, dtype: np.dtype) -> Any:
        return 0

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> np.ndarray:
        return np.zeros(shape, dtype=dtype)


class Ones(_Filled):
    """All ones: ``w = 1``."""

    def fill_value(self, dtype: np.dtype) -> Any:
        return 1

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> np.ndarray:
        return np.ones(shape, dtype=dtype)


class Constant(_Filled):
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
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):  # a ragged list
            array = np.asarray(None)
        if array.dtype.kind not in "iuf" or array.dtype == object:
            raise InvalidArgument(f"value {value!r} is not a number or list of numbers; use e.g. 0.5 or [1, 2]")
        if not np.all(np.isfinite(array)):
            raise InvalidArgument(f"value {value!r} is not finite; use finite numbers")
        self.value = value

    def get_config(self) -> dict[str, Any]:
        """Keras's config: a number or list as given; a NumPy array or scalar as Keras's numpy
        backend serializes one, ``{"class_name": "__tensor__", "config": {"value": [...], "dtype": "float64"}}``."""
        return {"value": encode_value(self.value)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constant:
        """A ``Constant`` from :meth:`get_config` output; a ``__tensor__`` or ``__numpy__`` value
        (Keras's serialized array, any backend) becomes a NumPy array of its recorded dtype."""
        unknown = sorted(set(config) - {"value", "dtype"})  # Keras's from_config ignores a dtype (tf.keras 1)
        if unknown:
            raise InvalidArgument(f"Constant does not take {', '.join(map(repr, unknown))}; it takes value")
        return cls(decode_value(config["value"]) if "value" in config else 0.0)

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

    def check_values(self, shape: tuple[int, ...], dtype: np.dtype, backend: str = DEFAULT_BACKEND) -> None:
        values = np.asarray(self.value)
        if is_float(dtype):
            with np.errstate(over="ignore"):
                fits = bool(np.isfinite(values.astype(dtype)).all())
            if not fits:
                top = largest(dtype)
                raise InvalidArgument(
                    f"Constant value {self.value!r} does not fit {dtype.name}: beyond its largest finite value "
                    f"{fmt(top)}; use values within ±{fmt(top)} or a wider dtype"
                )
            return
        bounds = np.iinfo(dtype)
        if values.size and not (bounds.min <= values.min() and values.max() <= bounds.max):
            raise InvalidArgument(
                f"Constant value {self.value!r} does not fit {dtype.name}; "
                f"use values from {bounds.min} to {bounds.max} or a wider dtype"
            )

    def fill_value(self, dtype: np.dtype) -> Any:
        return np.asarray(self.value).astype(dtype) * np.ones((), dtype=dtype)

    def _chunks(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> Iterator[np.ndarray]:
        if np.ndim(self.value):  # a broadcast list: build it whole
            yield self._generate(shape, dtype, draw, backend).reshape(-1)
            return
        yield from super()._chunks(shape, dtype, draw, backend)

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> np.ndarray:
        return np.asarray(self.value).astype(dtype) * np.ones(shape, dtype=dtype)


def encode_value(value: Any) -> Any:
    """A ``Constant`` value in Keras's serialized form: NumPy arrays and scalars as ``__tensor__``
    (their values and dtype, what Keras's numpy backend writes), numbers and lists as they are
    (``numpy.float64`` is a Python float to Keras, too)."""
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return {"class_name": "__tensor__", "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    if isinstance(value, tuple):
        return [encode_value(v) for v in value]
    return value


def decode_value(value: Any) -> Any:
    """The inverse of :func:`encode_value`: a ``{"class_name": "__tensor__" | "__numpy__", "config":
    {"value": ..., "dtype": ...}}`` dict becomes ``numpy.array(value, dtype)``; other values are
    returned as they are."""
    if not isinstance(value, dict):
        return value
    if value.get("class_name") not in ("__tensor__", "__numpy__") or not isinstance(value.get("config"), dict):
        raise InvalidArgument(
            f"Constant value {value!r} is not a number, a list or a serialized array; use e.g. 0.5, [1, 2] "
            'or {"class_name": "__tensor__", "config": {"value": [1, 2], "dtype": "float32"}}'
        )
    inner = value["config"]
    dtype = inner.get("dtype")
    try:
        resolved = np.dtype(dtype) if isinstance(dtype, str) else None
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind not in "iuf":
        raise InvalidArgument(
            f"Constant value dtype {dtype!r} is not a numeric dtype; use e.g. 'float32', 'float64' or 'int32'"
        )
    raw = inner.get("value")
    try:
        array = np.asarray(raw)
    except (ValueError, TypeError):  # a ragged list
        array = np.asarray(None)
    if array.dtype.kind not in "iuf":
        raise InvalidArgument(f"Constant value {raw!r} is not a number or list of numbers; use e.g. [1, 2]")
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            converted = np.array(raw, dtype=resolved)
        except OverflowError:
            converted = None
    if converted is None or (np.isfinite(array).all() and not np.isfinite(converted).all()):
        raise InvalidArgument(f"Constant value {raw!r} does not fit its dtype {resolved.name}; use values it can hold")
    return converted


class Identity(StreamedInitializer):
    """The identity matrix times ``gain``: ``w = gain * eye(rows, cols)`` (rank 2 only)."""

    params = (Param("gain", "float", 1.0, "Multiplicative factor applied to the identity matrix."),)

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = check_real("gain", gain)

    def check_values(self, shape: tuple[int, ...], dtype: np.dtype, backend: str = DEFAULT_BACKEND) -> None:
        what = f"Identity(gain={self.gain!r})"
        check_range(what, self.gain, self.gain, dtype, f"use |gain| <= {fmt(largest(dtype))}")

    def check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 2:
            raise InvalidArgument(
                f"Identity needs a rank-2 shape (rows, cols), but shape {shape} has rank {len(shape)}"
            )

    def _chunks(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> Iterator[np.ndarray]:
        rows, cols = shape
        block_rows = max(1, CHUNK // max(cols, 1))
        for start in range(0, rows, block_rows):
            stop = min(rows, start + block_rows)
            block = np.zeros((stop - start, cols), dtype=dtype)
            diagonal = np.arange(start, min(stop, cols))
            block[diagonal - start, diagonal] = (self.gain * np.ones((), dtype=dtype)).astype(dtype)
            yield block.reshape(-1)

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> np.ndarray:
        return (self.gain * np.eye(*shape, dtype=dtype)).astype(dtype, copy=False)


class FromArray(Constant):
    """The values of one array, for exactly its shape: what ``get(array)`` gives (as
    ``keras.initializers.get(array)``, whose function casts the array to the dtype asked for
    and refuses any other shape).  It serializes as the ``Constant`` that gives the same values."""

    keras_name = "Constant"

    def __init__(self, value: Any) -> None:
        super().__init__(np.asarray(value))

    def check_shape(self, shape: tuple[int, ...]) -> None:
        if tuple(np.shape(self.value)) != tuple(shape):
            raise InvalidArgument(
                f"Expected `shape` to be {tuple(np.shape(self.value))} for an array initializer, "
                f"not {shape}; an array fills exactly its own shape"
            )


class FromCallable(Initializer):
    """A function ``fn(shape, dtype=None)`` (or a Keras initializer of a class initcli does not
    know) used as an initializer: what ``get(fn)`` gives.  Its result must have the shape asked
    for and finite values; it has no config (Keras cannot serialize a bare function either)."""

    integer_dtypes = True

    def __init__(self, function: Any) -> None:
        if not callable(function):
            raise InvalidArgument(f"{function!r} is not callable; use a function fn(shape, dtype=None)")
        self.function = function

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        """``function(shape, dtype=dtype)`` as a NumPy array, checked to have ``shape``."""
        from ..dtypes import resolve_dtype
        from ..shapes import normalize_shape

        checked = normalize_shape(shape)
        name = resolve_dtype(dtype, integers=True).name
        result = self.function(checked, dtype=name)
        values = np.asarray(result)
        if values.shape != checked:
            raise InvalidArgument(
                f"initializer function {self._name()} returned shape {values.shape} for shape {checked}; "
                "it must return the shape it is given"
            )
        if values.dtype.kind not in "iufb":
            raise InvalidArgument(
                f"initializer function {self._name()} returned {values.dtype} values; it must return numbers"
            )
        return values

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> np.ndarray:
        return self(shape, dtype).astype(dtype, copy=False)

    def _name(self) -> str:
        return getattr(self.function, "__qualname__", None) or type(self.function).__name__

    def get_config(self) -> dict[str, Any]:
        raise InvalidArgument(
            f"initializer function {self._name()} has no config; subclass initcli.Initializer "
            "(with get_config) to serialize it"
        )

    def __repr__(self) -> str:
        return f"FromCallable({self._name()})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FromCallable) and other.function is self.function

    def __hash__(self) -> int:
        return id(self.function)
