"""inspect, verify and every --json output at the edges: NaN and infinities in real files (written
with NumPy, zipfile and h5py directly), tensors of all NaN, integers, float16 sums, huge float64
values, empty and 0-d tensors, short reads; strict JSON; --max-bytes."""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from initcli.cli.jsonout import dumps, finite_or_none
from initcli.inspection import statistics, statistics_of, value_flags
from tests.helpers import run_in_process, run_subprocess


def strict_loads(text: bytes | str) -> object:
    """``json.loads`` that refuses NaN, Infinity and -Infinity (which Python's json accepts)."""

    def refuse(token: str) -> None:
        raise AssertionError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


HOSTILE = np.array([0.5, np.nan, -1.0, np.inf, np.nan, 2.0, -np.inf, np.nan, 1.5, -np.inf], dtype=np.float32)
"""3 NaN, 1 +inf, 2 -inf and 4 finite values (mean 0.75)."""


def _write(kind: str, path: Path, array: np.ndarray) -> str:
    """``array`` written by NumPy or h5py (no initcli provenance); the file name."""
    if kind == "npy":
        np.save(path / "x.npy", array)
        return "x.npy"
    if kind == "npz":
        np.savez(path / "x.npz", first=np.ones(3), w=array)
        return "x.npz"
    with h5py.File(path / "x.weights.h5", "w") as handle:
        handle["layers/dense/vars/0"] = array
    return "x.weights.h5"


@pytest.mark.parametrize("kind", ["npy", "npz", "hdf5"])
def test_inspect_counts_and_flags_nan_and_infinities_in_any_file(tmp_path, kind):
    name = _write(kind, tmp_path, HOSTILE.reshape(2, 5))
    plain = run_in_process(["inspect", name], tmp_path)
    assert plain.exit_code == 0, plain.stderr
    line = next(line for line in plain.stdout.decode().splitlines() if "NaN" in line)
    assert "3 NaN, 1 +inf, 2 -inf" in line and "FLAGGED: non-finite" in line
    assert "mean 0.75 " in line and "min -1 " in line and "max 2 " in line and "nan" not in line
    strict = run_in_process(["inspect", name, "--strict"], tmp_path)
    assert strict.exit_code == 1 and strict.stderr == ""
    result = run_in_process(["inspect", name, "--json"], tmp_path)
    assert result.exit_code == 0
    report = strict_loads(result.stdout)
    entry = report["tensors"][-1]
    stats = entry["stats"]
    assert (stats["nan"], stats["posinf"], stats["neginf"], stats["finite"], stats["read"]) == (3, 1, 2, 4, 10)
    assert all(type(stats[key]) is int for key in ("nan", "posinf", "neginf", "finite", "read", "n"))
    assert stats["mean"] == 0.75 and stats["min"] == -1.0 and stats["max"] == 2.0
    assert math.isclose(stats["std"], np.std([0.5, -1.0, 2.0, 1.5]))
    assert sum(stats["histogram"]) == 4 and entry["flags"] == ["non-finite"]
    assert all("flags" not in t for t in report["tensors"][:-1])  # the finite ones


