"""The Python initializer API against real Keras 3.15.1 (numpy backend): ``Constant`` with an
array value, ``initcli.get`` on everything ``keras.initializers.get`` takes, and
``initcli.SeedGenerator`` (and Keras's own generators) giving Keras's ``i``-th draw on call ``i``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import initcli
from initcli import InvalidArgument
from initcli.initializers import Constant, FromArray, FromCallable, deserialize, get, serialize
from initcli.seed_generator import KerasSeedGenerator, SeedGenerator

# --- 1. Constant with an array value ------------------------------------------------------

ARRAYS = [
    np.array([[1.0, 2.0], [3.0, 4.0]]),  # float64
    np.array([0.1, 0.2, 0.3], dtype=np.float32),
    np.array([1, -2, 3], dtype=np.int32),
    np.array([[7]], dtype=np.int64),
    np.float32(2.5),  # a NumPy scalar: also serialized as a tensor by Keras's numpy backend
    np.float64(0.1),
]


@pytest.mark.parametrize("value", ARRAYS, ids=lambda a: f"{np.asarray(a).dtype}{np.shape(a)}")
def test_constant_array_config_is_keras_config(keras, value):
    ours, theirs = Constant(value), keras.initializers.Constant(value)
    assert ours.get_config() == theirs.get_config()
    assert serialize(ours) == keras.saving.serialize_keras_object(theirs)
    assert json.dumps(serialize(ours)) == json.dumps(keras.initializers.serialize(theirs))


@pytest.mark.parametrize("value", ARRAYS, ids=lambda a: f"{np.asarray(a).dtype}{np.shape(a)}")
@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int32"])
def test_constant_array_from_keras_config_writes_keras_values(keras, value, dtype):
    shape = (3, *np.shape(value)) if np.ndim(value) else (2, 3)
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(keras.initializers.Constant(value))))
    expected = np.asarray(keras.initializers.deserialize(config)(shape, dtype=dtype))
    ours = deserialize(config)
    got = ours(shape, dtype=dtype)
    assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()
    assert serialize(ours) == config  # the round trip keeps Keras's form


def test_constant_float32_array_is_not_rounded_twice(keras):
    """A float32 array cast to float16 goes through float32, as in Keras (not straight from the JSON's float64)."""
    config = keras.saving.serialize_keras_object(keras.initializers.Constant(np.array([0.1, 1 / 3], np.float32)))
    expected = np.asarray(keras.initializers.deserialize(config)((2,), dtype="float16"))
    assert deserialize(config)((2,), dtype="float16").tobytes() == expected.tobytes()


def test_constant_array_in_a_layer_config(keras):
    """The config a Keras layer writes for a Constant array kernel reads into the same values."""
    dense = keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant(np.arange(6.0).reshape(3, 2)))
    dense.build((None, 3))
    config = json.loads(json.dumps(dense.get_config()["kernel_initializer"]))
    assert get(config)((3, 2)).tobytes() == np.asarray(dense.kernel).tobytes()


@pytest.mark.parametrize(
    "value, wording",
    [
        ({"class_name": "__tensor__", "config": {"value": [1, 2], "dtype": "string"}}, "not a numeric dtype"),
        ({"class_name": "__tensor__", "config": {"value": [1, 2], "dtype": "complex64"}}, "not a numeric dtype"),
        ({"class_name": "__tensor__", "config": {"value": [1, 2]}}, "not a numeric dtype"),
        ({"class_name": "__tensor__", "config": {"value": [[1], [2, 3]], "dtype": "float32"}}, "not a number"),
        ({"class_name": "__tensor__", "config": {"value": ["a"], "dtype": "float32"}}, "not a number"),
        ({"class_name": "__tensor__", "config": {"value": [1e39], "dtype": "float32"}}, "does not fit"),
        ({"class_name": "__tensor__", "config": {"value": [300], "dtype": "uint8"}}, "does not fit"),
        ({"class_name": "__tensor__", "config": "x"}, "serialized array"),
        ({"class_name": "__lambda__", "config": {"value": "..."}}, "serialized array"),
        ([[1], [2, 3]], "not a number"),
    ],
)
def test_bad_constant_values_are_refused_in_one_line(value, wording):
    with pytest.raises(InvalidArgument, match=wording) as caught:
        deserialize({"class_name": "Constant", "config": {"value": value}})
    assert "\n" not in str(caught.value)


