"""XLA:CPU's float32 ``log1p``, ``erf`` and ``erf_inv``, bit for bit.

JAX turns uniform draws into normal ones with ``sqrt(2) * erf_inv(u)``; XLA
expands ``erf_inv`` into polynomials, and on CPU LLVM fuses every ``x * y + z``
of them into one FMA instruction.  The functions here evaluate the same
polynomials with the same constants in the same order, each ``x * y + z``
through :func:`initcli.backends.float32.fma`, and every other operation in
plain float32 (NumPy's float32 add, multiply, divide and sqrt are IEEE-754
correctly rounded, like the hardware instructions XLA emits).

* ``erf_inv(x)`` (XLA's ``ErfInv32``, M. Giles, "Approximating the erfinv
  function", 2010): ``w = -log1p(-x²)``; if ``w < 5``: ``p = P₁(w - 2.5)``
  else ``p = P₂(sqrt(w) - 3)``, nine-coefficient polynomials in Horner form;
  the result is ``x · p`` (``±inf`` at ``|x| = 1``).
* ``log1p(y)``: for ``|y| < 0.41421357`` a Cephes rational approximation
  ``y - y²/2 + y³·N(y)/D(y)``; otherwise ``log(1 + y)`` with Eigen's float
  logarithm (range reduction to ``[sqrt(1/2), sqrt(2))`` and a degree-9
  polynomial, split ``ln 2``).
* ``erf(x)`` (for the truncation bounds of ``truncated_normal``): the clamped
  rational approximation ``x·P(x²) / Q(x²)``, ``±1`` beyond ``|x| = 3.7439``.

The constants are float32 bit patterns.  Inputs are float32 arrays.
"""

from __future__ import annotations

import numpy as np

from .float32 import F32, U32, fma, from_bits, horner


def _constants(*words: int) -> tuple[np.float32, ...]:
    return tuple(from_bits(word) for word in words)


_LOG_POLY = _constants(
    0x3D9021BB, 0xBDEBD1B8, 0x3DEF251A, 0xBDFE5D4F, 0x3E11E9BF, 0xBE2AAE50, 0x3E4CCEAC, 0xBE7FFFFC, 0x3EAAAAAA
)
_LN2_HI = from_bits(0x3F318000)
_LN2_LO = from_bits(0xB95E8083)
_SQRT_HALF = from_bits(0x3F3504F3)
_MIN_NORMAL = from_bits(0x00800000)

_LOG1P_DENOMINATOR = _constants(0x417101AD, 0x42A6185B, 0x435DC32D, 0x439A8CA3, 0x43586D8A, 0x42707982)
_LOG1P_NUMERATOR = _constants(0x3EFF40C5, 0x40D284FA, 0x41EF4B9C, 0x4273CC76, 0x426473AD, 0x41A05101)
_LOG1P_LEAD = F32(4.527e-05)
_LOG1P_SMALL = from_bits(0x3ED413CD)
"""|y| below this (sqrt(2) - 1) uses the rational approximation."""

_ERFINV_CENTRAL = _constants(
    0x32F16588, 0x34B84B36, 0xB66C7357, 0xB6935AC1, 0x396532DB, 0xBAA45408, 0xBB88E4EF, 0x3E7C8F63, 0x3FC02E2F
)
_ERFINV_TAIL = _constants(
    0xB951F09B, 0x38D3B56B, 0x3AB0DC72, 0xBB70BDE7, 0x3BBC127B, 0xBBF9C5D7, 0x3C1AA57E, 0x3F8036DB, 0x40354F7E
)

_ERF_NUMERATOR = _constants(0x39702D51, 0x3B5F5DA2, 0x3D50B6EB, 0x3E3DA740, 0x3F906EBA)
_ERF_DENOMINATOR = _constants(0xB3FD3906, 0x37C588DF, 0x3A856D28, 0x3C6687D4, 0x3DE34C21, 0x3EFEB44A)
_ERF_CLAMP = from_bits(0x406F9C68)


def _horner(x: np.ndarray, coefficients: tuple[np.float32, ...], lead: np.ndarray | np.float32) -> np.ndarray:
    """``(((lead·x + c₀)·x + c₁)·x + …)`` with one FMA per step."""
    return horner(x, lead, coefficients)


