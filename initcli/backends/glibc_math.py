"""The C library's ``logf`` and ``sincosf``, as TensorFlow's CPU kernels call them.

TensorFlow's normal sampler (Box-Muller) calls the host C library for
``logf`` and ``sincosf``.  On Linux that is glibc, whose float functions
(since glibc 2.28 for ``logf``, 2.26 for ``sincosf``) evaluate in double
precision and round once to float:

* ``logf(x)``: ``x = 2^k · z`` with ``z`` near 1, ``log x = k·ln2 + log c +
  log(z/c)`` where ``c`` is the centre of one of 16 subintervals (tabulated
  ``1/c`` and ``log c``) and ``log(1 + r)``, ``r = z/c - 1``, is a cubic
  polynomial;
* ``sincosf(y)``: for ``|y| < pi/4`` odd/even polynomials in ``y``; up to
  ``|y| < 120``, ``n = round(y·2/pi)`` and the same polynomials on
  ``y - n·pi/2`` with the quadrant's signs and sin/cos swap.

These are ports of those algorithms with their constants; they reproduce the
glibc 2.28 - 2.40 results on x86-64 for every input Box-Muller can produce
(``logf`` on ``[1e-7, 1)``, ``sincosf`` on ``[0, 2pi)``).  Other C libraries
(musl, macOS, glibc >= 2.41's correctly rounded functions) may differ in the
last bit for some inputs.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
F64 = np.float64
U32 = np.uint32

_hex = float.fromhex

_LOGF_INVC_LOGC = np.array(
    [
        (_hex("0x1.661ec79f8f3bep+0"), _hex("-0x1.57bf7808caadep-2")),
        (_hex("0x1.571ed4aaf883dp+0"), _hex("-0x1.2bef0a7c06ddbp-2")),
        (_hex("0x1.49539f0f010bp+0"), _hex("-0x1.01eae7f513a67p-2")),
        (_hex("0x1.3c995b0b80385p+0"), _hex("-0x1.b31d8a68224e9p-3")),
        (_hex("0x1.30d190c8864a5p+0"), _hex("-0x1.6574f0ac07758p-3")),
        (_hex("0x1.25e227b0b8eap+0"), _hex("-0x1.1aa2bc79c81p-3")),
        (_hex("0x1.1bb4a4a1a343fp+0"), _hex("-0x1.a4e76ce8c0e5ep-4")),
        (_hex("0x1.12358f08ae5bap+0"), _hex("-0x1.1973c5a611cccp-4")),
        (_hex("0x1.0953f419900a7p+0"), _hex("-0x1.252f438e10c1ep-5")),
        (1.0, 0.0),
        (_hex("0x1.e608cfd9a47acp-1"), _hex("0x1.aa5aa5df25984p-5")),
        (_hex("0x1.ca4b31f026aap-1"), _hex("0x1.c5e53aa362eb4p-4")),
        (_hex("0x1.b2036576afce6p-1"), _hex("0x1.526e57720db08p-3")),
        (_hex("0x1.9c2d163a1aa2dp-1"), _hex("0x1.bc2860d22477p-3")),
        (_hex("0x1.886e6037841edp-1"), _hex("0x1.1058bc8a07ee1p-2")),
        (_hex("0x1.767dcf5534862p-1"), _hex("0x1.4043057b6ee09p-2")),
    ]
)
_LOGF_INVC = np.ascontiguousarray(_LOGF_INVC_LOGC[:, 0])
_LOGF_LOGC = np.ascontiguousarray(_LOGF_INVC_LOGC[:, 1])
_LN2 = _hex("0x1.62e42fefa39efp-1")
_LOGF_POLY = (_hex("-0x1.00ea348b88334p-2"), _hex("0x1.5575b0be00b6ap-2"), _hex("-0x1.ffffef20a4123p-2"))
_LOGF_OFFSET = 0x3F330000


def logf(x: np.ndarray) -> np.ndarray:
    """glibc's ``logf`` of positive normal float32 values."""
    word = np.asarray(x, dtype=F32).view(U32)
    shifted = word - U32(_LOGF_OFFSET)
    index = (shifted >> U32(19)).astype(np.intp)
    index &= 15
    k = (shifted.view(np.int32) >> 23).astype(F64)
    shifted &= U32(0x1FF << 23)
    z = np.subtract(word, shifted, out=shifted).view(F32).astype(F64)
    r = np.take(_LOGF_INVC, index, mode="clip")
    r *= z
    r -= 1.0
    y0 = k
    y0 *= _LN2
    y0 += np.take(_LOGF_LOGC, index, mode="clip")
    r2 = r * r
    y = r * _LOGF_POLY[1]
    y += _LOGF_POLY[2]
    y += r2 * _LOGF_POLY[0]
    y *= r2
    y0 += r
    y += y0
    return y.astype(F32)