# --- 2. get() accepts what keras.initializers.get accepts ---------------------------------

SEEDED_CONFIGS = [
    {"class_name": "GlorotUniform", "config": {"seed": 3}},  # Keras 2 form: no module
    {"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_in", "distribution": "normal", "seed": 4}},
    {"class_name": "RandomNormal", "config": {"mean": 0.5, "stddev": 2.0, "seed": 5}},
    {"class_name": "Orthogonal", "config": {"gain": 1.5, "seed": 6}},
    {"class_name": "Constant", "config": {"value": [1.0, 2.0]}},
    {"module": "keras.initializers", "class_name": "HeNormal", "config": {"seed": 7}, "registered_name": None},
    {"class_name": "normal", "config": {"seed": 8}},  # an alias as class_name
]


@pytest.mark.parametrize("config", SEEDED_CONFIGS, ids=lambda c: c["class_name"])
def test_get_config_dicts_like_keras(keras, config):
    theirs = keras.initializers.get(dict(config))
    ours = get(dict(config))
    assert serialize(ours) == keras.initializers.serialize(theirs)
    assert ours((4, 2)).tobytes() == np.asarray(theirs((4, 2))).tobytes()


@pytest.mark.parametrize(
    "name",
    [
        "glorot_normal",
        "GlorotNormal",
        "normal",
        "uniform",
        "zero",
        "one",
        "IdentityInitializer",
        "OrthogonalInitializer",
        "STFTInitializer",
        "lecun_uniform",
    ],
)
def test_get_names_like_keras(keras, name):
    assert type(get(name)).__name__ == type(keras.initializers.get(name)).__name__


def test_get_instance_and_class():
    instance = initcli.HeUniform(seed=1)
    assert get(instance) is instance
    assert type(get(initcli.HeUniform)) is initcli.HeUniform
    assert get(None) is None


@pytest.mark.parametrize("make", [np.ones, lambda s: np.arange(np.prod(s), dtype=np.float32).reshape(s)])
def test_get_array_gives_its_values_for_its_shape(keras, make):
    array = make((3, 2)) * 1.5
    theirs = keras.initializers.get(array)
    ours = get(array)
    assert isinstance(ours, FromArray)
    for dtype in ("float32", "float16", "int32"):
        assert ours((3, 2), dtype=dtype).tobytes() == np.asarray(theirs((3, 2), dtype=dtype)).tobytes()
    with pytest.raises(ValueError, match=r"Expected `shape` to be \(3, 2\)"):
        theirs((2, 3))
    with pytest.raises(InvalidArgument, match=r"Expected `shape` to be \(3, 2\).*not \(2, 3\)"):
        ours((2, 3))
    # it serializes as the Constant that gives the same values (Keras can load that)
    revived = keras.initializers.deserialize(serialize(ours))
    assert np.asarray(revived((3, 2))).tobytes() == ours((3, 2)).tobytes()


def test_get_backend_tensor(keras):
    tensor = keras.random.uniform((2, 2), seed=1)
    assert get(tensor)((2, 2)).tobytes() == np.asarray(keras.initializers.get(tensor)((2, 2))).tobytes()


def test_get_callable(keras):
    def halves(shape, dtype=None):
        return np.full(shape, 0.5, dtype=dtype)

    assert keras.initializers.get(halves) is halves
    ours = get(halves)
    assert isinstance(ours, FromCallable)
    assert ours((2, 3), dtype="float16").tobytes() == halves((2, 3), "float16").tobytes()
    assert initcli.sample(ours, (2, 3)).tobytes() == halves((2, 3), "float32").tobytes()
    with pytest.raises(InvalidArgument, match="has no config"):
        serialize(ours)

    def wrong_shape(shape, dtype=None):
        return np.zeros((1,))

    with pytest.raises(InvalidArgument, match=r"returned shape \(1,\) for shape \(2, 3\)"):
        get(wrong_shape)((2, 3))

    def infinite(shape, dtype=None):
        return np.full(shape, np.inf, dtype=dtype)

    with pytest.raises(InvalidArgument, match="NaN or beyond"):
        initcli.sample(get(infinite), (2,))


