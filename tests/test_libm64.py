"""``initcli.backends.libm64``: the C library's float64 log/sin/cos on arrays.

Every expected value is the C library's own, through Python's ``math`` module (which calls it),
element by element.  Inputs covered: Box-Muller's ``1 - u`` (``u`` a multiple of 2**-53 in
``[0, 1)``): random, just below 1 (``u`` down to 2**-53), tiny (``u`` near 1, ``x`` down to
2**-53), every table interval's ends; also ``[1, 2.75)`` and values outside the table (handed to
the C library).  Subnormals are not Box-Muller inputs; they are only checked to go to the C library.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from initcli.backends import libm64


def _expected(x: np.ndarray) -> list[float]:
    out = []
    for v in x.tolist():
        out.append(math.log(v) if v > 0 else (-math.inf if v == 0 else math.nan))
    return out


def _same(ours: np.ndarray, x: np.ndarray) -> None:
    expected = np.array(_expected(x))
    assert ours.dtype == np.float64 and ours.shape == x.shape
    bad = np.flatnonzero(ours.view(np.int64) != expected.view(np.int64))
    assert not bad.size, [(float(x[i]).hex(), float(ours[i]).hex(), float(expected[i]).hex()) for i in bad[:5]]


def _box_muller(u: np.ndarray) -> np.ndarray:
    return 1.0 - np.ldexp(np.floor(np.ldexp(u, 53)), -53)


def test_log_equals_the_c_library_on_random_box_muller_inputs():
    rng = np.random.default_rng(1)
    x = 1.0 - rng.integers(0, 2**53, 2**17) * 2.0**-53
    _same(libm64.log_covered(x), x)


def _binade_ends() -> np.ndarray:
    """The 2,048 doubles around ``exp(-2**e)``: logs that cross a power of two (where the ulp halves)."""
    centre = np.exp(-(2.0 ** np.arange(-20, 6)))
    bits = centre.view(np.int64)[:, None] + np.arange(-1024, 1024, dtype=np.int64)
    return bits.reshape(-1).view(np.float64)


def test_log_equals_the_c_library_just_below_one_and_near_zero():
    k = np.arange(0, 4096, dtype=np.float64)
    rng = np.random.default_rng(2)
    small = _box_muller(rng.random(2**15) * 2.0 ** -rng.integers(1, 53, 2**15))  # x in (1 - 2**-1, 1]
    x = np.concatenate(
        [
            1.0 - k * 2.0**-53,  # 1 and the doubles just below it
            1.0 - 2.0 ** -np.arange(1, 54),
            small,
            (k + 1) * 2.0**-53,  # u just below 1: the smallest x Box-Muller gives
            2.0 ** -np.arange(0, 54),
            _binade_ends(),
        ]
    )
    _same(libm64.log_covered(x), x)


def test_log_equals_the_c_library_at_every_table_interval_end():
    steps = np.arange(-3, 4, dtype=np.int64)
    ends = [libm64._OFF + (i << 44) + (k << 52) for k in range(-53, 2) for i in range(257)]
    bits = (np.array(ends, dtype=np.int64)[:, None] + steps).reshape(-1)
    x = bits.view(np.float64)
    _same(libm64.log_covered(x), x)


def test_log_outside_the_table_is_the_c_library_too():
    x = np.array([2.75, 3.0, 1e300, 2.0**-70, 1e-300, 5e-324, 2.0**-1030, 0.0, -0.0, -1.0, np.inf, np.nan, 7.5])
    _same(libm64.log_covered(x), x)


def test_r_is_exact_and_the_table_has_the_stated_precision():
    """``r = (xh·M - 1) + xl·M`` equals ``x·M - 1`` exactly (checked with fractions), ``M`` has 8 bits."""
    rng = np.random.default_rng(3)
    x = np.concatenate([1.0 - rng.integers(0, 2**53, 3000) * 2.0**-53, rng.uniform(1.0, 2.75, 1000)])
    m_table, hi_table, lo_table = libm64._table()
    j = (x.view(np.int64) >> 44) - libm64._BASE
    m = m_table[j]
    high = (x.view(np.int64) & ~np.int64(0xFF)).view(np.float64)
    r = (high * m - 1.0) + (x - high) * m
    assert all(Fraction(a) * Fraction(b) - 1 == Fraction(c) for a, b, c in zip(x, m, r, strict=True))
    assert all(math.frexp(v)[0] * 256 == round(math.frexp(v)[0] * 256) for v in set(m_table.tolist()))
    assert np.abs(r).max() < 2.0**-7
    # H = k·ln 2 - ln c to double-double accuracy: compare with math.log on exact ln c of the 8-bit c
    k = j // 256 + libm64._K_MIN
    c = np.ldexp(m, k)
    assert np.allclose(hi_table[j] + lo_table[j], k * math.log(2) - np.log(c), rtol=0, atol=1e-15)


def test_only_elements_near_a_rounding_midpoint_go_to_the_c_library():
    """The flag share is about 2·MARGIN; the unflagged elements already equal the C library's."""
    rng = np.random.default_rng(4)
    x = 1.0 - rng.integers(0, 2**53, 2**16) * 2.0**-53
    y, doubtful = libm64._exact_log(x)
    share = doubtful.mean()
    assert 1.5 * libm64.MARGIN < share < 2.5 * libm64.MARGIN
    expected = np.array(_expected(x))
    assert np.array_equal(y[~doubtful], expected[~doubtful])


@pytest.mark.parametrize("name", ["log", "sin", "cos"])
def test_function_is_the_c_library_on_box_muller_ranges(name):
    rng = np.random.default_rng(5)
    u = rng.integers(0, 2**53, 2**15) * 2.0**-53
    x = 1.0 - u if name == "log" else (2.0 * math.pi) * u
    expected = [getattr(math, name)(v) for v in x.tolist()]
    assert libm64.function(name)(x).tolist() == expected
    assert libm64.describe().startswith("float64 log: ")
