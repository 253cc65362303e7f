"""Reading safetensors files (see :mod:`initcli.writers.safetensors` for the format).

Everything is checked against the file's size before any tensor byte is read: the header
length (at most :data:`~initcli.writers.safetensors.HEADER_LIMIT`, within the file), strict
JSON, every entry's dtype code, shape and offsets, and that the tensors tile the data area
exactly, in offset order, with no gap, overlap or trailing bytes (what the ``safetensors``
library requires too).  Tensors are read with ``pread`` in bounded pieces; the provenance
is ``__metadata__``'s ``initcli`` (the file) and ``initcli:<name>`` (each tensor).
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..dtypes import bfloat16
from ..errors import InvalidArgument
from ..safetensors_format import DTYPES, HEADER_LIMIT
from .guard import check_shape, guarded, provenance_of, vetted
from .npy import _pread_exact, pread_reader
from .stored import StoredFile, StoredTensor

_CODES = {code: name for name, code in DTYPES.items() if name != "bool"}
"""Codes initcli reads (booleans are not tensors it checks)."""


def looks_like(head: bytes, size: int) -> bool:
    """Whether a file starting with ``head`` (at least 9 bytes) of ``size`` bytes is safetensors."""
    if len(head) < 9 or head[8:9] != b"{":
        return False
    length = struct.unpack("<Q", head[:8])[0]
    return length <= min(HEADER_LIMIT, size - 8)


def _dtype(code: object, where: str) -> np.dtype:
    if code == "BF16":
        return bfloat16()
    if not isinstance(code, str) or code not in _CODES:
        raise InvalidArgument(
            f"{where} has dtype {code!r}; initcli reads the safetensors codes {', '.join([*_CODES, 'BF16'])}"
        )
    return np.dtype(_CODES[code]).newbyteorder("<")


def read_safetensors(path: Path, fd: int) -> StoredFile:
    """The tensors of the safetensors file open on ``fd`` (kept open by the caller)."""
    from ..model.config_files import decode_text, loads_json

    shown = repr(str(path))
    size = os.fstat(fd).st_size
    length = struct.unpack("<Q", os.pread(fd, 8, 0))[0]
    if length > min(HEADER_LIMIT, size - 8):
        raise InvalidArgument(f"{shown} declares a {length}-byte safetensors header in a {size}-byte file")
    document = loads_json(decode_text(os.pread(fd, length, 8), shown), shown)
    if not isinstance(document, dict):
        raise InvalidArgument(f"{shown}: a safetensors header is a JSON object")
    metadata = document.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise InvalidArgument(f"{shown}: __metadata__ must map names to strings")
    start = 8 + length
    entries: list[tuple[int, int, str, tuple[int, ...], np.dtype]] = []
    for name, entry in document.items():
        where = f"tensor {name!r} of {shown}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise InvalidArgument(f"{where}: an entry has exactly dtype, shape and data_offsets")
        dtype = _dtype(entry["dtype"], where)
        shape = check_shape(tuple(entry["shape"]) if isinstance(entry["shape"], list) else entry["shape"], where)
        offsets = entry["data_offsets"]
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in offsets)
        ):
            raise InvalidArgument(f"{where}: data_offsets must be [begin, end] in bytes")
        begin, end = offsets
        if end - begin != math.prod(shape) * dtype.itemsize:
            raise InvalidArgument(
                f"{where} declares {math.prod(shape)} x {dtype.itemsize} bytes but offsets [{begin}, {end}]"
            )
        entries.append((begin, end, name, shape, dtype))
    at = 0
    for begin, end, name, _, _ in sorted(entries):
        if begin != at:
            raise InvalidArgument(f"tensor {name!r} of {shown} starts at byte {begin}, not {at}: gap or overlap")
        at = end
    if start + at != size:
        raise InvalidArgument(f"{shown} is {size} bytes; its header accounts for {start + at}")
    tensors = []
    for begin, _, name, shape, dtype in entries:
        record, problem = vetted(provenance_of(metadata.get(f"initcli:{name}")))
        tensors.append(
            StoredTensor(
                name,
                shape,
                dtype,
                record,
                guarded(path, _loader(fd, path, start + begin, shape, dtype)),
                guarded(path, pread_reader(fd, path, start + begin, math.prod(shape), dtype)),
                problem,
            )
        )
    return StoredFile("safetensors", tensors, vetted(provenance_of(metadata.get("initcli")), tensor=False)[0])


def _loader(fd: int, path: Path, offset: int, shape: tuple[int, ...], dtype: np.dtype) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        flat = np.empty(math.prod(shape), dtype=dtype)
        _pread_exact(fd, flat, offset, path)
        return flat.reshape(shape)

    return load