def test_get_keras_initializer_instances(keras):
    """Keras's own initializers become initcli's with the same config and values."""
    cases = [
        keras.initializers.GlorotNormal(seed=1),
        keras.initializers.VarianceScaling(scale=0.5, mode="fan_out", distribution="uniform", seed=2),
        keras.initializers.Constant(np.array([1.0, 2.0], np.float32)),
        keras.initializers.Constant(3),
        keras.initializers.Identity(gain=2.0),  # Keras's config drops the gain: it is read from the object
        keras.initializers.Orthogonal(gain=0.5, seed=9),
        keras.initializers.Zeros(),
    ]
    for theirs in cases:
        ours = get(theirs)
        assert type(ours).__name__ == type(theirs).__name__
        shape = (3, 2) if not isinstance(theirs, keras.initializers.Identity) else (3, 3)
        assert ours(shape).tobytes() == np.asarray(theirs(shape)).tobytes(), theirs
    assert type(get(keras.initializers.HeNormal)).__name__ == "HeNormal"  # a Keras class: instantiated


@pytest.mark.parametrize("bad", [5, 2.5, [1, 2], (3,), b"glorot", True, object(), {"config": {}}])
def test_get_refuses_the_rest_like_keras(keras, bad):
    with pytest.raises(ValueError):
        keras.initializers.get(bad)
    with pytest.raises(InvalidArgument) as caught:
        get(bad)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["typo", "glorot_norml", "Glorot Normal Distribution"])
def test_get_unknown_names_like_keras(keras, name):
    with pytest.raises(ValueError):
        keras.initializers.get(name)
    with pytest.raises(InvalidArgument, match="unknown initializer"):
        get(name)


# --- 3. SeedGenerator ---------------------------------------------------------------------

SEEDED = [
    ("GlorotNormal", {}),
    ("GlorotUniform", {}),
    ("HeNormal", {}),
    ("LecunUniform", {}),
    ("RandomNormal", {"mean": 1.0, "stddev": 0.5}),
    ("RandomUniform", {"minval": -2.0, "maxval": 3.0}),
    ("TruncatedNormal", {"stddev": 0.2}),
    ("VarianceScaling", {"scale": 3.0, "mode": "fan_out", "distribution": "untruncated_normal"}),
    ("Orthogonal", {"gain": 2.0}),
]


@pytest.mark.parametrize("name, config", SEEDED, ids=[n for n, _ in SEEDED])
def test_seed_generator_gives_kerass_ith_draw(keras, name, config):
    theirs = getattr(keras.initializers, name)(seed=keras.random.SeedGenerator(1234), **config)
    ours = getattr(initcli, name)(seed=initcli.SeedGenerator(1234), **config)
    for call in range(5):
        shape, dtype = ((5, 3), "float32") if call % 2 else ((4, 4), "float64")
        expected = np.asarray(theirs(shape, dtype=dtype))
        if name == "Orthogonal":  # Keras returns its float32 values for float64 (initcli: the same values, as float64)
            expected = expected.astype(dtype)
        got = ours(shape, dtype=dtype)
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes(), f"call {call}"
        assert got.tobytes() == ours.sample(shape, dtype, draw=call).tobytes()  # draw i == call i
    assert ours.seed_generator.counter == 5


@pytest.mark.parametrize("name, config", SEEDED[:3] + SEEDED[-1:], ids=lambda x: str(x))
def test_kerass_own_seed_generator_is_accepted_and_shared(keras, name, config):
    """initcli reads and advances a keras.random.SeedGenerator: interleaved calls of a Keras and
    an initcli initializer on ONE generator give what two Keras initializers on it give."""
    reference_gen, shared = keras.random.SeedGenerator(77), keras.random.SeedGenerator(77)
    k1 = getattr(keras.initializers, name)(seed=reference_gen, **config)
    k2 = getattr(keras.initializers, name)(seed=reference_gen, **config)
    keras_side = getattr(keras.initializers, name)(seed=shared, **config)
    ours = getattr(initcli, name)(seed=shared, **config)
    assert isinstance(ours.seed_generator, KerasSeedGenerator) and ours.seed == 77
    for _ in range(3):
        assert np.asarray(keras_side((3, 3))).tobytes() == np.asarray(k1((3, 3))).tobytes()
        assert ours((3, 3)).tobytes() == np.asarray(k2((3, 3))).tobytes()
    assert np.asarray(shared.state.value).tolist() == [77, 6]


