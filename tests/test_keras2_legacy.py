"""Legacy ``.h5`` files load into the same architectures built with Keras 2 (``tf_keras``).

Runs when ``tf_keras`` (with TensorFlow) is installed; ``.ci/run`` installs it in a second
environment and sets ``INITCLI_REQUIRE_KERAS2=1`` so that there it cannot be skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from .helpers import run_in_process

if os.environ.get("INITCLI_REQUIRE_KERAS2"):
    import tf_keras
tf_keras = pytest.importorskip("tf_keras", reason="Keras 2 (tf_keras) is not installed")

CONFIGS = Path(__file__).resolve().parent.parent / "sample_configs"


def _ours(path: Path) -> list[list[np.ndarray]]:
    """Our legacy file's weights, per layer with weights, in weight_names order."""
    with h5py.File(path) as handle:
        layers = []
        for name in handle.attrs["layer_names"]:
            group = handle[name]
            names = list(group.attrs["weight_names"])
            if names:
                layers.append([np.asarray(group[n]) for n in names])
        return layers


def _check(model, path: Path) -> None:
    model.load_weights(str(path))
    theirs = [layer.get_weights() for layer in model.layers if layer.weights]
    ours = _ours(path)
    assert len(theirs) == len(ours)
    for mine, loaded in zip(ours, theirs, strict=True):
        assert len(mine) == len(loaded)
        for a, b in zip(mine, loaded, strict=True):
            assert a.shape == b.shape and a.tobytes() == b.astype(a.dtype).tobytes()


def _mlp():
    L = tf_keras.layers
    return tf_keras.Sequential([L.InputLayer((784,)), L.Dense(256), L.Dense(128), L.Dense(10)])


def _cnn():
    L = tf_keras.layers
    return tf_keras.Sequential(
        [
            L.InputLayer((28, 28, 1)),
            L.Conv2D(32, 3),
            L.BatchNormalization(),
            L.MaxPooling2D(),
            L.Conv2D(64, 3),
            L.MaxPooling2D(),
            L.Flatten(),
            L.Dense(10),
        ]
    )


def _lstm():
    L = tf_keras.layers
    return tf_keras.Sequential([L.InputLayer((100,)), L.Embedding(20000, 128), L.LSTM(64), L.Dense(1)])


def _encoder():
    L = tf_keras.layers
    x = tf_keras.Input((12, 64))
    attended = L.MultiHeadAttention(4, 16)(x, x)
    h = L.LayerNormalization()(L.Add()([x, attended]))
    f = L.Dense(64)(L.Dense(256, activation="gelu")(h))
    return tf_keras.Model(x, L.LayerNormalization()(L.Add()([h, f])))


@pytest.mark.parametrize(
    "config,build",
    [
        ("mnist_mlp.yaml", _mlp),
        ("small_cnn.json", _cnn),
        ("lstm_text_classifier.toml", _lstm),
        ("transformer_encoder.yaml", _encoder),
    ],
)
def test_batch_legacy_h5_loads_into_keras2(tmp_path, config, build):
    result = run_in_process(["batch", str(CONFIGS / config), "--seed", "3", "-o", "w.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    _check(build(), tmp_path / "w.h5")


def test_model_legacy_h5_loads_into_keras2(keras, tmp_path):
    """A Keras 3 config with recurrent and bidirectional layers, written by 'initcli model', in Keras 2."""

    def build(lib):
        L = lib.layers
        return lib.Sequential(
            [
                L.InputLayer((9, 4)) if lib is tf_keras else lib.Input((9, 4)),
                L.Bidirectional(L.LSTM(3, return_sequences=True)),
                L.GRU(5, return_sequences=True),
                L.GRU(4, reset_after=False),
                L.Dense(2),
            ]
        )

    (tmp_path / "m.json").write_text(build(keras).to_json())
    result = run_in_process(["model", "m.json", "--seed", "8", "-o", "w.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    _check(build(tf_keras), tmp_path / "w.h5")
