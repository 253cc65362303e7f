"""``avx_mathfun``'s fast path: without the FMAs' midpoint tests, on every input torch's fill can give.

torch's float32 fill takes ``log256_ps(1 - a)`` and ``sincos256_ps(6.2831855f·b)`` of uniforms
``a, b = k·2**-24`` (``k`` in ``[0, 2**24)``).  For all 2**24 of them the unchecked evaluation
(``box_muller=True``) equals the checked one, whose every FMA is correctly rounded (the golden
hashes from real torch check that one).  Elsewhere the checked evaluation stays in use.
"""

from __future__ import annotations

import numpy as np
import pytest

from initcli.backends import avx_mathfun


@pytest.mark.parametrize("part", range(4))
def test_unchecked_equals_checked_on_all_box_muller_inputs(part):
    for first in range(part * 2**22, (part + 1) * 2**22, 2**20):
        u = np.arange(first, first + 2**20, dtype=np.float32) * np.float32(2.0**-24)
        a = np.float32(1) - u
        checked, fast = avx_mathfun.log256_ps(a), avx_mathfun.log256_ps(a, box_muller=True)
        assert np.array_equal(checked.view(np.uint32), fast.view(np.uint32))
        theta = np.float32(6.2831855) * u
        for checked, fast in zip(
            avx_mathfun.sincos256_ps(theta), avx_mathfun.sincos256_ps(theta, box_muller=True), strict=True
        ):
            assert np.array_equal(checked.view(np.uint32), fast.view(np.uint32))


def test_the_fast_path_still_rounds_every_step_to_float32():
    """Dropping the tests must not drop the roundings: a float64 Horner differs on many inputs."""
    x = np.linspace(-0.29, 0.41, 4097, dtype=np.float32)
    fast = avx_mathfun._horner_unchecked(x, avx_mathfun._LOG_P[0], avx_mathfun._LOG_P[1:])
    wide = np.polyval(np.array(avx_mathfun._LOG_P, dtype=np.float64), x.astype(np.float64)).astype(np.float32)
    assert fast.dtype == np.float32 and (fast != wide).any()
