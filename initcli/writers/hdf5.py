"""One tensor into an HDF5 file at a dataset path (``layers/conv2d/vars/0``).

The file is created if missing; otherwise its other groups, datasets and
attributes are kept.  The change is atomic: the file is copied beside itself,
the copy is changed, fsynced and renamed over the original, so an
interrupted run leaves the original untouched; concurrent adders take turns
(a lock on the directory), so both datasets land.  Replacing an existing
dataset needs ``force``.  Datasets are written contiguous and uncompressed,
as Keras writes them; h5py is imported only here.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from ..errors import InvalidArgument, ResourceError
from ..provenance import ATTRIBUTE
from .atomic import atomic_write, check_target, directory_lock
from .chunks import Progress, write_h5_dataset


def check_dataset_path(path: str) -> str:
    """A relative dataset path with no empty, ``.`` or ``..`` components."""
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidArgument(
            f"HDF5 path {path!r} is not valid; use a relative path of plain names such as layers/dense/vars/0"
        )
    return path


def write_dataset(
    file: str | os.PathLike[str],
    dataset: str,
    array: Any,
    *,
    force: bool = False,
    note: str | None = None,
    progress: Progress | None = None,
) -> None:
    """Write ``array`` at ``dataset`` in the HDF5 ``file``, keeping everything else in it.

    ``note`` (provenance JSON) becomes the dataset's ``initcli`` attribute."""
    import h5py

    check_dataset_path(dataset)
    target = check_target(file, force=True)
    with directory_lock(target):
        existing = target.exists()
        if existing:
            try:
                with h5py.File(target, "r") as handle:
                    _check_free(handle, dataset, force)
            except ResourceError:
                raise
            except OSError:
                raise ResourceError(f"cannot add to {str(target)!r}: it is not an HDF5 file") from None
        with atomic_write(target, force=True) as stream:
            if existing:
                with open(target, "rb") as source:
                    shutil.copyfileobj(source, stream.file, 1 << 20)
                stream.file.flush()
                stream.file.seek(0)
            with h5py.File(stream.file, "a" if existing else "w") as handle:
                if dataset in handle:
                    del handle[dataset]
                created = write_h5_dataset(handle, dataset, array, progress)
                if note is not None:
                    created.attrs[ATTRIBUTE] = note
            stream.file.flush()


def _check_free(handle: object, dataset: str, force: bool) -> None:
    parts = dataset.split("/")
    for depth in range(1, len(parts)):
        prefix = "/".join(parts[:depth])
        if prefix in handle and not hasattr(handle[prefix], "keys"):  # type: ignore[index]
            raise ResourceError(f"cannot write {dataset!r}: {prefix!r} is a dataset, not a group")
    if dataset in handle:  # type: ignore[operator]
        if hasattr(handle[dataset], "keys"):  # type: ignore[index]
            raise ResourceError(f"cannot write {dataset!r}: it is a group in the file")
        if not force:
            raise ResourceError(f"{dataset!r} already exists in the file; use --force to replace it")
