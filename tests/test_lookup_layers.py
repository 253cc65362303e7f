"""The lookup and hashing layers (Keras runs them on TensorFlow): Hashing, HashedCrossing,
IntegerLookup, StringLookup, TextVectorization.

What Keras 3.15 writes for them (found with real Keras on TensorFlow): no variables in
``.weights.h5`` (each has its group and an empty ``vars``; TextVectorization also its
``_lookup_layer`` group), and in a ``.keras`` no asset when the vocabulary is in the config.  Two
states are data, not initial values, and are refused in one line: an adapted vocabulary (not in the
config: Keras keeps it as the asset ``vocabulary.txt``, and ``load_model`` fails without it) and
``tf_idf``'s ``idf_weights`` (Keras writes them as a dataset named ``idf_weights``).

Real models (each layer, in every output mode, followed by a seeded Dense) are built by
``tests/lookup_worker.py`` in one process on ``KERAS_BACKEND=tensorflow``; initcli writes their
``.weights.h5`` (layout compared with Keras's own), ``.keras`` and ``.h5``, and the worker loads
each and compares every weight with Keras's.  Without TensorFlow those tests skip, unless
``INITCLI_REQUIRE_TENSORFLOW=1`` is set (then they fail); the refusals need no TensorFlow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import h5_datasets, run_in_process, run_subprocess

WORKER = Path(__file__).with_name("lookup_worker.py")
UNAVAILABLE = 3  # lookup_worker.UNAVAILABLE
REQUIRED = bool(os.environ.get("INITCLI_REQUIRE_TENSORFLOW"))
TIMEOUT = 600
SUFFIXES = (".weights.h5", ".keras", ".h5")
CASES = [
    f"{cls}-{mode}"
    for cls in ("Hashing", "StringLookup", "IntegerLookup", "TextVectorization")
    for mode in ("int", "one_hot", "multi_hot", "count")
] + [
    "TextVectorization-multi_hot-split=None",
    "StringLookup-one_hot-num_oov_indices=2-mask",
    "IntegerLookup-multi_hot-pad_to_max_tokens",
    "HashedCrossing-int",
    "HashedCrossing-one_hot",
    "Sequential-StringLookup-multi_hot",
]


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"INITCLI_REQUIRE_TENSORFLOW is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def keras_tf(tmp_path_factory):
    """``(directory, weights Keras built per case, initcli's results per case and file, the worker's
    load results)``: one worker process builds, initcli writes, the worker loads."""
    if importlib.util.find_spec("tensorflow") is None:
        _unavailable("TensorFlow is not installed in this Python")
    directory = tmp_path_factory.mktemp("lookup")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), str(directory)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        first = worker.stdout.readline().strip()
        if first != "built":
            worker.wait(timeout=TIMEOUT)
            if worker.returncode == UNAVAILABLE:
                _unavailable(f"Keras on TensorFlow cannot be imported ({first})")
            pytest.fail(f"the Keras worker failed (exit {worker.returncode}): {first}")
        built = json.loads(worker.stdout.readline())
        ours: dict[str, dict[str, object]] = {}
        for case in built:
            ours[case] = {}
            for suffix in SUFFIXES:
                args = ["model", "model.json", "--seed", "1", "--backend", "tensorflow", "-o", f"ours{suffix}"]
                ours[case][suffix] = run_in_process(args, directory / case)
        loaded, _ = worker.communicate("load\n", timeout=TIMEOUT)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    return directory, built, ours, json.loads(loaded.strip().splitlines()[-1])


def test_the_worker_builds_every_case(keras_tf):
    _, built, _, _ = keras_tf
    assert sorted(built) == sorted(CASES)


@pytest.mark.parametrize("case", CASES)
def test_lookup_model_files_load_with_keras_values(keras_tf, case):
    directory, built, ours, loaded = keras_tf
    for suffix in SUFFIXES:
        result = ours[case][suffix]
        assert result.exit_code == 0, (suffix, result.stderr)
        assert loaded[case][suffix] == "equal", (suffix, loaded[case][suffix])
    folder = directory / case
    assert h5_datasets(folder / "ours.weights.h5") == h5_datasets(folder / "keras.weights.h5")
    assert built[case] and built[case][-1][0] == "head/bias"  # the Dense after the layer was planned


def test_the_lookup_layers_groups_are_keras_groups(keras_tf):
    """Keras's ``.weights.h5`` holds a group per layer (and TextVectorization's ``_lookup_layer``)."""
    import h5py

    directory, _, _, _ = keras_tf

    def groups(path: Path) -> list[str]:
        found: list[str] = []
        with h5py.File(path) as handle:
            handle.visit(found.append)
        return sorted(found)

    for case in CASES:
        folder = directory / case
        assert groups(folder / "ours.weights.h5") == groups(folder / "keras.weights.h5"), case
    assert "layers/text_vectorization/_lookup_layer/vars" in groups(
        directory / "TextVectorization-int" / "ours.weights.h5"
    )


def _dense(name: str) -> dict:
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": name, "units": 2, "kernel_initializer": {"class_name": "GlorotUniform", "config": {}}},
    }


def _sequential(layer: dict, dtype: str = "string", shape: list | None = None) -> dict:
    inputs = {"class_name": "InputLayer", "config": {"batch_shape": shape or [None, 3], "dtype": dtype, "name": "x"}}
    layers = [inputs, {"module": "keras.layers", **layer}, _dense("head")]
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": layers}}


def _lookup(cls: str, **config) -> dict:
    return {"class_name": cls, "config": {"name": "lookup", **config}}


REFUSED = {
    "StringLookup adapted (no vocabulary)": (
        _lookup("StringLookup", vocabulary=None, output_mode="int"),
        ["'lookup'", "no vocabulary", "asset", "data, not an initial value", "vocabulary=[...]"],
    ),
    "IntegerLookup adapted (no vocabulary)": (
        _lookup("IntegerLookup", vocabulary=None, output_mode="multi_hot"),
        ["'lookup'", "IntegerLookup", "no vocabulary"],
    ),
    "TextVectorization adapted (no vocabulary)": (
        _lookup("TextVectorization", vocabulary=None, output_mode="int", output_sequence_length=4),
        ["'lookup'", "TextVectorization", "no vocabulary"],
    ),
    "StringLookup tf_idf": (
        _lookup("StringLookup", vocabulary=["a", "b"], idf_weights=[0.5, 1.0], output_mode="tf_idf"),
        ["'lookup'", "tf_idf", "idf_weights", "data", "accepted: output_mode int"],
    ),
    "TextVectorization tf_idf": (
        _lookup("TextVectorization", vocabulary=["a"], idf_weights=[0.5], output_mode="tf_idf"),
        ["'lookup'", "tf_idf", "idf_weights"],
    ),
    "StringLookup vocabulary file": (
        _lookup("StringLookup", vocabulary="/etc/vocab.txt", output_mode="int"),
        ["'lookup'", "'/etc/vocab.txt'", "does not read", "a list"],
    ),
    "StringLookup vocabulary a number": (
        _lookup("StringLookup", vocabulary=3, output_mode="int"),
        ["'lookup'", "vocabulary 3", "a list of tokens"],
    ),
    "StringLookup unknown output_mode": (
        _lookup("StringLookup", vocabulary=["a"], output_mode="bag"),
        ["'lookup'", "'bag'", "one_hot, multi_hot"],
    ),
    "Hashing num_bins 2.5": (_lookup("Hashing", num_bins=2.5), ["'lookup'", "num_bins", "2.5", "positive integer"]),
    "Hashing num_bins missing": (_lookup("Hashing"), ["'lookup'", "num_bins"]),
    "Hashing tf_idf": (_lookup("Hashing", num_bins=4, output_mode="tf_idf"), ["'lookup'", "'tf_idf'", "multi_hot"]),
    "StringLookup num_oov_indices -1": (
        _lookup("StringLookup", vocabulary=["a"], output_mode="count", num_oov_indices=-1),
        ["'lookup'", "num_oov_indices", "-1"],
    ),
    "TextVectorization output_sequence_length 0": (
        _lookup("TextVectorization", vocabulary=["a"], output_mode="int", output_sequence_length=0),
        ["'lookup'", "output_sequence_length", "0"],
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_data_initcli_cannot_invent_is_refused_in_one_line(tmp_path, case):
    layer, words = REFUSED[case]
    (tmp_path / "m.json").write_text(json.dumps(_sequential(layer)))
    result = run_in_process(["model", "m.json", "--seed", "1", "-o", "out.keras"], tmp_path)
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initcli: error: "), result.stderr
    assert "Error" not in lines[0] and "Traceback" not in lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


OUTPUT_SHAPES = [
    (_lookup("Hashing", num_bins=5, output_mode="int"), [None, 3], "int64", 3),
    (_lookup("Hashing", num_bins=5, output_mode="one_hot"), [None, 3], "int64", 5),
    (_lookup("Hashing", num_bins=5, output_mode="count"), [None, 3], "int64", 5),
    (_lookup("StringLookup", vocabulary=["a", "b", "c"], output_mode="multi_hot"), [None, 3], "string", 4),
    (_lookup("StringLookup", vocabulary=["[UNK]", "a", "b"], output_mode="multi_hot"), [None, 3], "string", 3),
    (_lookup("IntegerLookup", vocabulary=[4, 5], output_mode="one_hot", num_oov_indices=3), [None, 1], "int64", 5),
    (
        _lookup("TextVectorization", vocabulary=["a", "b"], output_mode="int", output_sequence_length=7),
        [None, 1],
        "string",
        7,
    ),
    (_lookup("TextVectorization", vocabulary=["a", "b"], output_mode="count"), [None, 1], "string", 3),
]


@pytest.mark.parametrize(("layer", "shape", "dtype", "width"), OUTPUT_SHAPES)
def test_output_shapes_propagate_to_the_next_layer(tmp_path, layer, shape, dtype, width):
    """The Dense after the layer (no build_config) gets Keras's output width as its fan-in."""
    (tmp_path / "m.json").write_text(json.dumps(_sequential(layer, dtype, shape)))
    result = run_in_process(["model", "m.json", "--dry-run", "--json"], tmp_path)
    assert result.exit_code == 0, result.stderr
    kernel = json.loads(result.stdout)["weights"][0]
    assert kernel["path"] == "head/kernel" and kernel["shape"][0] == width


def test_a_refusal_through_a_real_process(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps(_sequential(REFUSED["StringLookup tf_idf"][0])))
    result = run_subprocess(["model", "m.json", "--seed", "1", "-o", "out.weights.h5"], tmp_path)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "tf_idf" in result.stderr
    assert not (tmp_path / "out.weights.h5").exists()
