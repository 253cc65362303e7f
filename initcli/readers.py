"""Reading tensors (and their provenance) back from every file initcli writes -- and others.

:func:`read_tensors` recognises a file by its first bytes, not its name:
``.npy`` (``\\x93NUMPY``), ``.npz`` and ``.keras`` (zip; a ``.keras`` has
``model.weights.h5``), HDF5 (``.weights.h5``, legacy ``.h5``).  Arrays are
loaded only when asked for (``StoredTensor.load()``), ``.npy`` through a
read-only memory map, and never with pickle.  Provenance comes from where the
writers put it (see :mod:`initcli.provenance`); files written by other tools
simply have none.
"""

from __future__ import annotations

import functools
import io
import json
import math
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidArgument, ResourceError
from .provenance import ATTRIBUTE, loads

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class StoredTensor:
    """A tensor in a file: where it is, its shape and dtype, its provenance, and how to load it."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    provenance: dict[str, Any] | None
    load: Callable[[], np.ndarray]
    reader: Callable[[], Callable[[int], np.ndarray]] | None = None
    """Returns ``read(count)``: the next ``count`` flat elements, in C order (bounded memory)."""

    def flat_reader(self) -> Callable[[int], np.ndarray]:
        """Sequential reads of the flat tensor; whole-tensor loading when no streaming reader exists."""
        if self.reader is not None:
            return self.reader()
        flat = np.asarray(self.load()).reshape(-1)
        position = [0]

        def read(count: int) -> np.ndarray:
            part = flat[position[0] : position[0] + count]
            position[0] += count
            return part

        return read

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


@dataclass
class StoredFile:
    kind: str
    tensors: list[StoredTensor]
    provenance: dict[str, Any] | None


def file_kind(path: Path) -> str:
    """``npy``, ``npz``, ``keras`` or ``hdf5``, from the file's first bytes."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise ResourceError(f"{str(path)!r} does not exist") from None
    except OSError as error:
        raise ResourceError(f"cannot read {str(path)!r}: {error.strerror}") from None
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                return "keras" if "model.weights.h5" in archive.namelist() else "npz"
        except zipfile.BadZipFile:
            raise InvalidArgument(f"{str(path)!r} is a damaged zip archive") from None
    raise InvalidArgument(f"{str(path)!r} is not a .npy, .npz, HDF5 or .keras file")


@contextmanager
def read_tensors(
    path: str | Path, manifest: str | Path | None = None, *, max_bytes: int | None = None
) -> Iterator[StoredFile]:
    """Open ``path`` and yield its tensors; loading works while the context is open.

    ``max_bytes``: refuse (:class:`ResourceError`), before any tensor data is read,
    a file whose tensors declare more bytes than that in total.
    """
    path = Path(path)
    kind = file_kind(path)
    if kind == "npy":
        stored = _npy(path, manifest)
        _check_max_bytes(path, stored, max_bytes)
        yield stored
    elif kind == "npz":
        with zipfile.ZipFile(path) as archive:
            stored = _npz(archive)
            _check_max_bytes(path, stored, max_bytes)
            yield stored
    elif kind == "hdf5":
        import h5py

        with h5py.File(path, "r") as handle:
            stored = _hdf5(handle, "hdf5")
            _check_max_bytes(path, stored, max_bytes)
            yield stored
    else:
        import h5py

        with zipfile.ZipFile(path) as archive:
            data = archive.read("model.weights.h5")
        with h5py.File(io.BytesIO(data), "r") as handle:
            stored = _hdf5(handle, "keras")
            _check_max_bytes(path, stored, max_bytes)
            yield stored


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


_PICKLE = "holds Python objects (pickled data), which initcli never loads"


def _npy(path: Path, manifest: str | Path | None) -> StoredFile:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        if "object" in str(error).lower():
            raise InvalidArgument(f"{str(path)!r} {_PICKLE}") from None
        raise InvalidArgument(f"{str(path)!r} is not a readable .npy file: {error}") from None
    sidecar = Path(manifest) if manifest is not None else path.with_name(path.name + ".json")
    file_prov = tensor_prov = None
    if sidecar.exists():
        try:
            document = json.loads(sidecar.read_text(encoding="utf-8"))
            file_prov = loads(json.dumps(document.get("file")))
            tensors = document.get("tensors") or []
            tensor_prov = loads(json.dumps(tensors[0])) if tensors else None
        except (ValueError, AttributeError):
            file_prov = tensor_prov = None
    elif manifest is not None:
        raise ResourceError(f"manifest {str(sidecar)!r} does not exist")
    tensor = StoredTensor(path.name, tuple(array.shape), array.dtype, tensor_prov, lambda: np.asarray(array))
    return StoredFile("npy", [tensor], file_prov)  # a memory map: whole-tensor reads stay lazy


def _npz(archive: zipfile.ZipFile) -> StoredFile:
    tensors = []
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version not in _NPY_HEADERS:
                raise InvalidArgument(f"member {info.filename!r} uses .npy format {version}; 1.0 and 2.0 are read")
            shape, fortran, dtype = _NPY_HEADERS[version](member)
        name = info.filename.removesuffix(".npy")

        if np.dtype(dtype).hasobject:
            raise InvalidArgument(f"member {info.filename!r} {_PICKLE}")

        def load(info: zipfile.ZipInfo = info) -> np.ndarray:
            with archive.open(info) as member:
                return np.lib.format.read_array(member, allow_pickle=False)

        streaming = None if fortran else functools.partial(_npz_reader, archive, info, np.dtype(dtype))
        tensors.append(StoredTensor(name, tuple(shape), np.dtype(dtype), loads(info.comment), load, streaming))
    return StoredFile("npz", tensors, loads(archive.comment))


_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _npz_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dtype: np.dtype) -> Callable[[int], np.ndarray]:
    """Sequential flat reads of an ``.npz`` member (C order), straight from the zip stream."""
    member = archive.open(info)
    _NPY_HEADERS[np.lib.format.read_magic(member)](member)

    def read(count: int) -> np.ndarray:
        return np.frombuffer(member.read(count * dtype.itemsize), dtype=dtype)

    return read


def _hdf5(handle: Any, kind: str) -> StoredFile:
    tensors: list[StoredTensor] = []

    def visit(name: str, node: Any) -> None:
        if hasattr(node, "shape") and hasattr(node, "dtype") and node.dtype.kind in "iuf":
            note = node.attrs.get(ATTRIBUTE)
            tensors.append(
                StoredTensor(
                    name,
                    tuple(node.shape),
                    np.dtype(node.dtype),
                    loads(note),
                    lambda node=node: node[()],
                    lambda node=node: _hdf5_reader(node),
                )
            )

    handle.visititems(visit)
    return StoredFile(kind, tensors, loads(handle.attrs.get(ATTRIBUTE)))


def _hdf5_reader(dataset: Any) -> Callable[[int], np.ndarray]:
    """Sequential flat reads of an HDF5 dataset, hyperslab by hyperslab."""
    from .writers.chunks import flat_blocks

    shape = tuple(dataset.shape)
    position = [0]

    def read(count: int) -> np.ndarray:
        start, stop = position[0], min(position[0] + count, math.prod(shape))
        position[0] = stop
        if not shape:
            return np.asarray(dataset[()]).reshape(-1)[: stop - start]
        parts = [np.asarray(dataset[index]).reshape(-1) for index, _ in flat_blocks(shape, start, stop)]
        return np.concatenate(parts) if len(parts) != 1 else parts[0]

    return read
