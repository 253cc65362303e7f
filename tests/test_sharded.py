"""Keras's sharded weights (``-o m.weights.json --max-shard-size``): the layout real Keras 3.15
writes with ``save_weights(..., max_shard_size=...)``, loading with ``load_weights``, verify and
inspect of the set, refusals, and the set committed as one."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import dense_config, file_digests, run_in_process, run_subprocess


def _model(keras):
    """Dense, MultiHeadAttention (nested objects), BatchNormalization, LSTM (a cell), Dropout."""
    inputs = keras.Input((10, 16))
    x = keras.layers.Dense(32, name="d1")(inputs)
    x = keras.layers.MultiHeadAttention(2, 8, name="mha")(x, x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.LSTM(24, name="lstm")(x)
    x = keras.layers.Dropout(0.1)(x)
    return keras.Model(inputs, keras.layers.Dense(5, name="d2")(x), name="net")


def _dense_stack(keras, units=(4, 4, 4)):
    """Dense layers on 4 inputs: kernel 4·u·4 bytes, bias u·4 bytes, for shard boundaries."""
    inputs = keras.Input((4,))
    x = inputs
    for i, width in enumerate(units):
        x = keras.layers.Dense(width, name=f"l{i}")(x)
    return keras.Model(inputs, x, name="stack")


def _listing(path: Path) -> dict[str, tuple]:
    """Every group and dataset of an HDF5 file: dataset shapes, group ``@name`` (initcli's own
    provenance attribute left out)."""
    out: dict[str, tuple] = {}
    with h5py.File(path) as handle:

        def visit(name, node):
            if isinstance(node, h5py.Dataset):
                out[name] = ("dataset", node.shape, str(node.dtype))
            else:
                out[name] = ("group", node.attrs.get("name"))

        handle.visititems(visit)
    return out


def _with_data(listing: dict[str, tuple]) -> set[str]:
    """Groups that hold a dataset somewhere below them, and the datasets."""
    keep = set()
    for name, entry in listing.items():
        if entry[0] == "dataset":
            parts = name.split("/")
            keep.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return keep


_WEIGHTLESS = re.compile(r"layers/(multi_head_attention|grouped_query_attention)/_(softmax|dropout_layer)(/vars)?")
"""The groups Keras writes and initcli does not: the attention layers' weightless sub-objects."""


def _renamed(value, old: str, new: str):
    if isinstance(value, list):
        return [v.replace(old, new, 1) for v in value]
    return value.replace(old, new, 1)


def _compare_with_keras(keras, model, tmp_path: Path, limit: int) -> None:
    (tmp_path / "m.json").write_text(model.to_json())
    model.save_weights(tmp_path / "k.weights.json", max_shard_size=limit / 1024**3)
    run = run_subprocess(
        ["model", "m.json", "--seed", "1", "-q", "-o", "o.weights.json", "--max-shard-size", str(limit)], tmp_path
    )
    assert run.exit_code == 0, run.stderr
    theirs = json.loads((tmp_path / "k.weights.json").read_text())
    ours = json.loads((tmp_path / "o.weights.json").read_text())
    assert ours["metadata"] == theirs["metadata"]
    assert {k: _renamed(v, "o_", "k_") for k, v in ours["weight_map"].items()} == theirs["weight_map"]
    kept = sorted(p.name for p in tmp_path.glob("k_*.weights.h5"))
    assert sorted(p.name.replace("o_", "k_", 1) for p in tmp_path.glob("o_*.weights.h5")) == kept
    for name in kept:
        keras_listing = _listing(tmp_path / name)
        our_listing = _listing(tmp_path / name.replace("k_", "o_", 1))
        # the same datasets and groups with @name; Keras also writes the groups of weightless
        # sub-objects (MultiHeadAttention's softmax and dropout), which loading never reads
        assert our_listing == {k: v for k, v in keras_listing.items() if k in our_listing}
        assert _with_data(keras_listing) <= set(our_listing)
        assert all(_WEIGHTLESS.fullmatch(name) for name in set(keras_listing) - set(our_listing)), name
    loaded = keras.models.model_from_json(model.to_json())
    loaded.load_weights(tmp_path / "o.weights.json")
    assert run_subprocess(["model", "m.json", "--seed", "1", "-q", "-o", "one.weights.h5"], tmp_path).exit_code == 0
    single = keras.models.model_from_json(model.to_json())
    single.load_weights(tmp_path / "one.weights.h5")
    for a, b in zip(loaded.weights, single.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert any(np.asarray(w).std() > 0 for w in loaded.weights)  # real draws, not zeros


@pytest.mark.parametrize("limit", [12288, 20000, 25000, 100000])
def test_layout_is_keras_sharded_store(keras, tmp_path, limit):
    """Shards, their contents, the weight map (lists for groups that span shards) and
    ``total_size`` as Keras writes them, for limits giving 1 to 4 shards (12288 B: the LSTM kernel
    fills a shard alone)."""
    _compare_with_keras(keras, _model(keras), tmp_path, limit)


def _nested(keras):
    """Layers with sub-objects, split inside them: MultiHeadAttention (Keras saves key_dense,
    output_dense, query_dense, value_dense in name order), GroupQueryAttention (private
    _key_dense ... _value_dense) and Bidirectional (backward_layer before forward_layer)."""
    inputs = keras.Input((10, 16))
    x = keras.layers.Dense(16, name="d1")(inputs)
    x = keras.layers.MultiHeadAttention(2, 8, name="mha")(x, x)
    x = keras.layers.GroupQueryAttention(head_dim=8, num_query_heads=2, num_key_value_heads=1, name="gqa")(x, x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(4), name="bi")(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="d2")(x), name="nested")


