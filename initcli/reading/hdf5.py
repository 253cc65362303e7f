"""HDF5 files (``.weights.h5``, legacy ``.h5``) and the weights inside ``.keras`` archives.

Nothing outside the file is ever read.  Before any data: every link in the file must be
a hard link (soft, external and user-defined links are refused), and every dataset that
would be listed is checked for external raw storage (``H5Pget_external_count``) and
virtual layout (``H5D_VIRTUAL``), both of which make HDF5 read other files.  Declared
sizes are checked against the bytes actually stored (``H5Dget_storage_size``): an
unfiltered contiguous or compact dataset must store exactly its declared bytes, an
unfiltered chunked one at least that, a filtered one at least 1/:data:`MAX_FILTER_RATIO`
of it -- so a tiny file cannot declare a 2**40-element dataset of fill values.

A ``.keras`` archive's ``model.weights.h5`` is never read into memory: a stored member
(as Keras writes it) is opened through :class:`ZipMemberWindow`, a read-only file-like
view of the archive; a compressed one is inflated into an unnamed temporary file, capped
at its declared size.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from ..dtypes import is_bfloat16
from ..errors import InvalidArgument, ResourceError
from ..h5open import hdf5_file
from ..interrupts import import_whole
from .guard import READ_KINDS, as_bfloat16, guarded, provenance_of, vetted
from .stored import StoredFile, StoredTensor

MAX_FILTER_RATIO = 1100
"""Most declared bytes per stored byte a filtered (compressed) dataset may claim (deflate's
own limit is about 1032)."""
KERAS_MEMBER_LIMIT = 64 * 2**30
"""Largest compressed ``model.weights.h5`` inflated to a temporary file (bytes); a stored
member has no limit (nothing is copied)."""
METADATA_ROOM = 64 * 2**20
"""Bytes of HDF5 metadata allowed beyond ``--max-bytes`` in a compressed ``model.weights.h5``."""
WEIGHTS = "model.weights.h5"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def open_hdf5(path: Path) -> Any:
    """``h5py.File(path, "r")`` as a context manager, opened and closed whole
    (:func:`~initcli.h5open.hdf5_file`).  HDF5's own file locking applies: a file another
    process holds open for writing is refused."""
    return hdf5_file(path, "r")


def read_hdf5(handle: Any, kind: str, path: Path, file_size: int | None) -> StoredFile:
    """Every integer or float dataset of an open HDF5 file, checked up front (see the module).

    Datasets of other types (strings, booleans, compounds, ...) and datasets with no
    dataspace (``h5py.Empty``) hold no tensor and are not listed."""
    where = repr(str(path))
    _check_links(handle, where)
    tensors: list[StoredTensor] = []
    nodes: list[tuple[str, Any]] = []
    handle.visititems(lambda name, node: nodes.append((name, node)) if _is_dataset(node) else None)
    for name, node in nodes:
        if node.shape is None:
            continue
        bfloat16 = _keras_bfloat16(node)
        dtype = np.dtype(node.dtype) if bfloat16 is None else bfloat16
        if bfloat16 is None and (
            dtype.kind not in READ_KINDS or dtype.fields is not None or dtype.subdtype is not None
        ):
            continue
        _check_storage(node, f"dataset {name!r} of {where}", file_size)
        record, problem = vetted(provenance_of(node.attrs.get(_attribute())))
        tensors.append(
            StoredTensor(
                name if isinstance(name, str) else bytes(name).decode("utf-8", "backslashreplace"),
                tuple(int(n) for n in node.shape),
                dtype,
                record,
                guarded(path, lambda node=node, dtype=dtype: np.asarray(node[()]).view(dtype)),
                guarded(path, lambda node=node, dtype=dtype: guarded(path, _hdf5_reader(node, dtype))),
                problem,
            )
        )
    return StoredFile(kind, tensors, vetted(provenance_of(handle.attrs.get(_attribute())), tensor=False)[0])


def _attribute() -> str:
    from ..provenance import ATTRIBUTE

    return ATTRIBUTE


def _is_dataset(node: Any) -> bool:
    h5py = import_whole("h5py")

    return isinstance(node, h5py.Dataset)


def _check_links(handle: Any, where: str) -> None:
    """Refuse the file if any link in it is not a hard link (before anything is followed)."""
    h5py = import_whole("h5py")

    kinds = {h5py.h5l.TYPE_SOFT: "a soft link", h5py.h5l.TYPE_EXTERNAL: "an external link"}
    found: list[tuple[str, str]] = []

    def visit(name: bytes, info: Any) -> int | None:
        if info.type != h5py.h5l.TYPE_HARD:
            found.append((name.decode("utf-8", "replace"), kinds.get(info.type, f"a link of type {info.type}")))
            return 1
        return None

    handle.id.links.visit(visit, info=True)
    if found:
        name, what = found[0]
        raise InvalidArgument(
            f"{where}: {name!r} is {what}; initcli reads only objects stored in the file itself (hard links)"
        )


def walk_metadata(handle: Any) -> None:
    """Read every attribute of every object and the stored size of every dataset of an open
    HDF5 file (hard links only): what a writer that adds to the file may touch.  Run in a child
    process with a time limit (:func:`probe_existing`), it finds the files whose metadata the
    HDF5 library loops on."""
    h5py = import_whole("h5py")

    def visit(_: str, node: Any) -> None:
        for name in node.attrs:
            node.attrs.get(name)
        if isinstance(node, h5py.Dataset):
            node.id.get_storage_size()

    for name in handle.attrs:
        handle.attrs.get(name)
    handle.visititems(visit)


def probe_existing(path: Path, what: str) -> None:
    """Open the HDF5 file ``path`` afresh in a child process and go through its metadata
    (:func:`walk_metadata`) within the time limit of :mod:`initcli.reading.bounded`; an HDF5 error
    there is left for the caller's own open to report."""
    from .bounded import hdf5_seconds, in_child

    in_child(__name__, "_walk_existing", (path,), hdf5_seconds(), what)