def test_inspect_flags_nan_in_a_file_initcli_wrote(tmp_path):
    assert (
        run_in_process(["he_normal", "-s", "40,30", "--seed", "1", "-o", "w.h5", "--path", "k"], tmp_path).exit_code
        == 0
    )
    assert run_in_process(["inspect", "w.h5", "--strict"], tmp_path).exit_code == 0
    with h5py.File(tmp_path / "w.h5", "a") as handle:  # the provenance attribute stays
        values = handle["k"][()]
        values[3, 4], values[0, 0] = np.nan, np.inf
        handle["k"][...] = values
    result = run_in_process(["inspect", "w.h5"], tmp_path)
    text = result.stdout.decode()
    assert result.exit_code == 0 and "HeNormal seed 1" in text
    assert "1 NaN, 1 +inf (statistics of the 1198 finite values)  DISAGREES: non-finite" in text
    assert run_in_process(["inspect", "w.h5", "--strict"], tmp_path).exit_code == 1
    entry = strict_loads(run_in_process(["inspect", "w.h5", "--json"], tmp_path).stdout)["tensors"][0]
    assert entry["flags"] == ["non-finite"] and entry["stats"]["finite"] == 1198
    finite = values[np.isfinite(values)].astype(np.float64)
    assert math.isclose(entry["stats"]["mean"], finite.mean(), rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_a_tensor_of_all_nan_prints_and_is_flagged(tmp_path, dtype):
    np.save(tmp_path / "n.npy", np.full((2, 3), np.nan, dtype=dtype))
    np.savez(tmp_path / "i.npz", w=np.array([np.inf, -np.inf], dtype=dtype))
    result = run_subprocess(["inspect", "n.npy"], tmp_path)
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    assert "no finite values:  6 NaN  FLAGGED: non-finite" in result.stdout.decode()
    assert "no finite values:  1 +inf, 1 -inf" in run_in_process(["inspect", "i.npz"], tmp_path).stdout.decode()
    stats = strict_loads(run_in_process(["inspect", "n.npy", "--json"], tmp_path).stdout)["tensors"][0]["stats"]
    assert stats["nan"] == 6 and stats["finite"] == 0 and stats["mean"] is None and stats["histogram"] == []
    assert run_in_process(["inspect", "n.npy", "--strict"], tmp_path).exit_code == 1


def test_statistics_divide_by_the_values_read_not_the_declared_size():
    stats = statistics_of(lambda: iter([np.array([1.0, 2.0, 3.0])]), 5)  # a reader that returned 3 of 5
    assert stats["read"] == 3 and stats["mean"] == 2.0 and stats["beyond_2std"] == 0.0
    assert math.isclose(stats["std"], math.sqrt(2 / 3))
    assert sum(stats["histogram"]) == 3
    assert value_flags(stats) == ["read 3 of 5 values"]
    empty_chunks = statistics_of(lambda: iter([np.zeros(0), np.array([4.0]), np.zeros(0)]), 1)
    assert empty_chunks["mean"] == 4.0 and empty_chunks["read"] == 1 and value_flags(empty_chunks) == []


def test_integer_equal_empty_and_scalar_tensors(tmp_path):
    np.savez(
        tmp_path / "e.npz",
        equal=np.full((4, 4), 3, dtype=np.int8),
        big=np.array([2**64 - 1, 0], dtype=np.uint64),
        scalar=np.float64(2.5),
        empty=np.zeros((0, 3), dtype=np.float32),
        ints=np.arange(-5, 5, dtype=np.int32),
    )
    result = run_subprocess(["inspect", "e.npz", "--strict"], tmp_path)
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    text = result.stdout.decode()
    assert "equal  4x4  int8" in text and "mean 3  std 0  min 3  max 3" in text
    assert "scalar  ()  float64" in text and "mean 2.5  std 0" in text and "(empty)" in text
    tensors = {
        t["name"]: t for t in strict_loads(run_in_process(["inspect", "e.npz", "--json"], tmp_path).stdout)["tensors"]
    }
    assert tensors["equal"]["stats"]["histogram"][12] == 16 and sum(tensors["equal"]["stats"]["histogram"]) == 16
    assert tensors["big"]["stats"]["max"] == float(2**64 - 1) and tensors["big"]["stats"]["mean"] == 2.0**63
    assert tensors["empty"]["stats"] == {"n": 0}
    assert tensors["ints"]["stats"]["mean"] == -0.5 and tensors["ints"]["stats"]["min"] == -5.0


def test_sums_never_overflow():
    half = np.full(200_000, 60000, dtype=np.float16)  # a float16 sum would be inf
    with np.errstate(over="ignore"):
        assert np.isinf(half.sum())
    assert statistics(half)["mean"] == 60000.0 and statistics(half)["std"] == 0.0
    huge = np.array([1e308, -1e308, 1.7e308, 5.0, 1.7e308, -1.7e308])  # a float64 sum or square overflows
    stats = statistics(huge)
    scaled = np.ldexp(huge, -1024)
    assert math.isclose(stats["mean"], math.ldexp(scaled.mean(), 1024), rel_tol=1e-12)
    assert math.isclose(stats["std"], math.ldexp(scaled.std(), 1024), rel_tol=1e-12)
    assert sum(stats["histogram"]) == huge.size and stats["min"] == -1.7e308 and stats["max"] == 1.7e308
    assert stats["beyond_2std"] == np.mean(np.abs(scaled - scaled.mean()) > 2 * scaled.std())
    json.dumps(stats, allow_nan=False)


def test_json_helper_nulls_every_non_finite_float():
    document = {
        "a": math.nan,
        "b": [1.0, math.inf, (-math.inf, 2)],
        "c": np.float32("nan"),
        "d": np.array([[1.5, np.nan], [np.inf, 0.0]]),
        "e": np.int64(3),
        "f": {"g": np.array([1, 2], dtype=np.int8), "h": "NaN"},
    }
    assert finite_or_none(document) == {
        "a": None,
        "b": [1.0, None, [None, 2]],
        "c": None,
        "d": [[1.5, None], [None, 0.0]],
        "e": 3,
        "f": {"g": [1, 2], "h": "NaN"},
    }
    assert strict_loads(dumps(document)) == json.loads(json.dumps(finite_or_none(document)))


def _npz_with_provenance(path: Path, source: Path, change: dict[int, float]) -> None:
    """A copy of an initcli ``.npz`` (member and archive comments kept) with some elements changed."""
    with zipfile.ZipFile(source) as archive:
        info = archive.infolist()[0]
        array = np.load(io.BytesIO(archive.read(info)))
        comment = archive.comment
    for index, value in change.items():
        array.flat[index] = value
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    with zipfile.ZipFile(path, "w") as archive:
        member = zipfile.ZipInfo(info.filename, info.date_time)
        member.comment = info.comment
        archive.writestr(member, buffer.getvalue())
        archive.comment = comment


def test_json_is_strict_on_every_command(keras, tmp_path):
    assert run_in_process(["he_normal", "-s", "20,30", "--seed", "1", "-o", "w.npz"], tmp_path).exit_code == 0
    _npz_with_provenance(tmp_path / "bad.npz", tmp_path / "w.npz", {5: np.nan, 7: np.inf})
    outputs = {
        "inspect": run_subprocess(["inspect", "bad.npz", "--json"], tmp_path),
        "verify": run_in_process(["verify", "bad.npz", "--json"], tmp_path),
        "sample": run_in_process(["he_normal", "-s", "3,2", "--seed", "1", "--json"], tmp_path),
        "list": run_in_process(["list", "--json"], tmp_path),
    }
    (tmp_path / "b.yaml").write_text(
        "name: b\nlayers:\n  - name: d\n    class: Dense\n    weights:\n"
        "      kernel: {shape: [4, 3], initializer: he_normal}\n      bias: {shape: [3], initializer: zeros}\n"
    )
    outputs["batch"] = run_in_process(["batch", "b.yaml", "--dry-run", "--json"], tmp_path)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    (tmp_path / "m.json").write_text(model.to_json())
    outputs["model"] = run_in_process(["model", "m.json", "--dry-run", "--json"], tmp_path)
    for command, result in outputs.items():
        assert result.exit_code in (0, 1), (command, result.stderr)
        strict_loads(result.stdout)
    stats = strict_loads(outputs["inspect"].stdout)["tensors"][0]["stats"]
    assert (stats["nan"], stats["posinf"]) == (1, 1)
    assert strict_loads(outputs["verify"].stdout)["counts"]["different"] == 1


def test_dry_runs_never_print_infinities(keras, tmp_path):
    """A uniform limit sqrt(3 scale / n) beyond float64 (n = 1) was Infinity in the dry-run JSON: batch
    refuses the config (it checks every weight against its shape), model prints null."""
    (tmp_path / "b.yaml").write_text(
        "name: b\nlayers:\n  - name: d\n    class: Dense\n    weights:\n      kernel: {shape: [1, 1], initializer:"
        " {class_name: VarianceScaling, config: {scale: 1.0e+308, distribution: uniform}}}\n"
    )
    batch = run_in_process(["batch", "b.yaml", "--dry-run", "--json"], tmp_path)
    assert batch.exit_code == 2 and batch.stdout == b"" and batch.stderr.count("\n") == 1
    assert "VarianceScaling(scale=1e+308" in batch.stderr and "use scale <= 5.9923e+307" in batch.stderr
    init = keras.initializers.VarianceScaling(scale=1.0, distribution="uniform")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer=init)])
    (tmp_path / "m.json").write_text(model.to_json().replace('"scale": 1.0', '"scale": 1e308'))  # Keras refuses it
    result = run_in_process(["model", "m.json", "--dry-run", "--json"], tmp_path)
    assert result.exit_code == 0, result.stderr
    kernel = strict_loads(result.stdout)["weights"][0]
    assert kernel["initializer"]["config"]["scale"] == 1e308 and kernel["limit"] is None and kernel["std"] is None
    real = run_in_process(["model", "m.json", "--seed", "1", "-o", "m.weights.h5"], tmp_path)
    assert (
        real.exit_code == 2 and "use scale <= 5.9923e+307" in real.stderr and not (tmp_path / "m.weights.h5").exists()
    )


