"""``initcli model`` reads the model files users already have: Keras 2 ``to_json()`` in every
form Keras 2 wrote, tfjs ``model.json``, whole-model ``.h5``; and refuses the rest in one line.

The corpus (``tests/model_corpus``, made by ``make_corpus.py`` with real Keras 2, tf_keras
2.21) holds each model as Keras 2.13+ writes it, as Keras <= 2.12 did (no ``module`` nor
``build_config``: shapes propagated from the ``InputLayer``), Sequentials as Keras <= 2.3
(the input shape on the first layer) and <= 2.1 (the layer list as the config), two tfjs
wrappings, tf.keras SavedModel metadata's form, and whole-model ``.h5`` files.  Every
initializer in it is seeded (or deterministic), so every value is compared bit for bit with
what real Keras 3 gives for the same architecture.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from initcli.model.legacy_configs import normalize
from initcli.model.sources import load_model_config

from .helpers import json_paths, run_in_process, run_subprocess

CORPUS = Path(__file__).resolve().parent / "model_corpus"
EXPECTED: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text())
TF_OPS = sorted(name for name in EXPECTED if "tf_ops" in name)
"""Configs with TensorFlow op layers (TFOpLambda, SlicingOpLambda): Keras 3 cannot rebuild them."""
KERAS3 = sorted(name for name in EXPECTED if name not in TF_OPS)


def _keras3_model(keras, path: Path):
    """The Keras 3 model of a corpus config (the Keras 3 form initcli reads it as)."""
    return keras.models.model_from_json(json.dumps(normalize(load_model_config(path))))


def test_corpus_is_what_it_says():
    """The older forms really lack what the newer ones have (so the tests below test propagation)."""
    assert len(EXPECTED) >= 25
    for name in EXPECTED:
        text = (CORPUS / name).read_text(errors="replace") if name.endswith(".json") else ""
        if "_212" in name or "_23" in name or "_21" in name or name.startswith("tfjs_"):
            assert '"build_config"' not in text and '"module"' not in text, name
        if name.endswith("_21.json"):
            assert isinstance(json.loads(text)["config"], list)
        if name.endswith("_23.json"):
            assert json.loads(text)["config"]["layers"][0]["class_name"] != "InputLayer"
            assert "batch_input_shape" in json.loads(text)["config"]["layers"][0]["config"]


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5", ".keras"])
@pytest.mark.parametrize("name", KERAS3)
def test_corpus_loads_into_keras3_bit_for_bit(keras, tmp_path, name, suffix):
    output = tmp_path / f"ours{suffix}"
    result = run_in_process(["model", str(CORPUS / name), "--seed", "5", "-o", output.name], tmp_path)
    assert result.exit_code == 0, result.stderr
    reference = _keras3_model(keras, CORPUS / name)  # seeded: Keras's own initial values
    expected = [np.asarray(v) for v in reference.weights]
    # the architecture Keras 3 builds is the one Keras 2 built: the same weights, same shapes, same order
    assert [list(v.shape) for v in expected] == [shape for _, shape in EXPECTED[name]["weights"]]
    if suffix == ".keras":
        model = keras.models.load_model(str(output))
    else:
        model = _keras3_model(keras, CORPUS / name)
        model.load_weights(str(output))
    loaded = [np.asarray(v) for v in model.weights]
    assert len(loaded) == len(expected)
    for ours, theirs, variable in zip(loaded, expected, model.weights, strict=True):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, variable.path
        assert ours.tobytes() == theirs.tobytes(), f"{name}: {variable.path} differs from Keras's value"


@pytest.mark.parametrize("name", TF_OPS)
def test_tf_op_layers_are_weightless(tmp_path, name):
    result = run_in_process(["model", str(CORPUS / name), "--dry-run", "--json"], tmp_path)
    assert result.exit_code == 0, result.stderr
    shapes = [record["shape"] for record in json.loads(result.stdout)["weights"]]
    # Dense(4) on 6 features, relu, [:, 1:] leaves 3 features for Dense(2): the slice is propagated
    assert shapes == [shape for _, shape in EXPECTED[name]["weights"]] == [[6, 4], [4], [3, 2], [2]]


def test_tfjs_and_whole_model_h5_plan_as_the_config_itself(tmp_path):
    def plan(path: Path) -> list:
        result = run_in_process(["model", str(path), "--dry-run", "--json", "--seed", "1"], tmp_path)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)["weights"]

    assert plan(CORPUS / "tfjs_converted_func_cnn.json") == plan(CORPUS / "k2_func_cnn.json")
    assert plan(CORPUS / "tfjs_saved_seq_mlp.json") == plan(CORPUS / "k2_seq_mlp.json")
    assert plan(CORPUS / "k2_func_cnn.h5") == plan(CORPUS / "k2_func_cnn.json")
    assert plan(CORPUS / "k2_seq_mlp.h5") == plan(CORPUS / "k2_seq_mlp.json")


def test_keras2_variance_scaling_normal_is_truncated(keras, tmp_path):
    """Keras 2.0-2.2 wrote VarianceScaling(distribution="normal"), which meant a truncated
    normal (later versions write "truncated_normal"); Keras 3 reads it as one, and so does initcli."""
    config = json.loads((CORPUS / "k2_seq_mlp_212.json").read_text())
    initializer = config["config"]["layers"][-1]["config"]["kernel_initializer"]
    assert "module" not in initializer and initializer["config"]["distribution"] == "truncated_normal"
    initializer["config"]["distribution"] = "normal"
    (tmp_path / "old.json").write_text(json.dumps(config))
    assert keras.initializers.get(initializer).distribution == "truncated_normal"
    result = run_in_process(["model", "old.json", "--dry-run", "--json"], tmp_path)
    record = json.loads(result.stdout)["weights"][-2]
    assert record["initializer"]["config"]["distribution"] == "truncated_normal"
    result = run_in_process(["model", "old.json", "-o", "old.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    reference = _keras3_model(keras, tmp_path / "old.json")
    model = _keras3_model(keras, tmp_path / "old.json")
    model.load_weights(str(tmp_path / "old.weights.h5"))
    assert [np.asarray(v).tobytes() for v in model.weights] == [np.asarray(v).tobytes() for v in reference.weights]


def _keras2_python() -> str | None:
    """A Python with Keras 2 (tf_keras): $INITCLI_KERAS2_PYTHON, or this one where tf_keras is
    installed (CI's second environment, where INITCLI_REQUIRE_KERAS2=1 makes its absence fail)."""
    import importlib.util
    import sys

    candidate = os.environ.get("INITCLI_KERAS2_PYTHON")
    if candidate:
        return candidate if Path(candidate).exists() else None
    if importlib.util.find_spec("tf_keras") is not None:
        return sys.executable
    if os.environ.get("INITCLI_REQUIRE_KERAS2"):
        pytest.fail("INITCLI_REQUIRE_KERAS2 is set but tf_keras is not installed")
    return None


KERAS2_CHECK = r"""
import json, sys, os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import h5py, numpy as np, tf_keras
results = {}
for config, weights in json.loads(sys.argv[1]):
    model = tf_keras.models.model_from_json(open(config).read())
    model.load_weights(weights)
    with h5py.File(weights) as handle:
        stored = []
        for name in handle.attrs["layer_names"]:
            group = handle[name]
            stored += [np.asarray(group[n]) for n in group.attrs["weight_names"]]
    theirs = [np.asarray(w) for w in model.weights]
    same = len(theirs) == len(stored) and all(
        a.shape == b.shape and a.tobytes() == b.astype(a.dtype).tobytes() for a, b in zip(stored, theirs)
    )
    results[config] = same
print(json.dumps(results))
"""


@pytest.mark.skipif(_keras2_python() is None, reason="no Keras 2 environment (set INITCLI_KERAS2_PYTHON)")
def test_legacy_h5_of_every_keras2_config_loads_into_keras2(tmp_path):
    """Every Keras 2.13+ config of the corpus (TF op layers included): the legacy .h5 initcli
    writes loads into the model Keras 2 rebuilds from that config, with every value as written."""
    pairs = []
    for name in sorted(n for n in EXPECTED if n.startswith("k2_") and n.endswith(".json") and "_2" not in n[-9:]):
        if "_212" in name or "savedmodel" in name:
            continue
        output = tmp_path / f"{name}.h5"
        result = run_in_process(["model", str(CORPUS / name), "--seed", "3", "-o", output.name], tmp_path)
        assert result.exit_code == 0, result.stderr
        pairs.append([str(CORPUS / name), str(output)])
    assert len(pairs) >= 8
    proc = subprocess.run(
        [_keras2_python(), "-c", KERAS2_CHECK, json.dumps(pairs)],
        capture_output=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""},
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    results = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert results == {config: True for config, _ in pairs}


# --- refusals: one line naming the layer or key, the value and what is accepted ---------------------

_DENSE = {"class_name": "Dense", "config": {"name": "d", "units": 2}}


def _functional(layers, outputs=(("d", 0, 0),)):
    return {
        "class_name": "Model",
        "config": {
            "name": "m",
            "layers": layers,
            "input_layers": [["x", 0, 0]],
            "output_layers": [list(o) for o in outputs],
        },
    }


_INPUT = {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [None, 3]}}

