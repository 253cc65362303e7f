"""``.npy`` and ``.npz`` writers.

``.npy`` is NumPy's format version 1.0 (2.0 for headers over 64 KiB),
written with ``numpy.lib.format.write_array`` and never with pickle.

``.npz`` is a zip archive of ``<name>.npy`` members, as ``numpy.savez``
writes it, but reproducible: members are stored in the given order with a
fixed timestamp (1980-01-01 00:00:00) and fixed attributes, so the same
arrays always give the same bytes.  ``numpy.load`` reads both.

Refused before anything is written: tensors of rank above 32 (NumPy 1.x loads
at most 32 dimensions, 2.x at most 64), and tensor names a zip member cannot
hold as given (NUL characters, which zip readers cut the name at; text that is
not valid UTF-8; names whose UTF-8 is over 65535 bytes).  Appending to a
symbolic link changes the file it points to; the link stays.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from ..errors import InvalidArgument, ResourceError
from .atomic import Committed, atomic_write, check_target, directory_lock
from .chunks import FileNote, Progress, as_chunked, file_note_text
from .zipfiles import member

MAX_RANK = 32
"""The most dimensions a ``.npy``/``.npz`` tensor may have: what NumPy 1.x loads (2.x loads 64)."""


def check_rank(shape: tuple[int, ...], name: str | None = None) -> None:
    """Refuse a shape NumPy 1.x cannot load from ``.npy``/``.npz`` (more than 32 dimensions)."""
    if len(shape) > MAX_RANK:
        what = f"tensor {name!r}" if name else "the tensor"
        raise InvalidArgument(
            f"{what} has rank {len(shape)}, but NumPy 1.x loads at most {MAX_RANK} dimensions from .npy/.npz "
            f"(NumPy 2.x at most 64); use at most {MAX_RANK} dimensions"
        )


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(value.shape) if hasattr(value, "shape") else tuple(np.shape(value))


def write_npy_stream(stream: BinaryIO, value: Any, progress: Progress | None = None) -> None:
    """Write a tensor (array or chunked source) as ``.npy`` to an open binary stream.

    The header is NumPy's own (format 1.0, or 2.0 when it does not fit), so the
    bytes equal ``numpy.save``'s; the data follows chunk by chunk.  A rank above
    :data:`MAX_RANK` is refused before anything is written.  bfloat16 is written as
    ``numpy.save`` writes ``ml_dtypes.bfloat16``: descr ``'<V2'`` (2-byte void), the raw
    bfloat16 bits; ``numpy.load(path).view(ml_dtypes.bfloat16)`` gives the values back.
    """
    source = as_chunked(value)
    check_rank(tuple(source.shape))
    dtype = np.dtype(source.dtype)
    if dtype.hasobject:
        raise ValueError("object arrays are not written (no pickle)")
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(source.shape)}
    try:
        np.lib.format.write_array_header_1_0(stream, header)
    except ValueError:
        np.lib.format.write_array_header_2_0(stream, header)
    for chunk in source.chunks():
        data = np.ascontiguousarray(chunk)
        if data.dtype.kind == "V":  # bfloat16: the buffer protocol knows no such type; its bytes are the same
            data = data.reshape(-1).view(np.uint8)
        stream.write(memoryview(data).cast("B"))
        if progress:
            progress(chunk.nbytes)


def write_npy(
    path: str | os.PathLike[str],
    value: Any,
    *,
    force: bool = False,
    progress: Progress | None = None,
    committed: Committed | None = None,
) -> None:
    """Write a tensor to ``path`` as ``.npy``, atomically; an existing file needs ``force``.
    ``committed`` runs under the directory lock after the commit (see ``atomic_write``)."""
    check_rank(_shape(value))
    with atomic_write(path, force=force, committed=committed) as stream:
        write_npy_stream(stream, value, progress)


MAX_MEMBER_BYTES = 65535
"""The longest name a zip member can have, in bytes (a 16-bit length field)."""


def shown_name(name: str, limit: int = 60) -> str:
    """``name`` quoted with its control characters escaped, cut to ``limit`` characters."""
    if len(name) <= limit:
        return repr(name)
    return f"{name[:limit]!r}... ({len(name)} characters)"


def check_member_name(name: str) -> str:
    """A tensor name usable as an ``.npz`` member: ``/``-separated plain names (``enc1/kernel``),
    valid UTF-8 without NUL characters, at most 65535 bytes with the ``.npy`` suffix."""
    parts = name.split("/")
    if not name or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise InvalidArgument(
            f"tensor name {shown_name(name)} is not valid in .npz; use plain names such as 'kernel' or 'enc1/kernel'"
        )
    if "\0" in name:
        raise InvalidArgument(
            f"tensor name {shown_name(name)} holds a NUL character, where zip readers cut member names "
            "(two names would become one); use names without NUL"
        )
    try:
        encoded = f"{name}.npy".encode()
    except UnicodeEncodeError:
        raise InvalidArgument(
            f"tensor name {shown_name(name)} is not valid UTF-8 text, which .npz member names must be"
        ) from None
    if len(encoded) > MAX_MEMBER_BYTES:
        raise InvalidArgument(
            f"tensor name {shown_name(name)} is {len(encoded)} bytes as a zip member (with .npy); "
            f"a zip holds names of at most {MAX_MEMBER_BYTES} bytes"
        )
    return name


def write_npz_stream(
    stream: BinaryIO,
    arrays: Mapping[str, Any],
    *,
    compress: bool = False,
    keep_from: str | os.PathLike[str] | None = None,
    notes: Mapping[str, FileNote] | None = None,
    progress: Progress | None = None,
) -> None:
    """Write ``arrays`` as ``.npz`` to a stream, after the members of ``keep_from`` (if given)
    whose names are not in ``arrays``.  ``notes`` (provenance JSON by tensor name, ``""`` for
    the file) become member comments and the archive comment, which NumPy ignores; the file's
    note may be a function of the kept archive's comment (see :data:`FileNote`)."""
    notes = notes or {}
    previous: str | None = None
    with zipfile.ZipFile(stream, "w", allowZip64=True) as archive:
        if keep_from is not None:
            with zipfile.ZipFile(keep_from) as source:
                previous = source.comment.decode("utf-8", "replace") or None
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
            archive.comment = file_note_text(notes[""], previous).encode("utf-8")


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
    committed: Committed | None = None,
) -> None:
    """Write ``arrays`` (name -> array or chunked source) to ``path`` as ``.npz``, atomically.

    With ``append``, the tensors already in ``path`` are kept (the file is
    rewritten beside it and swapped in, keeping its mode, owner and group; a
    symbolic link is followed and stays); a name that is already there is
    replaced only with ``force``.  Without ``append``, an existing file is
    replaced only with ``force``.  Names and ranks are checked before anything
    is written.  ``committed`` runs under the directory lock after the commit.
    """
    for name, array in arrays.items():
        check_member_name(name)
        check_rank(_shape(array), name)
    if append:
        target = check_target(path, force=True)
        if target.kind == "stream":
            raise ResourceError(
                f"cannot add to {os.fspath(path)!r}: it is a FIFO or device, not a file; leave out --append"
            )
        with directory_lock(target.path):  # the whole read-add-swap, creation included, one process at a time
            if not os.path.exists(target.path):
                with atomic_write(target.path, force=force, committed=committed) as stream:
                    write_npz_stream(stream, arrays, compress=compress, notes=notes, progress=progress)
                return
            clashes = [n for n in npz_member_names(target.path) if n in arrays]
            if clashes and not force:
                raise ResourceError(
                    f"{os.fspath(path)!r} already holds {', '.join(map(shown_name, clashes))}; "
                    "use --force to replace, or choose another --name"
                )
            with atomic_write(target.path, force=True, committed=committed) as stream:
                write_npz_stream(
                    stream, arrays, compress=compress, keep_from=target.path, notes=notes, progress=progress
                )
            return
    with atomic_write(path, force=force, committed=committed) as stream:
        write_npz_stream(stream, arrays, compress=compress, notes=notes, progress=progress)