def test_max_bytes_on_inspect_and_verify(tmp_path):
    assert run_in_process(["he_normal", "-s", "20,30", "--seed", "1", "-o", "w.npz"], tmp_path).exit_code == 0
    for command in ("inspect", "verify"):
        refused = run_in_process([command, "w.npz", "--max-bytes", "1K"], tmp_path)
        assert refused.exit_code == 1 and refused.stdout == b"", (command, refused.stderr)
        assert refused.stderr.startswith("initcli: error: ") and refused.stderr.count("\n") == 1
        assert "2.3 KiB" in refused.stderr and "--max-bytes 1.0 KiB" in refused.stderr, refused.stderr
        assert run_in_process([command, "w.npz", "--max-bytes", "2400"], tmp_path).exit_code == 0
        bad = run_in_process([command, "w.npz", "--max-bytes", "lots"], tmp_path)
        assert bad.exit_code == 2 and "'lots' is not a byte count" in bad.stderr


def test_verify_names_a_nan_difference(tmp_path):
    """A NaN where the regenerated value is finite is a difference, told without NaN tokens in --json."""
    assert run_in_process(["he_normal", "-s", "20,30", "--seed", "1", "-o", "w.npz"], tmp_path).exit_code == 0
    _npz_with_provenance(tmp_path / "nan.npz", tmp_path / "w.npz", {5: np.nan})
    result = run_subprocess(["verify", "nan.npz"], tmp_path)
    assert result.exit_code == 1
    line = result.stdout.decode().strip()
    assert line.startswith("DIFFERENT") and "first difference at index (0, 5): nan in the file" in line
    assert "Warning" not in result.stderr
    assert strict_loads(run_in_process(["verify", "nan.npz", "--json"], tmp_path).stdout)["counts"]["different"] == 1


