"""Model configs collected from public repositories, as they were found: every one planned,
written (``.weights.h5``, legacy ``.h5``, ``.keras``), loaded by real Keras 3 (and the legacy
``.h5`` by real Keras 2), with Keras's own weights, shapes and order, and every seeded value
bit-identical to what Keras's initializer gives for the seed initcli recorded in the file.

The corpus is ``tests/model_corpus/wild`` (Keras 1.0 to 3.15, Sequential and Functional,
multi-input, nested models, shared layers, RNNs, embeddings, CNNs, tfjs ``model.json`` without
their weight manifests).  ``manifest.json`` (made by ``make_manifest.py`` with real Keras 2,
tf_keras, and real Keras 3) records for each config the weights REAL Keras builds from the
original file, each with the initializer Keras built it with, or why Keras itself cannot
rebuild it (then initcli must refuse it in one line).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from .helpers import run_in_process

WILD = Path(__file__).resolve().parent / "model_corpus" / "wild"
MANIFEST: dict[str, dict] = json.loads((WILD / "manifest.json").read_text())
LOADED = sorted(name for name, entry in MANIFEST.items() if "refused" not in entry)
PLANNED_WITHOUT_KERAS = {"wild_k3_func_siamese_lambda.json"}
"""Keras cannot rebuild these without the user's code (a Lambda's function), but every weight's shape
is in the config (Keras 3 records the tensors' shapes), so initcli plans them: the user has the code."""
REFUSED = sorted(name for name, entry in MANIFEST.items() if "refused" in entry and name not in PLANNED_WITHOUT_KERAS)
KERAS2 = sorted(
    name
    for name in LOADED
    if MANIFEST[name]["built_by"].startswith("keras2") and MANIFEST[name].get("keras_reads_original", True)
)
"""Configs real Keras 2 rebuilt from the original file (their legacy .h5 is loaded there too)."""
SEED = 20260


def _reads_as_keras3(name: str) -> bool:
    """Whether Keras 3 builds the model straight from the file (a Keras 3 config)."""
    entry = MANIFEST[name]
    return entry["kind"].startswith("keras3") and entry.get("keras_reads_original", True)


def _k2_name(name: str) -> str:
    """A Keras 2 weight name as Keras 3 calls it (DepthwiseConv2D's depthwise_kernel is kernel)."""
    return name[: -len("depthwise_kernel")] + "kernel" if name.endswith("/depthwise_kernel") else name


def _same_weight_list(variables, name: str) -> None:
    expected = MANIFEST[name]["weights"]
    assert [list(v.shape) for v in variables] == [w["shape"] for w in expected], name
    for variable, record in zip(variables, expected, strict=True):
        # the same layer and weight: Keras 3 prefixes a Sequential's name and names a wrapped
        # layer (TimeDistributed's Dense) where Keras 2 did not
        theirs = _k2_name(record["name"]).split("/")
        ours = variable.path.split("/")
        assert theirs[0] in ours and theirs[-1] == ours[-1], (variable.path, record["name"])


def _provenance(path: Path) -> dict[str, list[dict]]:
    """The per-tensor provenance of every dataset in an initcli file, by a hash of its bytes."""
    found: dict[str, list[dict]] = {}

    def visit(handle: h5py.File) -> None:
        def one(_, item):
            if isinstance(item, h5py.Dataset) and "initcli" in item.attrs:
                data = np.asarray(item)
                key = hashlib.sha256(data.tobytes() + str(data.shape).encode()).hexdigest()
                found.setdefault(key, []).append(json.loads(item.attrs["initcli"]))

        handle.visititems(one)

    if path.suffix == ".keras":
        with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as handle:
            visit(handle)
    else:
        with h5py.File(path) as handle:
            visit(handle)
    return found


def _keras_value(keras, record: dict, provenance: dict) -> np.ndarray:
    """What real Keras's initializer gives for this weight: the initializer Keras built the
    weight with (from the manifest), called with the seed initcli recorded for it."""
    pieces = []
    for piece in provenance["pieces"]:
        class_name = piece["initializer"]["class_name"]
        if class_name == "Ones" and record.get("unit_forget_bias"):
            config = {"class_name": "Ones", "config": {}}  # Keras's forget-gate block of the bias
        else:
            config = json.loads(json.dumps(record["initializer"]))
        if piece.get("seed") is not None:
            assert piece.get("draw", 0) == 0, provenance["path"]
            config["config"]["seed"] = piece["seed"]
        pieces.append(np.asarray(keras.initializers.get(config)(tuple(piece["shape"]), dtype="float32")))
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=0)


