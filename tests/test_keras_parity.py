"""Bit-for-bit parity with real Keras 3.15.1 (numpy backend) over a broad matrix.

For every initializer configuration x shape (ranks 0 to 5) x seed (across
[0, 2**32)) x dtype (float16, float32, float64) the bytes we produce must
equal the bytes ``keras.initializers.X(**kwargs, seed=s)(shape, dtype)``
returns.  Orthogonal is compared with Keras's float32 result cast to the
requested dtype (Keras itself returns float32 for float64 and raises for
float16; see initcli/initializers/orthogonal.py).
"""

from __future__ import annotations

import numpy as np
import pytest

import initcli.initializers as ours

SEEDS = (0, 1, 12345, 987654321, 2**31, 2**32 - 1)
DTYPES = ("float16", "float32", "float64")
SHAPES = ((), (7,), (1,), (5, 7), (784, 64), (64, 3), (3, 16, 32), (3, 3, 16, 32), (2, 3, 3, 4, 5), (0, 5))
MATRIX_SHAPES = tuple(s for s in SHAPES if len(s) >= 2 and 0 not in s)

RANDOM_CONFIGS = [
    ("RandomNormal", {}),
    ("RandomNormal", {"mean": 0.3, "stddev": 2.0}),
    ("RandomNormal", {"mean": -1.0, "stddev": 0.0}),
    ("RandomUniform", {}),
    ("RandomUniform", {"minval": -3.0, "maxval": 0.5}),
    ("RandomUniform", {"minval": 1.0, "maxval": 1.0}),
    ("TruncatedNormal", {}),
    ("TruncatedNormal", {"mean": 1.5, "stddev": 0.7}),
    ("GlorotNormal", {}),
    ("GlorotUniform", {}),
    ("HeNormal", {}),
    ("HeUniform", {}),
    ("LecunNormal", {}),
    ("LecunUniform", {}),
] + [
    ("VarianceScaling", {"scale": scale, "mode": mode, "distribution": distribution})
    for distribution in ("truncated_normal", "untruncated_normal", "uniform", "normal", "Uniform")
    for mode in ("fan_in", "fan_out", "fan_avg")
    for scale in (1.0, 2.5)
]


def _config_id(config):
    name, kwargs = config
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items())


def assert_same_bytes(mine: np.ndarray, theirs: np.ndarray, label: str) -> None:
    assert mine.dtype == theirs.dtype, f"{label}: dtype {mine.dtype} != Keras {theirs.dtype}"
    assert mine.shape == theirs.shape, f"{label}: shape {mine.shape} != Keras {theirs.shape}"
    assert mine.tobytes() == theirs.tobytes(), (
        f"{label}: values differ from Keras (max |diff| "
        f"{np.max(np.abs(mine.astype(np.float64) - theirs.astype(np.float64)))})"
    )


@pytest.mark.parametrize("config", RANDOM_CONFIGS, ids=_config_id)
@pytest.mark.parametrize("dtype", DTYPES)
def test_random_initializers_match_keras(keras, config, dtype):
    name, kwargs = config
    compared = 0
    for shape in SHAPES:
        for seed in SEEDS:
            theirs = getattr(keras.initializers, name)(seed=seed, **kwargs)(shape, dtype=dtype)
            mine = getattr(ours, name)(seed=seed, **kwargs)(shape, dtype=dtype)
            assert_same_bytes(mine, np.asarray(theirs), f"{name}{kwargs} shape={shape} seed={seed} {dtype}")
            compared += 1
    assert compared == len(SHAPES) * len(SEEDS)


