"""The floating dtypes initcli samples in.

Keras's default ``floatx()`` is ``float32``; initializers also take ``float16``,
``bfloat16`` and ``float64``.  On Keras's numpy backend every random draw is
made in float64 and cast once at the end, so the dtype changes only the final
rounding, never the stream; the other backends draw each dtype their own way
(see :mod:`initcli.backends`).

``bfloat16`` is ``ml_dtypes.bfloat16``, the NumPy type JAX and Keras use: its
casts round to nearest even, from float64 directly (one rounding).  ``ml_dtypes`` is imported
only when a bfloat16 tensor is made or read (:func:`bfloat16`): importing it costs more than the
rest of initcli's start-up (0.6-0.8 s of CPU for ml_dtypes 0.7), which every other command
would pay.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .errors import InvalidArgument

DEFAULT_DTYPE = "float32"
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")

_ALIASES = {
    "half": "float16",
    "f2": "float16",
    "fp16": "float16",
    "single": "float32",
    "float": "float32",
    "f4": "float32",
    "fp32": "float32",
    "double": "float64",
    "f8": "float64",
    "fp64": "float64",
    "bf16": "bfloat16",
}


INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def resolve_dtype(dtype: object = None, *, integers: bool = False) -> np.dtype:
    """Return the numpy dtype for ``dtype`` (``None`` means float32).

    Accepts the names in :data:`FLOAT_DTYPES`, a few common spellings
    (``half``, ``single``, ``double``, ``f4``, ...) and numpy dtypes; with
    ``integers``, also the integer dtypes (for deterministic initializers,
    as Keras's ``Zeros`` fills a Normalization layer's int32 ``count``).
    Anything else -- boolean, complex, float8 -- is an
    :class:`~initcli.errors.InvalidArgument`.
    """
    accepted = FLOAT_DTYPES + (INTEGER_DTYPES if integers else ())
    if dtype is None:
        return np.dtype(DEFAULT_DTYPE)
    resolved: np.dtype | None = None
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype.strip().lower(), dtype.strip().lower())
        if name in accepted:
            resolved = bfloat16() if name == "bfloat16" else np.dtype(name)
    else:
        try:
            resolved = np.dtype(dtype)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            resolved = None
    if resolved is not None and resolved.name in accepted:
        return resolved
    raise InvalidArgument(f"dtype {dtype!r} is not supported; use one of {', '.join(FLOAT_DTYPES)}")


@functools.cache
def bfloat16() -> np.dtype:
    """NumPy's dtype for bfloat16 (``ml_dtypes.bfloat16``); its ``name`` is ``bfloat16``."""
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


def is_bfloat16(dtype: object) -> bool:
    """Whether ``dtype`` is ``ml_dtypes.bfloat16``'s dtype (without importing ml_dtypes: no
    other NumPy dtype is named ``bfloat16``)."""
    return isinstance(dtype, np.dtype) and dtype.kind == "V" and dtype.name == "bfloat16"


def is_float(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is a floating dtype initcli samples in (NumPy's ``kind`` is ``'V'`` for bfloat16)."""
    return dtype.kind == "f" or is_bfloat16(dtype)


def float_info(dtype: np.dtype) -> Any:
    """``finfo`` of a floating dtype, bfloat16 included (``ml_dtypes.finfo`` for it)."""
    if is_bfloat16(dtype):
        import ml_dtypes

        return ml_dtypes.finfo(dtype)
    return np.finfo(dtype)