def test_seed_generator_shared_by_two_initializers(keras):
    gen_k, gen_i = keras.random.SeedGenerator(5), initcli.SeedGenerator(5)
    ka, kb = keras.initializers.HeNormal(seed=gen_k), keras.initializers.RandomUniform(seed=gen_k)
    ia, ib = initcli.HeNormal(seed=gen_i), initcli.RandomUniform(seed=gen_i)
    for k, i in [(ka, ia), (kb, ib), (kb, ib), (ka, ia)]:
        assert i((6, 2)).tobytes() == np.asarray(k((6, 2))).tobytes()


def test_integer_seed_repeats_generator_seed_advances(keras):
    fixed = initcli.GlorotNormal(seed=3)
    assert fixed((2, 2)).tobytes() == fixed((2, 2)).tobytes()
    moving = initcli.GlorotNormal(seed=initcli.SeedGenerator(3))
    first, second = moving((2, 2)), moving((2, 2))
    assert first.tobytes() == fixed((2, 2)).tobytes()  # draw 0 is the integer seed's tensor
    assert first.tobytes() != second.tobytes()


def test_seed_generator_configs_are_kerass(keras):
    ours = initcli.RandomNormal(seed=initcli.SeedGenerator(1337, name="seed_generator"))
    theirs = keras.initializers.RandomNormal(seed=keras.random.SeedGenerator(1337, name="seed_generator"))
    assert serialize(ours) == keras.initializers.serialize(theirs)
    # Keras's config (a serialized generator) revives in both with a fresh generator at draw 0
    config = json.loads(json.dumps(keras.initializers.serialize(theirs)))
    revived_k, revived_i = keras.initializers.deserialize(config), deserialize(config)
    assert isinstance(revived_i.seed_generator, SeedGenerator) and revived_i.seed_generator.counter == 0
    for _ in range(2):
        assert revived_i((3, 2)).tobytes() == np.asarray(revived_k((3, 2))).tobytes()
    # a Keras generator's config is read as well
    assert serialize(initcli.RandomNormal(seed=keras.random.SeedGenerator(9, name="g")))["config"]["seed"] == {
        "module": "keras.random",
        "class_name": "SeedGenerator",
        "config": {"seed": 9, "name": "g"},
        "registered_name": None,
    }


def test_unseeded_generator_draws_a_seed_and_clone_starts_over():
    gen = initcli.SeedGenerator()
    assert 1 <= gen.seed <= 10**9 and gen.get_config()["seed"] is None
    init = initcli.LecunNormal(seed=initcli.SeedGenerator(11))
    first = init((3, 3))
    init((3, 3))
    assert init.clone()((3, 3)).tobytes() == first.tobytes()  # a clone's generator is new, at draw 0


def test_failed_call_does_not_take_a_draw():
    init = initcli.Orthogonal(seed=initcli.SeedGenerator(2))
    with pytest.raises(InvalidArgument):
        init((3,))  # Orthogonal needs rank >= 2
    assert init.seed_generator.counter == 0


@pytest.mark.parametrize(
    "bad, wording",
    [
        (1.5, "not an integer or a SeedGenerator"),
        ("7", "not an integer or a SeedGenerator"),
        (True, "not an integer or a SeedGenerator"),
        (-1, "out of range"),
        (2**32, "out of range"),
        ({"class_name": "SeedGenerator", "config": {"seed": "x"}}, "not an integer"),
        ({"class_name": "SeedGenerator", "config": {"seed": 1, "colour": 2}}, "not valid"),
        ({"class_name": "SeedGenerator", "module": "evil.module", "config": {"seed": 1}}, "from module"),
    ],
)
def test_bad_seeds_are_refused_in_one_line(bad, wording):
    with pytest.raises(InvalidArgument, match=wording) as caught:
        initcli.GlorotNormal(seed=bad)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("bad", [-1, 2**32, 1.0, "1"])
def test_bad_seed_generator_seeds(bad):
    with pytest.raises(InvalidArgument):
        initcli.SeedGenerator(bad)