@pytest.mark.parametrize("gain", [1.0, 2.5, -0.5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_orthogonal_matches_keras(keras, gain, dtype):
    for shape in (*MATRIX_SHAPES, (64, 64), (10, 3, 4)):
        for seed in SEEDS:
            theirs = np.asarray(keras.initializers.Orthogonal(gain=gain, seed=seed)(shape, dtype="float32"))
            mine = ours.Orthogonal(gain=gain, seed=seed)(shape, dtype=dtype)
            assert_same_bytes(mine, theirs.astype(dtype), f"Orthogonal gain={gain} shape={shape} seed={seed} {dtype}")


def test_orthogonal_float32_is_what_keras_returns_for_float64(keras):
    theirs = np.asarray(keras.initializers.Orthogonal(seed=3)((20, 30), dtype="float64"))
    assert theirs.dtype == np.float32  # the Keras quirk we document
    mine = ours.Orthogonal(seed=3)((20, 30), dtype="float64")
    assert mine.dtype == np.float64
    assert np.array_equal(mine, theirs.astype(np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
def test_deterministic_initializers_match_keras(keras, dtype):
    cases = [
        ("Zeros", {}, SHAPES),
        ("Ones", {}, SHAPES),
        ("Constant", {"value": 0.3}, SHAPES),
        ("Constant", {"value": -2}, SHAPES),
        ("Constant", {"value": [1.5, -2.0]}, ((3, 2), (4, 5, 2))),
        ("Identity", {}, ((5, 7), (7, 5), (4, 4), (784, 64))),
        ("Identity", {"gain": 0.5}, ((5, 7), (3, 3))),
    ]
    for name, kwargs, shapes in cases:
        for shape in shapes:
            theirs = np.asarray(getattr(keras.initializers, name)(**kwargs)(shape, dtype=dtype))
            mine = getattr(ours, name)(**kwargs)(shape, dtype=dtype)
            assert_same_bytes(mine, theirs, f"{name}{kwargs} shape={shape} {dtype}")


STFT_WINDOWS = ["hann", "hamming", "blackman", "bartlett", "boxcar", "hann_periodic", None]


@pytest.mark.parametrize("window", STFT_WINDOWS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_stft_matches_keras(keras, window, dtype):
    for side in ("real", "imag"):
        for scaling in ("density", "spectrum", None):
            for periodic in (False, True):
                for shape in ((8, 1, 5), (16, 1, 9), (400, 1, 257), (1, 1, 2), (7, 1, 3)):
                    kwargs = {"side": side, "window": window, "scaling": scaling, "periodic": periodic}
                    theirs = np.asarray(keras.initializers.STFT(**kwargs)(shape, dtype=dtype))
                    if dtype == "float64":  # Keras computes float64 STFT kernels in float32
                        theirs = theirs.astype(np.float64)
                    mine = ours.STFT(**kwargs)(shape, dtype=dtype)
                    assert_same_bytes(mine, theirs, f"STFT{kwargs} shape={shape} {dtype}")


def test_stft_with_an_explicit_window_matches_keras(keras):
    window = [0.1, 0.5, 1.0, 0.5, 0.1, 0.0]
    for dtype in DTYPES:
        for scaling in ("density", "spectrum", None):
            theirs = np.asarray(keras.initializers.STFT(window=window, scaling=scaling)((6, 1, 4), dtype=dtype))
            mine = ours.STFT(window=window, scaling=scaling)((6, 1, 4), dtype=dtype)
            assert_same_bytes(mine, theirs.astype(dtype), f"STFT list window {scaling} {dtype}")


def test_stft_float64_is_keras_float32_computation(keras):
    theirs = np.asarray(keras.initializers.STFT()((8, 1, 5), dtype="float64"))
    assert theirs.dtype == np.float32  # the Keras quirk we document
    assert ours.STFT()((8, 1, 5), dtype="float64").dtype == np.float64


def test_stft_channels_are_repeated_where_keras_ignores_them(keras):
    theirs = np.asarray(keras.initializers.STFT()((8, 3, 5)))
    assert theirs.shape == (8, 1, 5)
    mine = ours.STFT()((8, 3, 5))
    assert mine.shape == (8, 3, 5)
    for channel in range(3):
        assert mine[:, channel : channel + 1, :].tobytes() == theirs.tobytes()


def test_explicit_axes_match_keras(keras):
    for name in ("GlorotNormal", "GlorotUniform", "HeUniform", "LecunNormal"):
        for shape, axes in (((32, 2, 8), ([0], [1, 2])), ((2, 8, 32), ([0, 1], [2])), ((4, 5, 6), ([0, 1], [2]))):
            for seed in (0, 5, 2**32 - 1):
                kwargs = {"seed": seed, "input_axes": axes[0], "output_axes": axes[1]}
                theirs = np.asarray(getattr(keras.initializers, name)(**kwargs)(shape))
                assert_same_bytes(getattr(ours, name)(**kwargs)(shape), theirs, f"{name}{kwargs}")
    # only one of the two given: Keras ignores both
    theirs = np.asarray(keras.initializers.GlorotUniform(seed=1, input_axes=[0])((4, 5, 6)))
    assert_same_bytes(ours.GlorotUniform(seed=1, input_axes=[0])((4, 5, 6)), theirs, "input_axes alone")


def test_successive_draws_match_a_keras_seed_generator(keras):
    """Tensor i of one initcli run equals the i-th call with keras.random.SeedGenerator(seed)."""
    for name in ("GlorotNormal", "RandomUniform", "Orthogonal", "TruncatedNormal"):
        for seed in (0, 42, 2**32 - 1):
            generator_seeded = getattr(keras.initializers, name)(seed=keras.random.SeedGenerator(seed))
            mine = getattr(ours, name)(seed=seed)
            for draw, shape in enumerate([(10, 6), (6, 10), (10, 6), (3, 4, 5)]):
                theirs = np.asarray(generator_seeded(shape))
                assert_same_bytes(mine.sample(shape, draw=draw), theirs, f"{name} seed={seed} draw={draw}")


def test_compute_fans_matches_keras(keras):
    from keras.src.initializers.random_initializers import compute_fans as keras_fans

    from initcli.fans import compute_fans

    for shape in (*SHAPES, (1, 1, 1, 1, 1, 1)):
        assert compute_fans(shape) == keras_fans(shape), shape
    assert compute_fans((4, 5, 6), [0, 1], [2]) == keras_fans((4, 5, 6), [0, 1], [2])
    assert compute_fans((4, 5, 6), [-1], [0]) == keras_fans((4, 5, 6), [-1], [0])
