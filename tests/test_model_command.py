"""``initcli model``: Keras model configs in, files every Keras loader accepts out, bit for bit."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest

from . import keras_models
from .helpers import h5_datasets as _datasets
from .helpers import run_in_process


@pytest.fixture(scope="module")
def built(keras, tmp_path_factory):
    """name -> (directory, model JSON, Keras's own initial weights, Keras's own weights file)."""
    out = {}
    for name, build in keras_models.MODELS.items():
        directory = tmp_path_factory.mktemp(name)
        model = build(keras)
        text = model.to_json()
        (directory / "model.json").write_text(text)
        reference = keras.models.model_from_json(text)  # seeded initializers: Keras's own initial values
        reference.save_weights(str(directory / "keras.weights.h5"))
        out[name] = (directory, text, [np.asarray(v) for v in reference.weights])
    return out


@pytest.mark.parametrize("name", list(keras_models.MODELS))
@pytest.mark.parametrize("suffix", [".weights.h5", ".h5", ".keras"])
def test_model_file_loads_with_keras_values(keras, built, name, suffix):
    directory, text, expected = built[name]
    output = f"ours{suffix}"
    result = run_in_process(["model", "model.json", "--seed", "5", "-o", output, "--force"], directory)
    assert result.exit_code == 0, result.stderr
    if suffix == ".keras":
        model = keras.models.load_model(str(directory / output))
    else:
        model = keras.models.model_from_json(text)
        model.load_weights(str(directory / output))
    loaded = [np.asarray(v) for v in model.weights]
    assert len(loaded) == len(expected)
    for ours, theirs, variable in zip(loaded, expected, model.weights, strict=True):
        assert ours.shape == theirs.shape, variable.path
        if variable.dtype == "float64":
            # Keras's numpy backend keeps float64 variables as float32 values; our file holds the
            # float64 draw, which rounds to exactly Keras's value
            assert theirs.dtype == np.float32
            ours = ours.astype(np.float32)
        assert ours.dtype == theirs.dtype, variable.path
        if any(part in variable.path for part in keras_models.INTERNAL_RANDOM.get(name, ())):
            continue
        assert ours.tobytes() == theirs.tobytes(), f"{name}: {variable.path} differs from Keras's initial value"


@pytest.mark.parametrize("name", list(keras_models.MODELS))
def test_weights_h5_has_keras_dataset_paths(built, name):
    directory, _, _ = built[name]
    result = run_in_process(["model", "model.json", "--seed", "1", "-o", "paths.weights.h5", "--force"], directory)
    assert result.exit_code == 0, result.stderr
    assert _datasets(directory / "paths.weights.h5") == _datasets(directory / "keras.weights.h5")


@pytest.mark.parametrize("name", ["residual_cnn", "recurrent", "nested"])
def test_npz_layout_holds_the_same_arrays(built, name):
    directory, _, expected = built[name]
    result = run_in_process(["model", "model.json", "--seed", "5", "-o", "w.npz", "--force"], directory)
    assert result.exit_code == 0, result.stderr
    arrays = np.load(directory / "w.npz", allow_pickle=False)
    assert sorted(a.tobytes() for a in arrays.values()) == sorted(e.tobytes() for e in expected)
    assert all("/" in key for key in arrays)


def test_missing_layer_field_is_named(keras, tmp_path):
    config = json.loads(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="head")]).to_json())
    del config["config"]["layers"][1]["config"]["units"]
    (tmp_path / "m.json").write_text(json.dumps(config))
    result = run_in_process(["model", "m.json", "-o", "m.weights.h5"], tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip() == "initcli: error: layer 'head' (Dense): its config lacks 'units'"


def test_keras_archive_is_read_without_extracting(keras, built, tmp_path):
    _, text, expected = built["transformer"]
    model = keras.models.model_from_json(text)
    model.save(str(tmp_path / "in.keras"))
    result = run_in_process(["model", "in.keras", "--seed", "2", "-o", "out.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.keras", "out.weights.h5"]
    fresh = keras.models.model_from_json(text)
    fresh.load_weights(str(tmp_path / "out.weights.h5"))
    assert all(np.asarray(a).tobytes() == b.tobytes() for a, b in zip(fresh.weights, expected, strict=True))


def test_unseeded_weights_follow_kerass_distributions(keras, tmp_path):
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input((400,)),
            L.Dense(300),
            L.Embedding(1000, 64) if False else L.Dense(200, kernel_initializer="he_normal"),
        ]
    )
    (tmp_path / "m.json").write_text(model.to_json())
    assert run_in_process(["model", "m.json", "--seed", "9", "-o", "m.weights.h5"], tmp_path).exit_code == 0
    fresh = keras.models.model_from_json(model.to_json())
    fresh.load_weights(str(tmp_path / "m.weights.h5"))
    glorot = np.asarray(fresh.layers[0].kernel).astype(np.float64)
    limit = math.sqrt(6 / (400 + 300))
    n = glorot.size
    assert np.abs(glorot).max() <= limit
    assert abs(glorot.std() - limit / math.sqrt(3)) <= 5 * (limit / math.sqrt(3)) * math.sqrt(0.8 / (4 * n))
    he = np.asarray(fresh.layers[1].kernel).astype(np.float64)
    target = math.sqrt(2 / 300)
    assert np.abs(he).max() <= 2 * target / 0.87962566103423978
    truncated_kurtosis = 2.3655367171296495  # of a standard normal truncated to [-2, 2] (scipy)
    assert abs(he.std() - target) <= 5 * target * math.sqrt((truncated_kurtosis - 1) / (4 * he.size))
    # and they are not Keras's own (random) draws, but ours from the master seed: stable across runs
    assert run_in_process(["model", "m.json", "--seed", "9", "-o", "again.weights.h5"], tmp_path).exit_code == 0
    with h5py.File(tmp_path / "m.weights.h5") as a, h5py.File(tmp_path / "again.weights.h5") as b:
        assert np.array_equal(a["layers/dense/vars/0"], b["layers/dense/vars/0"])


def test_unsupported_layer_is_a_clear_error(keras, tmp_path):
    config = json.loads(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).to_json())
    config["config"]["layers"][1]["class_name"] = "FancyLayer"
    (tmp_path / "m.json").write_text(json.dumps(config))
    result = run_in_process(["model", "m.json", "-o", "m.weights.h5"], tmp_path)
    assert result.exit_code == 2
    assert "layer 'dense" in result.stderr and "class 'FancyLayer' is not supported" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


@pytest.mark.parametrize(
    "content,message",
    [
        (b"{not json", "line 1, column 2: invalid JSON"),
        (b'{"class_name": "Dense", "config": {}}', "not a Keras model config"),
        (b"PK\x03\x04garbage", "is not a valid .keras archive"),
    ],
)
def test_bad_model_inputs(tmp_path, content, message):
    (tmp_path / "m.json").write_bytes(content)
    result = run_in_process(["model", "m.json", "-o", "o.weights.h5"], tmp_path)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_keras_zip_without_config(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "m.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    result = run_in_process(["model", "m.keras", "-o", "o.weights.h5"], tmp_path)
    assert result.exit_code == 2 and "zip without config.json" in result.stderr


@pytest.mark.parametrize("name", ["cnn_batchnorm", "depthwise_separable_transposed", "recurrent", "conv3d"])
def test_shapes_propagate_without_build_config(keras, built, tmp_path, name):
    """A hand-written Sequential config has no build_config: shapes flow from the InputLayer."""
    _, text, expected = built[name]
    config = json.loads(text)
    config.pop("build_config", None)
    config["config"].pop("build_input_shape", None)
    for layer in config["config"]["layers"]:
        layer.pop("build_config", None)
    (tmp_path / "m.json").write_text(json.dumps(config))
    result = run_in_process(["model", "m.json", "--seed", "5", "-o", "m.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    model = keras.models.model_from_json(text)
    model.load_weights(str(tmp_path / "m.weights.h5"))
    for ours, theirs in zip(model.weights, expected, strict=True):
        assert np.asarray(ours).tobytes() == theirs.tobytes()


def test_model_dry_run_lists_einsum_fans(built, tmp_path):
    directory, _, _ = built["transformer"]
    result = run_in_process(["model", "model.json", "--dry-run", "--json"], directory)
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    query = next(w for w in plan["weights"] if w["path"].endswith("query/kernel"))
    assert query["shape"] == [16, 2, 4] and query["fans"] == [16, 8]
    assert query["h5"] == "layers/multi_head_attention/query_dense/vars/0"
    assert plan["total_bytes"] == sum(w["bytes"] for w in plan["weights"])


def test_impossible_shapes_are_errors(keras, tmp_path):
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3), keras.layers.Conv2D(2, 3)])
    config = json.loads(model.to_json())
    for layer in config["config"]["layers"]:
        layer.pop("build_config", None)
    config["config"]["layers"][1]["config"]["kernel_size"] = [5, 5]
    (tmp_path / "m.json").write_text(json.dumps(config))
    result = run_in_process(["model", "m.json", "-o", "m.weights.h5"], tmp_path)
    assert result.exit_code == 2, result.stderr
    assert "conv2d" in result.stderr and "negative" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


@pytest.mark.parametrize(
    "name", ["residual_cnn", "transformer", "nested", "channels_first_and_1d", "wrappers_and_attention"]
)
def test_functional_layer_order_comes_from_the_graph(keras, built, tmp_path, name):
    """Reversing a Functional config's layer list changes nothing: Keras rebuilds the order from the graph."""
    directory, text, expected = built[name]
    config = json.loads(text)
    config["config"]["layers"].reverse()
    (tmp_path / "reversed.json").write_text(json.dumps(config))
    result = run_in_process(["model", "reversed.json", "--seed", "5", "-o", "r.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert _datasets(tmp_path / "r.weights.h5") == _datasets(directory / "keras.weights.h5")
    model = keras.models.model_from_json(json.dumps(config))
    model.load_weights(str(tmp_path / "r.weights.h5"))
    skip = keras_models.INTERNAL_RANDOM.get(name, ())
    for ours, theirs in zip(model.weights, expected, strict=True):
        if not any(part in ours.path for part in skip):
            assert np.asarray(ours).tobytes() == theirs.tobytes(), ours.path