_HALF_PI_INV_2_24 = _hex("0x1.45f306dc9c883p+23")
_HALF_PI = _hex("0x1.921fb54442d18p0")
_COS_POLY = (
    (
        1.0,
        _hex("-0x1.ffffffd0c621cp-2"),
        _hex("0x1.55553e1068f19p-5"),
        _hex("-0x1.6c087e89a359dp-10"),
        _hex("0x1.99343027bf8c3p-16"),
    ),
    (
        -1.0,
        _hex("0x1.ffffffd0c621cp-2"),
        _hex("-0x1.55553e1068f19p-5"),
        _hex("0x1.6c087e89a359dp-10"),
        _hex("-0x1.99343027bf8c3p-16"),
    ),
)
_SIN_POLY = (_hex("-0x1.555545995a603p-3"), _hex("0x1.1107605230bc4p-7"), _hex("-0x1.994eb3774cf24p-13"))
_TINY = F32(2.0**-12)


def sincosf(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """glibc's ``sincosf`` of float32 ``0 <= y < 120``: ``(sin y, cos y)`` as float32.

    glibc reduces ``y`` by ``n·pi/2`` (``n = round(y·2/pi)``, which is 0 below
    pi/4, where it skips the reduction: the same value), evaluates both
    polynomials on the reduced ``x`` with the quadrant's signs folded into ``x``
    and the coefficients, and swaps sin and cos in odd quadrants.  Negation is
    exact and every step is odd or even in ``x``, so here the polynomials are
    evaluated once with positive signs and the signs applied to the rounded
    results (by flipping sign bits): the same bits.  Below ``2**-12`` glibc
    returns ``(y, 1)``.
    """
    y = np.asarray(y, dtype=F32)
    x = y.astype(F64)
    n = (x * _HALF_PI_INV_2_24).astype(np.int32)
    n += np.int32(0x800000)
    n >>= 24
    x -= n * _HALF_PI
    x2 = x * x
    x3 = x2 * x
    s1 = x2 * _SIN_POLY[2]
    s1 += _SIN_POLY[1]
    s1 *= x3 * x2
    sine = x3 * _SIN_POLY[0]
    sine += x
    sine += s1
    c = _COS_POLY[0]
    x4 = x2 * x2
    c2 = x2 * c[4]
    c2 += c[3]
    c2 *= x4 * x2
    cosine = x2 * c[1]
    cosine += c[0]
    cosine += x4 * c[2]
    cosine += c2
    sine32 = sine.astype(F32)
    cosine32 = cosine.astype(F32)
    odd = (n & 1).astype(bool)
    sin_out = np.where(odd, cosine32, sine32)
    cos_out = np.where(odd, sine32, cosine32)
    # sign bits: sin is negative in quadrants 2 and 3, cos in quadrants 1 and 2
    sin_out.view(np.int32)[...] ^= (n & 2) << 30
    n += 1
    cos_out.view(np.int32)[...] ^= (n & 2) << 30
    tiny = y < _TINY
    if tiny.any():
        sin_out[tiny] = y[tiny]
        cos_out[tiny] = F32(1)
    return sin_out, cos_out
