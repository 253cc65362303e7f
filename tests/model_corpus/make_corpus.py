"""Regenerate the Keras 2 part of the model corpus with real Keras 2 (tf_keras).

Run with ``TF_USE_LEGACY_KERAS=1 python tests/model_corpus/make_corpus.py`` in an environment
with tensorflow and tf_keras (2.21 made the committed files).  Each model's
``model.to_json()`` is written as it is (``k2_*.json``); older Keras 2 forms are derived
from it the way those versions wrote them (no ``module``/``build_config``/``registered_name``
keys, as Keras <= 2.12; no ``InputLayer`` in a Sequential, the shape on the first layer, as
Keras <= 2.3; the bare layer list as a Sequential's config, Keras <= 2.1).  ``expected.json``
records, per config, the weights Keras 2 builds (name and shape, in ``model.weights``
order), for the tests to compare with without TensorFlow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import tensorflow as tf
import tf_keras as K

L = K.layers
I = K.initializers  # noqa: E741
HERE = Path(__file__).resolve().parent


def seeded(seed: int, name: str = "GlorotUniform", **kwargs):
    return getattr(I, name)(seed=seed, **kwargs)


def seq_mlp():
    return K.Sequential(
        [
            L.Dense(8, input_shape=(4,), kernel_initializer=seeded(1), bias_initializer=seeded(2, "RandomNormal")),
            L.BatchNormalization(gamma_initializer=seeded(3, "RandomUniform")),
            L.Dropout(0.1),
            L.Dense(3, kernel_initializer=I.VarianceScaling(2.0, "fan_in", "normal", seed=4)),
        ]
    )


def seq_cnn():
    return K.Sequential(
        [
            L.Conv2D(4, 3, input_shape=(10, 10, 2), kernel_initializer=seeded(5, "HeNormal")),
            L.MaxPooling2D(),
            L.DepthwiseConv2D(3, depth_multiplier=2, depthwise_initializer=seeded(6)),
            L.SeparableConv2D(5, 1, depthwise_initializer=seeded(7), pointwise_initializer=seeded(8)),
            L.Flatten(),
            L.Dense(2, kernel_initializer=seeded(9, "LecunNormal")),
        ]
    )


def func_cnn():
    x = K.Input((8, 8, 3), name="image")
    a = L.Conv2D(4, 3, padding="same", kernel_initializer=seeded(10))(x)
    a = L.BatchNormalization(axis=3, beta_initializer=seeded(11, "RandomNormal"))(a)
    b = L.Conv2D(4, 1, kernel_initializer=seeded(12))(x)
    y = L.Add()([a, b])
    y = L.Activation("relu")(y)
    y = L.GlobalAveragePooling2D()(y)
    out = L.Dense(3, kernel_initializer=seeded(13, "TruncatedNormal"))(y)
    return K.Model(x, out)


def func_rnn():
    x = K.Input((6, 5), name="sequence")
    y = L.LSTM(4, return_sequences=True, kernel_initializer=seeded(14), recurrent_initializer=seeded(15, "Orthogonal"))(
        x
    )
    y = L.Bidirectional(
        L.GRU(3, return_sequences=True, kernel_initializer=seeded(16), recurrent_initializer=seeded(28, "Orthogonal"))
    )(y)
    y = L.TimeDistributed(L.Dense(2, kernel_initializer=seeded(17)))(y)
    y = L.SimpleRNN(3, kernel_initializer=seeded(18), recurrent_initializer=seeded(19, "Orthogonal"))(y)
    return K.Model(x, y)


def func_attention():
    q = K.Input((5, 6), name="query")
    v = K.Input((3, 4), name="value")
    y = L.MultiHeadAttention(2, 4, kernel_initializer=seeded(20))(q, v)
    y = L.LayerNormalization(axis=-1)(y)
    return K.Model([q, v], y)


def func_shared():
    a = K.Input((7,), name="left")
    b = K.Input((7,), name="right")
    shared = L.Dense(5, kernel_initializer=seeded(21), name="shared")
    y = L.Concatenate()([shared(a), shared(b)])
    y = L.Dense(2, kernel_initializer=seeded(22))(y)
    return K.Model([a, b], y)


def func_text():
    x = K.Input((12,), dtype="int32", name="tokens")
    y = L.Embedding(50, 6, embeddings_initializer=seeded(23, "RandomUniform"))(x)
    y = L.Conv1D(4, 3, kernel_initializer=seeded(24))(y)
    y = L.GlobalMaxPooling1D()(y)
    y = L.Dense(1, kernel_initializer=seeded(25))(y)
    return K.Model(x, y)


def func_tf_ops():
    x = K.Input((6,), name="features")
    y = L.Dense(4, kernel_initializer=seeded(26))(x)
    y = tf.nn.relu(y)
    y = y[:, 1:]
    y = L.Dense(2, kernel_initializer=seeded(27))(y)
    return K.Model(x, y)


def func_nested():
    block = K.Sequential(
        [L.Dense(5, kernel_initializer=seeded(29)), L.Dense(4, kernel_initializer=seeded(30))], name="block"
    )
    x = K.Input((6,), name="features")
    y = block(x)
    y = L.Dense(2, kernel_initializer=seeded(31))(y)
    return K.Model(x, y)


MODELS = {
    "func_nested": func_nested,
    "seq_mlp": seq_mlp,
    "seq_cnn": seq_cnn,
    "func_cnn": func_cnn,
    "func_rnn": func_rnn,
    "func_attention": func_attention,
    "func_shared": func_shared,
    "func_text": func_text,
    "func_tf_ops": func_tf_ops,
}


def strip_keras_212(value):
    """The config as Keras <= 2.12 wrote it: no module/registered_name/build_config keys."""
    if isinstance(value, dict):
        return {
            k: strip_keras_212(v) for k, v in value.items() if k not in ("module", "registered_name", "build_config")
        }
    if isinstance(value, list):
        return [strip_keras_212(v) for v in value]
    return value


def without_input_layer(config):
    """A Sequential as Keras <= 2.3 wrote it: the input shape on the first layer only."""
    config = json.loads(json.dumps(config))
    layers = config["config"]["layers"]
    if layers and layers[0]["class_name"] == "InputLayer":
        layers.pop(0)
    return config


def list_style(config):
    """A Sequential as Keras <= 2.1 wrote it: the layer list is the config."""
    return {"class_name": "Sequential", "config": config["config"]["layers"], "keras_version": "2.1.6"}


def tfjs_converted(config):
    """A tfjs ``model.json`` as ``tensorflowjs_converter`` writes it: the config in modelTopology.model_config."""
    return {
        "format": "layers-model",
        "generatedBy": "keras v2.21.0",
        "convertedBy": "TensorFlow.js Converter v4.22.0",
        "modelTopology": {"keras_version": "2.21.0", "backend": "tensorflow", "model_config": config},
        "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": []}],
    }


def tfjs_saved(config):
    """A tfjs ``model.json`` as tfjs's own ``model.save`` writes it: modelTopology is the config."""
    return {
        "modelTopology": config,
        "format": "layers-model",
        "generatedBy": "TensorFlow.js tfjs-layers v4.22.0",
        "convertedBy": None,
        "weightsManifest": [{"paths": ["./model.weights.bin"], "weights": []}],
    }