def _check_values(keras, variables, name: str, path: Path, cache: dict) -> int:
    """Every loaded weight equals Keras's own value for it; the number of seeded weights.
    ``cache`` keeps Keras's values by weight and recorded pieces (the same in every format)."""
    by_bytes = _provenance(path)
    seeded = 0
    for variable, record in zip(variables, MANIFEST[name]["weights"], strict=True):
        value = np.asarray(variable)
        key = hashlib.sha256(value.tobytes() + str(value.shape).encode()).hexdigest()
        assert key in by_bytes, f"{name}: {variable.path} holds values no dataset of {path.name} has"
        # the dataset Keras loaded into this variable is one initcli made for a weight of that
        # name (a constant tensor, zeros or ones, may equal several datasets)
        weight = _k2_name(record["name"]).split("/")[-1]
        candidates = [p for p in by_bytes[key] if p["path"].split("/")[-1] == weight]
        assert candidates, (record["name"], [p["path"] for p in by_bytes[key]])
        provenance = candidates[0]
        assert "initializer" in record, f"{name}: {record['name']} has no initializer in Keras"
        pieces = json.dumps([record["name"], provenance["pieces"]], sort_keys=True)
        if pieces not in cache:
            cache[pieces] = _keras_value(keras, record, provenance)
        expected = cache[pieces]
        assert value.dtype == expected.dtype and value.tobytes() == expected.tobytes(), (
            f"{name}: {variable.path} differs from Keras's {record['initializer']['class_name']}"
        )
        seeded += any(piece.get("seed") is not None for piece in provenance["pieces"])
    return seeded


def test_the_corpus_is_what_it_says():
    """At least 20 configs as found, of every era and form, with a manifest entry each."""
    files = sorted(p.name for p in WILD.glob("wild_*.json"))
    assert files == sorted(MANIFEST) and len(files) >= 20
    kinds = {entry["kind"] for entry in MANIFEST.values()}
    assert {"keras1 sequential", "keras2 sequential", "keras2 functional", "keras3 sequential"} <= kinds
    assert {"keras3 functional", "tfjs keras2 sequential", "tfjs keras2 functional"} <= kinds
    assert sum(entry["kind"].startswith("tfjs") for entry in MANIFEST.values()) >= 3
    versions = {entry["keras_version"] for entry in MANIFEST.values()} - {None}
    assert len(versions) >= 12, versions
    for name in files:
        text = (WILD / name).read_text()
        assert len(text) < 300_000 and "weightsManifest" not in text, name
    # the forms the readers must handle are really there, as Keras wrote them
    text = {name: (WILD / name).read_text() for name in files}
    assert isinstance(json.loads(text["wild_k2_2.0.5_seq_mlp.json"])["config"], list)  # list-style Sequential
    assert '"batch_input_shape"' in text["wild_k2_2.2.4_seq_cnn_elu.json"]
    assert '"build_config"' in text["wild_tfk_2.15.0_func_bilstm.json"]
    assert '"batchInputShape"' in text["wild_tfjs_3.15.1_seq_cnn.json"]
    assert '"W_regularizer": {' in text["wild_k1_1.0.5_seq_mlp.json"]
    seq2seq = json.loads(text["wild_k2_2.2.4_func_seq2seq_shared_embedding.json"])["config"]
    assert len(seq2seq["layers"][2]["inbound_nodes"]) == 2  # one Embedding shared by encoder and decoder
    assert len(seq2seq["layers"][4]["inbound_nodes"][0]) == 3  # the decoder LSTM on [x, h, c]
    outputs = json.loads(text["wild_tfk_2.10.0_func_multi_output_attention.json"])["config"]["output_layers"]
    assert isinstance(outputs, dict) and len(outputs) == 4  # four named outputs
    assert len(json.loads(text["wild_k2_2.2.4_func_two_inputs_lstm.json"])["config"]["input_layers"]) == 3
    nested = json.loads(text["wild_k2_2.2.5_func_nested_autoencoder.json"])["config"]["layers"]
    assert [layer["class_name"] for layer in nested] == ["InputLayer", "Model", "Model"]


@pytest.mark.parametrize("name", LOADED)
def test_written_files_load_into_keras3_with_keras_values(keras, tmp_path, name):
    """Planned, written in the three Keras formats, loaded by Keras 3 into the architecture,
    Keras's weight list, every value Keras's initializer's for the recorded seed."""
    plan = run_in_process(["model", str(WILD / name), "--dry-run", "--json", "--seed", str(SEED)], tmp_path)
    assert plan.exit_code == 0, plan.stderr
    records = json.loads(plan.stdout)["weights"]
    assert [r["shape"] for r in records] == [w["shape"] for w in MANIFEST[name]["weights"]]
    seeded: dict[str, int] = {}
    cache: dict[str, np.ndarray] = {}
    model = None
    for suffix in (".keras", ".weights.h5", ".h5"):
        output = tmp_path / f"out{suffix}"
        result = run_in_process(["model", str(WILD / name), "--seed", str(SEED), "-o", output.name], tmp_path)
        assert result.exit_code == 0, result.stderr
        if suffix == ".keras":
            loaded = keras.models.load_model(str(output))
            _same_weight_list(loaded.weights, name)
            seeded[suffix] = _check_values(keras, loaded.weights, name, output, cache)
            # a Keras 3 file's model is built from the file itself; the Keras 3 form of a Keras 1/2
            # or tfjs file is the architecture the .keras file holds (checked above against Keras 2's)
            model = keras.models.model_from_json((WILD / name).read_text()) if _reads_as_keras3(name) else loaded
            _same_weight_list(model.weights, name)
        else:
            model.load_weights(str(output))
            seeded[suffix] = _check_values(keras, model.weights, name, output, cache)
    assert len(set(seeded.values())) == 1
    if "same_model_as" in MANIFEST[name]:
        twin = run_in_process(
            ["model", str(WILD / MANIFEST[name]["same_model_as"]), "--dry-run", "--json", "--seed", str(SEED)],
            tmp_path,
        )
        assert json.loads(twin.stdout)["weights"] == records