def test_verify_max_difference_counts_nan(tmp_path):
    assert run_in_process(["he_normal", "-s", "20,30", "--seed", "1", "-o", "w.npz"], tmp_path).exit_code == 0
    _npz_with_provenance(tmp_path / "all.npz", tmp_path / "w.npz", dict.fromkeys(range(600), np.nan))
    result = run_subprocess(["verify", "all.npz"], tmp_path)
    assert result.exit_code == 1 and "Warning" not in result.stderr, result.stderr
    assert "max |difference| 0" not in result.stdout.decode()


def _npz_with_edited_provenance(path: Path, source: Path, edit) -> None:
    """A copy of an initcli ``.npz`` whose member's provenance JSON went through ``edit(record)``."""
    with zipfile.ZipFile(source) as archive:
        info = archive.infolist()[0]
        data, comment = archive.read(info), archive.comment
    record = json.loads(info.comment)
    edit(record)
    with zipfile.ZipFile(path, "w") as archive:
        member = zipfile.ZipInfo(info.filename, info.date_time)
        member.comment = json.dumps(record).encode()  # Python writes NaN as the NaN token
        archive.writestr(member, data)
        archive.comment = comment


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda r: r["pieces"][0]["initializer"]["config"].update(scale=math.nan), "scale nan is not finite"),
        (lambda r: r["pieces"][0]["initializer"]["config"].update(scale=1e308, distribution="uniform"), "5.9923e+307"),
        (lambda r: r["pieces"][0]["initializer"]["config"].update(mode="sideways"), "mode 'sideways' is not valid"),
        (lambda r: r["pieces"][0]["initializer"].update(class_name="NoSuchInitializer"), "NoSuchInitializer"),
    ],
)
def test_inspect_shows_a_tensor_whose_recorded_initializer_is_refused(tmp_path, edit, reason):
    assert run_in_process(["variance_scaling", "-s", "1,30", "--seed", "1", "-o", "w.npz"], tmp_path).exit_code == 0
    _npz_with_edited_provenance(tmp_path / "e.npz", tmp_path / "w.npz", edit)
    result = run_in_process(["inspect", "e.npz"], tmp_path)
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    head = result.stdout.decode().splitlines()[1]
    assert head.startswith("arr_0  1x30  float32") and "recorded initializer unusable: " in head and reason in head
    entry = strict_loads(run_in_process(["inspect", "e.npz", "--json"], tmp_path).stdout)["tensors"][0]
    assert reason in entry["provenance_error"] and "predicted" not in entry and entry["stats"]["n"] == 30
    assert run_in_process(["inspect", "e.npz", "--strict"], tmp_path).exit_code == 0
