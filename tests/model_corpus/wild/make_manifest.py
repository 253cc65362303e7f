"""Regenerate ``manifest.json`` for the configs collected from public repositories.

For each ``wild_*.json`` (kept as found; tfjs files without their ``weightsManifest``) the
manifest records what the file states (``keras_version``, ``backend``), its kind, and the
model REAL Keras builds from it: Keras 1/2 configs with Keras 2 (``tf_keras``, from the
original text), Keras 3 configs with Keras 3.  For every weight, in Keras's order: its name,
shape, and the initializer Keras built that weight with (its config without the seed), so a
test can call Keras's own initializer with the seed initcli recorded.  Configs that Keras
itself cannot rebuild are recorded as ``refused`` with Keras's reason.

Run from anywhere:  python tests/model_corpus/wild/make_manifest.py
It runs two children: Keras 2 in $INITCLI_KERAS2_PYTHON (default /work/venv-tf/bin/python,
with tf_keras) and Keras 3 in $INITCLI_KERAS3_PYTHON (default: this Python), numpy backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

REFUSED_WHY = {
    "wild_k1_1.2.1_seq_cnn_lambda.json": (
        "Keras 1 config whose Lambda layer holds Python bytecode (marshalled by the Python that "
        "saved it) and whose Convolution2D uses Keras 1 arguments: neither Keras 2 nor Keras 3 "
        "reads it"
    ),
    "wild_k2_2.0.6_seq_nested_custom.json": (
        "custom layer class ClusteringLayer (user code, not part of Keras): Keras cannot rebuild it without that code"
    ),
    "wild_k2_2.3.1_func_siamese_lambda.json": (
        "a user initializer function (w_init) and a Lambda layer holding Python bytecode: Keras "
        "cannot rebuild them without that code"
    ),
    "wild_k3_func_siamese_lambda.json": (
        "Lambda layers that call a user function (cosine_similarity, not part of Keras) and "
        "Python bytecode: Keras 3 refuses them (safe_mode) and cannot rebuild them without the code"
    ),
}
"""Why Keras cannot rebuild these configs (the generator checks that real Keras does refuse)."""

NOT_READ_BY_KERAS = {
    "wild_k1_1.0.5_seq_mlp.json": (
        "Keras 1 arguments (output_dim, init, W_regularizer): Keras 2 and 3 no longer read them; "
        "the architecture is the one Keras 3 builds from initcli's Keras 3 form of the config"
    ),
    "wild_tfjs_3.15.1_seq_cnn.json": (
        "written by the tfjs converter for TensorFlow.js (an InputLayer with batchInputShape, no "
        "module): Keras 2 and 3 do not read it; the architecture is the one Keras 3 builds from "
        "initcli's Keras 3 form, and it is the model of wild_k3_3.15.1_seq_cnn.json"
    ),
}
"""Configs that only tfjs (or Keras 1) read as they are: the generator checks that real Keras
does not, and records the weights Keras 3 gives the Keras 3 form initcli reads them as."""

ARCHIVE_KERAS_VERSION = {
    "wild_k3_3.5.0_seq_mlp_batchnorm.json": "3.5.0",
    "wild_k3_3.8.0_seq_mlp.json": "3.8.0",
    "wild_k3_3.9.2_seq_mlp_leaky_relu.json": "3.9.2",
    "wild_k3_3.10.0_seq_cnn.json": "3.10.0",
    "wild_k3_3.12.1_func_lstm.json": "3.12.1",
    "wild_k3_3.15.1_seq_cnn.json": "3.15.1",
}
"""The config.json of a .keras archive states no version: metadata.json beside it in the archive does."""

SAME_MODEL = {"wild_tfjs_3.15.1_seq_cnn.json": "wild_k3_3.15.1_seq_cnn.json"}
"""tfjs conversions kept beside the Keras file of the same model (same weights expected)."""

INITIALIZER_OF = {
    "kernel": "kernel_initializer",
    "bias": "bias_initializer",
    "recurrent_kernel": "recurrent_initializer",
    "embeddings": "embeddings_initializer",
    "gamma": "gamma_initializer",
    "beta": "beta_initializer",
    "moving_mean": "moving_mean_initializer",
    "moving_variance": "moving_variance_initializer",
    "depthwise_kernel": "depthwise_initializer",
    "pointwise_kernel": "pointwise_initializer",
    "alpha": "alpha_initializer",
}
"""The layer attribute holding the initializer of a weight, by the weight's own name."""