REFUSAL = {
    "wild_k1_1.2.1_seq_cnn_lambda.json": "layer 'convolution2d_17' (Convolution2D) is a Keras 1 layer class",
    "wild_k2_2.0.6_seq_nested_custom.json": "layer 'clustering' of class 'ClusteringLayer' is not supported",
    "wild_k2_2.3.1_func_siamese_lambda.json": "kernel_initializer: unknown initializer 'w_init'",
}
"""initcli's line for each config Keras itself cannot rebuild (the manifest says why Keras cannot)."""


@pytest.mark.parametrize("name", REFUSED)
def test_configs_keras_cannot_rebuild_are_refused_in_one_line(tmp_path, name):
    assert sorted(REFUSAL) == REFUSED
    result = run_in_process(["model", str(WILD / name), "--seed", "1", "-o", "out.weights.h5"], tmp_path)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initcli: error: "), result.stderr
    assert REFUSAL[name] in lines[0], lines[0]
    for python in ("Traceback", "Error:", "internal error"):
        assert python not in lines[0]
    assert not (tmp_path / "out.weights.h5").exists()


def test_a_graph_keras_needs_user_code_for_is_planned_from_its_recorded_shapes(tmp_path):
    """The Keras 3 siamese model: its Lambdas (a user function, Python bytecode) are never run; the
    Embedding (``build_config`` with an empty ``shapes_dict``) reads its call's tensors; every weight's
    shape is the one the config's numbers and recorded tensor shapes give."""
    (name,) = PLANNED_WITHOUT_KERAS
    config = json.loads((WILD / name).read_text())["config"]
    layers = {entry["config"]["name"]: entry for entry in config["layers"]}
    result = run_in_process(["model", str(WILD / name), "--dry-run", "--json", "--seed", "1"], tmp_path)
    assert result.exit_code == 0, result.stderr
    planned = {w["path"]: w["shape"] for w in json.loads(result.stdout)["weights"]}
    embedding = layers["embedding"]["config"]
    assert planned["embedding/embeddings"] == [embedding["input_dim"], embedding["output_dim"]]
    units = layers["bidirectional"]["config"]["layer"]["config"]["units"]
    for direction in ("forward", "backward"):
        assert planned[f"bidirectional/{direction}/kernel"] == [embedding["output_dim"], 4 * units]
        assert planned[f"bidirectional/{direction}/recurrent_kernel"] == [units, 4 * units]
    for dense in ("dense", "dense_1", "dense_2"):
        arguments = layers[dense]["inbound_nodes"][0]["args"][0]["config"]["shape"]
        assert planned[f"{dense}/kernel"] == [arguments[-1], layers[dense]["config"]["units"]]
    assert len(planned) == 29


def _tf_keras():
    if os.environ.get("INITCLI_REQUIRE_KERAS2"):
        import tf_keras

        return tf_keras
    try:
        import tf_keras
    except ImportError:
        return None
    return tf_keras


@pytest.mark.skipif(_tf_keras() is None, reason="Keras 2 (tf_keras) is not installed")
@pytest.mark.parametrize("name", KERAS2)
def test_legacy_h5_loads_into_keras2_built_from_the_original(tmp_path, name):
    """The legacy .h5 loads into the model real Keras 2 builds from the ORIGINAL file, with
    the weights the manifest records and every value as initcli wrote it."""
    tf_keras = _tf_keras()
    text = (WILD / name).read_text()
    data = json.loads(text)
    if "modelTopology" in data:
        text = json.dumps(data["modelTopology"].get("model_config", data["modelTopology"]))
    model = tf_keras.models.model_from_json(text)
    assert [(w.name.split(":")[0], list(w.shape)) for w in model.weights] == [
        (w["name"], w["shape"]) for w in MANIFEST[name]["weights"]
    ]
    result = run_in_process(["model", str(WILD / name), "--seed", str(SEED), "-o", "out.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    model.load_weights(str(tmp_path / "out.h5"))
    by_bytes = _provenance(tmp_path / "out.h5")
    for variable in model.weights:
        value = np.asarray(variable)
        key = hashlib.sha256(value.tobytes() + str(value.shape).encode()).hexdigest()
        assert key in by_bytes, f"{name}: {variable.name} holds values no dataset of out.h5 has"
        weight = _k2_name(variable.name.split(":")[0]).split("/")[-1]
        assert any(p["path"].split("/")[-1] == weight for p in by_bytes[key]), variable.name
