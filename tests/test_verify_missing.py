"""``verify`` notices a tensor removed from a file: the file's provenance lists every tensor a
run wrote (``tensors``), and files that are added to (``--append``, ``--path``) keep the list."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
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


@pytest.mark.parametrize("output", ["m.weights.h5", "m.keras"])
@pytest.mark.parametrize("how", ["invalid-utf8", "surrogate-escape"])
def test_a_file_record_naming_a_tensor_in_text_that_is_not_unicode(tmp_path, output, how):
    """The file's record lists a name that cannot be printed: raw bytes that are not UTF-8 (h5py
    hands them over as lone surrogates) or a JSON ``\\udcff`` escape.  Such a record is not
    initcli's: ``inspect`` and ``verify`` end normally, print valid UTF-8, and the tensors still
    verify from their own records."""
    (tmp_path / "m.yaml").write_text(CONFIG)
    written = run_in_process(["batch", "m.yaml", "--seed", "3", "-o", "m.weights.h5"], tmp_path)
    assert written.exit_code == 0, written.stderr
    with h5py.File(tmp_path / "m.weights.h5", "a") as handle:
        text = handle.attrs["initcli"].encode()
        assert b'"tensors":["' in text
        bad = b"\xff" * 7 if how == "invalid-utf8" else b"\\udcff"
        crafted = text.replace(b'"tensors":["', b'"tensors":["' + bad, 1)
        vlen = h5py.string_dtype()  # as initcli writes it
        handle.attrs.create("initcli", np.array(crafted, dtype=vlen), dtype=vlen)
        assert handle.attrs["initcli"] != text.decode()
    if output == "m.keras":
        with zipfile.ZipFile(tmp_path / "m.keras", "w") as archive:
            archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
            archive.writestr("config.json", "{}")
            archive.write(tmp_path / "m.weights.h5", "model.weights.h5")
    for command in (["inspect"], ["inspect", "--json"], ["verify"], ["verify", "--json"]):
        result = run_subprocess([*command, output], tmp_path)
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr, (command, result.stderr)
        result.stdout.decode("utf-8")  # strictly valid
        assert result.exit_code == 0, (command, result.stderr)
    assert json.loads(_verify(tmp_path / output)[1])["counts"] == {"identical": 4, "different": 0, "unverifiable": 0}
