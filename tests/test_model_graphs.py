"""Functional graphs as Keras 3 saves them: ``keras.ops`` nodes and RNNs called with ``initial_state``.

A ``keras.ops`` call on a symbolic tensor (``x + 3.0``, ``ops.reshape``, the mask
``Embedding(mask_zero=True)`` computes with ``NotEqual``) is saved in the model config as an entry whose
``module`` is ``keras.src.ops.*``; it is an ``Operation``, not a layer, so it has no weights and no
``.weights.h5`` group, though its class name may be a layer's (``Add``, ``Multiply``, ``Reshape``).
An RNN called with ``initial_state=`` records ``build_config.shapes_dict`` (``sequences_shape``,
``initial_state_shape``) instead of ``input_shape``.  Every model here is built by real Keras with
seeded initializers, so each weight initcli writes is compared bit for bit with Keras's own.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from .helpers import h5_datasets, run_in_process, strip_build_configs
from .keras_models import seeded


def ops_after_layers(keras):
    """Hard-swish written with ops (MobileNetV3's form), ops named like layers, then layers of those names."""
    L = keras.layers
    x = keras.Input((6,))
    h = L.Dense(8, kernel_initializer=seeded(keras))(x)
    h = h * L.ReLU(6.0)(h + 3.0) * (1.0 / 6.0)  # ops Add, Multiply, Multiply
    h = keras.ops.reshape(h, (-1, 2, 4))  # ops Reshape
    h = L.Reshape((8,))(h)  # the layer Reshape: group "reshape"
    s = L.Add()([h, h])  # the layer Add: group "add"
    m = L.Multiply()([s, keras.ops.mean(s, axis=-1, keepdims=True)])
    out = L.Dense(3, kernel_initializer=seeded(keras), bias_initializer=seeded(keras, "RandomNormal"))(m)
    return keras.Model(x, out)


def masked_text(keras):
    """``Embedding(mask_zero=True)`` adds a NotEqual op node; the mask flows into the LSTM."""
    L = keras.layers
    tokens = keras.Input((7,), dtype="int32")
    e = L.Embedding(20, 5, mask_zero=True, embeddings_initializer=seeded(keras, "RandomNormal"))(tokens)
    h = L.LSTM(4, kernel_initializer=seeded(keras), recurrent_initializer=seeded(keras, "Orthogonal"))(e)
    h = keras.ops.concatenate([h, keras.ops.square(h)], axis=-1)
    return keras.Model(tokens, L.Dense(2, kernel_initializer=seeded(keras))(h))


def encoder_decoder(keras):
    """The encoder-decoder of every seq2seq example: the decoder starts from the encoder's states."""
    L = keras.layers
    encoder_in = keras.Input((None, 7))
    decoder_in = keras.Input((None, 9))
    _, h, c = L.LSTM(
        6, return_state=True, kernel_initializer=seeded(keras), recurrent_initializer=seeded(keras, "Orthogonal")
    )(encoder_in)
    decoded = L.LSTM(
        6, return_sequences=True, kernel_initializer=seeded(keras), recurrent_initializer=seeded(keras, "Orthogonal")
    )(decoder_in, initial_state=[h, c])
    gru = L.GRU(5, kernel_initializer=seeded(keras), recurrent_initializer=seeded(keras, "Orthogonal"))(
        decoder_in, initial_state=L.Dense(5, kernel_initializer=seeded(keras))(h)
    )
    cell = L.RNN(L.SimpleRNNCell(4, kernel_initializer=seeded(keras), recurrent_initializer=seeded(keras)))(
        encoder_in, initial_state=[L.Dense(4, kernel_initializer=seeded(keras))(c)]
    )
    both = L.Bidirectional(L.LSTM(3, kernel_initializer=seeded(keras), recurrent_initializer=seeded(keras)))(
        decoder_in, initial_state=[L.Dense(3, kernel_initializer=seeded(keras))(h) for _ in range(4)]
    )
    out = L.TimeDistributed(L.Dense(3, kernel_initializer=seeded(keras)))(decoded)
    return keras.Model([encoder_in, decoder_in], [out, gru, cell, both])


MODELS = {"ops_after_layers": ops_after_layers, "masked_text": masked_text, "encoder_decoder": encoder_decoder}


@pytest.fixture(scope="module")
def built(keras, tmp_path_factory):
    """name -> (directory, model JSON, Keras's own initial weights); each model rebuilt from its JSON."""
    out = {}
    for name, build in MODELS.items():
        directory = tmp_path_factory.mktemp(name)
        text = build(keras).to_json()
        (directory / "model.json").write_text(text)
        (directory / "stripped.json").write_text(json.dumps(strip_build_configs(json.loads(text))))
        reference = keras.models.model_from_json(text)
        reference.save_weights(str(directory / "keras.weights.h5"))
        out[name] = (directory, text, [np.asarray(v) for v in reference.weights])
    return out


def test_the_graphs_hold_what_they_test(built):
    ops = {
        name: {e["class_name"] for e in json.loads(text)["config"]["layers"] if e["module"].startswith("keras.src.ops")}
        for name, (_, text, _) in built.items()
    }
    assert {"Add", "Multiply", "Reshape", "Mean"} <= ops["ops_after_layers"]
    assert {"NotEqual", "Concatenate", "Square"} <= ops["masked_text"]
    shapes_dicts = [
        e["build_config"]["shapes_dict"]
        for e in json.loads(built["encoder_decoder"][1])["config"]["layers"]
        if "shapes_dict" in (e.get("build_config") or {})
    ]
    assert len(shapes_dicts) == 4 and all("initial_state_shape" in d for d in shapes_dicts)


@pytest.mark.parametrize("source", ["model.json", "stripped.json"])
@pytest.mark.parametrize("name", list(MODELS))
def test_graph_loads_with_kerass_values(keras, built, name, source):
    directory, text, expected = built[name]
    output = f"ours_{source}.weights.h5"
    result = run_in_process(["model", source, "--seed", "5", "-o", output, "--force"], directory)
    assert result.exit_code == 0, result.stderr
    assert h5_datasets(directory / output) == h5_datasets(directory / "keras.weights.h5")
    model = keras.models.model_from_json(text)
    model.load_weights(str(directory / output))
    assert len(model.weights) == len(expected) > 0
    for variable, theirs in zip(model.weights, expected, strict=True):
        ours = np.asarray(variable)
        assert ours.dtype == theirs.dtype and ours.tobytes() == theirs.tobytes(), f"{name}: {variable.path}"


@pytest.mark.parametrize("output", ["ours.h5", "ours.keras"])
def test_graph_legacy_h5_and_keras_archive(keras, built, output):
    directory, text, expected = built["encoder_decoder"]
    result = run_in_process(["model", "model.json", "--seed", "5", "-o", output, "--force"], directory)
    assert result.exit_code == 0, result.stderr
    if output.endswith(".keras"):
        model = keras.models.load_model(str(directory / output))
    else:
        model = keras.models.model_from_json(text)
        model.load_weights(str(directory / output))
    for variable, theirs in zip(model.weights, expected, strict=True):
        assert np.asarray(variable).tobytes() == theirs.tobytes(), (output, variable.path)
