"""``.npy`` files and ``.npz`` archives, read without pickle, without memory maps, and
without trusting their headers.

A header's shape and dtype are checked (non-negative shape whose element count fits
int64; integer or float dtype, see :func:`~.guard.check_dtype`) and so is the size it
implies: a ``.npy`` must be exactly header + data bytes long, an ``.npz`` member's
uncompressed size (``ZipInfo.file_size``) likewise, before any data is read.  Data is
read with ordinary reads (``os.preadv`` on the open descriptor for ``.npy``; the zip
stream for ``.npz``) in bounded pieces; a read that comes back short -- a file truncated
by another process meanwhile, a member whose stream ends early -- is a clean error, never
a short array (and never the ``SIGBUS`` a memory map would give).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import InvalidArgument, ResourceError
from .guard import (
    PROVENANCE_LIMIT,
    as_bfloat16,
    check_dtype,
    check_shape,
    guarded,
    one_line,
    open_regular,
    provenance_of,
    translated,
    vetted,
)
from .stored import StoredFile, StoredTensor

_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
SUPPORTED_COMPRESSION = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
"""Zip compression methods whose members are read."""


@dataclass
class Header:
    """A checked ``.npy`` header and where the data starts."""

    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype
    offset: int

    @property
    def size(self) -> int:
        count = 1
        for n in self.shape:
            count *= n
        return count

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


def read_header(stream: IO[bytes], where: str) -> Header:
    """Parse and check the header at the start of ``stream``."""
    version = np.lib.format.read_magic(stream)
    if version not in _HEADERS:
        raise InvalidArgument(f"{where} uses .npy format {version[0]}.{version[1]}; 1.0 and 2.0 are read")
    try:
        shape, fortran, dtype = _HEADERS[version](stream)
        dtype = np.dtype(dtype)
    except Exception as error:  # numpy's header parser raises ValueError, SyntaxError, tokenize.TokenError...
        detail = re.sub(r"<[^<>]* at 0x[0-9a-f]+>", "an expression", one_line(error))
        raise InvalidArgument(f"{where} has a damaged .npy header: {detail[:200]}") from None
    dtype = as_bfloat16(dtype)  # numpy.save writes ml_dtypes.bfloat16 as '<V2'
    check_dtype(dtype, where)
    return Header(check_shape(shape, where), bool(fortran), dtype, stream.tell())


def _size_mismatch(where: str, header: Header, held: int) -> InvalidArgument:
    declared = header.offset + header.nbytes
    shape = "x".join(map(str, header.shape)) or "()"
    if held < declared:
        return InvalidArgument(
            f"{where} is truncated: its header declares {shape} {header.dtype.name} ({header.nbytes} bytes of data, "
            f"{declared} bytes in all) but it holds {held} bytes"
        )
    return InvalidArgument(
        f"{where} holds {held - declared} bytes more than its header declares ({shape} {header.dtype.name}, "
        f"{declared} bytes in all)"
    )


def _reshaped(flat: np.ndarray, header: Header) -> np.ndarray:
    return flat.reshape(header.shape, order="F" if header.fortran else "C")


# ----------------------------------------------------------------------------- .npy


def read_npy(path: Path, fd: int, manifest: str | Path | None) -> StoredFile:
    """The one tensor of a ``.npy`` (``fd`` open on it, kept open by the caller) with the
    provenance of its sidecar (``manifest``, or ``FILE.json`` when it exists)."""
    where = repr(str(path))
    with os.fdopen(os.dup(fd), "rb") as stream:
        header = read_header(stream, where)
    held = os.fstat(fd).st_size
    if held != header.offset + header.nbytes:
        raise _size_mismatch(where, header, held)
    file_prov, (tensor_prov, problem), stale = _sidecar(path, fd, manifest)

    def load() -> np.ndarray:
        flat = np.empty(header.size, dtype=header.dtype)
        _pread_exact(fd, flat, header.offset, path)
        return _reshaped(flat, header)

    reader = pread_reader(fd, path, header.offset, header.size, header.dtype)
    tensor = StoredTensor(
        path.name,
        header.shape,
        header.dtype,
        tensor_prov,
        guarded(path, load),
        None if header.fortran else guarded(path, reader),
        problem,
        stale,
    )
    return StoredFile("npy", [tensor], None if stale else file_prov)


def pread_reader(fd: int, path: Path, offset: int, count: int, dtype: np.dtype) -> Callable[[], Any]:
    """A :attr:`StoredTensor.reader` for ``count`` elements of ``dtype`` stored flat at byte ``offset``."""

    def reader() -> Callable[[int], np.ndarray]:
        position = [0]

        def read(wanted: int) -> np.ndarray:
            take = max(0, min(wanted, count - position[0]))
            part = np.empty(take, dtype=dtype)
            _pread_exact(fd, part, offset + position[0] * dtype.itemsize, path)
            position[0] += take
            return part

        return guarded(path, read)

    return reader


def _pread_exact(fd: int, array: np.ndarray, offset: int, path: Path) -> None:
    """Fill ``array`` (C-contiguous) from ``fd`` at ``offset``, in pieces of at most 64 MiB."""
    view = memoryview(array.reshape(-1).view(np.uint8)) if array.size else memoryview(b"")  # bfloat16 too
    done = 0
    while done < len(view):
        piece = view[done : done + (64 << 20)]
        got = os.preadv(fd, [piece], offset + done) if hasattr(os, "preadv") else _pread_into(fd, piece, offset + done)
        if got == 0:
            raise ResourceError(
                f"{str(path)!r} changed while being read: it ends at byte {offset + done}, before the "
                f"{offset + len(view)} its header declares (truncated by another process?)"
            )
        done += got


def _pread_into(fd: int, view: memoryview, offset: int) -> int:
    data = os.pread(fd, len(view), offset)
    view[: len(data)] = data
    return len(data)


def _sidecar(
    path: Path, fd: int, manifest: str | Path | None
) -> tuple[dict[str, Any] | None, tuple[dict[str, Any] | None, str | None], str | None]:
    """(file, (tensor, problem), stale) provenance from a ``.npy``'s JSON sidecar (see
    :func:`~.guard.vetted`); ``None`` where there is none.  ``stale`` says why a sidecar that
    records the size and SHA-256 of the file it describes (``file_bytes``, ``file_sha256``)
    does not describe this one."""
    sidecar = Path(manifest) if manifest is not None else path.with_name(path.name + ".json")
    if manifest is None and not os.path.lexists(sidecar):
        return None, (None, None), None
    if manifest is not None and not os.path.lexists(sidecar):
        raise ResourceError(f"manifest {str(sidecar)!r} does not exist")
    with translated(sidecar), os.fdopen(open_regular(sidecar), "rb") as handle:
        text = handle.read(PROVENANCE_LIMIT + 1)
    if len(text) > PROVENANCE_LIMIT:
        raise InvalidArgument(f"manifest {str(sidecar)!r} is larger than {PROVENANCE_LIMIT >> 20} MiB")
    try:
        document = json.loads(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, (None, None), None
    if not isinstance(document, dict):
        return None, (None, None), None
    tensors = document.get("tensors")
    first = tensors[0] if isinstance(tensors, list) and tensors else None
    file_prov = vetted(_reparsed(document.get("file")), tensor=False)[0]
    return file_prov, vetted(_reparsed(first)), _stale(document, fd, sidecar)


def _stale(document: dict[str, Any], fd: int, sidecar: Path) -> str | None:
    """Why the sidecar ``document`` does not describe the file open on ``fd`` (empty if it does,
    or if it records neither its size nor its digest)."""
    size, sha = document.get("file_bytes"), document.get("file_sha256")
    held = os.fstat(fd).st_size
    if size is not None and size != held:
        return f"manifest {str(sidecar)!r} describes a file of {size} bytes, not this one of {held} (stale)"
    if sha is not None:
        digest = hashlib.sha256()
        offset = 0
        while piece := os.pread(fd, 1 << 20, offset):
            digest.update(piece)
            offset += len(piece)
        if digest.hexdigest() != sha:
            return f"manifest {str(sidecar)!r} describes a file with another SHA-256 (stale)"
    return None


def _reparsed(value: object) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    try:
        return provenance_of(json.dumps(value))
    except (ValueError, TypeError, RecursionError):
        return None


# ----------------------------------------------------------------------------- .npz


def read_npz(path: Path, archive: zipfile.ZipFile) -> StoredFile:
    """Every ``.npy`` member of an ``.npz`` archive, checked member by member up front."""
    tensors = []
    seen: set[str] = set()
    for info in archive.infolist():
        if info.filename in seen:
            raise InvalidArgument(f"{str(path)!r} holds two members named {info.filename!r}")
        seen.add(info.filename)
        if not info.filename.endswith(".npy"):
            raise InvalidArgument(
                f"{str(path)!r} holds the member {info.filename!r}; an .npz holds .npy members only (damaged?)"
            )
        where = f"member {info.filename!r} of {str(path)!r}"
        check_member(info, where)
        with archive.open(info) as member:
            header = read_header(member, where)
        if info.file_size != header.offset + header.nbytes:
            raise _size_mismatch(where, header, info.file_size)
        record, problem = vetted(provenance_of(info.comment))
        tensors.append(
            StoredTensor(
                info.filename.removesuffix(".npy"),
                header.shape,
                header.dtype,
                record,
                guarded(path, lambda info=info, header=header: _npz_load(path, archive, info, header)),
                None if header.fortran else guarded(path, functools.partial(_npz_reader, path, archive, info, header)),
                problem,
            )
        )
    return StoredFile("npz", tensors, vetted(provenance_of(archive.comment), tensor=False)[0])


def check_member(info: zipfile.ZipInfo, where: str) -> None:
    """Refuse an encrypted member or one whose compression method is not read."""
    if info.flag_bits & 0x1:
        raise InvalidArgument(f"{where} is encrypted; initcli reads unencrypted archives only")
    if info.compress_type not in SUPPORTED_COMPRESSION:
        raise InvalidArgument(
            f"{where} uses zip compression method {info.compress_type}; "
            f"{', '.join(SUPPORTED_COMPRESSION.values())} are read"
        )


def _npz_reader(
    path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, header: Header
) -> Callable[[int], np.ndarray]:
    """Sequential flat reads of an ``.npz`` member (C order), straight from the zip stream;
    the member's CRC is checked when its last element has been read."""
    member = archive.open(info)
    member.read(header.offset)
    where = f"member {info.filename!r} of {str(path)!r}"
    position = [0]
    itemsize = header.dtype.itemsize

    def read(count: int) -> np.ndarray:
        take = max(0, min(count, header.size - position[0]))
        data = member.read(take * itemsize) if take else b""
        if len(data) != take * itemsize:
            raise InvalidArgument(
                f"{where} is truncated: its data ends after {position[0] * itemsize + len(data)} of "
                f"{header.nbytes} declared bytes"
            )
        position[0] += take
        if take and position[0] == header.size and member.read(1):
            raise InvalidArgument(f"{where} holds more data than its header declares")
        return np.frombuffer(data, dtype=header.dtype)

    return guarded(path, read)


def _npz_load(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, header: Header) -> np.ndarray:
    read = _npz_reader(path, archive, info, header)
    flat = np.empty(header.size, dtype=header.dtype)
    step = max(1, (64 << 20) // header.dtype.itemsize)
    for start in range(0, header.size, step):
        part = read(step)
        flat[start : start + part.size] = part
    if header.size == 0:
        read(0)
    return _reshaped(flat, header)
