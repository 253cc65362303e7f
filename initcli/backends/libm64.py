"""The C library's float64 ``log``, ``sin`` and ``cos`` on arrays, fast and exact.

torch's float64 normal fill calls the C library (glibc) once per element.
NumPy's ``np.log``/``np.sin``/``np.cos`` call it too, except where NumPy was
built with vector versions of its own for the CPU: AVX-512 builds of NumPy 2
bring their own float64 ``log``, which differs from glibc's in the last bit on
about 0.4 % of inputs (their ``sin``/``cos`` still call the C library).
:func:`numpy_is_the_c_library` finds out which, once per process and function,
on 32,768 inputs of the Box-Muller ranges.

**log where NumPy's is not the C library's.**  glibc's ``log`` is not correctly
rounded, but its source documents the worst-case error: 0.5 + 2.06/128 ulp plus
the polynomial's (about 0.519) for every input outside ``[1 - 2**-4, 1 + 0x1.09p-4)``
(there ``|log x| > 2**-4``), about 0.507 ulp inside it.  So wherever the exact
``log x`` lies more than 0.019 ulp from the midpoint between two doubles, the
only double within 0.519 ulp of it is the correctly rounded one, so glibc
returns that.  :func:`log_covered` therefore computes ``log x`` with an error below
2**-9 ulp and rounds it; the elements whose exact value may lie within
:data:`MARGIN` (0.03) ulp of a midpoint (about 6 %) are handed to the C
library itself (Python's ``math.log``, one element at a time).  The accurate
evaluation, for ``x = 2**k · z`` with ``z`` in ``[0.6875, 1.375)`` (glibc's own
split):

* ``c`` is an 8-significant-bit approximation of ``1/z`` from a table of 256
  per octave, ``M = c·2**-k``, ``H = k·ln 2 - ln c`` as a double-double (made
  with :mod:`decimal` at 40 digits), all indexed by the top 20 bits of ``x``;
* ``r = x·M - 1`` **exactly**: ``x = xh + xl`` with ``xh`` the top 45 bits, so
  ``xh·M`` (53 bits) and ``xl·M`` are exact and ``(xh·M - 1) + xl·M`` is ``r``,
  which fits in 53 bits because ``|r| < 2**-7`` and ``r`` is a multiple of
  ``2**-60`` (checked for every table entry when the table is built);
* ``log x = H + r + r²·Q(r)`` with ``Q`` the log1p series to ``r**7``
  (truncation below 2**-63 relative); ``Hhi + r`` is summed exactly (Dekker's
  fast two-sum: every table entry has ``Hhi = 0`` or ``|Hhi| >= |r|``),
  the small terms in double, then ``y = RN(s + lo)`` with its residual ``t``:
  ``y`` is the correctly rounded log unless ``|t|`` is near half an ulp.

Covered inputs: ``x`` in ``[2**-64, 2.75)``, all that Box-Muller's ``1 - u``
can be (``u`` a multiple of 2**-53 in ``[0, 1)``); anything else (zero,
negatives, subnormals, huge values) goes to ``math.log``.  ``tests/test_libm64.py``
compares with ``math.log`` on random and edge inputs (about 400,000); a run over
201 million random Box-Muller inputs (2**26 + 2**27, an eighth of them with ``x``
just below 1) found no difference, and 6.3 % of them were handed on.

The margin rests on that documented bound (an analysis, not a proof); an
AVX-512 NumPy's own ``log`` is not used because nothing bounds how it rounds.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from decimal import Decimal, getcontext

import numpy as np

F64 = np.float64
I64 = np.int64

MARGIN = 0.03
"""How close (in ulps of the result) to a rounding midpoint the exact log may lie before
the C library is asked: glibc's documented worst case is 0.519 ulp, i.e. 0.019 past the midpoint."""

_OFF = 0x3FE6000000000000
"""glibc's split: ``x = 2**k · z`` with ``z`` in ``[0.6875, 1.375)``."""

_K_MIN, _K_MAX = -64, 1
_BASE = (_OFF >> 44) + 256 * _K_MIN
_ENTRIES = 256 * (_K_MAX - _K_MIN + 1)
_LOW8 = ~I64(0xFF)
_Q = tuple(F64((-1) ** (k + 1) / (k + 2)) for k in range(7, -1, -1))  # Q(r) = -1/2 + r/3 - r²/4 + ..., r**7/9 first
_FLAG = F64((0.5 - MARGIN) * 2.0**-52)
_BELOW_ONE = F64(1.0 - 2.0**-52)
_EXPONENT = I64(0x7FF0000000000000)


def _eight_bits(value: float) -> float:
    """``value`` rounded to 8 significant bits."""
    mantissa, exponent = math.frexp(value)
    return math.ldexp(round(mantissa * 256), exponent - 8)