REFUSED = {
    "layer entry a string": (
        {"class_name": "Sequential", "config": ["dense"]},
        "layer entry 0 is 'dense'",
    ),
    "layer config a list": (
        {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": [1]}]}},
        "its config is [1]; expected an object",
    ),
    "model config a number": (
        {"class_name": "Sequential", "config": 3},
        "'config' is 3; a Keras model config has an object",
    ),
    "no layers": ({"class_name": "Functional", "config": {"name": "m"}}, "config has no 'layers' list"),
    "node from an unknown layer": (
        _functional([_INPUT, {**_DENSE, "name": "d", "inbound_nodes": [[["nowhere", 0, 0, {}]]]}]),
        "'nowhere', which is not a layer of the model",
    ),
    "cycle": (
        _functional(
            [
                _INPUT,
                {
                    "class_name": "Dense",
                    "name": "a",
                    "config": {"name": "a", "units": 2},
                    "inbound_nodes": [[["d", 0, 0, {}]]],
                },
                {**_DENSE, "name": "d", "inbound_nodes": [[["a", 0, 0, {}]]]},
            ]
        ),
        "not computed before it (a cycle",
    ),
    "two layers with one name": (
        _functional(
            [_INPUT, {**_DENSE, "inbound_nodes": [[["x", 0, 0, {}]]]}, {**_DENSE, "inbound_nodes": [[["x", 0, 0, {}]]]}]
        ),
        "two layers are named 'd'",
    ),
    "output index beyond the layer's outputs": (
        _functional([_INPUT, {**_DENSE, "inbound_nodes": [[["x", 0, 4, {}]]]}]),
        "reads output 4 of 'x', which has 1 output(s)",
    ),
    "time_major true": (
        _functional(
            [
                _INPUT,
                {
                    "class_name": "LSTM",
                    "name": "d",
                    "config": {"name": "d", "units": 2, "time_major": True},
                    "inbound_nodes": [[["x", 0, 0, {}]]],
                },
            ]
        ),
        "layer 'd' (LSTM): time_major=True has no Keras 3 equivalent",
    ),
    "depthwise groups": (
        {
            "class_name": "Sequential",
            "config": [
                {
                    "class_name": "DepthwiseConv2D",
                    "config": {"name": "dw", "kernel_size": 3, "groups": 2, "batch_input_shape": [None, 5, 5, 2]},
                }
            ],
        },
        "layer 'dw' (DepthwiseConv2D): groups=2; a depthwise or separable convolution accepts groups 1 only",
    ),
    "slice step zero": (
        _functional(
            [
                {**_INPUT, "config": {"name": "x", "batch_input_shape": [None, 3, 4]}},
                {
                    "class_name": "SlicingOpLambda",
                    "name": "s",
                    "config": {"name": "s", "function": "__operators__.getitem"},
                    "inbound_nodes": [["x", 0, 0, {"slice_spec": [{"start": None, "stop": None, "step": 0}]}]],
                },
                {**_DENSE, "inbound_nodes": [[["s", 0, 0, {}]]]},
            ]
        ),
        "layer 's' (SlicingOpLambda): a slice step of 0",
    ),
    "shape after an op initcli does not compute": (
        _functional(
            [
                _INPUT,
                {
                    "class_name": "TFOpLambda",
                    "name": "t",
                    "config": {"name": "t", "function": "linalg.matmul"},
                    "inbound_nodes": [["x", 0, 0, {"b": 3}]],
                },
                {**_DENSE, "inbound_nodes": [[["t", 0, 0, {}]]]},
            ]
        ),
        "layer 'd' (Dense): its input shape is unknown (no build_config, and initcli cannot compute the "
        "output shape of 't', which it reads)",
    ),
    "tfjs without a model config": ({"modelTopology": None, "format": "graph-model"}, "modelTopology holds no"),
    "tfjs topology of another class": ({"modelTopology": {"class_name": "Dense"}}, "modelTopology holds no"),
    "not a model class": ({"class_name": "Dense", "config": {}}, "class_name 'Dense', accepted: Sequential"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refusals_are_one_line(tmp_path, case):
    config, message = REFUSED[case]
    (tmp_path / "m.json").write_text(json.dumps(config))
    result = run_in_process(["model", "m.json", "--dry-run"], tmp_path)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initcli: error: "), result.stderr
    assert message in lines[0], lines[0]
    for python in ("Traceback", "AttributeError", "TypeError", "KeyError", "IndexError", "internal error"):
        assert python not in lines[0]


def _refused(path: Path, cwd: Path) -> str:
    result = run_subprocess(["model", str(path), "--dry-run"], cwd)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code in (1, 2) and len(lines) == 1 and lines[0].startswith("initcli: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_weights_only_files_have_no_architecture(tmp_path):
    assert "holds legacy Keras weights (layer_names) and no architecture" in _refused(
        CORPUS / "k2_weights_only.h5", tmp_path
    )
    result = run_in_process(["model", str(CORPUS / "k2_seq_mlp.json"), "--seed", "1", "-o", "w.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "holds Keras 3 weights and no architecture" in _refused(tmp_path / "w.weights.h5", tmp_path)


def test_hostile_hdf5_model_configs(tmp_path):
    text = (CORPUS / "k2_seq_mlp.json").read_text()
    with h5py.File(tmp_path / "numbers.h5", "w") as handle:
        handle.attrs["model_config"] = np.arange(4)
    assert "model_config attribute is not a JSON string" in _refused(tmp_path / "numbers.h5", tmp_path)
    with h5py.File(tmp_path / "linked.h5", "w") as handle:
        handle.attrs["model_config"] = text
        handle["elsewhere"] = h5py.ExternalLink("/etc/passwd", "/")
    assert "is an external link" in _refused(tmp_path / "linked.h5", tmp_path)
    with h5py.File(tmp_path / "soft.h5", "w") as handle:
        handle.attrs["model_config"] = text
        handle["loop"] = h5py.SoftLink("/loop")
    assert "is a soft link" in _refused(tmp_path / "soft.h5", tmp_path)
    with h5py.File(tmp_path / "garbage.h5", "w") as handle:
        handle.attrs["model_config"] = b"\xff\xfe{not json"
    assert "garbage.h5:model_config" in _refused(tmp_path / "garbage.h5", tmp_path)
    with h5py.File(tmp_path / "fixed.h5", "w") as handle:
        handle.attrs["model_config"] = np.bytes_(text.encode())  # a fixed-length string: read as well
    result = run_in_process(["model", "fixed.h5", "--dry-run"], tmp_path)
    assert result.exit_code == 0, result.stderr
    (tmp_path / "truncated.h5").write_bytes((CORPUS / "k2_seq_mlp.h5").read_bytes()[:3000])
    assert "truncated.h5" in _refused(tmp_path / "truncated.h5", tmp_path)


KERAS1_SEQUENTIAL = {
    "class_name": "Sequential",
    "keras_version": "1.2.2",
    "config": [
        {
            "class_name": "Dense",
            "config": {
                "name": "dense_1",
                "output_dim": 8,
                "init": "glorot_uniform",
                "activation": "relu",
                "W_regularizer": None,
                "b_regularizer": None,
                "activity_regularizer": None,
                "W_constraint": None,
                "b_constraint": None,
                "bias": True,
                "input_dim": 4,
                "input_dtype": "float32",
                "batch_input_shape": [None, 4],
                "trainable": True,
            },
        },
        {"class_name": "Dropout", "config": {"name": "dropout_1", "p": 0.5, "trainable": True}},
        {"class_name": "Dense", "config": {"name": "dense_2", "output_dim": 3, "init": "he_normal", "bias": False}},
    ],
}


def test_keras1_dense_sequential(keras, tmp_path):
    """Keras 1's Dense (output_dim, init, bias, input_dim) and Dropout(p), with Keras 1 initializer names."""
    (tmp_path / "k1.json").write_text(json.dumps(KERAS1_SEQUENTIAL))
    result = run_in_process(["model", "k1.json", "--dry-run", "--json"], tmp_path)
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)["weights"]
    assert [(r["path"], r["shape"], r["initializer"]["class_name"]) for r in records] == [
        ("dense_1/kernel", [4, 8], "GlorotUniform"),
        ("dense_1/bias", [8], "Zeros"),
        ("dense_2/kernel", [8, 3], "HeNormal"),
    ]
    result = run_in_process(["model", "k1.json", "--seed", "2", "-o", "k1.keras"], tmp_path)
    assert result.exit_code == 0, result.stderr
    model = keras.models.load_model(str(tmp_path / "k1.keras"))  # the Keras 3 form of the config, and the weights
    assert [layer.name for layer in model.layers] == ["dense_1", "dropout_1", "dense_2"]
    assert model.layers[1].rate == 0.5 and model.layers[2].use_bias is False


@pytest.mark.parametrize(
    "layer,message",
    [
        ({"class_name": "Convolution2D", "config": {"name": "c", "nb_filter": 4}}, "is a Keras 1 layer class"),
        (
            {"class_name": "Dense", "config": {"name": "d", "output_dim": 2, "W_regularizer": {"l2": 0.1}}},
            "Keras 1 W_regularizer={'l2': 0.1} is not converted",
        ),
    ],
)
def test_keras1_layers_not_converted_are_named(tmp_path, layer, message):
    config = {"class_name": "Sequential", "config": [{**layer, "config": {**layer["config"], "input_dim": 3}}]}
    (tmp_path / "k1.json").write_text(json.dumps(config))
    result = run_in_process(["model", "k1.json", "--dry-run"], tmp_path)
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "load the model in standalone Keras 2.0-2.2" in result.stderr


_WRONG_VALUES = [None, 0, -1, 1.5, "x", "4", [], {}, [1], {"a": 1}, True, [None], ["x", 0, 0], 10**6]
_PYTHON_WORDS = ("Error", "object has no attribute", "unhashable", "not subscriptable", "NoneType", "int()")


def test_mutated_corpus_configs_are_planned_or_refused_in_one_line():
    """1,000 corpus configs with one to three values replaced by values of other kinds (or keys
    deleted), fixed seed: each is planned or refused with initcli's own one-line error, never a
    Python exception or its text."""
    import copy
    import random

    from initcli.errors import InitcliError
    from initcli.model.keras_config import plan_from_keras_config

    files = sorted(p for p in CORPUS.glob("*.json") if p.name != "expected.json")
    originals = {path: load_model_config(path) for path in files}
    rng = random.Random(12)
    refused = planned = 0
    for _ in range(1000):
        path = rng.choice(files)
        config = copy.deepcopy(originals[path])
        places = list(json_paths(config))[1:]
        for _ in range(rng.randint(1, 3)):
            place = rng.choice(places)
            parent = config
            try:
                for key in place[:-1]:
                    parent = parent[key]
                if rng.random() < 0.3 and isinstance(parent, dict):
                    del parent[place[-1]]
                else:
                    parent[place[-1]] = copy.deepcopy(rng.choice(_WRONG_VALUES))
            except (KeyError, IndexError, TypeError):
                pass  # the place went away with an earlier change
        try:
            plan_from_keras_config(config)
            planned += 1
        except InitcliError as error:
            refused += 1
            text = str(error)
            assert "\n" not in text and not any(word in text for word in _PYTHON_WORDS), (path.name, place, text)
    assert refused > 200 and planned > 200  # both outcomes are exercised


def test_an_hdf5_file_that_makes_the_library_loop_is_one_line(tmp_path, monkeypatch):
    """A byte-mutated whole-model .h5 (kept in the corpus as it was found) on which HDF5 itself
    never returns from reading model_config: the read runs in a child with a time limit, so the
    command ends with one line instead of hanging."""
    import time

    from initcli.model import sources

    monkeypatch.setattr(sources, "MODEL_CONFIG_SECONDS", 2.0)
    shutil.copy(Path(__file__).parent / "model_corpus" / "damaged_loops.h5", tmp_path / "m.h5")
    started = time.monotonic()
    result = run_in_process(["model", "m.h5", "--dry-run"], tmp_path)
    assert time.monotonic() - started < 30
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "did not finish in 2 s: the file is damaged" in lines[0], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5"]