@pytest.mark.parametrize("limit", [1100, 1600, 3000, 5000])
def test_objects_inside_layers_go_in_keras_save_order(keras, tmp_path, limit):
    _compare_with_keras(keras, _nested(keras), tmp_path, limit)


@pytest.mark.parametrize("limit", [80, 79, 81, 160, 64])
def test_shard_boundaries_as_keras_counts_them(keras, tmp_path, limit):
    """kernel 64 B + bias 16 B = 80: at 80 a layer fills a shard exactly (Keras starts a new
    shard only when the running size exceeds the limit), at 79 its bias spills over."""
    _compare_with_keras(keras, _dense_stack(keras), tmp_path, limit)


def _write(tmp_path: Path, seed: int = 1, limit: str = "300", *extra: str) -> subprocess.CompletedProcess:
    command = ["batch", "c.json", "--seed", str(seed), "-q", "-o", "m.weights.json", "--max-shard-size", limit]
    return subprocess.run(
        [sys.executable, "-m", "initcli", *command, *extra],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _config(tmp_path: Path, layers: int = 3, size: int = 8) -> None:
    dense_config(tmp_path, layers, size)


def _digests(directory: Path) -> dict[str, str]:
    return file_digests(directory)


def test_verify_and_inspect_read_the_set(tmp_path):
    _config(tmp_path)
    assert _write(tmp_path).returncode == 0
    assert sorted(p.name for p in tmp_path.glob("m_*")) == [f"m_0000{i}.weights.h5" for i in range(3)]
    for run in (run_in_process, run_subprocess):
        result = run(["verify", "m.weights.json", "--json"], tmp_path)
        assert result.exit_code == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["kind"] == "sharded" and report["counts"]["identical"] == 3
    shown = run_subprocess(["inspect", "m.weights.json"], tmp_path)
    assert shown.exit_code == 0 and "sharded, 3 tensors" in shown.stdout.decode()


def _one_line_error(tmp_path: Path, *words: str) -> None:
    result = run_subprocess(["verify", "m.weights.json"], tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code != 0 and len(lines) == 1 and lines[0].startswith("initcli: error:"), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_a_missing_shard_is_named(tmp_path):
    _config(tmp_path)
    assert _write(tmp_path).returncode == 0
    (tmp_path / "m_00001.weights.h5").unlink()
    _one_line_error(tmp_path, "m_00001.weights.h5")


def test_a_shard_from_another_run_is_refused(tmp_path):
    _config(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "c.json").write_text((tmp_path / "c.json").read_text())
    assert _write(tmp_path, 1).returncode == 0 and _write(other, 2).returncode == 0
    (tmp_path / "m_00001.weights.h5").write_bytes((other / "m_00001.weights.h5").read_bytes())
    _one_line_error(tmp_path, "m_00001.weights.h5", "another run")


def test_a_dropped_shard_entry_is_found(tmp_path):
    """An index that no longer names the last shard: the set's records say 3 shards."""
    _config(tmp_path)
    assert _write(tmp_path).returncode == 0
    index = json.loads((tmp_path / "m.weights.json").read_text())
    index["weight_map"] = {k: v for k, v in index["weight_map"].items() if v != "m_00002.weights.h5"}
    (tmp_path / "m.weights.json").write_text(json.dumps(index))
    _one_line_error(tmp_path, "m_00000.weights.h5", "[0, 3]", "[0, 2]")


def test_an_index_cannot_reach_outside_its_directory(tmp_path):
    _config(tmp_path)
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "c.json").write_text((tmp_path / "c.json").read_text())
    assert _write(inner).returncode == 0
    for name in ("../m_00000.weights.h5", "/etc/passwd", "inner/m_00000.weights.h5", "..", "m_00000.weights.json"):
        index = {"metadata": {"total_size": 1.0}, "weight_map": {"/layers/dense/vars": name}}
        (tmp_path / "m.weights.json").write_text(json.dumps(index))
        _one_line_error(tmp_path, "plain file name")


def test_an_index_that_misplaces_a_group_is_refused(tmp_path):
    _config(tmp_path)
    assert _write(tmp_path).returncode == 0
    index = json.loads((tmp_path / "m.weights.json").read_text())
    first, second = list(index["weight_map"])[:2]
    index["weight_map"][first], index["weight_map"][second] = index["weight_map"][second], index["weight_map"][first]
    (tmp_path / "m.weights.json").write_text(json.dumps(index))
    _one_line_error(tmp_path, "does not list")


def test_a_changed_value_deep_in_a_later_shard_is_different(tmp_path):
    _config(tmp_path, layers=2, size=512)  # 1 MiB kernels: several read chunks each
    assert _write(tmp_path, 1, "1MiB").returncode == 0
    with h5py.File(tmp_path / "m_00001.weights.h5", "r+") as handle:
        dataset = next(handle[name] for name in ("layers/dense_1/vars/0",) if name in handle)
        dataset[400, 300] = dataset[400, 300] + 1.0
    result = run_subprocess(["verify", "m.weights.json", "--json"], tmp_path)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["counts"] == {"identical": 1, "different": 1, "unverifiable": 0}


def test_existing_set_needs_force_and_stale_shards_go(tmp_path):
    _config(tmp_path)
    assert _write(tmp_path).returncode == 0
    before = _digests(tmp_path)
    again = _write(tmp_path, 2)
    assert again.returncode == 1 and again.stderr.strip().splitlines() == [
        "initcli: error: 'm.weights.json' already exists; use --force to replace it"
    ]
    assert _digests(tmp_path) == before
    (tmp_path / "m.weights.json").rename(tmp_path / "kept.json")  # a shard alone also counts
    again = _write(tmp_path, 2)
    assert again.returncode == 1 and "m_00000.weights.h5' already exists" in again.stderr
    (tmp_path / "kept.json").rename(tmp_path / "m.weights.json")
    replaced = _write(tmp_path, 2, "1MiB", "--force")  # one shard now
    assert replaced.returncode == 0, replaced.stderr
    assert sorted(p.name for p in tmp_path.glob("m*")) == ["m.weights.json", "m_00000.weights.h5"]
    assert run_subprocess(["verify", "m.weights.json"], tmp_path).exit_code == 0


def test_usage_errors(tmp_path):
    _config(tmp_path)
    wrong = run_subprocess(["batch", "c.json", "--seed", "1", "-o", "m.weights.h5", "--max-shard-size", "1M"], tmp_path)
    assert wrong.exit_code == 2 and "NAME.weights.json" in wrong.stderr
    big = _write(tmp_path, 1, "100")
    lines = big.stderr.strip().splitlines()
    assert big.returncode == 2 and len(lines) == 1
    assert "more than --max-shard-size" in lines[0] and "d0/kernel" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


_REWRITE = ["batch", "c.json", "--seed", "2", "-q", "-o", "m.weights.json", "--force", "--max-shard-size", "64MiB"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_an_interrupted_run_leaves_the_previous_set(tmp_path, sig):
    """A previous set, then a forced rewrite of 3 x 64 MiB shards stopped part-way.  Before the
    commit the old set is byte for byte as it was; a Ctrl-C during the commit is held until the
    new set is complete.  What remains is the old set, or a complete new one that verifies, or --
    SIGKILL inside the commit's few renames, the window the README states -- no index at all:
    never an index naming a shard that is missing or from the other set."""
    _config(tmp_path, layers=3, size=4096)
    assert _write(tmp_path, 1, "64MiB").returncode == 0
    before = _digests(tmp_path)
    stopped_before_commit = 0
    for delay in (0.6, 1.2, 2.0):
        process = subprocess.Popen(
            [sys.executable, "-m", "initcli", *_REWRITE],
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even if this run ignores it
        )
        time.sleep(delay)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=120)
        after = _digests(tmp_path)
        if after == before:
            stopped_before_commit += 1
            continue
        if (tmp_path / "m.weights.json").exists():
            assert run_subprocess(["verify", "m.weights.json"], tmp_path).exit_code == 0, stderr
            break  # the new set, complete
        assert sig == signal.SIGKILL, stderr  # only a kill can stop the commit itself
        break
    assert stopped_before_commit, "the signal never landed before the commit"


_FUZZ_NAMES = ["m_00000.weights.h5", "m_00001.weights.h5", "../m_00000.weights.h5", "c.json", "/etc/passwd", "."]

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=12) | st.sampled_from(_FUZZ_NAMES),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=8) | st.sampled_from(["weight_map", "metadata", "/layers/dense/vars"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def fuzz_set(tmp_path_factory):
    """A real three-shard set; each fuzz example replaces only its index."""
    directory = tmp_path_factory.mktemp("fuzz")
    _config(directory)
    assert _write(directory).returncode == 0
    return directory


@settings(max_examples=150, deadline=None)
@given(document=_JSON)
def test_fuzzed_indexes_are_one_line_or_read(fuzz_set, document):
    """Any JSON as the index of a real set: a clean verdict or one error line, never a crash
    (names that are not plain shard names in the index's directory are refused)."""
    (fuzz_set / "m.weights.json").write_text(json.dumps(document))
    result = run_in_process(["verify", "m.weights.json"], fuzz_set)
    assert result.exit_code in (0, 1, 2)
    if result.exit_code:
        assert result.stderr.count("\n") <= 1, result.stderr
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_bfloat16_sets_load_into_a_bfloat16_model(keras, tmp_path):
    """``dtype: bfloat16`` weights in a sharded set: stored as Keras stores them (``|V2`` with
    ``@dtype``), loaded by Keras into a bfloat16 model with the bits initcli drew."""
    layers = [
        {
            "name": f"l{i}",
            "class": "Dense",
            "weights": {
                "kernel": {"shape": [4 if i == 0 else 64, 64], "initializer": "he_normal"},
                "bias": {"shape": [64], "initializer": "random_uniform"},
            },
        }
        for i in range(3)
    ]
    (tmp_path / "b.json").write_text(json.dumps({"name": "stack", "dtype": "bfloat16", "layers": layers}))
    for output, extra in (("b.weights.json", ["--max-shard-size", "10KiB"]), ("b.npz", [])):
        result = run_subprocess(["batch", "b.json", "--seed", "3", "-q", "-o", output, *extra], tmp_path)
        assert result.exit_code == 0, result.stderr
    assert len(list(tmp_path.glob("b_0000*.weights.h5"))) == 2  # 8960 B, then 8320 B: 2-byte values counted
    with h5py.File(tmp_path / "b_00001.weights.h5") as handle:
        dataset = handle["layers/dense_2/vars/0"]
        assert dataset.dtype.str == "|V2" and dataset.attrs["dtype"] == "bfloat16"
    inputs = keras.Input((4,))
    x = inputs
    for i in range(3):
        x = keras.layers.Dense(64, name=f"l{i}", dtype="bfloat16")(x)
    loaded = keras.Model(inputs, x, name="stack")
    loaded.load_weights(tmp_path / "b.weights.json")
    with np.load(tmp_path / "b.npz") as archive:
        for layer in loaded.layers[1:]:
            kernel = np.asarray(keras.ops.convert_to_numpy(layer.kernel))
            assert kernel.dtype.name == "bfloat16"
            np.testing.assert_array_equal(kernel.view(np.uint16), archive[f"{layer.name}/kernel"].view(np.uint16))
