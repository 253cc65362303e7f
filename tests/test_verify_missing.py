"""``verify`` notices a tensor removed from a file: the file's provenance lists every tensor a
run wrote (``tensors``), and files that are added to (``--append``, ``--path``) keep the list."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import pytest

from .helpers import run_in_process, run_subprocess

CONFIG = """
layers:
  - name: hidden
    class: Dense
    weights:
      kernel: {shape: [6, 4], initializer: glorot_uniform}
      bias: {shape: [4], initializer: zeros}
  - name: out
    class: Dense
    weights:
      kernel: {shape: [4, 2], initializer: he_normal}
      bias: {shape: [2], initializer: zeros}
"""


def _verify(path: Path) -> tuple[int, str]:
    result = run_in_process(["verify", path.name, "--json"], path.parent)
    return result.exit_code, result.stdout.decode()


def _drop_h5(path: Path, dataset: str) -> None:
    with h5py.File(path, "a") as handle:
        del handle[dataset]


def _drop_npz(path: Path, member: str) -> None:
    """Rewrite the archive without ``member``, keeping every comment."""
    with zipfile.ZipFile(path) as source:
        kept = [(info, source.read(info)) for info in source.infolist() if info.filename != member]
        comment = source.comment
    assert len(kept) < len(zipfile.ZipFile(path).infolist())
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in kept:
            archive.writestr(info, data)
        archive.comment = comment


@pytest.mark.parametrize(
    "output,victim",
    [
        ("m.weights.h5", "layers/dense/vars/1"),
        ("m.h5", "hidden/hidden/bias"),
        ("m.npz", "hidden/bias.npy"),
    ],
)
def test_a_tensor_removed_from_a_whole_model_file_is_reported(tmp_path, output, victim):
    (tmp_path / "m.yaml").write_text(CONFIG)
    written = run_in_process(["batch", "m.yaml", "--seed", "3", "-o", output], tmp_path)
    assert written.exit_code == 0, written.stderr
    code, before = _verify(tmp_path / output)
    assert code == 0, before
    assert json.loads(before)["counts"] == {"identical": 4, "different": 0, "unverifiable": 0}
    (_drop_npz if output.endswith(".npz") else _drop_h5)(tmp_path / output, victim)
    code, after = _verify(tmp_path / output)
    report = json.loads(after)
    missing = [t for t in report["tensors"] if "missing from the file" in t["detail"]]
    assert code == 1
    assert [t["path"] for t in missing] == ["hidden/bias"]
    assert report["counts"]["identical"] == 3


def test_append_keeps_the_list_so_a_removed_earlier_tensor_is_reported(tmp_path):
    for args in (["-n", "a", "-o", "w.npz"], ["-n", "b", "-o", "w.npz", "--append"]):
        result = run_in_process(["random_normal", "--shape", "3,3", "--seed", "1", *args], tmp_path)
        assert result.exit_code == 0, result.stderr
    code, report = _verify(tmp_path / "w.npz")
    assert code == 0, report
    with zipfile.ZipFile(tmp_path / "w.npz") as archive:
        assert json.loads(archive.comment)["tensors"] == ["a", "b"]
    _drop_npz(tmp_path / "w.npz", "a.npy")
    code, report = _verify(tmp_path / "w.npz")
    assert code == 1
    assert [t["path"] for t in json.loads(report)["tensors"] if t["status"] == "different"] == ["a"]


def test_path_keeps_the_list_so_a_removed_earlier_dataset_is_reported(tmp_path):
    for dataset in ("layers/dense/vars/0", "layers/dense/vars/1"):
        result = run_subprocess(
            ["glorot_uniform", "--shape", "4,4", "--seed", "2", "-o", "w.weights.h5", "--path", dataset], tmp_path
        )
        assert result.exit_code == 0, result.stderr
    with h5py.File(tmp_path / "w.weights.h5") as handle:
        assert json.loads(handle.attrs["initcli"])["tensors"] == ["layers/dense/vars/0", "layers/dense/vars/1"]
    code, report = _verify(tmp_path / "w.weights.h5")
    assert code == 0, report
    _drop_h5(tmp_path / "w.weights.h5", "layers/dense/vars/0")
    code, report = _verify(tmp_path / "w.weights.h5")
    assert code == 1
    assert "layers/dense/vars/0" in report and "missing from the file" in report


def test_keras_archive_with_a_second_copy_verifies_and_lists_drawn_weights(keras, tmp_path):
    """SpectralNormalization stores its kernel twice: the list holds the drawn weights only, so
    the file verifies, in every layout."""
    model = keras.Sequential([keras.Input((5,)), keras.layers.SpectralNormalization(keras.layers.Dense(3), name="sn")])
    (tmp_path / "model.json").write_text(model.to_json())
    for output in ("s.weights.h5", "s.h5", "s.keras", "s.npz"):
        result = run_in_process(["model", "model.json", "--seed", "5", "-o", output], tmp_path)
        assert result.exit_code == 0, result.stderr
        code, report = _verify(tmp_path / output)
        assert code == 0, (output, report)


@pytest.mark.parametrize("how", ["other-size", "same-size"])
def test_a_stale_manifest_does_not_vouch_for_another_file(tmp_path, how):
    """A .npy replaced behind its sidecar (without initcli, which removes its own stale sidecar):
    the sidecar records the size and SHA-256 of the file it describes, so it no longer applies."""
    made = run_in_process(["random_uniform", "--shape", "8", "--seed", "4", "-o", "w.npy", "--manifest"], tmp_path)
    assert made.exit_code == 0, made.stderr
    assert run_in_process(["verify", "w.npy"], tmp_path).exit_code == 0
    import numpy as np

    values = np.load(tmp_path / "w.npy")
    np.save(tmp_path / "w.npy", np.concatenate([values, values]) if how == "other-size" else values[::-1].copy())
    result = run_in_process(["verify", "w.npy", "--json"], tmp_path)
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert report["tensors"][0]["status"] == "different"
    assert "(stale)" in report["tensors"][0]["detail"]
    inspected = run_in_process(["inspect", "w.npy", "--json"], tmp_path)
    assert inspected.exit_code == 0, inspected.stderr
    shown = json.loads(inspected.stdout)
    assert "initializer" not in shown["tensors"][0] and shown["provenance"] is None
    assert "(stale)" in shown["tensors"][0]["stale_provenance"]


def test_a_manifest_of_the_same_bytes_still_verifies(tmp_path):
    """The same bytes written again (a rerun) keep the manifest valid: size and digest agree."""
    args = ["random_uniform", "--shape", "8", "--seed", "4", "-o", "w.npy", "--manifest"]
    assert run_in_process(args, tmp_path).exit_code == 0
    kept = (tmp_path / "w.npy").read_bytes()
    (tmp_path / "w.npy").unlink()
    (tmp_path / "w.npy").write_bytes(kept)
    assert run_in_process(["verify", "w.npy"], tmp_path).exit_code == 0