def _walk_existing(path: Path) -> bytes:
    """What :func:`probe_existing` has the other process do."""
    try:
        with open_hdf5(path) as handle:
            _check_links(handle, repr(str(path)))
            walk_metadata(handle)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError):
        pass
    return b""


def _check_storage(dataset: Any, where: str, file_size: int | None) -> None:
    """Refuse external or virtual storage, and declared sizes the stored bytes cannot hold."""
    h5py = import_whole("h5py")

    plist = dataset.id.get_create_plist()
    layout = plist.get_layout()
    if layout == h5py.h5d.VIRTUAL:
        raise InvalidArgument(f"{where} is a virtual dataset (its data lives in other files); it is not read")
    if plist.get_external_count() > 0:
        raise InvalidArgument(f"{where} keeps its data in external files; it is not read")
    count = math.prod(int(n) for n in dataset.shape)
    declared = count * np.dtype(dataset.dtype).itemsize
    if declared == 0:
        return
    stored = int(dataset.id.get_storage_size())
    filters = plist.get_nfilters()
    shape = "x".join(str(n) for n in dataset.shape) or "()"
    if filters == 0:
        exact = layout != h5py.h5d.CHUNKED
        if stored < declared or (exact and stored != declared):
            raise InvalidArgument(
                f"{where} declares {shape} {np.dtype(dataset.dtype).name} ({declared} bytes) but stores {stored} bytes"
            )
    elif declared > MAX_FILTER_RATIO * stored:
        raise InvalidArgument(
            f"{where} declares {shape} {np.dtype(dataset.dtype).name} ({declared} bytes) from {stored} compressed "
            f"bytes, more than {MAX_FILTER_RATIO}x; refused as a decompression bomb"
        )
    offset = dataset.id.get_offset() if layout == h5py.h5d.CONTIGUOUS else None
    if offset is not None and file_size is not None and offset + stored > file_size:
        raise InvalidArgument(
            f"{where} is truncated: its data runs to byte {offset + stored}, but the file has {file_size} bytes"
        )


def _keras_bfloat16(dataset: Any) -> np.dtype | None:
    """bfloat16 for a 2-byte opaque dataset with the attribute ``dtype = "bfloat16"`` (as Keras 3
    writes bfloat16 variables), else None."""
    dtype = np.dtype(dataset.dtype)
    if dtype.kind != "V" or not is_bfloat16(as_bfloat16(dtype)):
        return None
    tag = dataset.attrs.get("dtype")
    return as_bfloat16(dtype) if tag in ("bfloat16", b"bfloat16") else None


def _hdf5_reader(dataset: Any, dtype: np.dtype | None = None) -> Callable[[int], np.ndarray]:
    """Sequential flat reads of an HDF5 dataset, hyperslab by hyperslab (viewed as ``dtype``:
    bfloat16 datasets are read as their 2-byte opaque type)."""
    view = dtype or np.dtype(dataset.dtype)
    from ..writers.chunks import flat_blocks

    shape = tuple(dataset.shape)
    total = math.prod(shape)
    position = [0]

    def read(count: int) -> np.ndarray:
        start, stop = position[0], min(position[0] + max(count, 0), total)
        position[0] = stop
        if stop <= start:
            return np.empty(0, dtype=view)
        if not shape:
            return np.asarray(dataset[()]).reshape(-1)[: stop - start].view(view)
        parts = [np.asarray(dataset[index]).reshape(-1) for index, _ in flat_blocks(shape, start, stop)]
        return (np.concatenate(parts) if len(parts) != 1 else parts[0]).view(view)

    return read


