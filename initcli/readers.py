"""Reading tensors (and their provenance) back from every file initcli writes -- and others.

:func:`read_tensors` recognises a file by its first bytes, not its name:
``.npy`` (``\\x93NUMPY``), ``.npz`` and ``.keras`` (zip; a ``.keras`` has
``model.weights.h5``), HDF5 (``.weights.h5``, legacy ``.h5``).  FILE must be a
non-empty regular file (a FIFO, device or directory is refused before it is
read, so nothing hangs).  Headers are checked against the bytes actually
present before any data is read; arrays are loaded only when asked for
(``StoredTensor.load()``, or streamed with ``StoredTensor.reader``), with
ordinary reads (never a memory map, never pickle); nothing outside FILE is
ever read (HDF5 soft/external links, external storage and virtual datasets
are refused).  Every failure, up front or while reading, is one
:class:`~initcli.errors.InvalidArgument` (a damaged or unreadable file) or
:class:`~initcli.errors.ResourceError` (locked, changed meanwhile, too big)
naming the file (:mod:`initcli.reading.guard`).  Provenance comes from where
the writers put it (see :mod:`initcli.provenance`); files written by other
tools, or provenance that is not a string of initcli's JSON, simply have none.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from .errors import InvalidArgument, ResourceError
from .reading.guard import open_regular, translated
from .reading.stored import StoredFile, StoredTensor

__all__ = ["StoredFile", "StoredTensor", "file_kind", "read_tensors"]

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


def file_kind(path: str | Path) -> str:
    """``npy``, ``npz``, ``keras``, ``hdf5``, ``safetensors`` or ``sharded`` (a JSON index of
    Keras or safetensors shards), from the file's first bytes."""
    path = Path(path)
    with ExitStack() as stack, translated(path):
        return _open(path, stack)[0]
    raise AssertionError("unreachable")


def _open(path: Path, stack: ExitStack) -> tuple[str, int, zipfile.ZipFile | None]:
    """Open ``path`` (a regular file, else refused), recognise its kind; the descriptor
    (and, for zip files, the archive) stay open until ``stack`` closes."""
    fd = open_regular(path)
    stack.callback(os.close, fd)
    head = os.pread(fd, 9, 0)
    if head.startswith(NPY_MAGIC):
        return "npy", fd, None
    if head.startswith(HDF5_MAGIC):
        return "hdf5", fd, None
    if head.startswith(ZIP_MAGIC):
        try:
            archive = stack.enter_context(zipfile.ZipFile(stack.enter_context(os.fdopen(os.dup(fd), "rb"))))
        except zipfile.BadZipFile as error:
            raise InvalidArgument(f"{str(path)!r} is a damaged zip archive: {error}") from None
        names = archive.namelist()
        return ("keras" if "model.weights.h5" in names else "npz"), fd, archive
    from .reading.safetensors import looks_like

    if looks_like(head, os.fstat(fd).st_size):
        return "safetensors", fd, None
    if head.lstrip().startswith(b"{"):
        return "sharded", fd, None
    raise InvalidArgument(
        f"{str(path)!r} is not a .npy, .npz, HDF5, .keras, safetensors file or an index of shards (.json)"
    )


@contextmanager
def read_tensors(
    path: str | Path, manifest: str | Path | None = None, *, max_bytes: int | None = None, _probed: bool = False
) -> Iterator[StoredFile]:
    """Open ``path`` and yield its tensors; loading works while the context is open.

    Every check that needs no tensor data (kind, headers against sizes, HDF5 links and
    storage, dtypes) is done before this yields.  ``max_bytes``: refuse
    (:class:`ResourceError`), before any tensor data is read, a file whose tensors
    declare more bytes than that in total.  An HDF5 file (or a ``.keras`` archive's weights)
    is first gone through in a child process with a time limit, as far as this function
    reads it: a damaged file on which the HDF5 library loops is one line, never a hang
    (:mod:`initcli.reading.bounded`).
    """
    from .reading import hdf5, npy

    path = Path(path)
    with ExitStack() as stack:
        with translated(path):
            kind, fd, archive = _open(path, stack)
            if kind in ("hdf5", "keras") and not _probed:
                _probe(path, manifest, max_bytes)
            if kind == "sharded":
                from .reading.sharded import read_set

                def shard(location: Path) -> Any:
                    return read_tensors(location, max_bytes=max_bytes)

                stored = read_set(path, fd, stack, shard)
            elif kind == "safetensors":
                from .reading.safetensors import read_safetensors

                stored = read_safetensors(path, fd)
            elif kind == "npy":
                stored = npy.read_npy(path, fd, manifest)
            elif kind == "npz":
                assert archive is not None
                stored = npy.read_npz(path, archive)
            elif kind == "hdf5":
                handle = stack.enter_context(hdf5.open_hdf5(path))
                stored = hdf5.read_hdf5(handle, "hdf5", path, os.fstat(fd).st_size)
            else:
                assert archive is not None
                handle, size = hdf5.open_keras_weights(path, fd, archive, stack, max_bytes)
                stored = hdf5.read_hdf5(handle, "keras", path, size)
            _check_max_bytes(path, stored, max_bytes)
        yield stored


def _probe(path: Path, manifest: str | Path | None, max_bytes: int | None) -> None:
    """Go through what :func:`read_tensors` reads of an HDF5 file in a child process with a time
    limit, opening the file anew there (nothing of the parent's open files is shared)."""
    from .reading.bounded import hdf5_seconds, in_child

    in_child(__name__, "_probe_work", (path, manifest, max_bytes), hdf5_seconds(), f"reading {str(path)!r}")


def _probe_work(path: Path, manifest: str | Path | None, max_bytes: int | None) -> bytes:
    """What :func:`_probe` has the other process do: open and check the file as the caller will."""
    with read_tensors(path, manifest, max_bytes=max_bytes, _probed=True):
        return b""


def _check_max_bytes(path: Path, stored: StoredFile, limit: int | None) -> None:
    """Refuse a file whose tensors declare more than ``limit`` bytes."""
    if limit is None:
        return
    total = sum(t.nbytes for t in stored.tensors)
    if total > limit:
        from .memory import format_bytes

        raise ResourceError(
            f"{str(path)!r} holds {format_bytes(total)} of tensors, more than --max-bytes {format_bytes(limit)}"
        )
