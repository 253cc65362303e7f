"""A misspelled layer class or initializer is an error suggesting the name meant.

In ``initcli batch`` a class initcli does not know is taken as the user's own (its weights keep the
config's order), so a misspelling (``dense``, ``Conv2d``, ``BatchNormalisation``, ``LSTMcell``)
used to write a file whose groups or weight order Keras does not expect.  A near miss of a known
class (same letters ignoring case and underscores, or a close match) is now refused with the class
meant; a name far from every class (``X``, ``MyBlock``) is still a class of the user's own.
``initcli model``'s "not supported" error, and those of the wrappers and RNN cells, suggest the
class as well; a misspelled initializer name suggests the initializer.
"""

from __future__ import annotations

import json

import pytest

from .helpers import run_in_process, run_subprocess


def _batch(class_name: str, initializer: object = "glorot_uniform") -> str:
    weights = {"kernel": {"shape": [4, 2], "initializer": initializer}}
    return json.dumps({"layers": [{"name": "a", "class": class_name, "weights": weights}]})


def _one_line(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initcli: error: "), result.stderr
    assert "Error" not in lines[0] and "Traceback" not in lines[0], lines[0]
    return lines[0]


MISSPELLED = {
    "dense": "Dense",
    "DENSE": "Dense",
    "Conv2d": "Conv2D",
    "conv2d": "Conv2D",
    "BatchNormalisation": "BatchNormalization",
    "batch_normalization": "BatchNormalization",
    "LSTMcell": "LSTMCell",
    "Embeding": "Embedding",
    "MultiheadAttention": "MultiHeadAttention",
    "LayerNormalisation": "LayerNormalization",
    "Conv2dTranspose": "Conv2DTranspose",
    "Maxpooling2D": "MaxPooling2D",
    "SeperableConv2D": "SeparableConv2D",
}


@pytest.mark.parametrize("misspelled", list(MISSPELLED))
def test_batch_refuses_a_misspelled_class_with_a_suggestion(tmp_path, misspelled):
    (tmp_path / "c.json").write_text(_batch(misspelled))
    line = _one_line(run_in_process(["batch", "c.json", "--seed", "1", "-o", "o.weights.h5"], tmp_path))
    assert f"layers[0]: class {misspelled!r}" in line and f"did you mean {MISSPELLED[misspelled]!r}?" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


@pytest.mark.parametrize("custom", ["X", "MyBlock", "MyDense", "ResidualUnit", "Dense"])
def test_batch_still_takes_classes_of_the_users_own(tmp_path, custom):
    (tmp_path / "c.json").write_text(_batch(custom))
    result = run_in_process(["batch", "c.json", "--seed", "1", "-o", "o.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr


INITIALIZERS = {
    "he_normall": "he_normal",
    "glorot_unifrom": "glorot_uniform",
    "Zeroes": "Zeros",
    "orthogonl": "orthogonal",
}


@pytest.mark.parametrize("misspelled", list(INITIALIZERS))
def test_batch_refuses_a_misspelled_initializer_with_a_suggestion(tmp_path, misspelled):
    (tmp_path / "c.json").write_text(_batch("Dense", misspelled))
    line = _one_line(run_in_process(["batch", "c.json", "--seed", "1", "-o", "o.weights.h5"], tmp_path))
    assert f"unknown initializer {misspelled!r}; did you mean {INITIALIZERS[misspelled]!r}?" in line


def test_batch_refuses_a_misspelled_initializer_class_in_a_config(tmp_path):
    (tmp_path / "c.json").write_text(_batch("Dense", {"class_name": "GlorotUnifrom", "config": {"seed": 1}}))
    line = _one_line(run_in_process(["batch", "c.json", "--seed", "1", "-o", "o.weights.h5"], tmp_path))
    assert "did you mean 'GlorotUniform'?" in line


def test_batch_misspelling_through_a_real_process(tmp_path):
    (tmp_path / "c.yaml").write_text("layers:\n  - {name: bn, class: BatchNormalisation}\n")
    line = _one_line(run_subprocess(["batch", "c.yaml", "--seed", "1", "-o", "o.weights.h5"], tmp_path))
    assert "c.yaml: layers[0]: class 'BatchNormalisation'" in line and "did you mean 'BatchNormalization'?" in line
    assert not (tmp_path / "o.weights.h5").exists()


@pytest.fixture(scope="module")
def model_config(keras):
    """A Keras 3 Sequential: Dense, TimeDistributed(Dense), RNN(LSTMCell), with seeded initializers."""
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((5, 3)),
            layers.Dense(4, name="dense_a"),
            layers.TimeDistributed(layers.Dense(2), name="wrapped"),
            layers.RNN(layers.LSTMCell(3), name="rnn"),
        ]
    )
    return json.loads(model.to_json())


def _set(config, index, path, value):
    target = config["config"]["layers"][index]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


MODEL_CASES = {
    "Dense as dense": (1, ("class_name",), "dense", ["'dense_a'", "class 'dense'", "did you mean 'Dense'?"]),
    "Dense as Dens": (1, ("class_name",), "Dens", ["class 'Dens'", "did you mean 'Dense'?"]),
    "TimeDistributed(dense)": (
        2,
        ("config", "layer", "class_name"),
        "dense",
        ["'wrapped'", "wrapping 'dense'", "did you mean 'Dense'?"],
    ),
    "RNN(LSTMcell)": (3, ("config", "cell", "class_name"), "LSTMcell", ["'rnn'", "'LSTMcell'", "'LSTMCell'?"]),
    "initializer GlorotUnifrom": (
        1,
        ("config", "kernel_initializer", "class_name"),
        "GlorotUnifrom",
        ["kernel_initializer", "did you mean 'GlorotUniform'?"],
    ),
}


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_model_suggests_the_class_meant(model_config, tmp_path, case):
    index, path, value, words = MODEL_CASES[case]
    config = json.loads(json.dumps(model_config))
    _set(config, index, path, value)
    (tmp_path / "m.json").write_text(json.dumps(config))
    line = _one_line(run_in_process(["model", "m.json", "--seed", "1", "-o", "o.keras"], tmp_path))
    for word in words:
        assert word in line, (word, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_model_names_a_custom_class_without_a_suggestion(model_config, tmp_path):
    config = json.loads(json.dumps(model_config))
    _set(config, 1, ("class_name",), "MyBlock")
    (tmp_path / "m.json").write_text(json.dumps(config))
    line = _one_line(run_in_process(["model", "m.json", "--dry-run"], tmp_path))
    assert "class 'MyBlock' is not supported" in line and "did you mean" not in line
