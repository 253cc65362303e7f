"""Every family of ``keras.applications``: built by real Keras, planned and written by ``initcli model``,
loaded back by Keras, and every weight checked bit for bit against real Keras.

For each family the smallest variant is built with ``weights=None``, the smallest input shape Keras
accepts (one pixel less is refused: tested) and ``classes=3`` with ``include_top=True``, so the
classifier is exercised while staying small.  The model's ``to_json()`` goes through the real CLI
(``tests/helpers.run_in_process``); the file must have exactly the datasets (names, shapes, dtypes)
of Keras's own ``save_weights``; Keras loads it; then every variable is compared with what real
Keras gives for it:

* a random initializer (its config has a ``seed`` key): the layer's ``*_initializer`` config from
  the model config, with the seed initcli recorded for that weight in the file's provenance, called
  through ``keras.initializers.deserialize`` with the variable's shape and dtype;
* a deterministic initializer (``Zeros``, ``Ones``, ``Constant``): the same call, and also the
  value in Keras's own freshly built model;
* weights with no initializer in the layer config (``Normalization``'s mean, variance and count,
  ``LayerScale``'s gamma: :data:`FIXED_BY_KERAS`): the freshly built model's value.

The seeds are read from the file, never recomputed with initcli's code.  The families run in two
worker processes (one per core: the checks are CPU-bound), each a fresh interpreter with Keras on
its numpy backend; a failed check comes back as the test's ``AssertionError``.
"""

from __future__ import annotations

import inspect
import io
import json
import multiprocessing
import os
import re
import shutil
import tempfile
import time
import warnings
import zipfile
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .helpers import run_in_process

SEED = 11
TIMEOUT = 600
"""Seconds a test waits for its family's worker (the whole module takes well under a minute alone)."""

VARIANTS: dict[str, tuple[str, tuple[int, int, int], dict[str, Any]]] = {
    # family: its smallest variant, the smallest input shape Keras accepts, other arguments
    "convnext": ("ConvNeXtTiny", (32, 32, 3), {}),
    "densenet": ("DenseNet121", (32, 32, 3), {}),
    "efficientnet": ("EfficientNetB0", (32, 32, 3), {}),
    "efficientnet_v2": ("EfficientNetV2B0", (32, 32, 3), {}),
    "inception_resnet_v2": ("InceptionResNetV2", (75, 75, 3), {}),
    "inception_v3": ("InceptionV3", (75, 75, 3), {}),
    "mobilenet": ("MobileNet", (32, 32, 3), {"alpha": 0.25}),
    "mobilenet_v2": ("MobileNetV2", (32, 32, 3), {"alpha": 0.35}),
    "mobilenet_v3_small": ("MobileNetV3Small", (32, 32, 3), {"alpha": 0.75}),
    "mobilenet_v3_large": ("MobileNetV3Large", (32, 32, 3), {"alpha": 0.75}),
    "nasnet": ("NASNetMobile", (32, 32, 3), {}),
    "resnet": ("ResNet50", (32, 32, 3), {}),
    "resnet_v2": ("ResNet50V2", (32, 32, 3), {}),
    "vgg16": ("VGG16", (32, 32, 3), {}),
    "vgg19": ("VGG19", (32, 32, 3), {}),
    "xception": ("Xception", (71, 71, 3), {}),
}
"""The MobileNets' ``alpha`` is the smallest width Keras publishes for them; MobileNetV3 Small and
Large are both here (two graphs; their hard-swish is made of keras.ops nodes, ``minimalistic=False``)."""

KERAS_ARCHIVE = ["mobilenet_v3_small", "efficientnet"]
"""Families also written as ``.keras`` and loaded with ``keras.models.load_model``."""

TRANSFER = ["mobilenet_v3_small"]
"""Families also checked as the base of a transfer model: a ``Sequential`` of the base
(``include_top=False``), ``GlobalAveragePooling2D`` and ``Dense`` (every family passes this; one,
with keras.ops nodes inside the nested model, keeps CI short)."""

