"""Regenerate the model samples shipped in ``initcli/sample_configs`` with real Keras 2 (tf_keras 2.21).

Run with ``python tests/model_corpus/make_samples.py`` in an environment with tensorflow and
tf_keras: a Keras 2 ``to_json()`` (``keras2_sentiment.json``), a whole-model ``.h5``
(``keras2_digits.h5``, ``model.save()``) and the same CNN as a tfjs layers-model ``model.json``
(the converter's wrapping: ``modelTopology.model_config``; no weight shards).
"""

import json
import os
from pathlib import Path

os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tf_keras as K

OUT = Path(__file__).resolve().parents[2] / "initcli" / "sample_configs"
L = K.layers
m = K.Sequential(
    [
        L.Embedding(1000, 16, input_length=20, name="embed"),
        L.LSTM(32, name="encoder"),
        L.Dense(1, activation="sigmoid", name="score"),
    ],
    name="sentiment",
)
m.build((None, 20))
(OUT / "keras2_sentiment.json").open("w").write(m.to_json())
x = K.Input((12, 12, 1), name="image")
h = L.Conv2D(8, 3, activation="relu", name="conv")(x)
h = L.MaxPooling2D(name="pool")(h)
h = L.Flatten(name="flat")(h)
y = L.Dense(10, activation="softmax", name="digits")(h)
f = K.Model(x, y, name="digits_cnn")
f.save(str(OUT / "keras2_digits.h5"))
topology = json.loads(f.to_json())
wrapped = {
    "format": "layers-model",
    "generatedBy": "keras v2.21.0",
    "convertedBy": "TensorFlow.js Converter v4.22.0",
    "modelTopology": {"keras_version": topology["keras_version"], "backend": "tensorflow", "model_config": topology},
    "weightsManifest": [],
}
json.dump(wrapped, (OUT / "tfjs_digits_model.json").open("w"))
