"""The recurrent cells called by themselves in a Functional model (``cell(x, states)``).

Keras 3 lets a Functional model call ``LSTMCell``, ``GRUCell``, ``SimpleRNNCell`` or
``StackedRNNCells`` directly and saves and loads such a model; each cell builds the weights it
builds inside ``RNN``, in its own group (a stack's under ``cells/<class>``).  initcli's files
for these models have Keras's own ``.weights.h5`` layout and load, in all three layouts, with every
weight equal to Keras's for the seeds in the config.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from .helpers import constant_weight, h5_datasets, run_in_process


def _seeded(keras, seed):
    init = keras.initializers
    return {
        "kernel_initializer": init.GlorotUniform(seed=seed),
        "recurrent_initializer": init.Orthogonal(seed=seed + 1),
        "bias_initializer": init.RandomNormal(seed=seed + 2),
    }


def _model(keras, kind):
    layers = keras.layers
    x = keras.Input((4,), name="x")
    if kind == "StackedRNNCells":
        cell = layers.StackedRNNCells(
            [layers.LSTMCell(3, **_seeded(keras, 10)), layers.GRUCell(5, **_seeded(keras, 20))], name="stack"
        )
        states = [[keras.Input((3,)), keras.Input((3,))], [keras.Input((5,))]]
        flat = [state for group in states for state in group]
    else:
        extra = {"reset_after": False} if kind == "GRUCell/reset_after=False" else {}
        cls = getattr(layers, kind.split("/")[0])
        cell = cls(3, name="cell", **_seeded(keras, 1), **extra)
        states = [keras.Input((3,)) for _ in range(2 if cls is layers.LSTMCell else 1)]
        flat = states
    output, _ = cell(x, states)
    dense = layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(seed=7), name="head")
    return keras.Model([x, *flat], dense(output))


KINDS = ["LSTMCell", "GRUCell", "GRUCell/reset_after=False", "SimpleRNNCell", "StackedRNNCells"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_cell_called_by_itself_loads_with_keras_values(keras, tmp_path, kind):
    model = _model(keras, kind)
    text = model.to_json()
    (tmp_path / "m.json").write_text(text)
    reference = keras.models.model_from_json(text)  # seeded: Keras's own initial values
    reference.save_weights(str(tmp_path / "keras.weights.h5"))
    expected = [np.asarray(v) for v in reference.weights]
    for suffix in (".weights.h5", ".keras", ".h5"):
        result = run_in_process(["model", "m.json", "--seed", "2", "-o", f"ours{suffix}"], tmp_path)
        assert result.exit_code == 0, result.stderr
        if suffix == ".keras":
            loaded = keras.models.load_model(str(tmp_path / "ours.keras"))
        else:
            loaded = keras.models.model_from_json(text)
            loaded.load_weights(str(tmp_path / f"ours{suffix}"))
        assert len(loaded.weights) == len(expected)
        for variable, theirs in zip(loaded.weights, expected, strict=True):
            assert np.asarray(variable).tobytes() == theirs.tobytes(), (suffix, variable.path)
    assert h5_datasets(tmp_path / "ours.weights.h5") == h5_datasets(tmp_path / "keras.weights.h5")


@pytest.mark.parametrize("kind", ["LSTMCell", "StackedRNNCells"])
def test_a_cell_plan_names_keras_variable_paths(keras, tmp_path, kind):
    model = _model(keras, kind)
    (tmp_path / "m.json").write_text(model.to_json())
    result = run_in_process(["model", "m.json", "--dry-run", "--json"], tmp_path)
    assert result.exit_code == 0, result.stderr
    paths = [weight["path"] for weight in json.loads(result.stdout)["weights"]]
    assert paths == [variable.path for variable in model.weights]


def test_a_batch_config_puts_a_cells_weights_in_keras_order(keras, tmp_path):
    """A batch config listing a GRUCell's weights in any order: Keras's order in the cell's own group."""
    model = _model(keras, "GRUCell")

    config = {
        "layers": [
            {
                "name": "cell",
                "class": "GRUCell",
                "weights": {
                    "bias": constant_weight(3.0, [2, 9]),
                    "recurrent_kernel": constant_weight(2.0, [3, 9]),
                    "kernel": constant_weight(1.0, [4, 9]),
                },
            },
            {
                "name": "head",
                "class": "Dense",
                "weights": {"kernel": constant_weight(4.0, [3, 2]), "bias": constant_weight(5.0, [2])},
            },
        ]
    }
    (tmp_path / "c.json").write_text(json.dumps(config))
    result = run_in_process(["batch", "c.json", "--seed", "1", "-o", "o.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    model.load_weights(str(tmp_path / "o.weights.h5"))
    values = {variable.path: float(np.asarray(variable).flat[0]) for variable in model.weights}
    assert values == {
        "cell/kernel": 1.0,
        "cell/recurrent_kernel": 2.0,
        "cell/bias": 3.0,
        "head/kernel": 4.0,
        "head/bias": 5.0,
    }
