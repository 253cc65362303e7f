"""``initcli batch``: sample configs load into the matching real Keras models, in every layout."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from initcli.model.batch_config import load_batch_config
from initcli.seeds import derive_seed

from .helpers import h5_datasets as _datasets
from .helpers import run_in_process, run_subprocess

CONFIGS = Path(__file__).resolve().parent.parent / "sample_configs"


def mnist_mlp(keras):
    layers = keras.layers
    return keras.Sequential(
        [keras.Input((784,)), layers.Dense(256, "relu"), layers.Dense(128, "relu"), layers.Dense(10)],
        name="mnist_mlp",
    )


def small_cnn(keras):
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10),
        ]
    )


def lstm_text_classifier(keras):
    layers = keras.layers
    return keras.Sequential(
        [keras.Input((100,), dtype="int32"), layers.Embedding(20000, 128), layers.LSTM(64), layers.Dense(1)]
    )


def transformer_encoder(keras):
    layers = keras.layers
    x = keras.Input((12, 64))
    attended = layers.MultiHeadAttention(4, 16)(x, x)
    h = layers.LayerNormalization()(layers.Add()([x, attended]))
    f = layers.Dense(64)(layers.Dense(256, activation="gelu")(h))
    y = layers.LayerNormalization()(layers.Add()([h, f]))
    return keras.Model(x, y)


MODELS = {
    "mnist_mlp.yaml": mnist_mlp,
    "small_cnn.json": small_cnn,
    "lstm_text_classifier.toml": lstm_text_classifier,
    "transformer_encoder.yaml": transformer_encoder,
}


@pytest.mark.parametrize("config", list(MODELS))
def test_sample_config_loads_into_keras_in_every_layout(keras, tmp_path, config):
    model = MODELS[config](keras)
    reference = tmp_path / "keras.weights.h5"
    model.save_weights(str(reference))
    plan, _ = load_batch_config(CONFIGS / config)
    for output in ("w.weights.h5", "w.h5"):
        result = run_in_process(["batch", str(CONFIGS / config), "--seed", "5", "-o", output], tmp_path)
        assert result.exit_code == 0, result.stderr
        if output == "w.weights.h5":  # the same datasets at the same paths as Keras's own file
            assert _datasets(tmp_path / output) == _datasets(reference)
        fresh = MODELS[config](keras)
        fresh.load_weights(str(tmp_path / output))
        loaded = {v.path: np.asarray(v) for v in fresh.weights}
        with h5py.File(tmp_path / "w.weights.h5") as handle:
            ours = [np.asarray(handle[f"{w.h5_object}/vars/{w.h5_index}"]) for w in plan.weights()]
        assert sorted(a.tobytes() for a in loaded.values()) == sorted(a.tobytes() for a in ours), output
        for weight, variable in zip(plan.weights(), _in_plan_order(fresh, plan), strict=True):
            assert tuple(variable.shape) == weight.shape


def _in_plan_order(model, plan):
    """The model's variables matched to the plan by shape and position within each layer."""
    return [v for layer in _weighted_layers(model) for v in layer.weights]


def _weighted_layers(model):
    return [layer for layer in model.layers if layer.weights]


