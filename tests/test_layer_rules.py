"""Layer rules beyond the core set: each built with real Keras, planned by ``initcli model`` from the
model's ``to_json()``, and loaded back by Keras with every seeded weight equal to Keras's own.

Weightless layers are followed by a seeded ``Dense`` (or ``Conv2D``), and every model is also planned
with all its ``build_config`` removed, so a wrong output shape would give that kernel a wrong shape and
``load_weights`` would refuse the file.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from . import keras_models
from .helpers import constant_weight, h5_datasets, run_in_process, strip_build_configs

seeded = keras_models.seeded

AUGMENTATION_ARGS: dict[str, dict[str, Any]] = {
    "RandomPosterization": {"factor": (1, 8)},
    "RandomColorDegeneration": {"factor": 0.5},
    "RandomSharpness": {"factor": 0.5},
    "RandomShear": {"x_factor": 0.2},
    "RandomBrightness": {"factor": 0.2},
    "RandomContrast": {"factor": 0.2},
    "RandomHue": {"factor": 0.2},
    "RandomSaturation": {"factor": 0.2},
    "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1},
    "RandomZoom": {"height_factor": 0.1},
    "Solarization": {"addition_factor": 0.5},
    "MaxNumBoundingBoxes": {"max_number": 3},
    "RandomRotation": {"factor": 0.1, "seed": 3},
    "RandomFlip": {"seed": 4},
}


def _augmentation(class_name: str):
    def build(keras):
        L = keras.layers
        if class_name == "Pipeline":
            layer = L.Pipeline([L.RandomFlip(seed=1), L.RandomRotation(0.1)])
        else:
            layer = getattr(L, class_name)(**AUGMENTATION_ARGS.get(class_name, {}))
        return keras.Sequential(
            [keras.Input((8, 8, 3)), layer, L.Flatten(), L.Dense(2, kernel_initializer=seeded(keras))]
        )

    return build


def images(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((9, 8, 3)),
            L.Resizing(7, 6),
            L.CenterCrop(5, 4),
            L.RandomCrop(4, 3, seed=2),
            L.Conv2D(2, 2, kernel_initializer=seeded(keras), bias_initializer=seeded(keras, "RandomNormal")),
            L.AdaptiveAveragePooling2D((2, 1)),
            L.Flatten(),
            L.Dense(3, kernel_initializer=seeded(keras)),
        ]
    )


def images_channels_first(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((3, 9, 8)),
            L.Resizing(6, 5, data_format="channels_first"),
            L.AdaptiveMaxPooling2D((3, 2), data_format="channels_first"),
            L.Flatten(),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def adaptive_1d_3d(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((4, 5, 6, 2)),
            L.AdaptiveMaxPooling3D((2, 2, 3)),
            L.Reshape((12, 2)),
            L.AdaptiveAveragePooling1D(5),
            L.Flatten(),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def category_encoding(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((3,), dtype="int32"),
            L.CategoryEncoding(num_tokens=7, output_mode="multi_hot"),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def category_encoding_one_hot(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((3,), dtype="int32"),
            L.CategoryEncoding(num_tokens=5, output_mode="one_hot"),
            L.Flatten(),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def discretization(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((4,)),
            L.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode="one_hot"),
            L.Flatten(),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def discretization_int(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((4,)),
            L.Discretization(bin_boundaries=[0.0, 1.0]),
            L.Dense(3, kernel_initializer=seeded(keras)),
        ]
    )


def _cell(keras, kind: str, units: int, **kwargs):
    L = keras.layers
    return getattr(L, kind)(
        units,
        kernel_initializer=seeded(keras),
        recurrent_initializer=seeded(keras, "Orthogonal"),
        bias_initializer=seeded(keras, "RandomNormal"),
        **kwargs,
    )


def rnn_cells(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((5, 3)),
            L.RNN(_cell(keras, "SimpleRNNCell", 4), return_sequences=True),
            L.RNN(_cell(keras, "GRUCell", 3, reset_after=False), return_sequences=True),
            L.RNN(_cell(keras, "GRUCell", 2), return_sequences=True),
            L.RNN(_cell(keras, "LSTMCell", 6)),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def rnn_stacked(keras):
    L = keras.layers
    stacked = L.StackedRNNCells(
        [_cell(keras, "LSTMCell", 4), _cell(keras, "LSTMCell", 3, unit_forget_bias=False), _cell(keras, "GRUCell", 2)]
    )
    return keras.Sequential(
        [
            keras.Input((5, 3)),
            L.RNN(stacked, return_sequences=True),
            L.RNN([_cell(keras, "SimpleRNNCell", 4), _cell(keras, "GRUCell", 5)]),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def bidirectional_cells(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((5, 3)),
            L.Bidirectional(L.RNN(_cell(keras, "LSTMCell", 4), return_sequences=True)),
            L.Bidirectional(
                L.RNN(
                    L.StackedRNNCells([_cell(keras, "GRUCell", 3), _cell(keras, "LSTMCell", 2)]), return_sequences=True
                ),
                merge_mode="sum",
            ),
            L.Bidirectional(
                L.LSTM(3, kernel_initializer=seeded(keras), recurrent_initializer=seeded(keras, "Orthogonal")),
                backward_layer=L.RNN([_cell(keras, "SimpleRNNCell", 2)], go_backwards=True),
            ),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def lambda_with_shape(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((3,)),
            L.Lambda(lambda x: keras.ops.concatenate([x, x]), output_shape=(6,)),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def dot(keras):
    L = keras.layers
    a, b = keras.Input((4,)), keras.Input((3, 4))
    merged = L.Dot(axes=(1, 2))([L.Dense(4, kernel_initializer=seeded(keras))(a), b])
    return keras.Model([a, b], L.Dense(2, kernel_initializer=seeded(keras))(merged))


def applications_layers(keras):
    from keras.src.applications.convnext import LayerScale, StochasticDepth
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    L = keras.layers
    x = keras.Input((4, 4, 8))
    r = L.Conv2D(8, 1, kernel_initializer=seeded(keras))(x)
    y = CustomScaleLayer(0.17)([x, r])
    y = LayerScale(0.25, 8)(y)
    y = StochasticDepth(0.1)(y)
    y = LayerScale(1e-6, 8)(y)
    return keras.Model(x, L.Conv2D(2, 1, kernel_initializer=seeded(keras))(y))


def applications_sequential(keras):
    from keras.src.applications.convnext import LayerScale, StochasticDepth

    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((4, 4, 8)),
            LayerScale(0.5, 8),
            StochasticDepth(0.2),
            L.Flatten(),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def center_crop(keras):
    L = keras.layers
    head = L.Dense(2, kernel_initializer=seeded(keras))
    return keras.Sequential([keras.Input((8, 8, 3)), L.CenterCrop(4, 5), L.Flatten(), head])


def spectrograms(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((64, 2)),
            L.STFTSpectrogram(frame_length=16, frame_step=8, mode="log", padding="same", window="hamming"),
            L.STFTSpectrogram(mode="stft", frame_length=4, fft_length=8, expand_dims=True),
            L.Flatten(),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def spectrograms_one_sided(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((40, 1)),
            L.STFTSpectrogram(frame_length=8, mode="real", scaling="spectrum", periodic=True),
            L.STFTSpectrogram(frame_length=3, mode="imag", window=None, scaling=None),
            L.Flatten(),
            L.Dense(2, kernel_initializer=seeded(keras)),
        ]
    )


def mel(keras):
    L = keras.layers
    head = L.Dense(2, kernel_initializer=seeded(keras))
    return keras.Sequential(
        [keras.Input((1000,)), L.MelSpectrogram(num_mel_bins=8, sequence_stride=128, fft_length=256), L.Flatten(), head]
    )


AUGMENTATION = [
    "AugMix",
    "AutoContrast",
    "ContrastLimitedAdaptiveHistogramEqualization",
    "CutMix",
    "MaxNumBoundingBoxes",
    "MixUp",
    "Pipeline",
    "RandAugment",
    "RandomBrightness",
    "RandomColorDegeneration",
    "RandomColorJitter",
    "RandomContrast",
    "RandomElasticTransform",
    "RandomErasing",
    "RandomFlip",
    "RandomGaussianBlur",
    "RandomGrayscale",
    "RandomHue",
    "RandomInvert",
    "RandomPerspective",
    "RandomPosterization",
    "RandomRotation",
    "RandomSaturation",
    "RandomSharpness",
    "RandomShear",
    "RandomTranslation",
    "RandomZoom",
    "Solarization",
]

MODELS = {
    "images": images,
    "center_crop": center_crop,
    "spectrograms": spectrograms,
    "spectrograms_one_sided": spectrograms_one_sided,
    "mel": mel,
    "images_channels_first": images_channels_first,
    "adaptive_1d_3d": adaptive_1d_3d,
    "category_encoding": category_encoding,
    "category_encoding_one_hot": category_encoding_one_hot,
    "discretization": discretization,
    "discretization_int": discretization_int,
    "rnn_cells": rnn_cells,
    "rnn_stacked": rnn_stacked,
    "bidirectional_cells": bidirectional_cells,
    "lambda_with_shape": lambda_with_shape,
    "dot": dot,
    "applications_layers": applications_layers,
    "applications_sequential": applications_sequential,
    **{f"augmentation_{name}": _augmentation(name) for name in AUGMENTATION},
}

NOT_ROUND_TRIPPED = {"augmentation_RandomShear"}
"""Keras 3.15 cannot rebuild these from their own ``to_json()``: the file is loaded into the model itself."""


def _custom_objects() -> dict[str, Any]:
    from keras.src.applications.convnext import LayerScale, StochasticDepth
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    return {"LayerScale": LayerScale, "StochasticDepth": StochasticDepth, "CustomScaleLayer": CustomScaleLayer}


def _from_json(keras, text: str):
    config = json.loads(text)
    return keras.saving.deserialize_keras_object(config, custom_objects=_custom_objects(), safe_mode=False)


@pytest.fixture(scope="module")
def built(keras, tmp_path_factory):
    """name -> (directory, model JSON, a function giving a fresh model, Keras's own initial weights)."""
    out = {}
    for name, build in MODELS.items():
        directory = tmp_path_factory.mktemp(name)
        model = build(keras)
        text = model.to_json()
        (directory / "model.json").write_text(text)
        if name in NOT_ROUND_TRIPPED:
            reference, fresh = model, (lambda model=model: model)
        else:
            reference = _from_json(keras, text)
            fresh = lambda text=text: _from_json(keras, text)  # noqa: E731
        reference.save_weights(str(directory / "keras.weights.h5"))
        out[name] = (directory, text, fresh, [np.asarray(v) for v in reference.weights])
    return out


@pytest.mark.parametrize("strip", [False, True], ids=["as_saved", "no_build_config"])
@pytest.mark.parametrize("name", list(MODELS))
def test_layer_rule_loads_with_kerass_values(built, name, strip):
    directory, text, fresh, expected = built[name]
    source = "model.json"
    if strip:
        if json.loads(text)["class_name"] != "Sequential":
            pytest.skip("a Functional config keeps its shapes in its inbound nodes")
        source = "stripped.json"
        (directory / source).write_text(json.dumps(strip_build_configs(json.loads(text))))
    output = f"ours_{strip}.weights.h5"
    result = run_in_process(["model", source, "--seed", "5", "-o", output, "--force"], directory)
    assert result.exit_code == 0, result.stderr
    assert h5_datasets(directory / output) == h5_datasets(directory / "keras.weights.h5")
    model = fresh()
    model.load_weights(str(directory / output))
    loaded = [np.asarray(v) for v in model.weights]
    assert len(loaded) == len(expected) > 0
    for ours, theirs, variable in zip(loaded, expected, model.weights, strict=True):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, variable.path
        assert ours.tobytes() == theirs.tobytes(), f"{name}: {variable.path} differs from Keras's initial value"


@pytest.mark.parametrize("name", ["rnn_stacked", "applications_layers", "augmentation_RandomFlip"])
def test_layer_rule_legacy_h5_and_keras_archive(keras, built, name):
    directory, _, fresh, expected = built[name]
    for output in ("ours.h5", "ours.keras"):
        result = run_in_process(["model", "model.json", "--seed", "5", "-o", output, "--force"], directory)
        assert result.exit_code == 0, result.stderr
        if output.endswith(".keras"):
            model = keras.models.load_model(str(directory / output), custom_objects=_custom_objects(), safe_mode=False)
        else:
            model = fresh()
            model.load_weights(str(directory / output))
        for ours, theirs in zip(model.weights, expected, strict=True):
            assert np.asarray(ours).tobytes() == theirs.tobytes(), (output, ours.path)


def test_lambda_without_output_shape_is_named_when_its_shape_is_needed(keras, tmp_path):
    L = keras.layers
    model = keras.Sequential([keras.Input((3,)), L.Lambda(lambda x: x * 2, name="doubler"), L.Dense(2, name="head")])
    config = json.loads(model.to_json())
    (tmp_path / "kept.json").write_text(json.dumps(config))
    result = run_in_process(["model", "kept.json", "--seed", "1", "-o", "kept.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr  # the Dense carries its own build_config
    (tmp_path / "m.json").write_text(json.dumps(strip_build_configs(config)))
    result = run_in_process(["model", "m.json", "-o", "m.weights.h5"], tmp_path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initcli: error: layer 'doubler' (Lambda) has no output_shape")
    assert "give the Lambda output_shape" in lines[0]
    assert not (tmp_path / "m.weights.h5").exists()


@pytest.mark.parametrize(
    "cell,message",
    [
        ({"class_name": "MyCell", "config": {"units": 2}}, "RNN over a cell of class 'MyCell' is not supported"),
        (
            {"class_name": "StackedRNNCells", "config": {"cells": [{"class_name": "MyCell", "config": {}}]}},
            "StackedRNNCells over 'MyCell' is not supported",
        ),
        ({"class_name": "StackedRNNCells", "config": {"cells": []}}, "StackedRNNCells has no 'cells' list"),
        ("lstm", "RNN cell 'lstm' is not a cell config"),
    ],
)
def test_rnn_with_an_unknown_cell_is_one_line(keras, tmp_path, cell, message):
    L = keras.layers
    config = json.loads(keras.Sequential([keras.Input((5, 3)), L.RNN(L.LSTMCell(2), name="rec")]).to_json())
    config["config"]["layers"][1]["config"]["cell"] = cell
    (tmp_path / "m.json").write_text(json.dumps(config))
    result = run_in_process(["model", "m.json", "-o", "m.weights.h5"], tmp_path)
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initcli: error: layer 'rec'") and message in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def _shape_cases(keras) -> list[tuple[Any, list[tuple[int | None, ...]]]]:
    L = keras.layers
    image = (None, 8, 8, 3)
    cases: list[tuple[Any, list[tuple[int | None, ...]]]] = [
        (L.Dot(axes=1), [(None, 4), (None, 4)]),
        (L.Dot(axes=-1), [(None, 3, 4), (None, 5, 4)]),
        (L.Dot(axes=(1, 2)), [(None, 4, 3), (None, 2, 4)]),
        (L.Dot(axes=[2, 1], normalize=True), [(None, 6, 4), (None, 4, 7)]),
        (L.Discretization(bin_boundaries=[0.0, 1.0]), [(None, 4)]),
        (L.Discretization(bin_boundaries=[0.0, 1.0], output_mode="one_hot"), [(None, 4)]),
        (L.Discretization(bin_boundaries=[0.0, 1.0], output_mode="one_hot"), [(None, 4, 1)]),
        (L.Discretization(num_bins=5, output_mode="multi_hot"), [(None, 4)]),
        (L.Discretization(bin_boundaries=[0.0], output_mode="count"), [(None, 3, 4)]),
        (L.CategoryEncoding(num_tokens=6), [(None, 3)]),
        (L.CategoryEncoding(num_tokens=6, output_mode="one_hot"), [(None,)]),
        (L.CategoryEncoding(num_tokens=6, output_mode="one_hot"), [(None, 1)]),
        (L.CategoryEncoding(num_tokens=6, output_mode="one_hot"), [(None, 3)]),
        (L.CategoryEncoding(num_tokens=6, output_mode="count"), [(None, 2, 3)]),
        (L.Resizing(3, 5), [image]),
        (L.Resizing(3, 5), [(8, 8, 3)]),
        (L.Resizing(3, 5, data_format="channels_first"), [(None, 3, 8, 8)]),
        (L.CenterCrop(3, 5), [image]),
        (L.CenterCrop(4, 2, data_format="channels_first"), [(None, 3, 8, 8)]),
        (L.RandomCrop(6, 7), [image]),
        (L.AdaptiveAveragePooling1D(3), [(None, 9, 2)]),
        (L.AdaptiveMaxPooling2D((2, 3), data_format="channels_first"), [(None, 4, 9, 9)]),
        (L.AdaptiveAveragePooling3D(2), [(None, 4, 4, 4, 2)]),
        (L.Equalization(), [image]),
        (L.MelSpectrogram(num_mel_bins=8, sequence_stride=100), [(None, 1000)]),
        (L.MelSpectrogram(), [(3000,)]),
    ]
    for name in AUGMENTATION:
        if name != "Pipeline":
            cases.append((getattr(L, name)(**AUGMENTATION_ARGS.get(name, {})), [image]))
    return cases


def test_weightless_output_shapes_match_kerass(keras):
    """Every new weightless rule's output shape equals Keras's own ``compute_output_shape``."""
    from initcli.model.layers import RULES

    checked = 0
    for layer, shapes in _shape_cases(keras):
        config = json.loads(json.dumps(layer.get_config()))
        theirs = layer.compute_output_shape(shapes if len(shapes) > 1 else shapes[0])
        built = RULES[type(layer).__name__](config, *shapes)
        assert built.weights == [], type(layer).__name__
        assert tuple(built.output) == tuple(theirs), (type(layer).__name__, config, shapes)
        checked += 1
    assert checked == 26 + len(AUGMENTATION) - 1  # every case, Pipeline aside (it needs layers)


@pytest.mark.parametrize("class_name", ["JaxLayer", "FlaxLayer", "TorchModuleWrapper", "TFSMLayer", "Layer", "Wrapper"])
def test_layers_running_foreign_code_are_refused_in_one_line(keras, tmp_path, class_name):
    config = json.loads(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="inner")]).to_json())
    config["config"]["layers"][1]["class_name"] = class_name
    (tmp_path / "m.json").write_text(json.dumps(config))
    result = run_in_process(["model", "m.json", "-o", "m.weights.h5"], tmp_path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"initcli: error: layer 'inner' of class {class_name!r} is not supported: "
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


KNOWN_MISSING: set[str] = set()
# every canonical keras.layers class has a rule: the lookup and hashing layers (which need TensorFlow)
# are tested in tests/test_lookup_layers.py, the cells called by themselves in tests/test_cell_layers.py
"""Canonical ``keras.layers`` classes without a rule, each with its reason."""


def test_initcli_layers_lists_every_rule_and_covers_keras_layers(keras, tmp_path):
    import inspect

    from initcli.model.layers import RULES

    result = run_in_process(["layers", "--json"], tmp_path)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    listed = {row["class_name"]: row for row in rows}
    assert set(RULES) | {"InputLayer", "Sequential", "Functional"} == set(listed)
    assert {row["kind"] for row in rows} == {"weights", "conditional", "weightless", "refused"}
    assert listed["Dense"]["kind"] == "weights" and listed["RandomFlip"]["kind"] == "weightless"
    assert listed["JaxLayer"]["kind"] == "refused" and listed["LayerScale"]["family"] == "keras.applications"
    layer_classes = {
        cls for cls in vars(keras.layers).values() if inspect.isclass(cls) and issubclass(cls, keras.layers.Layer)
    }
    # one name per class, as configs spell it (the Python class GroupedQueryAttention is saved as GroupQueryAttention)
    canonical = {cls.__name__ for cls in layer_classes} - {"GroupedQueryAttention"} | {"GroupQueryAttention"}
    assert canonical - set(listed) == KNOWN_MISSING
    assert set(listed) - canonical == {"LayerScale", "StochasticDepth", "CustomScaleLayer", "Sequential", "Functional"}
    text = run_in_process(["layers"], tmp_path)
    assert text.exit_code == 0
    lines = text.stdout.decode().splitlines()
    assert lines[-1].startswith(f"{len(rows)} classes: ") and any(
        line.split()[:2] == ["Dot", "weightless"] for line in lines
    )


def test_weights_kind_matches_real_keras(keras):
    """A class listed as 'weights' creates variables in Keras, and a weightless one none."""
    from initcli.model.layers.listing import supported_layers

    kinds = {row.name: row.kind for row in supported_layers()}
    L = keras.layers
    samples = {
        "Dense": (L.Dense(2), (None, 3)),
        "RNN": (L.RNN(L.GRUCell(2)), (None, 4, 3)),
        "STFTSpectrogram": (L.STFTSpectrogram(frame_length=4), (None, 16, 1)),
        "Dot": (L.Dot(axes=1), [(None, 3), (None, 3)]),
        "Resizing": (L.Resizing(2, 2), (None, 4, 4, 3)),
        "Discretization": (L.Discretization(bin_boundaries=[0.0]), (None, 3)),
        "CategoryEncoding": (L.CategoryEncoding(4), (None, 3)),
        "MelSpectrogram": (L.MelSpectrogram(), (None, 1000)),
        "AdaptiveMaxPooling2D": (L.AdaptiveMaxPooling2D(2), (None, 4, 4, 3)),
        "RandomFlip": (L.RandomFlip(), (None, 4, 4, 3)),
        "RandomCrop": (L.RandomCrop(2, 2), (None, 4, 4, 3)),
    }
    for name, (layer, shape) in samples.items():
        layer.build(shape)
        assert (kinds[name] == "weights") == bool(layer.weights), name


@pytest.mark.parametrize(
    "application,shape,custom",
    [("ConvNeXtTiny", (32, 32, 3), "LayerScale"), ("InceptionResNetV2", (75, 75, 3), "CustomScaleLayer")],
)
def test_keras_applications_with_their_own_layers_load(keras, tmp_path, application, shape, custom):
    """The real ConvNeXt and InceptionResNetV2 (unseeded: Keras draws random values, so the random
    weights are compared by shape, every deterministic one -- LayerScale's gamma, biases, BN -- by value)."""
    model = getattr(keras.applications, application)(weights=None, input_shape=shape)
    text = model.to_json()
    assert custom in {layer["class_name"] for layer in json.loads(text)["config"]["layers"]}
    (tmp_path / "m.json").write_text(text)
    model.save_weights(str(tmp_path / "keras.weights.h5"))
    result = run_in_process(["model", "m.json", "--seed", "3", "-o", "ours.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert h5_datasets(tmp_path / "ours.weights.h5") == h5_datasets(tmp_path / "keras.weights.h5")
    theirs = [np.asarray(v).copy() for v in model.weights]
    model.load_weights(str(tmp_path / "ours.weights.h5"))
    constant = 0
    for variable, expected in zip(model.weights, theirs, strict=True):
        ours = np.asarray(variable)
        assert ours.shape == expected.shape and ours.dtype == expected.dtype, variable.path
        if expected.size > 1 and np.all(expected == expected.flat[0]):
            assert ours.tobytes() == expected.tobytes(), variable.path
            constant += 1
    if custom == "LayerScale":
        gammas = [v for v in model.weights if "layer_scale" in v.path]
        assert len(gammas) == 18 and all(np.all(np.asarray(g) == np.float32(1e-6)) for g in gammas)
    assert constant > 100


def test_batch_config_orders_the_new_classes_weights_as_keras_does(keras, tmp_path):
    from keras.src.applications.convnext import LayerScale

    config = {
        "layers": [
            {
                "name": "rec",
                "class": "RNN",
                "weights": {
                    "bias": constant_weight(3.0, [8]),
                    "recurrent_kernel": constant_weight(2.0, [2, 8]),
                    "kernel": constant_weight(1.0, [4, 8]),
                },
            },
            {"name": "scale", "class": "LayerScale", "weights": {"gamma": constant_weight(0.5, [2])}},
            {"name": "norm", "class": "RMSNormalization", "weights": {"scale": constant_weight(4.0, [2])}},
            {
                "name": "stft",
                "class": "STFTSpectrogram",
                "weights": {
                    "imag_kernel": constant_weight(6.0, [4, 1, 3]),
                    "real_kernel": constant_weight(5.0, [4, 1, 3]),
                },
            },
        ]
    }
    (tmp_path / "c.json").write_text(json.dumps(config))
    result = run_in_process(["batch", "c.json", "--seed", "1", "-o", "o.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    L = keras.layers
    x = keras.Input((3, 4))
    y = L.RMSNormalization()(LayerScale(0.1, 2)(L.RNN(L.LSTMCell(2))(x)))
    s = keras.Input((16, 1))
    model = keras.Model([x, s], [y, L.STFTSpectrogram(frame_length=4)(s)])
    model.load_weights(str(tmp_path / "o.weights.h5"))
    values = [float(np.asarray(v).flat[0]) for v in model.weights]
    assert values == [1.0, 2.0, 3.0, 0.5, 4.0, 5.0, 6.0]


def _set(config: dict[str, Any], path: list[Any], value: Any) -> None:
    for key in path[:-1]:
        config = config[key]
    config[path[-1]] = value


NOT_COUNTS = [4.7, 4.0, "4", True, 0, -3, None]


@pytest.mark.parametrize("value", NOT_COUNTS, ids=repr)
@pytest.mark.parametrize(
    "layer,key",
    [
        ("Dense", ["units"]),
        ("Conv2D", ["filters"]),
        ("LSTM", ["units"]),
        ("Embedding", ["input_dim"]),
        ("Resizing", ["height"]),
        ("CategoryEncoding", ["num_tokens"]),
        ("RNN", ["cell", "config", "units"]),
        ("LayerScale", ["projection_dim"]),
        ("MultiHeadAttention", ["num_heads"]),
    ],
)
def test_counts_keras_refuses_are_refused_in_one_line(keras, tmp_path, layer, key, value):
    from keras.src.applications.convnext import LayerScale

    L = keras.layers
    make = {
        "Dense": lambda: L.Dense(3, name="bad"),
        "Conv2D": lambda: L.Conv2D(2, 1, name="bad"),
        "LSTM": lambda: L.LSTM(2, name="bad"),
        "Embedding": lambda: L.Embedding(10, 2, name="bad"),
        "Resizing": lambda: L.Resizing(2, 2, name="bad"),
        "CategoryEncoding": lambda: L.CategoryEncoding(4, name="bad"),
        "RNN": lambda: L.RNN(L.GRUCell(2, name="the_cell"), name="bad"),
        "LayerScale": lambda: LayerScale(0.1, 3, name="bad"),
        "MultiHeadAttention": None,
    }[layer]
    if make is None:
        q = keras.Input((4, 3))
        model = keras.Model(q, L.MultiHeadAttention(2, 4, name="bad")(q, q))
    else:
        shape = {"Resizing": (4, 4, 3), "RNN": (5, 3), "LSTM": (5, 3), "Conv2D": (4, 4, 3)}.get(layer, (3,))
        model = keras.Sequential([keras.Input(shape), make()])
    config = json.loads(model.to_json())
    entry = next(e for e in config["config"]["layers"] if e["config"].get("name") == "bad")
    _set(entry["config"], key, value)
    (tmp_path / "m.json").write_text(json.dumps(config))
    result = run_in_process(["model", "m.json", "-o", "m.weights.h5"], tmp_path)
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    named = "the_cell" if layer == "RNN" else "bad"  # the cell's own config holds its units
    reason = f"{key[-1]} must be a positive integer (as Keras requires), got {value!r}"
    assert lines[0] == f"initcli: error: layer {named!r}: {reason}"
    assert "Error" not in lines[0] and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]