def stated(text: str) -> dict:
    """keras_version and backend as the file states them, and whether it is a tfjs model.json."""
    data = json.loads(text)
    top = data.get("modelTopology", data) if isinstance(data, dict) else {}
    config = top.get("model_config", top) if isinstance(top, dict) else {}
    return {
        "keras_version": top.get("keras_version") if isinstance(top, dict) else None,
        "backend": top.get("backend") if isinstance(top, dict) else None,
        "tfjs": isinstance(data, dict) and "modelTopology" in data,
        "class_name": config.get("class_name"),
        "keras3": '"registered_name"' in text
        and '"module"' in text
        and ("__keras_tensor__" in text or '"batch_shape"' in text or "keras.src" in text),
    }


def model_text(text: str) -> str:
    """The model config as Keras's model_from_json takes it (a tfjs file's model_config)."""
    data = json.loads(text)
    if isinstance(data, dict) and "modelTopology" in data:
        top = data["modelTopology"]
        return json.dumps(top.get("model_config", top))
    return text


def _walk(layer, owners: dict) -> None:
    """Map id(variable) -> (the layer or cell that made it, its own weight name)."""
    for sub in ("layers", "_layers"):
        children = getattr(layer, sub, None)
        if (
            isinstance(children, list)
            and children
            and layer.__class__.__name__
            in (
                "Sequential",
                "Functional",
                "Model",
            )
        ):
            for child in children:
                _walk(child, owners)
            return
    for attribute in ("forward_layer", "backward_layer", "layer", "cell"):
        inner = getattr(layer, attribute, None)
        if inner is not None and hasattr(inner, "weights") and inner is not layer:
            _walk(inner, owners)
    for variable in layer.weights:
        key = id(variable)
        if key not in owners:
            short = variable.name.split("/")[-1].split(":")[0]
            owners[key] = (layer, short)


def _initializer(lib, layer, short: str) -> dict | None:
    attribute = INITIALIZER_OF.get(short)
    if attribute is None or getattr(layer, attribute, None) is None:
        return None
    config = lib.initializers.serialize(getattr(layer, attribute))
    config = {"class_name": config["class_name"], "config": dict(config.get("config", {}))}
    config["config"].pop("seed", None)
    return config


def describe(lib, model) -> list[dict]:
    """Every weight of a real Keras model, in Keras's order, with the initializer that made it."""
    owners: dict = {}
    _walk(model, owners)
    records = []
    for variable in model.weights:
        layer, short = owners[id(variable)]
        name = getattr(variable, "path", None) or variable.name
        record = {"name": name.split(":")[0], "shape": [int(d) for d in variable.shape]}
        initializer = _initializer(lib, layer, short)
        if initializer is not None:
            record["initializer"] = initializer
        if short == "bias" and getattr(layer, "unit_forget_bias", False) and getattr(layer, "use_bias", True):
            record["unit_forget_bias"] = True
        records.append(record)
    return records


def child(which: str, names: list[str]) -> None:
    """Build every named config with real Keras (``which``: keras2 or keras3); print JSON."""
    if which == "keras2":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import tf_keras as lib

        version = lib.__version__
        build = lib.models.model_from_json
    else:
        os.environ["KERAS_BACKEND"] = "numpy"
        import keras as lib

        version = lib.__version__
        build = lib.models.model_from_json
    out = {}
    for name in names:
        text = (HERE / name).read_text()
        try:
            model = build(model_text(text))
            out[name] = {"built_by": f"{which} {version}", "weights": describe(lib, model)}
        except Exception as error:
            text = " ".join(f"{type(error).__name__}: {error}".split())
            text = text if len(text) <= 400 else f"{text[:150]} ... {text[-250:]}"  # Keras's reason ends it
            out[name] = {"built_by": f"{which} {version}", "keras_error": text}
    print(json.dumps(out))