FLOAT16 = ["efficientnet"]
"""Families also built under the ``float16`` dtype policy (every weight float16, Normalization's state too)."""

FIXED_BY_KERAS = {("Normalization", "mean"), ("Normalization", "variance"), ("Normalization", "count")}
FIXED_BY_KERAS |= {("LayerScale", "gamma")}
"""Weights whose initial value Keras fixes without an initializer in the layer config."""

INITIALIZER_KEYS = {
    ("DepthwiseConv2D", "kernel"): "depthwise_initializer",
    ("SeparableConv2D", "depthwise_kernel"): "depthwise_initializer",
    ("SeparableConv2D", "pointwise_kernel"): "pointwise_initializer",
}
"""Config keys of initializers not named ``<weight>_initializer``."""

UNNAMED_WEIGHTS = {"LayerScale": "gamma"}
"""Classes whose weight Keras creates without a name (it calls them ``variable``, ``variable_1``, ... by
a global counter), with the name initcli gives it in its paths: the attribute that holds it."""


LARGEST_FIRST = [
    "inception_resnet_v2",
    "nasnet",
    "efficientnet",
    "densenet",
    "inception_v3",
    "efficientnet_v2",
    "mobilenet_v3_small",
    "resnet",
    "resnet_v2",
    "convnext",
    "xception",
]
"""Submission order, so the two workers finish together."""


# --- what runs in a worker ------------------------------------------------------------------------


def _check(message: str, condition: bool) -> None:
    """An assertion that keeps its message in a worker process (no pytest rewriting there)."""
    if not condition:
        raise AssertionError(message)


def _layout(handle: Any) -> dict[str, tuple[tuple[int, ...], str]]:
    """Every dataset of an open HDF5 file: name -> (shape, dtype)."""
    found: dict[str, tuple[tuple[int, ...], str]] = {}

    def visit(name: str, obj: Any) -> None:
        if hasattr(obj, "shape"):
            found[name] = (tuple(obj.shape), str(obj.dtype))

    handle.visititems(visit)
    return found


def _records(handle: Any) -> dict[str, dict[str, Any]]:
    """The provenance record of every dataset of an open HDF5 file, by weight path."""
    records: dict[str, dict[str, Any]] = {}

    def visit(name: str, obj: Any) -> None:
        if hasattr(obj, "shape"):
            record = json.loads(obj.attrs["initcli"])
            _check(f"two datasets record the path {record['path']}", record["path"] not in records)
            records[record["path"]] = record

    handle.visititems(visit)
    return records


def _variables(keras: Any, model: Any, config: dict[str, Any], prefix: str = "") -> list[tuple[str, dict, Any]]:
    """(path as initcli names it, the layer's entry in the model config, variable) for every weight, in
    Keras's order; nested models (ConvNeXt's downsampling blocks) prefix their layers' paths with
    their name, keras.ops nodes are not layers."""
    entries = {
        entry["config"]["name"]: entry
        for entry in config["config"]["layers"]
        if not str(entry.get("module", "")).startswith("keras.src.ops")
    }
    found = []
    for layer in model.layers:
        entry = entries[layer.name]
        if isinstance(layer, keras.Model):
            found += _variables(keras, layer, entry, f"{prefix}{layer.name}/")
            continue
        for variable in layer.weights:
            name = variable.name
            if re.fullmatch(r"variable(_[0-9]+)?", name) and type(layer).__name__ in UNNAMED_WEIGHTS:
                name = UNNAMED_WEIGHTS[type(layer).__name__]
            found.append((f"{prefix}{layer.name}/{name}", entry, variable))
    return found


