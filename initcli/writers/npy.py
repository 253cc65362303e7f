"""``.npy`` and ``.npz`` writers.

``.npy`` is NumPy's format version 1.0 (2.0 for headers over 64 KiB),
written with ``numpy.lib.format.write_array`` and never with pickle.

``.npz`` is a zip archive of ``<name>.npy`` members, as ``numpy.savez``
writes it, but reproducible: members are stored in the given order with a
fixed timestamp (1980-01-01 00:00:00) and fixed attributes, so the same
arrays always give the same bytes.  ``numpy.load`` reads both.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from ..errors import InvalidArgument, ResourceError
from .atomic import atomic_write, directory_lock
from .chunks import Progress, as_chunked
from .zipfiles import member


def write_npy_stream(stream: BinaryIO, value: Any, progress: Progress | None = None) -> None:
    """Write a tensor (array or chunked source) as ``.npy`` to an open binary stream.

    The header is NumPy's own (format 1.0, or 2.0 when it does not fit), so the
    bytes equal ``numpy.save``'s; the data follows chunk by chunk.
    """
    source = as_chunked(value)
    dtype = np.dtype(source.dtype)
    if dtype.hasobject:
        raise ValueError("object arrays are not written (no pickle)")
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(source.shape)}
    try:
        np.lib.format.write_array_header_1_0(stream, header)
    except ValueError:
        np.lib.format.write_array_header_2_0(stream, header)
    for chunk in source.chunks():
        stream.write(memoryview(np.ascontiguousarray(chunk)).cast("B"))
        if progress:
            progress(chunk.nbytes)


def write_npy(
    path: str | os.PathLike[str], value: Any, *, force: bool = False, progress: Progress | None = None
) -> None:
    """Write a tensor to ``path`` as ``.npy``, atomically; an existing file needs ``force``."""
    with atomic_write(path, force=force) as stream:
        write_npy_stream(stream, value, progress)


def check_member_name(name: str) -> str:
    """A tensor name usable as an ``.npz`` member: ``/``-separated plain names (``enc1/kernel``)."""
    parts = name.split("/")
    if not name or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise InvalidArgument(
            f"tensor name {name!r} is not valid in .npz; use plain names such as 'kernel' or 'enc1/kernel'"
        )
    return name


def write_npz_stream(
    stream: BinaryIO,
    arrays: Mapping[str, Any],
    *,
    compress: bool = False,
    keep_from: str | os.PathLike[str] | None = None,
    notes: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> None:
    """Write ``arrays`` as ``.npz`` to a stream, after the members of ``keep_from`` (if given)
    whose names are not in ``arrays``.  ``notes`` (provenance JSON by tensor name, ``""`` for
    the file) become member comments and the archive comment, which NumPy ignores."""
    notes = notes or {}
    with zipfile.ZipFile(stream, "w", allowZip64=True) as archive:
        if keep_from is not None:
            with zipfile.ZipFile(keep_from) as source:
                for info in source.infolist():
                    if info.filename.removesuffix(".npy") in arrays:
                        continue
                    kept = member(info.filename, compress=info.compress_type != zipfile.ZIP_STORED)
                    kept.comment = info.comment
                    with source.open(info) as src, archive.open(kept, "w", force_zip64=True) as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
        for name, array in arrays.items():
            info = member(f"{check_member_name(name)}.npy", compress=compress)
            info.comment = notes.get(name, "").encode("utf-8")
            with archive.open(info, "w", force_zip64=True) as stream_member:
                write_npy_stream(stream_member, array, progress)  # type: ignore[arg-type]
        if "" in notes:
            archive.comment = notes[""].encode("utf-8")


def npz_member_names(path: str | os.PathLike[str]) -> list[str]:
    """Tensor names in an existing ``.npz`` (member names without ``.npy``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [info.filename.removesuffix(".npy") for info in archive.infolist()]
    except zipfile.BadZipFile:
        raise ResourceError(f"cannot add to {os.fspath(path)!r}: it is not a .npz (zip) file") from None
    except OSError as error:
        raise ResourceError(f"cannot read {os.fspath(path)!r}: {error.strerror}") from None


def write_npz(
    path: str | os.PathLike[str],
    arrays: Mapping[str, Any],
    *,
    force: bool = False,
    append: bool = False,
    compress: bool = False,
    notes: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> None:
    """Write ``arrays`` (name -> array or chunked source) to ``path`` as ``.npz``, atomically.

    With ``append``, the tensors already in ``path`` are kept (the file is
    rewritten beside it and swapped in); a name that is already there is
    replaced only with ``force``.  Without ``append``, an existing file is
    replaced only with ``force``.
    """
    for name in arrays:
        check_member_name(name)
    if append:
        with directory_lock(path):  # the whole read-add-swap, creation included, one process at a time
            if not os.path.exists(path):
                with atomic_write(path, force=force) as stream:
                    write_npz_stream(stream, arrays, compress=compress, notes=notes, progress=progress)
                return
            clashes = [n for n in npz_member_names(path) if n in arrays]
            if clashes and not force:
                raise ResourceError(
                    f"{os.fspath(path)!r} already holds {', '.join(map(repr, clashes))}; "
                    "use --force to replace, or choose another --name"
                )
            with atomic_write(path, force=True) as stream:
                write_npz_stream(stream, arrays, compress=compress, keep_from=path, notes=notes, progress=progress)
            return
    with atomic_write(path, force=force) as stream:
        write_npz_stream(stream, arrays, compress=compress, notes=notes, progress=progress)