@functools.lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``M``, ``Hhi``, ``Hlo`` for every top-20-bit pattern ``j`` of ``x`` (``_BASE + j``)."""
    getcontext().prec = 40
    ln2 = Decimal(2).ln()
    out = np.empty((_ENTRIES, 3), dtype=F64)
    for i in range(256):
        z_low, z_high = (float(np.array([_OFF + (b << 44)], dtype=I64).view(F64)[0]) for b in (i, i + 1))
        c = 1.0 if z_low <= 1.0 <= z_high else _eight_bits(2.0 / (z_low + z_high))
        # r = z·c - 1 over the interval, exactly representable: a multiple of ulp(z)·ulp(c), below 2**53 of them
        grain = (2.0**-53 if z_low < 1.0 else 2.0**-52) * math.ldexp(1.0, math.frexp(c)[1] - 8)
        reach = max(abs(Decimal(z_low) * Decimal(c) - 1), abs(Decimal(z_high) * Decimal(c) - 1))
        assert (reach < Decimal(2.0**-7) and reach < Decimal(grain) * 2**53) or c == 1.0, (i, c, reach)
        minus_log_c = -Decimal(c).ln()
        for k in range(_K_MIN, _K_MAX + 1):
            h = k * ln2 + minus_log_c
            hi = float(h)
            assert hi == 0 or Decimal(abs(hi)) >= reach, (i, k)  # |Hhi| >= |r|: Dekker's fast two-sum is exact
            row = 256 * (k - _K_MIN) + i
            out[row] = (math.ldexp(c, -k), hi, float(h - Decimal(hi)))
    return tuple(np.ascontiguousarray(column) for column in out.T)  # one gather each: rows gather slowly


def _exact_log(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correctly rounded ``log x`` for covered ``x``, and where it may differ from glibc's."""
    bits = x.view(I64)
    j = bits >> I64(44)
    j -= I64(_BASE)
    covered = None
    if x.size and (j.min() < 0 or j.max() >= _ENTRIES):
        covered = (j >= 0) & (j < _ENTRIES)
    m, hi, lo_table = (np.take(column, j, mode="clip") for column in _table())
    high = (bits & _LOW8).view(F64)
    low = x - high
    r = high * m
    r -= 1.0
    low *= m
    r += low  # exact: x·M - 1
    q = _Q[0] * r
    for coefficient in _Q[1:]:
        q += coefficient
        q *= r
    q *= r  # r²·Q(r)
    # s + e = hi + r exactly (Dekker's fast two-sum: |hi| >= |r| or hi = 0, asserted by the table)
    s = hi + r
    e = s - hi
    np.subtract(r, e, out=e)
    e += lo_table
    e += q  # lo
    y = s + e
    np.subtract(s, y, out=s)
    s += e  # residual t: y + t = s + lo
    np.abs(s, out=s)
    scale = y * _BELOW_ONE  # a power of two as y drops into the binade below: half the ulp, so stricter
    scale = (scale.view(I64) & _EXPONENT).view(F64)
    scale *= _FLAG
    doubtful = s > scale
    if covered is not None:
        doubtful |= ~covered
    return y, doubtful


_MATH = {"log": math.log, "sin": math.sin, "cos": math.cos}
_SLOW = {name: np.frompyfunc(f, 1, 1) for name, f in _MATH.items()}


def c_library(name: str, x: np.ndarray) -> np.ndarray:
    """The C library's ``name`` of each element, through Python's ``math`` (slow, exact).

    Where ``math`` raises instead of answering (``log`` of zero, negatives, NaN; ``sin``/``cos``
    of infinities) the IEEE results ``-inf``/``nan`` are given, as the C library returns them.
    """
    if not x.size:
        return np.empty(0, dtype=F64)
    special = ~np.isfinite(x) | ((x <= 0) if name == "log" else False)
    if not special.any():
        return _SLOW[name](x).astype(F64)
    with np.errstate(all="ignore"):
        out = np.where(x == 0, -np.inf, np.nan) if name == "log" else np.full(x.shape, np.nan)
        if name == "log":
            out[x == np.inf] = np.inf
    usual = ~special
    out[usual] = _SLOW[name](x[usual]).astype(F64)
    return out


def log_covered(x: np.ndarray) -> np.ndarray:
    """glibc's ``log`` of float64 ``x`` (any values) without NumPy's ``np.log``."""
    x = np.ascontiguousarray(x, dtype=F64)
    shape = x.shape
    x = x.reshape(-1)
    with np.errstate(invalid="ignore", over="ignore"):  # uncovered inputs give junk, then the C library's
        y, doubtful = _exact_log(x)
    where = np.flatnonzero(doubtful)
    if where.size:
        y[where] = c_library("log", x[where])
    return y.reshape(shape)


@functools.cache
def numpy_is_the_c_library(name: str) -> bool:
    """Whether NumPy's float64 ``name`` gives the C library's results here (32,768 inputs of the
    Box-Muller ranges: ``1 - u`` for log, ``[0, 2π)`` for sin and cos)."""
    rng = np.random.default_rng(20261202)
    if name == "log":
        x = 1.0 - rng.integers(0, 2**53, 32768) * 2.0**-53
    else:
        x = (2.0 * math.pi) * (rng.integers(0, 2**53, 32768) * 2.0**-53)
    return bool(np.array_equal(getattr(np, name)(x), c_library(name, x)))


def function(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The C library's float64 ``name`` (``log``, ``sin``, ``cos``) on arrays: NumPy's own where it is
    the C library's here, else :func:`log_covered` for ``log``, else ``math``'s element by element."""
    if numpy_is_the_c_library(name):
        return getattr(np, name)
    if name == "log":
        return log_covered
    return functools.partial(c_library, name)


def describe() -> str:
    """One line: where each float64 function comes from in this process."""
    parts = []
    for name in ("log", "sin", "cos"):
        source = "NumPy" if numpy_is_the_c_library(name) else ("exact+C" if name == "log" else "math")
        parts.append(f"{name}: {source}")
    return "float64 " + ", ".join(parts)