def test_seed_generator_without_importing_keras():
    """``initcli.SeedGenerator`` and the Keras-generator check never import Keras."""
    code = (
        "import sys, initcli\n"
        "init = initcli.GlorotNormal(seed=initcli.SeedGenerator(1))\n"
        "init((2, 2)); init((2, 2))\n"
        "initcli.get(lambda shape, dtype=None: None)\n"
        "assert init.seed_generator.counter == 2\n"
        "assert not any(m == 'keras' or m.startswith('keras.') for m in sys.modules), 'keras imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_constant_array_kernels_of_a_keras_model_config(keras, tmp_path):
    """A model whose Dense layer Keras serializes with Constant array initializers (float64 and
    int32 ``__tensor__`` values): ``initcli model`` writes Keras's weights, and verify agrees."""
    from tests.helpers import run_in_process

    kernel = np.arange(6.0).reshape(3, 2) / 7
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(
                2,
                name="d",
                kernel_initializer=keras.initializers.Constant(kernel),
                bias_initializer=keras.initializers.Constant(np.array([1, 2], dtype=np.int32)),
            ),
        ]
    )
    (tmp_path / "model.json").write_text(model.to_json())
    result = run_in_process(["model", "model.json", "--seed", "1", "-o", "w.npz"], tmp_path)
    assert result.exit_code == 0, result.stderr
    with np.load(tmp_path / "w.npz") as written:
        assert written["d/kernel"].tobytes() == np.asarray(model.layers[0].kernel).tobytes()
        assert written["d/bias"].tobytes() == np.asarray(model.layers[0].bias).tobytes()
    verified = run_in_process(["verify", "w.npz"], tmp_path)
    out = verified.stdout.decode()
    assert verified.exit_code == 0 and "2 identical, 0 different" in verified.stderr, out + verified.stderr


def test_unseeded_keras_initializer_keeps_the_seed_keras_drew(keras):
    theirs = keras.initializers.GlorotUniform()
    ours = get(theirs)
    assert ours.get_config()["seed"] is None
    assert ours((4, 3)).tobytes() == np.asarray(theirs((4, 3))).tobytes()


def _seed_generator_model(keras, seeds):
    return keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(
                4,
                name="d",
                kernel_initializer=keras.initializers.GlorotNormal(seed=keras.random.SeedGenerator(seeds[0])),
            ),
            keras.layers.Dense(
                2,
                name="e",
                kernel_initializer=keras.initializers.RandomUniform(seed=keras.random.SeedGenerator(seeds[1])),
            ),
        ]
    )


def test_model_config_with_seed_generator_seeds(keras, tmp_path):
    """Keras 3 writes a generator seed as a serialized SeedGenerator; the model Keras rebuilds from
    that config (each layer a fresh generator, draw 0) is what initcli model writes."""
    from tests.helpers import run_in_process

    config = _seed_generator_model(keras, (3, 4)).to_json()
    (tmp_path / "model.json").write_text(config)
    rebuilt = keras.models.model_from_json(config)
    result = run_in_process(["model", "model.json", "--seed", "1", "-o", "w.npz"], tmp_path)
    assert result.exit_code == 0, result.stderr
    with np.load(tmp_path / "w.npz") as written:
        assert written["d/kernel"].tobytes() == np.asarray(rebuilt.layers[0].kernel).tobytes()
        assert written["e/kernel"].tobytes() == np.asarray(rebuilt.layers[1].kernel).tobytes()


def test_model_config_with_unseeded_seed_generators_is_reproducible(keras, tmp_path):
    """An unseeded generator (``seed`` None in its config) counts as unseeded: the weights' seeds
    are derived from --seed, so two runs write the same file."""
    from tests.helpers import run_in_process

    (tmp_path / "model.json").write_text(_seed_generator_model(keras, (None, None)).to_json())
    for name in ("a.npz", "b.npz"):
        result = run_in_process(["model", "model.json", "--seed", "1", "-o", name], tmp_path)
        assert result.exit_code == 0, result.stderr
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert all(a[k].tobytes() == b[k].tobytes() for k in ("d/kernel", "e/kernel"))


def test_keras_initializer_with_a_shared_generator_stays_shared(keras):
    shared, reference = keras.random.SeedGenerator(31), keras.random.SeedGenerator(31)
    theirs = keras.initializers.HeNormal(seed=shared)
    ours = get(theirs)
    expected = [np.asarray(keras.initializers.HeNormal(seed=reference)((3, 2))) for _ in range(3)]
    assert ours((3, 2)).tobytes() == expected[0].tobytes()
    assert np.asarray(theirs((3, 2))).tobytes() == expected[1].tobytes()  # Keras's side saw initcli's draw
    assert ours((3, 2)).tobytes() == expected[2].tobytes()


class _Unbuildable:
    def __init__(self):
        raise RuntimeError("no")


