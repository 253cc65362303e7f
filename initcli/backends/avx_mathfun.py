"""PyTorch's float32 ``log`` and ``sincos`` of its AVX2 normal kernel, bit for bit.

torch's CPU normal fill (AVX2 build) computes Box-Muller with ``log256_ps``
and ``sincos256_ps`` from ``avx_mathfun.h`` (Cephes polynomials, after Julien
Pommier's SSE code), compiled by GCC with ``-mfma``: GCC contracts
``a * b + c`` into one fused multiply-add where the multiply comes first in
the statement.  Every operation below is a float32 operation rounded to
nearest; ``fma`` rounds once (:func:`initcli.backends.float32.fma`).

``log256_ps(x)`` for ``x > 0``::

    e = exponent(x) + 1;  m = mantissa(x) in [0.5, 1)
    if m < sqrt(1/2):  x = (m - 1) + m;  e = e - 1   else  x = m - 1
    z = x·x
    y = fma(…fma(fma(p0, x, p1), x, p2)…, x, p8)          (Horner, 8 FMAs)
    y = fma(y·x, z, e·q1) - z·0.5
    log = fma(e, q2, x + y)

``sincos256_ps(x)``: ``j = trunc(|x|·4/π)`` rounded up to even, Cody-Waite
reduction ``x = fma(j, DP3, fma(j, DP2, fma(j, DP1, |x|)))``, then with ``z = x·x``::

    cos = fma(fma(fma(c0, z, c1), z, c2)·z, z, -(z·0.5)) + 1
    sin = fma(fma(fma(s0, z, s1), z, s2)·z, x, x)

swapped when ``j & 2`` and sign-flipped by ``j & 4`` (and the sign of ``x``).
"""

from __future__ import annotations

import numpy as np

from .float32 import F32, F64, U32, fma, from_bits, horner

I32 = np.int32

_SQRTHF = from_bits(0x3F3504F3)
_LOG_P = tuple(
    from_bits(w)
    for w in (
        0x3D9021BB,
        0xBDEBD1B8,
        0x3DEF251A,
        0xBDFE5D4F,
        0x3E11E9BF,
        0xBE2AAE50,
        0x3E4CCEAC,
        0xBE7FFFFC,
        0x3EAAAAAA,
    )
)
_LOG_Q1 = from_bits(0xB95E8083)
_LOG_Q2 = from_bits(0x3F318000)
_MIN_NORMAL = from_bits(0x00800000)
_FOPI = from_bits(0x3FA2F983)
_DP = (from_bits(0xBF490000), from_bits(0xB97DA000), from_bits(0xB3222169))
_SIN_P = (from_bits(0xB94CA1F9), from_bits(0x3C08839E), from_bits(0xBE2AAAA3))
_COS_P = (from_bits(0x37CCF5CE), from_bits(0xBAB6061A), from_bits(0x3D2AAAA5))
_ONE, _HALF = F32(1), F32(0.5)


def _select(mask: np.ndarray, yes: np.ndarray, no: np.ndarray | None) -> np.ndarray:
    """``where(mask, yes, no)`` for float32 arrays (``no=None``: +0), as bit masks: NumPy's
    ``where`` branches on every element, which is slow on random masks."""
    ones = mask.view(np.uint8).astype(U32)
    np.negative(ones, out=ones)  # 0 or 0xFFFFFFFF
    out = yes.view(U32) & ones
    if no is not None:
        np.invert(ones, out=ones)
        ones &= no.view(U32)
        out |= ones
    return out.view(F32)


def _fma_unchecked(a: np.ndarray, b: np.ndarray, c: np.ndarray | np.float32) -> np.ndarray:
    """``a·b + c`` in float64, rounded to float32: :func:`~initcli.backends.float32.fma` without
    its midpoint test (exact wherever the float64 sum is exact or not on a float32 midpoint)."""
    s = np.multiply(a, b, dtype=F64)
    s += c
    return s.astype(F32)


def _horner_unchecked(x: np.ndarray, lead: np.float32, coefficients: tuple[np.float32, ...]) -> np.ndarray:
    """:func:`~initcli.backends.float32.horner` without the midpoint test of each step."""
    x64 = x.astype(F64)
    value = x64 * F64(lead)
    narrow = np.empty(value.shape, dtype=F32)
    for step, coefficient in enumerate(coefficients):
        if step:
            value *= x64
        value += F64(coefficient)
        np.copyto(narrow, value, casting="unsafe")
        np.copyto(value, narrow)
    return narrow


