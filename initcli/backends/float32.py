"""Exact float32 arithmetic that NumPy lacks: the fused multiply-add.

XLA:CPU compiles ``a * b + c`` on float32 values into one hardware FMA
instruction: the exact value ``a·b + c`` rounded once to float32.  NumPy has no
FMA ufunc, so :func:`fma` computes it in float64, where the product of two
float32 values is exact (24 + 24 significant bits <= 53), and rounds the sum.

The float64 sum ``s = fl64(a·b + c)`` is itself rounded, and rounding it again
to float32 ("double rounding") is wrong in exactly one situation: ``s`` lies
exactly halfway between two float32 values while ``a·b + c`` does not.  In
binary, ``s`` then ends in the 29-bit pattern ``1000…0`` below the float32
mantissa.  Those rare elements are found by that bit
pattern and corrected with the exact rounding error of the sum (Knuth's
two-sum), which tells on which side of the midpoint the true value lies.

Results are exact for operands and results in float32's normal range, which
is all the random-stream maths needs (its FMAs never produce subnormals).
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
F64 = np.float64
U32 = np.uint32
U64 = np.uint64

_BELOW_F32 = U64((1 << 29) - 1)
"""The float64 mantissa bits that float32 does not keep."""

_MIDPOINT = U64(1 << 28)
"""Those bits when the float64 value lies halfway between two float32 values."""


def from_bits(word: int) -> np.float32:
    """The float32 whose IEEE-754 bit pattern is ``word``."""
    return np.array([word], dtype=U32).view(F32)[0]


def fma(a: np.ndarray | float, b: np.ndarray | float, c: np.ndarray | float) -> np.ndarray:
    """``a * b + c`` rounded once to float32 (float32-valued inputs, any shapes that broadcast).

    The inputs may be float32 or float64 arrays holding float32 values; the
    result is a float32 array.
    """
    a64 = np.asarray(a, dtype=F64)
    b64 = np.asarray(b, dtype=F64)
    c64 = np.asarray(c, dtype=F64)
    s = np.multiply(a64, b64)
    s += c64
    flags = np.bitwise_and(s.view(U64), _BELOW_F32)
    if (flags == _MIDPOINT).any():
        _settle_midpoints(s, a64, b64, c64, flags == _MIDPOINT)
    return s.astype(F32)


def _settle_midpoints(s: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray, mid: np.ndarray) -> None:
    """Move float64 sums that sit exactly on a float32 midpoint one float64 step
    towards the exact value, so that rounding them to float32 is correct."""
    where = np.nonzero(mid)
    a, b, c = (np.broadcast_to(x, s.shape)[where] for x in (a, b, c))
    product = a * b  # exact
    total = s[where]
    back = total - product
    error = (product - (total - back)) + (c - back)  # exact: a*b + c - total
    s[where] = np.where(error == 0, total, np.nextafter(total, np.where(error > 0, np.inf, -np.inf)))


def horner(x: np.ndarray, lead: np.ndarray | np.float32, coefficients: tuple[np.float32, ...]) -> np.ndarray:
    """``(((lead·x + c₀)·x + c₁)·x + …)`` with one correctly rounded float32 FMA per step.

    The same as chaining :func:`fma`, evaluated in place on float64 buffers: ``x`` is
    widened once, each step is a multiply, an add, the midpoint test and a round trip
    through float32, with no temporary arrays.
    """
    x64 = np.asarray(x, dtype=F64)
    lead64 = np.asarray(lead, dtype=F64)
    value = np.empty(np.broadcast_shapes(x64.shape, lead64.shape), dtype=F64)
    np.multiply(x64, lead64, out=value)
    previous = np.empty_like(value)
    narrow = np.empty(value.shape, dtype=F32)
    flags = np.empty(value.shape, dtype=U64)
    hits = np.empty(value.shape, dtype=bool)
    for step, coefficient in enumerate(coefficients):
        if step:
            value, previous = previous, value
            np.multiply(previous, x64, out=value)
        value += F64(coefficient)
        np.bitwise_and(value.view(U64), _BELOW_F32, out=flags)
        np.equal(flags, _MIDPOINT, out=hits)
        if hits.any():
            _settle_midpoints(value, lead64 if step == 0 else previous, x64, np.asarray(F64(coefficient)), hits)
        np.copyto(narrow, value, casting="unsafe")
        np.copyto(value, narrow)
    return narrow