def log(t: np.ndarray) -> np.ndarray:
    """Natural logarithm of positive normal float32 ``t`` (Eigen's ``plog_float``, with FMAs).

    ``t = m · 2^e`` with ``m`` in ``[0.5, 1)``; if ``m < sqrt(1/2)`` then
    ``m ← 2m, e ← e - 1``; with ``x = m - 1``:
    ``log t = e·ln2_hi + ((x - x²/2) + (x³·P(x) + e·ln2_lo))``.
    """
    t = np.maximum(t, _MIN_NORMAL)
    word = t.view(U32)
    exponent = ((word >> U32(23)).astype(np.int32) - 126).astype(F32)
    mantissa = ((word & U32(0x807FFFFF)) | U32(0x3F000000)).view(F32)
    small = mantissa < _SQRT_HALF
    x = (mantissa - F32(1)) + np.where(small, mantissa, F32(0))
    exponent -= small
    x2 = x * x
    x3 = x2 * x
    c = _LOG_POLY
    y1 = fma(fma(x, c[0], c[1]), x, c[2])
    y2 = fma(fma(x, c[3], c[4]), x, c[5])
    y3 = fma(fma(x, c[6], c[7]), x, c[8])
    y = fma(fma(y1, x3, y2), x3, y3)
    tail = fma(y, x3, exponent * _LN2_LO)
    head = fma(x2, F32(-0.5), x)
    return fma(exponent, _LN2_HI, head + tail)


def log1p(y: np.ndarray) -> np.ndarray:
    """``log(1 + y)`` for float32 ``y > -1`` as XLA:CPU computes it."""
    out = np.empty_like(y)
    near = np.abs(y) < _LOG1P_SMALL
    if near.all():
        return _log1p_near_zero(y)
    out[near] = _log1p_near_zero(y[near])
    far = ~near
    out[far] = log(y[far] + F32(1))
    return out


def _log1p_near_zero(y: np.ndarray) -> np.ndarray:
    denominator = _horner(y, _LOG1P_DENOMINATOR[1:], y + _LOG1P_DENOMINATOR[0])
    numerator = _horner(y, _LOG1P_NUMERATOR, _LOG1P_LEAD)
    ratio = numerator / denominator
    y2 = y * y
    return y + fma(y2, F32(-0.5), (y * y2) * ratio)


def erf_inv(x: np.ndarray) -> np.ndarray:
    """XLA's float32 ``erf_inv`` of ``x`` in ``(-1, 1)`` (``±inf`` at ``±1``)."""
    minus_w = log1p(x * -x)
    central = minus_w > F32(-5)
    p = np.empty_like(x)
    if central.all():
        p = _horner(F32(-2.5) - minus_w, _ERFINV_CENTRAL[1:], _ERFINV_CENTRAL[0])
    else:
        tail = ~central
        p[central] = _horner(F32(-2.5) - minus_w[central], _ERFINV_CENTRAL[1:], _ERFINV_CENTRAL[0])
        p[tail] = _horner(np.sqrt(-minus_w[tail]) + F32(-3), _ERFINV_TAIL[1:], _ERFINV_TAIL[0])
    p[np.abs(x) == F32(1)] = np.inf
    return x * p


def erf(x: np.ndarray) -> np.ndarray:
    """XLA's float32 ``erf``: ``x·P(x²)/Q(x²)`` on ``|x| < 3.7439``, ``±1`` beyond."""
    x = np.asarray(x, dtype=F32)
    clamped = np.clip(x, -_ERF_CLAMP, _ERF_CLAMP)
    x2 = clamped * clamped
    numerator = clamped * _horner(x2, _ERF_NUMERATOR[2:], fma(x2, _ERF_NUMERATOR[0], _ERF_NUMERATOR[1]))
    denominator = fma(_horner(x2, _ERF_DENOMINATOR[2:], fma(x2, _ERF_DENOMINATOR[0], _ERF_DENOMINATOR[1])), x2, F32(1))
    return np.where(np.abs(x) >= _ERF_CLAMP, np.copysign(F32(1), x), numerator / denominator).astype(F32)