# ----------------------------------------------------------------------------- .keras


class ZipMemberWindow(io.RawIOBase):
    """A read-only, seekable file over bytes ``[start, start + length)`` of an open file.

    Used to open a *stored* zip member (``model.weights.h5`` of a ``.keras``) in place, so
    that a member of any size is read piece by piece as HDF5 asks for it.  Its CRC-32
    cannot be checked: HDF5 reads parts, at random offsets, and never necessarily all of
    it, so a checksum over the whole member is never computed; damage shows only where
    HDF5 itself notices it (``verify`` still compares every tensor byte it reads)."""

    def __init__(self, fd: int, start: int, length: int) -> None:
        super().__init__()
        self._fd, self._start, self._length, self._position = fd, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        if base + offset < 0:
            raise OSError("seek before the start of the member")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        take = max(0, min(len(view), self._length - self._position))
        if take == 0:
            return 0
        got = os.preadv(self._fd, [view[:take]], self._start + self._position)
        self._position += got
        return got


def open_keras_weights(
    path: Path, fd: int, archive: zipfile.ZipFile, stack: ExitStack, max_bytes: int | None = None
) -> tuple[Any, int]:
    """``model.weights.h5`` of a ``.keras`` archive as an open ``h5py.File`` (closed by
    ``stack``) and the member's size.  A compressed member larger than ``max_bytes``
    (plus room for HDF5's own metadata) is refused before it is inflated."""
    infos = [info for info in archive.infolist() if info.filename == WEIGHTS]
    if len(infos) != 1:
        raise InvalidArgument(f"{str(path)!r} holds {len(infos)} members named {WEIGHTS!r}")
    info = infos[0]
    where = f"member {WEIGHTS!r} of {str(path)!r}"
    from .npy import check_member

    check_member(info, where)
    if info.compress_type == zipfile.ZIP_STORED:
        start = _member_data_offset(fd, info, where)
        if info.compress_size != info.file_size:
            raise InvalidArgument(f"{where} is stored but its sizes disagree ({info.compress_size}, {info.file_size})")
        if start + info.file_size > os.fstat(fd).st_size:
            raise InvalidArgument(f"{where} is truncated: it runs past the end of the archive")
        window = stack.enter_context(ZipMemberWindow(fd, start, info.file_size))
    else:
        limit = KERAS_MEMBER_LIMIT if max_bytes is None else min(KERAS_MEMBER_LIMIT, max_bytes + METADATA_ROOM)
        window = stack.enter_context(_inflated(archive, info, where, limit))
    return stack.enter_context(hdf5_file(window, "r")), info.file_size


def _member_data_offset(fd: int, info: zipfile.ZipInfo, where: str) -> int:
    """Where a member's data starts: after its local header's name and extra field."""
    local = os.pread(fd, 30, info.header_offset)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise InvalidArgument(f"{where} has a damaged local header")
    method, name_length, extra_length = struct.unpack("<H", local[8:10])[0], *struct.unpack("<HH", local[26:30])
    if method != info.compress_type:
        raise InvalidArgument(f"{where}: its local header and the central directory disagree on its compression")
    return info.header_offset + 30 + name_length + extra_length


def _inflated(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, limit: int) -> Any:
    """A compressed member inflated into an unnamed temporary file, never into memory: at
    most its declared size (itself at most ``limit`` and the temporary directory's free
    space), counted as it is written; it must start with the HDF5 signature."""
    from ..memory import format_bytes

    if info.file_size > limit:
        raise ResourceError(
            f"{where} is compressed and declares {format_bytes(info.file_size)}, more than the "
            f"{format_bytes(limit)} initcli inflates to a temporary file (--max-bytes and HDF5 metadata)"
        )
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if info.file_size > free:
        raise ResourceError(
            f"{where} is compressed and inflates to {format_bytes(info.file_size)}; the temporary directory "
            f"has {format_bytes(free)} free"
        )
    scratch = tempfile.TemporaryFile()  # noqa: SIM115 -- returned open, closed by the caller's stack
    try:
        written = 0
        with archive.open(info) as member:
            while piece := member.read(1 << 20):
                if not written and not piece.startswith(HDF5_SIGNATURE[: len(piece)]):
                    raise InvalidArgument(f"{where} is not an HDF5 file (no HDF5 signature at its start)")
                written += len(piece)
                if written > info.file_size:
                    raise InvalidArgument(f"{where} inflates to more than the {info.file_size} bytes it declares")
                scratch.write(piece)
        if written != info.file_size:
            raise InvalidArgument(f"{where} inflates to {written} bytes, not the {info.file_size} it declares")
        scratch.seek(0)
    except BaseException:
        scratch.close()
        raise
    return scratch
