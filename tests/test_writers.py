"""Writers on the real file system: atomic, no-clobber, reproducible, pickle-free."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from initcli.errors import ResourceError
from initcli.writers.atomic import atomic_write
from initcli.writers.npy import write_npy, write_npz


def test_npy_round_trip_and_no_pickle(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    write_npy(tmp_path / "a.npy", array)
    loaded = np.load(tmp_path / "a.npy", allow_pickle=False)
    assert loaded.dtype == array.dtype and np.array_equal(loaded, array)
    with pytest.raises(ValueError):
        write_npy(tmp_path / "o.npy", np.array([object()], dtype=object))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy"]


def test_failure_mid_archive_leaves_nothing(tmp_path):
    arrays = {"good": np.ones(3, np.float32), "bad": np.array([object()], dtype=object)}
    with pytest.raises(ValueError):
        write_npz(tmp_path / "m.npz", arrays)
    assert list(tmp_path.iterdir()) == []


def test_failed_replace_keeps_the_old_file(tmp_path):
    target = tmp_path / "m.npz"
    write_npz(target, {"a": np.zeros(2)})
    before = target.read_bytes()
    with pytest.raises(ValueError):
        write_npz(target, {"b": np.array([object()], dtype=object)}, force=True)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_a_file_that_appears_during_the_write_is_not_replaced(tmp_path):
    target = tmp_path / "race.npy"
    with pytest.raises(ResourceError, match="already exists"), atomic_write(target, force=False) as stream:
        stream.write(b"new data")
        target.write_bytes(b"written by someone else meanwhile")
    assert target.read_bytes() == b"written by someone else meanwhile"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.npy"]


def test_interrupt_inside_the_write_cleans_up(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_write(tmp_path / "x.npy", force=False) as stream:
        stream.write(b"partial")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_npz_members_are_fixed_and_ordered(tmp_path):
    write_npz(tmp_path / "m.npz", {"z": np.zeros(2), "a": np.ones(2)})
    with zipfile.ZipFile(tmp_path / "m.npz") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["z.npy", "a.npy"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_new_files_get_the_umask_mode(tmp_path):
    import os

    write_npy(tmp_path / "m.npy", np.zeros(1))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "m.npy").stat().st_mode & 0o777 == 0o666 & ~umask