def savedmodel_metadata_form(config):
    """The form of tf.keras 2.x SavedModel metadata (keras_metadata.pb): shapes as TensorShape
    objects, a layer's name on its entry with ``"name": null`` in its config, call nodes as bare
    ``["layer", 0, 0]`` triples."""
    config = json.loads(json.dumps(config))
    for entry in config["config"]["layers"]:
        layer = entry["config"]
        if "batch_input_shape" in layer:
            layer["batch_input_shape"] = {"class_name": "TensorShape", "items": layer["batch_input_shape"]}
        if entry["class_name"] != "InputLayer":
            layer["name"] = None
        nodes = entry.get("inbound_nodes") or []
        if len(nodes) == 1 and len(nodes[0]) == 1:
            entry["inbound_nodes"] = [nodes[0][0][:3]]
    return config


def main() -> None:
    expected = {}
    for name, build in MODELS.items():
        model = build()
        text = model.to_json()
        config = json.loads(text)
        weights = [[w.name, list(w.shape)] for w in model.weights]
        variants = {f"k2_{name}.json": config, f"k2_{name}_212.json": strip_keras_212(config)}
        if name.startswith("seq_"):
            variants[f"k2_{name}_23.json"] = strip_keras_212(without_input_layer(config))
            variants[f"k2_{name}_21.json"] = list_style(strip_keras_212(without_input_layer(config)))
        if name == "func_cnn":
            variants["tfjs_converted_func_cnn.json"] = tfjs_converted(strip_keras_212(config))
            variants["k2_func_cnn_savedmodel_form.json"] = savedmodel_metadata_form(strip_keras_212(config))
        if name == "seq_mlp":
            variants["tfjs_saved_seq_mlp.json"] = tfjs_saved(strip_keras_212(config))
        for file, value in variants.items():
            (HERE / file).write_text(json.dumps(value, indent=None, sort_keys=False) + "\n")
            expected[file] = {"model": name, "weights": weights}
        if name in ("seq_mlp", "func_cnn"):
            model.save(str(HERE / f"k2_{name}.h5"))
            expected[f"k2_{name}.h5"] = {"model": name, "weights": weights}
    K.Sequential([L.Dense(2, input_shape=(3,))]).save_weights(str(HERE / "k2_weights_only.h5"))
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