def log256_ps(x: np.ndarray, box_muller: bool = False) -> np.ndarray:
    """``log256_ps`` of float32 ``x`` (NaN where ``x <= 0``), with GCC's FMA contraction.

    The last step ``fma(e, q2, x + y)`` is a plain float32 sum: ``e·q2`` is exact in float32
    (``|e| <= 128``, ``q2`` has 9 significant bits), so the fused and the unfused results agree.
    ``box_muller=True`` promises inputs ``1 - k·2**-24`` (``k`` in ``[0, 2**24)``) and skips the
    FMAs' midpoint tests: for these 2**24 inputs no step lands on a float32 midpoint it would
    round wrongly, which ``tests/test_avx_mathfun.py`` checks on every one of them.
    """
    fma_, horner_ = (_fma_unchecked, _horner_unchecked) if box_muller else (fma, horner)
    x = np.asarray(x, dtype=F32)
    invalid = x <= 0
    x = np.maximum(x, _MIN_NORMAL)
    bits = x.view(U32)
    e = (bits >> U32(23)).view(I32).astype(F32)
    e -= F32(0x7F - 1)  # exponent + 1, exact in float32
    m = bits & U32(0x807FFFFF)
    m |= U32(0x3F000000)
    m = m.view(F32)
    below = m < _SQRTHF
    x = m - _ONE
    x += _select(below, m, None)  # (m - 1) + m, else (m - 1) + 0
    e -= below
    z = x * x
    y = horner_(x, _LOG_P[0], _LOG_P[1:])
    y *= x
    y = fma_(y, z, e * _LOG_Q1)
    z *= _HALF
    y -= z
    y += x
    e *= _LOG_Q2
    e += y
    if invalid.any():
        e[invalid] = np.nan
    return e


def sincos256_ps(x: np.ndarray, box_muller: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``sincos256_ps`` of float32 ``x`` -> ``(sin, cos)``, with GCC's FMA contraction.

    The first two Cody-Waite steps are plain float32 operations while ``j < 2**12``: ``j·DP1``
    and ``j·DP2`` are then exact in float32 (``DP1``, ``DP2`` have 8 and 12 significant bits),
    and an FMA whose product is exact is the rounded sum.  ``box_muller=True`` promises inputs
    ``6.2831855f·k·2**-24`` (``k`` in ``[0, 2**24)``) and skips the FMAs' midpoint tests, as
    :func:`log256_ps` does (checked on all 2**24 inputs).
    """
    fma_, horner_ = (_fma_unchecked, _horner_unchecked) if box_muller else (fma, horner)
    x = np.asarray(x, dtype=F32)
    bits = x.view(U32)
    sign_sin = bits & U32(0x80000000)
    x = (bits & U32(0x7FFFFFFF)).view(F32)
    j = np.trunc(x * _FOPI).astype(I32)
    j += I32(1)
    j &= I32(~1)
    y = j.astype(F32)
    sign_sin ^= (j & I32(4)).view(U32) << U32(29)
    sign_cos = j - I32(2)
    np.invert(sign_cos, out=sign_cos)
    sign_cos &= I32(4)
    sign_cos = sign_cos.view(U32) << U32(29)
    swap = (j & I32(2)) != 0
    if j.size and j.max() < 1 << 12:
        for dp in _DP[:2]:
            step = y * dp
            x = x + step
        x = fma_(y, _DP[2], x)
    else:
        for dp in _DP:
            x = fma(y, dp, x)
    z = x * x
    cos = horner_(z, _COS_P[0], _COS_P[1:])
    cos *= z
    cos = fma_(cos, z, -(z * _HALF))
    cos += _ONE
    sin = horner_(z, _SIN_P[0], _SIN_P[1:])
    sin *= z
    sin = fma_(sin, x, x)
    sin, cos = _select(swap, cos, sin), _select(swap, sin, cos)
    sin = sin.view(U32)
    sin ^= sign_sin
    cos = cos.view(U32)
    cos ^= sign_cos
    return sin.view(F32), cos.view(F32)
