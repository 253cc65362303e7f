"""Tensor shapes: parsing what users type and checking what callers pass.

A shape is a tuple of non-negative Python ints.  On the command line it may be
written ``784,64``, ``784x64``, ``784 64``, ``[784, 64]`` or ``(784, 64)``; the
empty forms ``()``, ``[]`` and ``scalar`` mean a rank-0 tensor.  An empty or
blank string is an error, not a scalar: it is what an unset variable in a
script gives (``--shape "$SHAPE"``).  A dimension of more than
:data:`MAX_DIGITS` digits, or more than :data:`MAX_ELEMENTS` elements in all,
is refused here: such numbers are not sizes but mistakes or attacks, and they
would overflow the float arithmetic of the memory and disk guards, which
handle every smaller absurdity (a shape beyond int64 is theirs to refuse).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from math import prod

from .errors import InvalidArgument

_SCALAR_SPELLINGS = {"()", "[]", "scalar"}
_ACCEPTED = "write it as comma-separated non-negative integers, e.g. 784,64 (or 784x64, [784, 64], () for a scalar)"

_TOO_LARGE = "no array is that large; check the shape"

MAX_DIGITS = 30
"""The most decimal digits a dimension may have (as for every integer in a config)."""

MAX_ELEMENTS = 10**300
"""The most elements a shape may describe before the guards' float arithmetic would overflow."""


def parse_shape(text: str) -> tuple[int, ...]:
    """Parse a shape written on the command line.

    >>> parse_shape("784,64")
    (784, 64)
    >>> parse_shape("3x3x16x32")
    (3, 3, 16, 32)
    >>> parse_shape("[10]")
    (10,)
    >>> parse_shape("()")
    ()
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidArgument(f"shape {text!r} is empty (an unset variable?); {_ACCEPTED}")
    if stripped.lower() in _SCALAR_SPELLINGS:
        return ()
    inner = stripped
    if (inner[:1], inner[-1:]) in (("[", "]"), ("(", ")")):
        inner = inner[1:-1].strip()
        if not inner:
            return ()
    parts = [p for p in re.split(r"\s*[,xX×]\s*|\s+", inner)]
    if inner.endswith(",") and len(parts) > 1 and parts[-1] == "":
        parts = parts[:-1]  # "(10,)" is a rank-1 shape, as in Python
    dims = []
    for part in parts:
        if not re.fullmatch(r"[+-]?\d+", part):
            shown = part if len(part) <= 40 else part[:20] + "..."
            raise InvalidArgument(f"shape {_shown(text)} has a bad dimension {shown!r}; {_ACCEPTED}")
        digits = len(part.lstrip("+-").lstrip("0"))
        if digits > MAX_DIGITS:  # (int() of a 4,301-digit string would itself fail)
            raise InvalidArgument(f"shape {_shown(text)} has a dimension of {digits} digits; {_TOO_LARGE}")
        value = int(part)
        if value < 0:
            raise InvalidArgument(f"shape {_shown(text)} has a negative dimension {value}; {_ACCEPTED}")
        dims.append(value)
    return _checked_size(tuple(dims), text)


def _shown(value: object) -> str:
    """``repr(value)`` for an error message, cut to 60 characters (and safe for integers too
    long for Python to print)."""
    try:
        shown = repr(value)
    except ValueError:
        return "(with a dimension too long to print)"
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _checked_size(dims: tuple[int, ...], given: object) -> tuple[int, ...]:
    """``dims``, unless a dimension has more than :data:`MAX_DIGITS` digits or the element count
    exceeds :data:`MAX_ELEMENTS` (anything smaller is left to the memory and disk guards, which
    say how much it would need)."""
    limit = 10**MAX_DIGITS
    for value in dims:
        if value >= limit:
            raise InvalidArgument(
                f"shape {_shown(given)} has a dimension of more than {MAX_DIGITS} digits; {_TOO_LARGE}"
            )
    if 0 not in dims and prod(dims) > MAX_ELEMENTS:
        raise InvalidArgument(f"shape {_shown(given)} has more than 10**300 elements; {_TOO_LARGE}")
    return dims


def normalize_shape(shape: Iterable[object] | int) -> tuple[int, ...]:
    """Check a shape passed through the Python API and return it as a tuple.

    Accepts any iterable of integers (Python or numpy ints) or a single int.
    """
    if isinstance(shape, str):
        return parse_shape(shape)
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        items = tuple(shape)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidArgument(f"shape {_shown(shape)} is not a sequence of integers; {_ACCEPTED}") from None
    dims = []
    for item in items:
        if isinstance(item, bool):
            raise InvalidArgument(f"shape {_shown(shape)} has a non-integer dimension {_shown(item)}; {_ACCEPTED}")
        try:
            value = operator.index(item)  # type: ignore[arg-type]
        except TypeError:
            raise InvalidArgument(
                f"shape {_shown(shape)} has a non-integer dimension {_shown(item)}; {_ACCEPTED}"
            ) from None
        if value < 0:
            raise InvalidArgument(f"shape {_shown(shape)} has a negative dimension {_shown(value)}; {_ACCEPTED}")
        dims.append(int(value))
    return _checked_size(tuple(dims), shape)


def element_count(shape: tuple[int, ...]) -> int:
    """Number of elements of ``shape`` (1 for a scalar), as an exact Python int."""
    return prod(shape)


def format_shape(shape: tuple[int, ...]) -> str:
    """``(784, 64)`` -> ``'784x64'``; a scalar is ``'()'``."""
    return "x".join(str(d) for d in shape) if shape else "()"
