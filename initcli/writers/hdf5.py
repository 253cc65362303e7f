"""One tensor into an HDF5 file at a dataset path (``layers/conv2d/vars/0``).

The file is created if missing; otherwise its other groups, datasets and
attributes are kept.  The change is atomic: the file is copied beside itself,
the copy is changed, fsynced and renamed over the original, so an
interrupted run leaves the original untouched; concurrent adders take turns
(a lock on the directory), so both datasets land.  Replacing an existing
dataset needs ``force``.  Datasets are written contiguous and uncompressed,
as Keras writes them; h5py is imported only here.

Refused before any work: a dataset path with NUL characters (HDF5 cuts names
at NUL) or that is not valid UTF-8, and an existing file whose path to the
dataset crosses a soft link, an external link (into another file) or a
dangling or looping link -- only plain groups are added to.  A symbolic link as
the file is followed (the file it points to changes; the link stays); the
file's mode, owner and group are kept.  A FIFO or ``/dev/null`` receives a new
file holding just the dataset.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from ..errors import InvalidArgument, ResourceError
from ..h5open import hdf5_file
from ..interrupts import import_whole
from ..provenance import ATTRIBUTE
from .atomic import Committed, atomic_write, check_target, directory_lock, seekable_into
from .chunks import FileNote, Progress, file_note_text, write_h5_dataset


def check_dataset_path(path: str) -> str:
    """A relative dataset path with no empty, ``.`` or ``..`` components, no NUL, valid UTF-8."""
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidArgument(
            f"HDF5 path {path!r} is not valid; use a relative path of plain names such as layers/dense/vars/0"
        )
    check_h5_name(path, "HDF5 path")
    return path


def check_h5_name(name: str, what: str) -> str:
    """Refuse a name HDF5 would store as another: NUL characters (HDF5 cuts names there) or
    text that is not valid UTF-8.  The name is shown escaped."""
    from .npy import shown_name

    if "\0" in name:
        raise InvalidArgument(
            f"{what} {shown_name(name)} holds a NUL character, where HDF5 cuts names "
            "(two names would become one); use names without NUL"
        )
    try:
        name.encode()
    except UnicodeEncodeError:
        raise InvalidArgument(f"{what} {shown_name(name)} is not valid UTF-8 text, which HDF5 names must be") from None
    return name


def write_dataset(
    file: str | os.PathLike[str],
    dataset: str,
    array: Any,
    *,
    force: bool = False,
    note: str | None = None,
    file_note: FileNote | None = None,
    progress: Progress | None = None,
    committed: Committed | None = None,
) -> None:
    """Write ``array`` at ``dataset`` in the HDF5 ``file``, keeping everything else in it.

    ``note`` (provenance JSON) becomes the dataset's ``initcli`` attribute and ``file_note``
    the root's (a function of the root's previous note, for a file that is added to);
    ``committed`` runs under the directory lock after the commit."""
    check_dataset_path(dataset)
    target = check_target(file, force=True)
    if target.kind == "stream":
        with (
            atomic_write(target.given, force=True) as stream,
            seekable_into(stream) as side,
            hdf5_file(side, "w") as handle,
        ):
            _fill(handle, dataset, array, note, file_note, progress)
        return
    with directory_lock(target.path):
        existing = target.path.exists()
        if existing:
            from ..reading.hdf5 import probe_existing

            probe_existing(target.path, f"reading {str(target.given)!r} to add to it")
            try:
                with hdf5_file(target.path, "r") as handle:
                    _check_free(handle, dataset, force)
            except ResourceError:
                raise
            except OSError:
                raise ResourceError(f"cannot add to {str(target.given)!r}: it is not an HDF5 file") from None
        with atomic_write(target.path, force=True, committed=committed) as stream:
            if existing:
                with open(target.path, "rb") as source:
                    shutil.copyfileobj(source, stream.file, 1 << 20)
                stream.file.flush()
                stream.file.seek(0)
            with hdf5_file(stream.file, "a" if existing else "w") as handle:
                if dataset in handle:
                    del handle[dataset]
                _fill(handle, dataset, array, note, file_note, progress)
            stream.file.flush()


def _fill(
    handle: Any, dataset: str, array: Any, note: str | None, file_note: FileNote | None, progress: Progress | None
) -> None:
    created = write_h5_dataset(handle, dataset, array, progress)
    if note is not None:
        created.attrs[ATTRIBUTE] = note
    if file_note is not None:
        previous = handle.attrs.get(ATTRIBUTE)
        handle.attrs[ATTRIBUTE] = file_note_text(file_note, previous if isinstance(previous, str) else None)


def _check_free(handle: Any, dataset: str, force: bool) -> None:
    """Every step of ``dataset`` that exists is a hard link (a plain group; the last a dataset,
    replaced only with ``force``)."""
    h5py = import_whole("h5py")

    parts = dataset.split("/")
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        link = handle.get(prefix, getlink=True)
        if link is None:
            return
        if isinstance(link, h5py.SoftLink):
            raise ResourceError(
                f"cannot write {dataset!r}: {prefix!r} in the file is a soft link (to {link.path!r}); "
                "initcli adds datasets below plain groups only"
            )
        if isinstance(link, h5py.ExternalLink):
            raise ResourceError(
                f"cannot write {dataset!r}: {prefix!r} in the file is an external link (to {link.filename!r}); "
                "initcli adds datasets below plain groups only"
            )
        node = handle.get(prefix)
        if depth < len(parts) and not isinstance(node, h5py.Group):
            raise ResourceError(f"cannot write {dataset!r}: {prefix!r} is a dataset, not a group")
    if isinstance(handle.get(dataset), h5py.Group):
        raise ResourceError(f"cannot write {dataset!r}: it is a group in the file")
    if not force:
        raise ResourceError(f"{dataset!r} already exists in the file; use --force to replace it")
