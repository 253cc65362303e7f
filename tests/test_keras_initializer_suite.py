"""What Keras 3.15's own initializer tests (``keras/src/initializers/*_test.py``) check, asked of
initcli in our own words: values and statistics, config round trips (our own and through Keras's
serializer, with :func:`initcli.initializers.custom_objects`), aliases, ``get`` on names, ``None``
and arrays, seed behaviour (integer, ``None``, seed generators, clones), fans with axes and
invalid arguments.  Where Keras's tests only look at statistics we also ask for Keras's bytes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.signal

import initcli
from initcli import InvalidArgument
from initcli.fans import compute_fans
from initcli.initializers import custom_objects, get


def _same_bytes(ours: np.ndarray, theirs) -> bool:
    theirs = np.asarray(theirs)
    return ours.dtype == theirs.dtype and ours.tobytes() == theirs.tobytes()


def round_trips(keras, instance):
    """Both round trips Keras's suite asks of an initializer: ``from_config(get_config())`` and
    Keras's ``serialize_keras_object`` / ``deserialize_keras_object`` through JSON; each revived
    instance has the same class, config and attribute names.  Returns the Keras-revived one."""
    config_json = json.dumps(instance.get_config(), sort_keys=True)
    revived = type(instance).from_config(instance.get_config())
    assert type(revived) is type(instance)
    assert json.dumps(revived.get_config(), sort_keys=True) == config_json
    assert set(dir(revived)) == set(dir(instance))
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(instance)))
    with keras.saving.custom_object_scope(custom_objects()):
        through_keras = keras.saving.deserialize_keras_object(serialized)
    assert type(through_keras) is type(instance)
    assert json.dumps(through_keras.get_config(), sort_keys=True) == config_json
    assert set(dir(through_keras)) == set(dir(instance))
    return through_keras


# --- constant initializers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: initcli.Zeros(), np.zeros((3, 3))),
        (lambda: initcli.Ones(), np.ones((3, 3))),
        (lambda: initcli.Constant(value=6.0), np.full((3, 3), 6.0)),
        (lambda: initcli.Constant(value=np.arange(9.0).reshape(3, 3) / 7), np.arange(9.0).reshape(3, 3) / 7),
        (lambda: initcli.Identity(gain=2), 2 * np.eye(3)),
    ],
    ids=["zeros", "ones", "constant", "constant-array", "identity"],
)
def test_constant_family_values_and_round_trips(keras, make, expected):
    instance = make()
    values = instance((3, 3))
    assert values.shape == (3, 3)
    assert values.tobytes() == expected.astype(np.float32).tobytes()
    revived = round_trips(keras, instance)
    assert revived((3, 3)).tobytes() == values.tobytes()


def test_constant_array_keras_bytes(keras):
    value = np.random.default_rng(0).random((3, 3))
    assert _same_bytes(initcli.Constant(value)((3, 3)), keras.initializers.Constant(value)((3, 3)))


def test_aliases_of_keras_compatibility_names():
    assert isinstance(get("IdentityInitializer"), initcli.Identity)
    assert isinstance(get("STFTInitializer"), initcli.STFT)
    assert isinstance(get("OrthogonalInitializer"), initcli.Orthogonal)


def _stft_grid():
    time = np.arange(256).reshape((-1, 1, 1))
    freq = (np.arange(513) / 1024.0).reshape((1, 1, -1))
    return -2 * np.arccos(np.float32(-1)) * time * freq


@pytest.mark.parametrize(
    "args, expected",
    [
        (("real", None), lambda a: np.cos(a)),
        (
            ("real", "hamming", None, True),
            lambda a: np.cos(a) * scipy.signal.get_window("hamming", 256, True).astype("float32").reshape(-1, 1, 1),
        ),
        (
            ("imag", "tukey", "density", False),
            lambda a: (
                np.sin(a)
                * (w := scipy.signal.get_window("tukey", 256, False).astype("float32").reshape(-1, 1, 1))
                / np.sqrt(np.sum(w**2))
            ),
        ),
        (
            ("imag", list(range(1, 257)), "spectrum"),
            lambda a: np.sin(a) * (w := np.arange(1, 257).astype("float32").reshape(-1, 1, 1)) / np.sum(w),
        ),
    ],
    ids=["real", "hamming", "tukey-density", "list-spectrum"],
)
def test_stft_matches_its_formula_and_keras(keras, args, expected):
    shape = (256, 1, 513)
    ours = initcli.STFT(*args)
    values = ours(shape, "float32")
    np.testing.assert_allclose(values, expected(_stft_grid()), atol=1e-4, rtol=1e-6)
    assert _same_bytes(values, keras.initializers.STFT(*args)(shape, "float32"))
    round_trips(keras, ours)


@pytest.mark.parametrize("kwargs", [{"side": "imaginary"}, {"scaling": "l2"}, {"window": "unknown"}])
def test_stft_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        initcli.STFT(**({"side": "real"} | kwargs))


# --- random initializers -----------------------------------------------------------------


def test_random_normal_attributes_statistics_and_seeds(keras):
    shape = (25, 20)
    instance = initcli.RandomNormal(mean=0.0, stddev=1.0, seed=1234)
    values = instance(shape)
    assert (instance.mean, instance.stddev, instance.seed) == (0.0, 1.0, 1234)
    assert values.shape == shape and abs(np.std(values) - 1.0) < 0.1
    assert _same_bytes(values, keras.initializers.RandomNormal(mean=0.0, stddev=1.0, seed=1234)(shape))
    round_trips(keras, instance)
    # an integer seed repeats; a seed generator moves on
    fixed = initcli.RandomNormal(stddev=1.0, seed=1337)
    assert fixed(shape).tobytes() == fixed(shape).tobytes()
    for generator in (initcli.SeedGenerator(1337), keras.random.SeedGenerator(1337)):
        moving = initcli.RandomNormal(stddev=1.0, seed=generator)
        assert not np.allclose(moving(shape), moving(shape))
    # a clone of an unseeded initializer draws a new seed; of a seeded one, the same values
    unseeded = initcli.RandomNormal(stddev=1.0)
    assert not np.allclose(unseeded(shape), initcli.RandomNormal.from_config(unseeded.get_config())(shape))
    assert fixed(shape).tobytes() == initcli.RandomNormal.from_config(fixed.get_config())(shape).tobytes()


def test_random_uniform_range(keras):
    instance = initcli.RandomUniform(minval=-1.0, maxval=1.0, seed=1234)
    values = instance((5, 5))
    assert (instance.minval, instance.maxval, instance.seed) == (-1.0, 1.0, 1234)
    assert values.min() >= -1.0 and values.max() < 1.0
    assert _same_bytes(values, keras.initializers.RandomUniform(minval=-1.0, maxval=1.0, seed=1234)((5, 5)))
    round_trips(keras, instance)


@pytest.mark.parametrize("mode, n", [("fan_in", 25), ("fan_out", 20)])
def test_variance_scaling_std(keras, mode, n):
    instance = initcli.VarianceScaling(scale=2.0, seed=1234, mode=mode)
    values = instance((25, 20))
    assert (instance.scale, instance.seed) == (2.0, 1234)
    assert abs(np.std(values) - np.sqrt(2.0 / n)) < 0.1
    assert _same_bytes(values, keras.initializers.VarianceScaling(scale=2.0, seed=1234, mode=mode)((25, 20)))
    round_trips(keras, instance)


def test_orthogonal_columns(keras):
    instance = initcli.Orthogonal(gain=2.0, seed=1234)
    array = instance((5, 5))
    assert (instance.seed, instance.gain) == (1234, 2.0)
    np.testing.assert_allclose(np.linalg.norm(array, axis=0), 2.0, rtol=1e-6)
    gram = array.T @ array
    np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0.0, atol=1e-5)
    assert _same_bytes(array, keras.initializers.Orthogonal(gain=2.0, seed=1234)((5, 5)))
    round_trips(keras, instance)


def test_get_names_none_and_typos():
    assert isinstance(get("glorot_normal"), initcli.GlorotNormal)
    assert get(None) is None
    with pytest.raises(ValueError):
        get("typo")


def test_get_with_a_tensor(keras):
    shape = (5, 5)
    for tensor in (keras.random.uniform(shape=shape, seed=3), np.random.default_rng(1).uniform(size=shape)):
        initializer = get(tensor)
        np.testing.assert_allclose(initializer(shape), np.asarray(tensor).astype(np.float32))
        with pytest.raises(ValueError):
            initializer((10, 10))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale": -1.0, "mode": "fan_in"},
        {"scale": 0.0, "mode": "fan_in"},
        {"scale": 2.0, "mode": "invalid_mode"},
        {"scale": 2.0, "mode": "fan_in", "distribution": "invalid_dist"},
    ],
)
def test_variance_scaling_invalid_arguments(keras, kwargs):
    with pytest.raises(ValueError):
        keras.initializers.VarianceScaling(seed=1234, **kwargs)
    with pytest.raises(InvalidArgument) as caught:
        initcli.VarianceScaling(seed=1234, **kwargs)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["Orthogonal", "VarianceScaling", "RandomUniform", "RandomNormal"])
@pytest.mark.parametrize("kind", ["initcli", "keras"])
def test_serialization_with_a_seed_generator(keras, name, kind):
    generator = initcli.SeedGenerator() if kind == "initcli" else keras.random.SeedGenerator()
    instance = getattr(initcli, name)(seed=generator)
    revived = round_trips(keras, instance)
    assert revived.get_config()["seed"]["class_name"] == "SeedGenerator"
    # with a seed, the config is one Keras revives into its own initializer, with the same draws
    seeded = getattr(initcli, name)(
        seed=initcli.SeedGenerator(21) if kind == "initcli" else keras.random.SeedGenerator(21)
    )
    keras_revived = keras.initializers.deserialize(json.loads(json.dumps(initcli.initializers.serialize(seeded))))
    fresh = type(seeded).from_config(seeded.get_config())
    for _ in range(2):
        assert fresh((4, 3)).tobytes() == np.asarray(keras_revived((4, 3))).astype(np.float32).tobytes()


def test_compute_fans_with_axes():
    assert compute_fans((512, 8, 64), input_axes=[0], output_axes=[1, 2]) == (512, 512)
    assert compute_fans((512, 8, 64), input_axes=[0, 1], output_axes=[2]) == (512 * 8, 64)


def test_variance_scaling_with_axes(keras):
    shape = (32, 4, 16)
    with_axes = initcli.VarianceScaling(scale=2.0, seed=1234, mode="fan_in", input_axes=[0], output_axes=[1, 2])
    values = with_axes(shape)
    assert abs(np.std(values) - np.sqrt(2.0 / 32)) < 0.1
    keras_values = keras.initializers.VarianceScaling(
        scale=2.0, seed=1234, mode="fan_in", input_axes=[0], output_axes=[1, 2]
    )(shape)
    assert _same_bytes(values, keras_values)
    without = initcli.VarianceScaling(scale=2.0, seed=1234, mode="fan_in")(shape)
    assert abs(np.std(without) - np.sqrt(2.0 / 128)) < 0.1
    round_trips(keras, initcli.VarianceScaling(input_axes=[0], output_axes=[1, 2]))


def test_attention_query_kernel_std(keras):
    """Keras's MultiHeadAttention query kernel (dim, heads, key_dim) with lecun_normal: fan_in is dim."""
    mha = keras.layers.MultiHeadAttention(num_heads=8, key_dim=16, kernel_initializer="lecun_normal")
    mha.build((None, 10, 32), (None, 10, 32))
    kernel_config = mha.query_dense.get_config()["kernel_initializer"]
    ours = initcli.LecunNormal(seed=1, input_axes=[0], output_axes=[1, 2])((32, 8, 16))
    assert abs(np.std(ours) - np.sqrt(1.0 / 32)) < 0.1
    assert kernel_config["class_name"] == "LecunNormal"
    assert abs(np.std(np.asarray(mha.query_dense.kernel)) - np.std(ours)) < 0.05