class _HasBadArray:
    shape = (2,)
    dtype = "float32"

    def __array__(self, *args, **kwargs):
        raise ValueError("cannot")


@pytest.mark.parametrize(
    "bad, wording",
    [
        (_Unbuildable, "could not instantiate initializer class _Unbuildable"),
        (_HasBadArray(), "could not read initializer array"),
        (np.array(["a", "b"]), "not a number"),
        (np.array([1, None], dtype=object), "not a number"),
        (np.array([np.nan]), "not finite"),
        (int, "could not interpret"),  # a class whose instance is no initializer
    ],
    ids=["class-raises", "bad-__array__", "strings", "objects", "nan", "int-class"],
)
def test_get_hostile_identifiers(bad, wording):
    with pytest.raises(InvalidArgument, match=wording) as caught:
        get(bad)
    assert "\n" not in str(caught.value)


def test_array_initializer_refuses_values_beyond_the_dtype():
    with pytest.raises(InvalidArgument, match="does not fit float16"):
        get(np.array([1e6]))((1,), dtype="float16")


@pytest.mark.parametrize(
    "config",
    [
        {"class_name": "GlorotUniform", "config": {"seed": 1, "dtype": "float32"}},
        {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.05, "seed": 2, "dtype": "float32"}},
        {"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_in", "seed": 3, "dtype": "float64"}},
        {"class_name": "Zeros", "config": {"dtype": "float32"}},
        {"class_name": "Constant", "config": {"value": 0.25, "dtype": "float32"}},
    ],
    ids=lambda c: c["class_name"],
)
def test_tf1_keras_configs_with_a_dtype(keras, config):
    """tf.keras on TensorFlow 1 wrote the initializer's call dtype into its config (Keras 2 form):
    it is left out, giving the initializer the same config without it gives (Keras 3 refuses it,
    except for Constant, whose from_config ignores it)."""
    without = {
        "class_name": config["class_name"],
        "config": {k: v for k, v in config["config"].items() if k != "dtype"},
    }
    assert get(config)((3, 2)).tobytes() == np.asarray(keras.initializers.get(without)((3, 2))).tobytes()


@pytest.mark.parametrize(
    "config, wording",
    [
        ({"class_name": "HeNormal", "config": {"seed": 1, "dtype": "int32"}}, "not a float dtype"),
        ({"class_name": "HeNormal", "config": {"seed": 1, "dtype": ["x"]}}, "not a float dtype"),
        ({"module": "keras.initializers", "class_name": "HeNormal", "config": {"dtype": "float32"}}, "does not take"),
    ],
)
def test_dtype_in_initializer_configs_refused_where_it_means_nothing(config, wording):
    with pytest.raises(InvalidArgument, match=wording):
        get(config)


def test_ml_dtypes_is_imported_only_for_bfloat16(tmp_path):
    """Importing ``ml_dtypes`` costs more than the rest of start-up (0.6-0.8 s of CPU for 0.7), so
    nothing but bfloat16 imports it: every module of the package, draws on every backend, and
    the CLI writing and reading ``.npy`` and ``.weights.h5``; then a bfloat16 draw does."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import initcli\n"
        "from click.testing import CliRunner\n"
        "from initcli.cli import cli\n"
        "for info in pkgutil.walk_packages(initcli.__path__, 'initcli.'):\n"
        "    if not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "for backend in ('numpy', 'jax', 'tensorflow', 'torch'):\n"
        "    for name in ('glorot_uniform', 'he_normal', 'random_normal', 'orthogonal'):\n"
        "        initcli.sample(name, (4, 4), seed=1, backend=backend, dtype='float16')\n"
        "runner = CliRunner()\n"
        "for args in (['glorot_normal', '-s', '3,2', '--seed', '1', '-o', 'w.npy'],\n"
        "             ['glorot_normal', '-s', '3,2', '--seed', '1', '-o', 'w.weights.h5', '--path', 'd/vars/0'],\n"
        "             ['inspect', 'w.npy'], ['verify', 'w.weights.h5']):\n"
        "    result = runner.invoke(cli, args)\n"
        "    assert result.exit_code == 0, (args, result.output)\n"
        "assert 'ml_dtypes' not in sys.modules, 'ml_dtypes imported without bfloat16'\n"
        "initcli.sample('glorot_uniform', (4, 4), seed=1, dtype='bfloat16')\n"
        "assert 'ml_dtypes' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