def _kerass_value(
    keras: Any, where: str, entry: dict[str, Any], variable: Any, record: dict[str, Any], fresh: np.ndarray
) -> tuple[np.ndarray, str]:
    """What real Keras gives for ``variable`` (at path ``where``), and the kind of check (random,
    deterministic, fixed)."""
    class_name, weight = entry["class_name"], where.rsplit("/", 1)[1]
    if (class_name, weight) in FIXED_BY_KERAS:
        return fresh, "fixed"
    key = INITIALIZER_KEYS.get((class_name, weight), f"{weight}_initializer")
    _check(f"{where}: no {key} in its {class_name} config", key in entry["config"])
    initializer = json.loads(json.dumps(entry["config"][key]))
    pieces = record["pieces"]
    _check(f"{where}: {len(pieces)} pieces recorded, one expected", len(pieces) == 1)
    recorded = pieces[0]
    _check(
        f"{where}: initcli used {recorded['initializer']['class_name']}, the config has {initializer['class_name']}",
        recorded["initializer"]["class_name"] == initializer["class_name"],
    )
    kind = "deterministic"
    if "seed" in initializer["config"]:
        _check(
            f"{where}: recorded draw {recorded.get('draw')} seed {recorded.get('seed')}",
            recorded.get("draw") == 0 and isinstance(recorded.get("seed"), int),
        )
        initializer["config"]["seed"] = recorded["seed"]
        kind = "random"
    value = np.asarray(keras.initializers.deserialize(initializer)(shape=tuple(variable.shape), dtype=variable.dtype))
    if kind == "deterministic":
        _check(f"{where}: Keras's freshly built model has another value", value.tobytes() == fresh.tobytes())
    return value, kind


