"""Hostile inputs: archives with traversal names and bombs, deep or aliased configs, pickles,
paths that try to escape, absurd shapes; and property-based fuzzing of configs.  Each gives one
clear line, an exit code of 1 or 2, no traceback, no stray file."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import json_paths, run_in_process

INPUTS_TRIED: list[str] = []


def _clean_failure(result, code: int | tuple[int, ...], text: str) -> None:
    codes = code if isinstance(code, tuple) else (code,)
    assert result.exit_code in codes, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initcli: error: "), result.stderr
    assert text in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def _keras_zip(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_keras_archive_with_traversal_names_extracts_nothing(keras, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    config = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).to_json().encode()
    _keras_zip(
        work / "evil.keras",
        {"config.json": config, "../../escaped.txt": b"gotcha", "/abs/escaped.txt": b"x", "model.weights.h5": b"\0"},
    )
    result = run_in_process(["model", "evil.keras", "--seed", "1", "-o", "w.weights.h5"], work)
    INPUTS_TRIED.append("keras-traversal")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["evil.keras", "w.weights.h5"]


def test_keras_archive_bomb_and_huge_config(tmp_path):
    _keras_zip(tmp_path / "bomb.keras", {"config.json": b" " * (65 * 1024 * 1024) + b"{}"})
    assert (tmp_path / "bomb.keras").stat().st_size < 1024 * 1024
    result = run_in_process(["model", "bomb.keras", "-o", "w.weights.h5"], tmp_path)
    INPUTS_TRIED.append("keras-bomb")
    _clean_failure(result, 2, "the limit is")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.keras"]


@pytest.mark.parametrize(
    "filename,content,text",
    [
        ("deep.json", "[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ("deep.yaml", "a: " + "[" * 50_000 + "]" * 50_000, "nested too deeply"),
        (
            "laughs.yaml",
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 130) + "]\n" for i in range(8)
            )
            + "layers: [*i]\n",
            "YAML aliases",
        ),
        ("huge.json", None, "the limit is"),
    ],
)
def test_hostile_configs(tmp_path, filename, content, text):
    if content is None:
        with open(tmp_path / filename, "wb") as handle:
            handle.truncate(65 * 1024 * 1024)
    else:
        (tmp_path / filename).write_text(content)
    result = run_in_process(["batch", filename, "--seed", "1", "-o", "w.weights.h5"], tmp_path)
    INPUTS_TRIED.append(filename)
    _clean_failure(result, 2, text)
    assert sorted(p.name for p in tmp_path.iterdir()) == [filename]


def test_deep_model_config(tmp_path):
    (tmp_path / "m.json").write_text('{"class_name": "Sequential", "config": ' + "[" * 200_000 + "]" * 200_000 + "}")
    result = run_in_process(["model", "m.json", "-o", "w.weights.h5"], tmp_path)
    INPUTS_TRIED.append("deep-model")
    _clean_failure(result, 2, "nested too deeply")


def test_pickles_are_never_loaded(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object))
    for name in ("obj.npy", "obj.npz"):
        for command in ("inspect", "verify"):
            result = run_in_process([command, name], tmp_path)
            INPUTS_TRIED.append(f"pickle-{command}-{name}")
            _clean_failure(result, (1, 2), "pickle")


@pytest.mark.parametrize("path", ["../x", "/abs", "a//b", "a/./b", "a/../../b", ""])
def test_hdf5_paths_cannot_escape(tmp_path, path):
    result = run_in_process(["ones", "--shape", "2", "-o", "w.h5", "--path", path], tmp_path)
    INPUTS_TRIED.append(f"h5path:{path}")
    _clean_failure(result, 2, "is not valid")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "shape,output,text",
    [
        ("9223372036854775807,9223372036854775807", ["-o", "w.npy"], "of disk space"),
        ("9223372036854775807,4", ["--json"], "of memory"),
        ("99999999999999999999999999", ["-o", "w.weights.h5", "--path", "x"], "of disk space"),
    ],
)
def test_shapes_beyond_int64(tmp_path, shape, output, text):
    result = run_in_process(["he_normal", "--shape", shape, "--seed", "1", *output], tmp_path)
    INPUTS_TRIED.append(f"shape:{shape}")
    _clean_failure(result, 1, text)
    assert list(tmp_path.iterdir()) == []


def test_max_bytes_guard(tmp_path):
    result = run_in_process(["he_normal", "--shape", "1024,1024", "--max-bytes", "1M", "-o", "w.npy"], tmp_path)
    _clean_failure(result, 1, "more than --max-bytes 1.0 MiB")
    result = run_in_process(["he_normal", "--shape", "1024,1024", "--max-bytes", "lots", "-o", "w.npy"], tmp_path)
    _clean_failure(result, 2, "size 'lots' is not a byte count")
    result = run_in_process(["he_normal", "--shape", "4", "--max-bytes", "0.5", "-o", "w.npy"], tmp_path)
    _clean_failure(result, 2, "size '0.5' is less than one byte")
    assert list(tmp_path.iterdir()) == []
    assert (
        run_in_process(
            ["he_normal", "--shape", "256,1024", "--max-bytes", "1MiB", "-o", "w.npy", "-q"], tmp_path
        ).exit_code
        == 0
    )


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(["name", "class", "weights", "shape", "initializer", "seed", "dtype", "layers", "config"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    document=st.fixed_dictionaries(
        {
            "layers": st.lists(
                st.dictionaries(
                    KEYS,
                    JSON_VALUES
                    | st.sampled_from(["Dense", "LSTM", "glorot_uniform", "zeros"])
                    | st.fixed_dictionaries(
                        {"kernel": st.fixed_dictionaries({"shape": JSON_VALUES, "initializer": JSON_VALUES})}
                    ),
                    max_size=4,
                ),
                max_size=3,
            )
        },
        optional={"seed": JSON_VALUES, "dtype": JSON_VALUES, "name": JSON_VALUES},
    )
)
def test_fuzzed_batch_configs(tmp_path_factory, document):
    _dry_run_is_clean(tmp_path_factory, "batch", "c.json", document)


def _dry_run_is_clean(tmp_path_factory, command: str, filename: str, document) -> None:
    """``initcli COMMAND FILE --dry-run`` on a fuzzed document: 0/1/2, no traceback, no stray file."""
    work = tmp_path_factory.mktemp("fuzz")
    (work / filename).write_text(json.dumps(document))
    result = run_in_process([command, filename, "--seed", "1", "--dry-run"], work)
    INPUTS_TRIED.append(f"fuzz-{command}")
    assert result.exit_code in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, (document, result.stderr)
    assert sorted(p.name for p in work.iterdir()) == [filename]


@pytest.fixture(scope="module")
def model_config(keras):
    L = keras.layers
    x = keras.Input((6, 8))
    h = L.MultiHeadAttention(2, 4)(x, x)
    h = L.LSTM(5)(L.Conv1D(4, 3)(h))
    return json.loads(keras.Model(x, L.Dense(2)(h)).to_json())


def _mutate(value, path, replacement):
    if not path:
        return replacement
    key = path[0]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[key] = _mutate(value[key], path[1:], replacement)
    return copy


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_model_configs(tmp_path_factory, model_config, data):
    paths = list(json_paths(model_config))
    where = data.draw(st.sampled_from(paths[1:]))
    _dry_run_is_clean(tmp_path_factory, "model", "m.json", _mutate(model_config, where, data.draw(JSON_VALUES)))


def test_report_inputs_tried():
    """Printed for the README's reliability section (run with -s to see it)."""
    print("hostile and fuzzed inputs tried:", len(INPUTS_TRIED))
