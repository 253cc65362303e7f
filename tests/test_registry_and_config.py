"""Names, signatures and config round trips against real Keras."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

import initcli.initializers as ours
from initcli.errors import InvalidArgument
from initcli.initializers.registry import KERAS_NAMES, lookup


def test_exactly_keras_string_identifiers(keras):
    from keras.src.initializers import ALL_OBJECTS_DICT

    assert len(ALL_OBJECTS_DICT) == 41
    assert set(KERAS_NAMES) == set(ALL_OBJECTS_DICT)
    for name, keras_cls in ALL_OBJECTS_DICT.items():
        assert lookup(name).__name__ == keras_cls.__name__, name


@pytest.mark.parametrize("cls", ours.BUILTIN_CLASSES, ids=lambda c: c.__name__)
def test_signature_and_defaults_equal_keras(keras, cls):
    theirs = inspect.signature(getattr(keras.initializers, cls.__name__).__init__)
    mine = inspect.signature(cls.__init__)
    assert [(p.name, p.default) for p in mine.parameters.values()] == [
        (p.name, p.default) for p in theirs.parameters.values()
    ]
    # the CLI options are generated from Param records: they must match the signature too
    declared = [(p.name, p.default) for p in list(mine.parameters.values())[1:] if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert [(p.name, p.default) for p in cls.params] == declared


CONFIG_CASES = [
    ("RandomNormal", {"mean": 0.5, "stddev": 2.0, "seed": 3}),
    ("RandomUniform", {"minval": -1.0, "maxval": 2.0, "seed": None}),
    ("TruncatedNormal", {"seed": 2**32 - 1}),
    ("VarianceScaling", {"scale": 2.5, "mode": "fan_avg", "distribution": "NORMAL", "seed": 9}),
    ("VarianceScaling", {"distribution": "uniform", "input_axes": [0], "output_axes": [1, 2]}),
    ("GlorotNormal", {"seed": 1}),
    ("GlorotUniform", {}),
    ("HeNormal", {"seed": 0}),
    ("HeUniform", {"seed": 4}),
    ("LecunNormal", {"seed": 5, "input_axes": [0, 1], "output_axes": [2]}),
    ("LecunUniform", {}),
    ("Orthogonal", {"gain": 2.0, "seed": 6}),
    ("Constant", {"value": 0.25}),
    ("Zeros", {}),
    ("Ones", {}),
    ("STFT", {"side": "imag", "window": "hamming", "scaling": "spectrum", "periodic": True}),
]


@pytest.mark.parametrize("name,kwargs", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_serialize_equals_keras(keras, name, kwargs):
    mine = ours.serialize(getattr(ours, name)(**kwargs))
    theirs = keras.initializers.serialize(getattr(keras.initializers, name)(**kwargs))
    assert mine == theirs
    assert list(mine["config"]) == list(theirs["config"])  # same key order
    assert json.dumps(mine) == json.dumps(theirs)


@pytest.mark.parametrize("name,kwargs", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_configs_round_trip_both_ways(keras, name, kwargs):
    mine = getattr(ours, name)(**kwargs)
    rebuilt = ours.deserialize(ours.serialize(mine))
    assert type(rebuilt) is type(mine) and rebuilt.get_config() == mine.get_config()
    assert type(mine).from_config(mine.get_config()).get_config() == mine.get_config()
    # Keras reads our config, and we read Keras's; seeded ones give the same numbers
    theirs = keras.initializers.deserialize(json.loads(json.dumps(ours.serialize(mine))))
    from_keras = ours.deserialize(keras.initializers.serialize(theirs))
    shape = (8, 1, 5) if name == "STFT" else (6, 4, 3)
    if kwargs.get("seed") is not None or not mine.is_random:
        expected = np.asarray(theirs(shape))
        if name == "STFT":
            expected = expected.astype(np.float32)
        assert from_keras(shape).tobytes() == expected.tobytes()


def test_keras2_and_model_json_forms_are_accepted():
    assert isinstance(ours.deserialize({"class_name": "glorot_uniform", "config": {"seed": 3}}), ours.GlorotUniform)
    model_json_form = {
        "module": "keras.initializers",
        "class_name": "VarianceScaling",
        "config": {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": None},
        "registered_name": None,
    }
    init = ours.deserialize(model_json_form)
    assert (init.scale, init.mode, init.distribution) == (2.0, "fan_in", "truncated_normal")
    assert isinstance(ours.get({"class_name": "OrthogonalInitializer", "config": {"gain": 0.5}}), ours.Orthogonal)


def test_get_accepts_names_dicts_instances_classes_and_none():
    assert ours.get(None) is None
    instance = ours.HeNormal(seed=2)
    assert ours.get(instance) is instance
    assert isinstance(ours.get(ours.Zeros), ours.Zeros)
    assert isinstance(ours.get("he_normal"), ours.HeNormal)
    assert type(ours.get("Initializer")) is ours.Initializer  # as Keras: the abstract base
    with pytest.raises(NotImplementedError):
        ours.get("Initializer")((2, 2))


def test_documented_fixes_of_keras_bugs(keras):
    # Keras: get('constant') raises KeyError: 'value'; we give Constant(0.0)
    with pytest.raises(KeyError):
        keras.initializers.get("constant")
    assert ours.get("constant").value == 0.0
    assert ours.get("Constant")((2,)).tolist() == [0.0, 0.0]
    # Keras: Identity(gain=0.5).get_config() == {}; we keep gain
    assert keras.initializers.Identity(gain=0.5).get_config() == {}
    assert ours.Identity(gain=0.5).get_config() == {"gain": 0.5}
    assert ours.Identity.from_config(ours.Identity(gain=0.5).get_config())((2, 2)).tolist() == [[0.5, 0], [0, 0.5]]


@pytest.mark.parametrize(
    "spelling,expected",
    [
        ("GLOROT_UNIFORM", "GlorotUniform"),
        ("glorot-uniform", "GlorotUniform"),
        ("glorotUniform", "GlorotUniform"),
        ("xavier_normal", "GlorotNormal"),
        ("Xavier-Uniform", "GlorotUniform"),
        ("kaiming_normal", "HeNormal"),
        ("kaiming_uniform", "HeUniform"),
        ("he normal", "HeNormal"),
        ("TRUNCATED_NORMAL", "TruncatedNormal"),
    ],
)
def test_forgiving_spellings(spelling, expected):
    assert lookup(spelling).__name__ == expected


def test_unknown_name_suggests_the_closest():
    with pytest.raises(InvalidArgument, match=r"unknown initializer 'glorot_norml'; did you mean 'glorot_normal'\?"):
        lookup("glorot_norml")
    with pytest.raises(InvalidArgument, match="initcli list"):
        lookup("qqqqqqqq")


def test_register_a_user_initializer():
    @ours.register
    class Halves(ours.Initializer):
        """All 0.5."""

        def __call__(self, shape, dtype=None):
            return np.full(shape, 0.5, dtype=dtype or "float32")

    assert isinstance(ours.get("halves"), Halves)
    assert ours.deserialize({"class_name": "Halves", "config": {}}).sample((2,)).tolist() == [0.5, 0.5]


def test_unseeded_initializer_draws_a_seed_once_like_keras():
    init = ours.GlorotUniform()
    assert 1 <= init.seed <= 10**9
    assert init.get_config()["seed"] is None
    assert np.array_equal(init((4, 4)), init((4, 4)))
    assert init.clone().seed != init.seed or True  # a clone of an unseeded one draws again (may collide)
    seeded = ours.GlorotUniform(seed=5)
    assert seeded.clone().seed == 5
