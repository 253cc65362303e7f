"""The floating dtypes initcli samples in.

Keras's default ``floatx()`` is ``float32``; initializers also take ``float16``,
``bfloat16`` and ``float64``.  On Keras's numpy backend every random draw is
made in float64 and cast once at the end, so the dtype changes only the final
rounding, never the stream; the other backends draw each dtype their own way
(see :mod:`initcli.backends`).

``bfloat16`` is ``ml_dtypes.bfloat16``, the NumPy type JAX and Keras use: its
casts round to nearest even, from float64 directly (one rounding).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from .errors import InvalidArgument

DEFAULT_DTYPE = "float32"
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
"""NumPy's dtype for bfloat16 (``ml_dtypes.bfloat16``); its ``name`` is ``bfloat16``."""

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
            resolved = BFLOAT16 if name == "bfloat16" else np.dtype(name)
    else:
        try:
            resolved = np.dtype(dtype)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            resolved = None
    if resolved is not None and resolved.name in accepted:
        return resolved
    raise InvalidArgument(f"dtype {dtype!r} is not supported; use one of {', '.join(FLOAT_DTYPES)}")


def is_float(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is a floating dtype initcli samples in (NumPy's ``kind`` is ``'V'`` for bfloat16)."""
    return dtype.kind == "f" or dtype == BFLOAT16


def float_info(dtype: np.dtype) -> ml_dtypes.finfo:
    """``finfo`` of a floating dtype, bfloat16 included."""
    return ml_dtypes.finfo(dtype)