def test_mlp_values_equal_keras_initializers_with_derived_seeds(keras, tmp_path):
    result = run_in_process(["batch", str(CONFIGS / "mnist_mlp.yaml"), "--seed", "7", "-o", "m.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    model = mnist_mlp(keras)
    model.load_weights(str(tmp_path / "m.weights.h5"))
    kernel = np.asarray(model.layers[0].kernel)
    expected = keras.initializers.HeNormal(seed=derive_seed(7, "hidden1/kernel"))((784, 256))
    assert kernel.tobytes() == np.asarray(expected).tobytes()
    logits = np.asarray(model.layers[2].kernel)
    expected = keras.initializers.GlorotUniform(seed=derive_seed(7, "logits/kernel"))((128, 10))
    assert logits.tobytes() == np.asarray(expected).tobytes()


def test_seed_in_the_config_is_kept(keras, tmp_path):
    """small_cnn.json seeds its classifier kernel with 42: that weight is Keras's GlorotUniform(seed=42)."""
    for master in ("1", "2"):
        assert (
            run_in_process(
                ["batch", str(CONFIGS / "small_cnn.json"), "--seed", master, "-o", f"{master}.weights.h5"], tmp_path
            ).exit_code
            == 0
        )
    with h5py.File(tmp_path / "1.weights.h5") as one, h5py.File(tmp_path / "2.weights.h5") as two:
        expected = np.asarray(keras.initializers.GlorotUniform(seed=42)((1600, 10))).tobytes()
        assert np.asarray(one["layers/dense/vars/0"]).tobytes() == expected
        assert np.asarray(two["layers/dense/vars/0"]).tobytes() == expected
        assert not np.array_equal(one["layers/conv2d/vars/0"], two["layers/conv2d/vars/0"])


def test_weight_order_follows_the_class_not_the_config(keras, tmp_path):
    config = {
        "layers": [
            {
                "name": "bn",
                "class": "BatchNormalization",
                "weights": {
                    "moving_variance": {
                        "shape": [4],
                        "initializer": {"class_name": "Constant", "config": {"value": 4.0}},
                    },
                    "beta": {"shape": [4], "initializer": {"class_name": "Constant", "config": {"value": 2.0}}},
                    "moving_mean": {"shape": [4], "initializer": {"class_name": "Constant", "config": {"value": 3.0}}},
                    "gamma": {"shape": [4], "initializer": {"class_name": "Constant", "config": {"value": 1.0}}},
                },
            },
            {
                "name": "lstm",
                "class": "LSTM",
                "weights": [
                    {"name": "bias", "shape": [8], "initializer": "ones"},
                    {"name": "recurrent_kernel", "shape": [2, 8], "initializer": "orthogonal"},
                    {"name": "kernel", "shape": [4, 8], "initializer": "zeros"},
                ],
            },
        ]
    }
    (tmp_path / "c.json").write_text(json.dumps(config))
    for output in ("o.weights.h5", "o.h5"):
        assert run_in_process(["batch", "c.json", "--seed", "1", "-o", output], tmp_path).exit_code == 0
        model = keras.Sequential([keras.Input((3, 4)), keras.layers.BatchNormalization(), keras.layers.LSTM(2)])
        model.load_weights(str(tmp_path / output))
        bn = model.layers[0]
        assert [float(np.asarray(v)[0]) for v in (bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance)] == [
            1,
            2,
            3,
            4,
        ]
        cell = model.layers[1].cell
        assert not np.asarray(cell.kernel).any() and np.asarray(cell.bias).tolist() == [1.0] * 8


def test_reordering_or_adding_layers_keeps_each_weights_values(tmp_path):
    def config(layers):
        return {
            "layers": [
                {"name": n, "class": "Dense", "weights": {"kernel": {"shape": [4, 3], "initializer": "glorot_normal"}}}
                for n in layers
            ]
        }

    arrays = {}
    for label, layers in {"a": ["x", "y"], "b": ["y", "z", "x"]}.items():
        (tmp_path / f"{label}.json").write_text(json.dumps(config(layers)))
        assert run_in_process(["batch", f"{label}.json", "--seed", "3", "-o", f"{label}.npz"], tmp_path).exit_code == 0
        arrays[label] = dict(np.load(tmp_path / f"{label}.npz"))
    assert set(arrays["a"]) == {"x/kernel", "y/kernel"}
    for key in ("x/kernel", "y/kernel"):
        assert arrays["a"][key].tobytes() == arrays["b"][key].tobytes()
    assert run_in_process(["batch", "a.json", "--seed", "4", "-o", "c.npz"], tmp_path).exit_code == 0
    other = np.load(tmp_path / "c.npz")
    assert all(not np.array_equal(other[k], arrays["a"][k]) for k in arrays["a"])


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    result = run_subprocess(["batch", str(CONFIGS / "mnist_mlp.yaml"), "--dry-run", "--json"], tmp_path)
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    first = plan["weights"][0]
    assert first["path"] == "hidden1/kernel" and first["h5"] == "layers/dense/vars/0"
    assert first["fans"] == [784, 256] and first["stddev"] == pytest.approx(np.sqrt(2 / 784) / 0.87962566103423978)
    assert plan["total_bytes"] == 4 * (784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10)
    text = run_in_process(["batch", str(CONFIGS / "mnist_mlp.yaml"), "--dry-run"], tmp_path).stdout.decode()
    assert "total: 6 weights" in text
    assert list(tmp_path.iterdir()) == []


ONE_DENSE = '{"layers": [{"name": "a", "class": "Dense", "weights": {"kernel": %s}}]}'

BAD_CONFIGS = [
    ("bad.json", '{"layers": [1, 2', 2, "line 1, column 17: invalid JSON"),
    ("bad.yaml", "layers:\n  - name: a\n   class: Dense\n", 2, "line 3, column 4: invalid YAML"),
    ("bad.toml", "layers = [\n", 2, "invalid TOML"),
    ("c.txt", "{}", 2, "unknown suffix"),
    ("c.json", '{"layers": []}', 2, "'layers' must be a non-empty list"),
    ("c.json", '{"layers": [{"name": "a"}]}', 2, "layers[0]: 'class' is missing"),
    (
        "c.json",
        '{"layers": [{"name": "a", "class": "Dense", "weights": {"kernal": {"shape": [2], "initializer": "zeros"}}}]}',
        2,
        "Dense has no weight 'kernal'; it has kernel, bias",
    ),
    (
        "c.json",
        ONE_DENSE % '{"shape": [2, -1], "initializer": "zeros"}',
        2,
        "negative dimension",
    ),
    (
        "c.json",
        ONE_DENSE % '{"shape": [2]}',
        2,
        "'initializer' is missing",
    ),
    (
        "c.json",
        ONE_DENSE % '{"shape": [2], "initializer": "glorot_norml"}',
        2,
        "did you mean 'glorot_normal'",
    ),
    (
        "c.json",
        ONE_DENSE % '{"shape": [2], "initializer": "orthogonal"}',
        2,
        "Orthogonal needs a shape of rank 2",
    ),
    (
        "c.json",
        '{"layers": [{"name": "a", "class": "X"}, {"name": "a", "class": "Y"}]}',
        2,
        "layer name 'a' is used twice",
    ),
    ("c.json", '{"layers": [{"name": "a", "class": "Dense"}], "sed": 1}', 2, "unknown top-level key 'sed'"),
]


@pytest.mark.parametrize("filename,text,code,message", BAD_CONFIGS, ids=[b[3][:40] for b in BAD_CONFIGS])
def test_bad_configs(tmp_path, filename, text, code, message):
    (tmp_path / filename).write_text(text)
    result = run_in_process(["batch", filename, "--seed", "1", "-o", "o.weights.h5"], tmp_path)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [filename]


def test_missing_config_and_keras_output_without_model_config(tmp_path):
    result = run_in_process(["batch", "nope.yaml", "-o", "o.weights.h5"], tmp_path)
    assert result.exit_code == 1 and "config 'nope.yaml' does not exist" in result.stderr
    result = run_in_process(["batch", str(CONFIGS / "mnist_mlp.yaml"), "-o", "o.keras"], tmp_path)
    assert result.exit_code == 2 and "needs a Keras model config" in result.stderr
    assert list(tmp_path.iterdir()) == []
