"""The floating dtypes initcli samples in.

Keras's default ``floatx()`` is ``float32``; initializers also take ``float16``
and ``float64``.  Every random draw is made in float64 and cast once at the
end, as Keras's numpy backend does, so the dtype changes only the final
rounding, never the stream.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidArgument

DEFAULT_DTYPE = "float32"
FLOAT_DTYPES = ("float16", "float32", "float64")

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
}


INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def resolve_dtype(dtype: object = None, *, integers: bool = False) -> np.dtype:
    """Return the numpy dtype for ``dtype`` (``None`` means float32).

    Accepts the names in :data:`FLOAT_DTYPES`, a few common spellings
    (``half``, ``single``, ``double``, ``f4``, ...) and numpy dtypes; with
    ``integers``, also the integer dtypes (for deterministic initializers,
    as Keras's ``Zeros`` fills a Normalization layer's int32 ``count``).
    Anything else -- boolean, complex or bfloat16 -- is an
    :class:`~initcli.errors.InvalidArgument`.
    """
    accepted = FLOAT_DTYPES + (INTEGER_DTYPES if integers else ())
    if dtype is None:
        return np.dtype(DEFAULT_DTYPE)
    resolved: np.dtype | None = None
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype.strip().lower(), dtype.strip().lower())
        if name in accepted:
            resolved = np.dtype(name)
    else:
        try:
            resolved = np.dtype(dtype)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            resolved = None
    if resolved is not None and resolved.name in accepted:
        return resolved
    raise InvalidArgument(f"dtype {dtype!r} is not supported; use one of {', '.join(FLOAT_DTYPES)}")
