"""Unit tests of the maths (fans, spreads, windows, streams) and property-based tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import initcli
from initcli.backends import numpy_streams
from initcli.errors import InvalidArgument
from initcli.fans import compute_fans
from initcli.shapes import parse_shape
from initcli.windows import get_window

FAN_TABLE = [
    ((), (1, 1)),
    ((7,), (7, 7)),
    ((784, 64), (784, 64)),
    ((3, 16, 32), (48, 96)),
    ((3, 3, 16, 32), (144, 288)),
    ((2, 3, 3, 16, 32), (288, 576)),
]


@pytest.mark.parametrize("shape,fans", FAN_TABLE)
def test_fan_rules_for_every_rank(shape, fans):
    assert compute_fans(shape) == fans


def test_fans_from_explicit_axes():
    assert compute_fans((4, 5, 6), [0, 1], [2]) == (20, 6)
    assert compute_fans((4, 5, 6), [0, 1], None) == (20, 24)  # one alone is ignored, as in Keras
    with pytest.raises(InvalidArgument, match="input_axes names axis 3"):
        compute_fans((4, 5, 6), [3], [0])


def test_spread_values_for_a_conv_kernel():
    shape = (3, 3, 16, 32)
    assert initcli.GlorotNormal().spread(shape) == {"stddev": 0.0773526566562144}
    assert initcli.GlorotUniform().spread(shape) == {"limit": 0.11785113019775792}
    assert initcli.HeNormal().spread(shape) == {"stddev": 0.13397873142899422}
    assert initcli.HeUniform().spread(shape)["limit"] == math.sqrt(6 / 144)
    assert initcli.LecunUniform().spread(shape)["limit"] == math.sqrt(3 / 144)
    # fans below one are clamped: scale / max(1, n)
    assert initcli.VarianceScaling(scale=2.0, distribution="untruncated_normal").spread((0, 5)) == {
        "stddev": math.sqrt(2.0)
    }


def test_presets_are_variance_scaling_calls():
    for cls, preset in [
        (initcli.GlorotNormal, (1.0, "fan_avg", "truncated_normal")),
        (initcli.GlorotUniform, (1.0, "fan_avg", "uniform")),
        (initcli.HeNormal, (2.0, "fan_in", "truncated_normal")),
        (initcli.HeUniform, (2.0, "fan_in", "uniform")),
        (initcli.LecunNormal, (1.0, "fan_in", "truncated_normal")),
        (initcli.LecunUniform, (1.0, "fan_in", "uniform")),
    ]:
        init = cls(seed=3)
        assert (init.scale, init.mode, init.distribution) == preset
        plain = initcli.VarianceScaling(*preset, seed=3)
        assert init((20, 30)).tobytes() == plain((20, 30)).tobytes()


def test_truncated_normal_bounds_are_inclusive_and_two_sigma():
    values = initcli.TruncatedNormal(mean=1.0, stddev=0.5, seed=1)((100_000,), dtype="float64")
    assert values.min() >= 0.0 and values.max() <= 2.0
    assert values.min() < 0.01 and values.max() > 1.99


def test_stddev_zero_and_equal_bounds_give_constants():
    assert set(initcli.RandomNormal(mean=2.0, stddev=0.0, seed=1)((50,)).tolist()) == {2.0}
    assert set(initcli.TruncatedNormal(mean=-1.0, stddev=0.0, seed=1)((50,)).tolist()) == {-1.0}
    assert set(initcli.RandomUniform(minval=0.5, maxval=0.5, seed=1)((50,)).tolist()) == {0.5}


def test_identity_and_constant_maths():
    assert initcli.Identity(gain=2.0)((2, 3)).tolist() == [[2, 0, 0], [0, 2, 0]]
    assert initcli.Constant([1, 2])((2, 2)).tolist() == [[1, 2], [1, 2]]
    assert initcli.Zeros()((2,), dtype="float16").dtype == np.float16


def test_stft_real_kernel_is_the_dft_cosine():
    kernel = initcli.STFT(window=None, scaling=None)((8, 1, 5), dtype="float64")[:, 0, :]
    t, f = np.meshgrid(np.arange(8), np.arange(5), indexing="ij")
    assert np.allclose(kernel, np.cos(-2 * np.pi * t * f / 8), atol=1e-6)


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "bartlett", "boxcar", "han", "rect", "hann_periodic"])
@pytest.mark.parametrize("length", [1, 2, 3, 8, 9, 400])
@pytest.mark.parametrize("periodic", [False, True])
def test_built_in_windows_equal_scipy_bit_for_bit(name, length, periodic):
    from scipy.signal import get_window as scipy_get_window

    assert get_window(name, length, periodic).tobytes() == scipy_get_window(name, length, periodic).tobytes()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 3000),
    first=st.integers(1, 3000),
)
def test_truncated_stream_does_not_depend_on_batch_sizes(seed, n, first):
    """Keras redraws full-size batches; any batching of one generator keeps the same values."""
    rng = numpy_streams.generator(seed)
    kept: list[np.ndarray] = []
    have, batch = 0, first
    while have < n:
        values = rng.normal(loc=0.0, scale=1.0, size=batch)
        values = values[(values >= -2.0) & (values <= 2.0)]
        kept.append(values)
        have += values.size
        batch = max(1, batch // 2)
    reference = np.concatenate(kept)[:n] if kept else np.empty(0)
    ours = numpy_streams.truncated_normal((n,), 0.0, 1.0, np.dtype(np.float64), seed)
    assert ours.tobytes() == reference.tobytes()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=0, max_size=6), st.sampled_from([",", "x", ", ", " "]))
def test_shape_parsing_round_trips(dims, separator):
    text = separator.join(str(d) for d in dims)
    if dims:  # an empty string is an error, not a scalar (tests/test_cli_usability.py)
        assert parse_shape(text) == tuple(dims)
    assert parse_shape(f"[{', '.join(map(str, dims))}]") == tuple(dims)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_shape_parsing_never_fails_unexpectedly(text):
    try:
        shape = parse_shape(text)
    except InvalidArgument as error:
        assert "\n" not in str(error)
    else:
        assert all(isinstance(d, int) and d >= 0 for d in shape)