def kind(name: str, facts: dict) -> str:
    era = (
        "keras3"
        if facts["keras3"] or str(facts["keras_version"]).startswith("3")
        else ("keras1" if str(facts["keras_version"]).startswith("1") else "keras2")
    )
    form = "sequential" if facts["class_name"] == "Sequential" else "functional"
    return f"{'tfjs ' if facts['tfjs'] else ''}{era} {form}"


def main() -> None:
    names = sorted(p.name for p in HERE.glob("wild_*.json"))
    facts = {name: stated((HERE / name).read_text()) for name in names}
    keras3 = [n for n in names if "keras3" in kind(n, facts[n])]
    keras2 = [n for n in names if n not in keras3]
    pythons = {
        "keras2": os.environ.get("INITCLI_KERAS2_PYTHON", "/work/venv-tf/bin/python"),
        "keras3": os.environ.get("INITCLI_KERAS3_PYTHON", sys.executable),
    }
    built: dict = {}
    for which, group in (("keras2", keras2), ("keras3", keras3)):
        proc = subprocess.run(
            [pythons[which], __file__, "--child", which, *group],
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""},
        )
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
        built.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    manifest = {}
    for name in names:
        entry = {
            "keras_version": facts[name]["keras_version"],
            "backend": facts[name]["backend"],
            "kind": kind(name, facts[name]),
            "built_by": built[name]["built_by"],
        }
        if name in REFUSED_WHY:
            if "keras_error" not in built[name]:
                raise SystemExit(f"{name}: recorded as refused, but Keras builds it")
            entry["refused"] = REFUSED_WHY[name]
            entry["keras_error"] = built[name]["keras_error"]
        elif "keras_error" in built[name]:
            if name not in NOT_READ_BY_KERAS:
                raise SystemExit(f"{name}: Keras cannot build it: {built[name]['keras_error']}")
            entry["keras_reads_original"] = False
            entry["why"] = NOT_READ_BY_KERAS[name]
            entry["keras_error"] = built[name]["keras_error"]
        else:
            entry["weights"] = built[name]["weights"]
        if name in ARCHIVE_KERAS_VERSION:
            entry["archive_keras_version"] = ARCHIVE_KERAS_VERSION[name]
        if name in SAME_MODEL:
            entry["same_model_as"] = SAME_MODEL[name]
        manifest[name] = entry
    keras1 = [n for n in manifest if "weights" not in manifest[n] and "refused" not in manifest[n]]
    if keras1:  # configs Keras does not read as they are: the weights Keras 3 gives their Keras 3 form
        proc = subprocess.run(
            [pythons["keras3"], __file__, "--keras1", *keras1], capture_output=True, text=True, timeout=300
        )
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
        for name, record in json.loads(proc.stdout.strip().splitlines()[-1]).items():
            manifest[name]["weights"] = record["weights"]
            manifest[name]["built_by"] = record["built_by"]
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(f"{len(manifest)} configs, {sum('refused' in e for e in manifest.values())} refused")


def keras1_child(names: list[str]) -> None:
    """Keras 3's model of initcli's Keras 3 form of each named config; print JSON."""
    os.environ["KERAS_BACKEND"] = "numpy"
    import keras

    from initcli.model.legacy_configs import normalize
    from initcli.model.sources import load_model_config

    out = {}
    for name in names:
        model = keras.models.model_from_json(json.dumps(normalize(load_model_config(HERE / name))))
        out[name] = {"built_by": f"keras3 {keras.__version__} (Keras 3 form)", "weights": describe(keras, model)}
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3:])
    elif sys.argv[1:2] == ["--keras1"]:
        keras1_child(sys.argv[2:])
    else:
        main()