def check_family(
    name: str, directory: str, outputs: tuple[str, ...], policy: str | None = None, transfer: bool = False
) -> dict[str, Any]:
    """Build ``name``'s variant (under the dtype ``policy``, when given; as the base of a transfer
    model, ``Sequential([base(include_top=False), GlobalAveragePooling2D(), Dense(3)])``, when
    ``transfer``); for each of ``outputs``
    (``.weights.h5``, ``.keras``) write it with the real CLI, check its datasets against Keras's own
    ``save_weights``, load it into Keras and compare every weight.  Per output: the counts of each kind
    of check; and the seconds (wall, CPU by phase)."""
    os.environ["KERAS_BACKEND"] = "numpy"
    import h5py
    import keras

    started, cpu = time.perf_counter(), time.process_time()
    phases: dict[str, float] = {}
    last = [cpu]

    def lap(phase: str) -> None:
        now = time.process_time()
        phases[phase] = round(phases.get(phase, 0.0) + now - last[0], 2)
        last[0] = now

    _check(f"Keras runs on {keras.backend.backend()}", keras.backend.backend() == "numpy")
    folder = Path(directory)
    variant, shape, arguments = VARIANTS[name]
    default_policy = keras.config.dtype_policy()
    try:
        keras.config.set_dtype_policy(policy or default_policy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras's own warnings about its layers
            if transfer:
                base = getattr(keras.applications, variant)(
                    weights=None, input_shape=shape, include_top=False, **arguments
                )
                L = keras.layers
                model = keras.Sequential([base, L.GlobalAveragePooling2D(), L.Dense(3)])
            else:
                model = getattr(keras.applications, variant)(
                    weights=None, input_shape=shape, include_top=True, classes=3, **arguments
                )
    finally:
        keras.config.set_dtype_policy(default_policy)
    text = model.to_json()
    (folder / "m.json").write_text(text)
    config = json.loads(text)
    fresh = {id(v): np.asarray(v).copy() for v in model.weights}
    lap("keras build")
    model.save_weights(str(folder / "keras.weights.h5"))
    with h5py.File(folder / "keras.weights.h5") as handle:
        theirs = _layout(handle)
    (folder / "keras.weights.h5").unlink()
    lap("keras save_weights")
    results: dict[str, Any] = {"variant": variant, "input_shape": shape}
    for output in outputs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_in_process(["model", "m.json", "--seed", str(SEED), "-o", output], folder)
        _check(f"initcli model exited {result.exit_code}: {result.stderr.strip()}", result.exit_code == 0)
        _check(f"initcli warned: {[str(w.message) for w in caught]}", not caught)
        lap("initcli")
        if output.endswith(".keras"):
            with zipfile.ZipFile(folder / output) as archive:
                ours = h5py.File(io.BytesIO(archive.read("model.weights.h5")))
        else:
            ours = h5py.File(folder / output)
        with ours:
            layout = _layout(ours)
            records = _records(ours)
        only_ours, only_theirs = sorted(set(layout) - set(theirs)), sorted(set(theirs) - set(layout))
        _check(
            f"{output}: datasets only in initcli's file {only_ours[:3]}, only in Keras's {only_theirs[:3]}",
            not only_ours and not only_theirs,
        )
        differ = [(k, layout[k], theirs[k]) for k in sorted(theirs) if layout[k] != theirs[k]]
        _check(f"{output}: datasets of another shape or dtype than Keras's (ours, theirs): {differ[:3]}", not differ)
        lap("layouts")
        if output.endswith(".keras"):
            loaded = keras.models.load_model(str(folder / output))
            _check("load_model gave another architecture", loaded.to_json() == text)
        else:
            model.load_weights(str(folder / output))
            loaded = model
        lap("keras load")
        variables = _variables(keras, loaded, config)
        paths = sorted(path for path, _, _ in variables)
        extra, missing = sorted(set(records) - set(paths)), sorted(set(paths) - set(records))
        _check(
            f"{output}: weights recorded but not in Keras {extra[:3]}, in Keras not recorded {missing[:3]}",
            not extra and not missing,
        )
        _check(f"{output}: {len(records)} weights recorded, Keras has {len(paths)}", len(records) == len(paths))
        counts = {"random": 0, "deterministic": 0, "fixed": 0}
        originals = _variables(keras, model, config)
        for (path, entry, variable), (_, _, original) in zip(variables, originals, strict=True):
            expected, kind = _kerass_value(keras, path, entry, variable, records[path], fresh[id(original)])
            counts[kind] += 1
            value = np.asarray(variable)
            _check(
                f"{variant}: {path} is {value.shape} {value.dtype}, Keras's {expected.shape} {expected.dtype}",
                value.shape == expected.shape and value.dtype == expected.dtype,
            )
            _check(f"{variant} {output}: {path} ({kind}) differs from Keras's", value.tobytes() == expected.tobytes())
        lap("compare")
        results[output] = {"weights": len(records), "counts": counts}
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["cpu"] = round(time.process_time() - cpu, 1)
    results["phases"] = phases
    return results


# --- the tests --------------------------------------------------------------------------------------


def _selected(session: Any, test: str) -> list[str]:
    return [item.callspec.params["name"] for item in session.items if getattr(item, "originalname", "") == test]


@pytest.fixture(scope="module", autouse=True)
def checked(request):
    """(kind, family) -> the worker's result for every selected check, submitted to two processes when
    the module starts (the quick tests run meanwhile)."""
    archive = set(_selected(request.session, "test_application_archive"))
    jobs: list[tuple[Any, ...]] = []
    for name in _selected(request.session, "test_application_weights"):
        jobs.append(
            ("weights", name, ("ours.weights.h5", "ours.keras") if name in archive else ("ours.weights.h5",), None)
        )
    weighed = {name for _, name, _, _ in jobs}
    jobs += [("weights", name, ("ours.keras",), None) for name in sorted(archive - weighed)]
    jobs += [
        ("float16", name, ("ours.weights.h5",), "float16")
        for name in _selected(request.session, "test_application_float16")
    ]
    jobs += [
        ("transfer", name, ("ours.weights.h5",), None, True)
        for name in _selected(request.session, "test_application_as_a_transfer_base")
    ]
    jobs.sort(key=lambda job: LARGEST_FIRST.index(job[1]) if job[1] in LARGEST_FIRST else len(LARGEST_FIRST))
    root = Path(tempfile.mkdtemp(prefix="initcli-applications-"))
    futures: dict[tuple[str, str], Future] = {}
    if not jobs:
        yield futures
        shutil.rmtree(root)
        return
    pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    try:
        for kind, name, outputs, policy, *transfer in jobs:
            folder = root / f"{name}-{kind}"
            folder.mkdir()
            futures[kind, name] = pool.submit(check_family, name, str(folder), outputs, policy, *transfer)
        yield futures
    finally:  # a run stopped early (-x, a failure) does not wait for the checks not yet started
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(root)


def test_the_variants_cover_every_family_keras_applications_exposes(keras):
    """Every model constructor in ``keras.applications`` is in a module with a variant here."""
    exposed: dict[str, set[str]] = {}
    for attribute in dir(keras.applications):
        value = getattr(keras.applications, attribute)
        if attribute[:1].isupper() and inspect.isfunction(value):
            exposed.setdefault(value.__module__.rsplit(".", 1)[-1], set()).add(attribute)
    assert len(exposed) >= 14 and sum(map(len, exposed.values())) >= 40, exposed
    chosen: dict[str, set[str]] = {}
    for variant, _, _ in VARIANTS.values():
        chosen.setdefault(getattr(keras.applications, variant).__module__.rsplit(".", 1)[-1], set()).add(variant)
    assert set(chosen) == set(exposed), sorted(set(exposed) ^ set(chosen))
    assert chosen["mobilenet_v3"] == {"MobileNetV3Small", "MobileNetV3Large"}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_input_shape_is_the_smallest_keras_accepts(keras, name):
    variant, (height, width, channels), arguments = VARIANTS[name]
    with pytest.raises(ValueError, match="at least"):
        getattr(keras.applications, variant)(
            weights=None, input_shape=(height - 1, width - 1, channels), classes=3, **arguments
        )


def _passed(result: dict[str, Any], output: str) -> None:
    checks = result[output]["counts"]
    assert checks["random"] > 0 and sum(checks.values()) == result[output]["weights"], result


@pytest.mark.parametrize("name", list(VARIANTS))
def test_application_weights(checked, name):
    """``initcli model`` on the family's ``to_json()`` writes a ``.weights.h5`` with Keras's layout whose
    every weight, loaded by Keras, is bit for bit what real Keras gives for it."""
    result = checked["weights", name].result(timeout=TIMEOUT)
    _passed(result, "ours.weights.h5")
    print(
        f"{result['variant']} {result['input_shape']}: {result['ours.weights.h5']['weights']} weights "
        f"{result['ours.weights.h5']['counts']} {result['seconds']}s ({result['cpu']}s CPU: {result['phases']})"
    )


@pytest.mark.parametrize("name", KERAS_ARCHIVE)
def test_application_archive(checked, name):
    """The same for a ``.keras`` archive, loaded by ``keras.models.load_model``."""
    _passed(checked["weights", name].result(timeout=TIMEOUT), "ours.keras")


@pytest.mark.parametrize("name", FLOAT16)
def test_application_float16(checked, name):
    """The same under the ``float16`` dtype policy: every weight is float16 in Keras, Normalization's
    mean and variance among them (its count stays int32)."""
    _passed(checked["float16", name].result(timeout=TIMEOUT), "ours.weights.h5")


@pytest.mark.parametrize("name", TRANSFER)
def test_application_as_a_transfer_base(checked, name):
    """The same for the base model nested in a ``Sequential`` with a new head: the pooling after it
    has no build_config (Keras records none for a weightless layer), the ``Dense`` has one."""
    _passed(checked["transfer", name].result(timeout=TIMEOUT), "ours.weights.h5")


KERAS2_MOBILENET_V3 = Path(__file__).resolve().parent / "applications_keras2" / "mobilenet_v3_small.json.gz"
"""``tf_keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3), classes=3,
alpha=0.75).to_json()`` from tf_keras 2.21, gzipped: Keras 2 names its layers ``Conv``, ``Conv/BatchNorm``,
``expanded_conv/depthwise/pad`` (a ``/`` in a name is a nested HDF5 group) and its hard-swish is made of
``TFOpLambda`` layers."""


def _keras2_mobilenet_v3(directory: Path) -> tuple[str, Path]:
    import gzip

    text = gzip.decompress(KERAS2_MOBILENET_V3.read_bytes()).decode()
    (directory / "m.json").write_text(text)
    result = run_in_process(["model", "m.json", "--seed", str(SEED), "-o", "ours.h5"], directory)
    assert result.exit_code == 0, result.stderr
    return text, directory / "ours.h5"


def _legacy_weights(path: Path) -> list[list[np.ndarray]]:
    """A legacy file's weights, per layer with weights, in ``layer_names`` and ``weight_names`` order."""
    import h5py

    with h5py.File(path) as handle:
        found = []
        for name in handle.attrs["layer_names"]:
            names = list(handle[name].attrs["weight_names"])
            if names:
                found.append([np.asarray(handle[name][n]) for n in names])
        return found


def test_keras2_layer_names_with_slashes_write_a_legacy_h5(tmp_path):
    """Keras 2 layer names with ``/`` (a parent layer ``Conv`` and a child ``Conv/BatchNorm``, in either
    order) are nested HDF5 groups, created parents first as Keras writes them; every layer has its group."""
    import h5py

    text, path = _keras2_mobilenet_v3(tmp_path)
    names = [layer["config"]["name"] for layer in json.loads(text)["config"]["layers"]]
    assert "expanded_conv/depthwise/pad" in names and "expanded_conv/depthwise" in names
    assert names.index("expanded_conv/depthwise/pad") < names.index("expanded_conv/depthwise")
    with h5py.File(path) as handle:
        assert list(handle.attrs["layer_names"]) == names
        for name in names:
            group = handle[name]
            assert isinstance(group, h5py.Group), name
            for weight in group.attrs["weight_names"]:
                assert isinstance(group[weight], h5py.Dataset), (name, weight)
    assert sum(map(len, _legacy_weights(path))) == 210


def test_keras2_mobilenet_v3_legacy_h5_loads_into_keras2(tmp_path):
    """The same file loads into the Keras 2 model (``tf_keras``) that wrote the config, every weight as
    written (run in the TensorFlow environment, where ``INITCLI_REQUIRE_KERAS2=1`` makes it required)."""
    if os.environ.get("INITCLI_REQUIRE_KERAS2"):
        import tf_keras
    tf_keras = pytest.importorskip("tf_keras", reason="Keras 2 (tf_keras) is not installed")
    text, path = _keras2_mobilenet_v3(tmp_path)
    model = tf_keras.models.model_from_json(text)
    model.load_weights(str(path))
    theirs = [layer.get_weights() for layer in model.layers if layer.weights]
    ours = _legacy_weights(path)
    assert len(theirs) == len(ours) > 50
    for mine, loaded in zip(ours, theirs, strict=True):
        assert len(mine) == len(loaded)
        for a, b in zip(mine, loaded, strict=True):
            assert a.shape == b.shape and a.tobytes() == b.astype(a.dtype).tobytes()


def test_a_layer_with_weights_after_a_nested_model_needs_its_shape_in_one_line(keras, tmp_path):
    """Without a build_config, a layer with weights after a nested model (and a weightless layer that
    passes the unknown shape on) is refused in one line naming the nested model; nothing is written."""
    L = keras.layers
    inner = keras.Sequential([keras.Input((4, 4, 3)), L.Conv2D(2, 1)], name="base")
    model = keras.Sequential([inner, L.GlobalAveragePooling2D(), L.Dense(3, name="head")])
    config = json.loads(model.to_json())
    (tmp_path / "kept.json").write_text(json.dumps(config))
    result = run_in_process(["model", "kept.json", "--seed", "1", "-o", "kept.weights.h5"], tmp_path)
    assert result.exit_code == 0, result.stderr
    model.load_weights(str(tmp_path / "kept.weights.h5"))
    head = next(layer for layer in config["config"]["layers"] if layer["config"]["name"] == "head")
    del head["build_config"]
    (tmp_path / "m.json").write_text(json.dumps(config))
    result = run_in_process(["model", "m.json", "--seed", "1", "-o", "m.weights.h5"], tmp_path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "initcli: error: the output shape of the nested model 'base' is not computed by initcli; give the "
        "layers after it a build_config with their input_shape"
    ]
    assert not (tmp_path / "m.weights.h5").exists()
