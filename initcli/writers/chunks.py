"""Tensors as streams of flat chunks, and writing them into HDF5 datasets block by block.

A writer accepts anything with ``shape``, ``dtype`` and ``chunks()`` (flat
1-D arrays in C order that concatenate to the tensor) -- or a plain NumPy
array.  It never needs the whole tensor in memory: ``.npy`` and ``.npz``
write the chunks' bytes in order; HDF5 writes each chunk into the
hyperslabs its flat range covers (at most two partial rows per axis and one
block of whole rows).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from math import prod
from typing import Any, Protocol

import numpy as np

from ..dtypes import is_bfloat16

Progress = Callable[[int], None]
"""Called with the number of bytes just written."""

FileNote = str | Callable[[str | None], str]
"""A file's provenance note: the text itself, or (for files that are added to) a function
from the file's previous note, or ``None``, to the new one."""


def file_note_text(note: FileNote, previous: str | None) -> str:
    """The text of ``note`` for a file whose previous note was ``previous``."""
    return note if isinstance(note, str) else note(previous)


class Chunked(Protocol):
    """A tensor that can be produced as flat chunks."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype: ...

    def chunks(self) -> Iterator[np.ndarray]: ...


class ArrayChunks:
    """A NumPy array seen as one chunk."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array if array.flags.c_contiguous else np.ascontiguousarray(array)  # keeps 0-d as 0-d
        self.shape: tuple[int, ...] = tuple(self.array.shape)
        self.dtype: np.dtype = self.array.dtype

    def chunks(self) -> Iterator[np.ndarray]:
        yield self.array.reshape(-1)


def as_chunked(value: Any) -> Chunked:
    """``value`` itself if it is chunked, else a NumPy array wrapped as one chunk."""
    if hasattr(value, "chunks") and hasattr(value, "shape") and hasattr(value, "dtype"):
        return value  # type: ignore[no-any-return]
    return ArrayChunks(np.asarray(value))


SMALL = 1 << 20
"""Tensors up to this many bytes are gathered and written in one call."""


def nbytes(value: Chunked) -> int:
    return prod(value.shape) * np.dtype(value.dtype).itemsize


def _gather(source: Chunked) -> np.ndarray:
    parts = [np.array(chunk, copy=True) for chunk in source.chunks()]
    flat = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0, dtype=source.dtype)
    return flat.reshape(source.shape)


def flat_blocks(shape: tuple[int, ...], start: int, stop: int) -> Iterator[tuple[tuple[slice, ...], int]]:
    """Hyperrectangles covering the flat C-order range ``[start, stop)`` of ``shape``.

    Yields ``(index, count)``: a tuple of slices (one per axis) and how many
    elements it holds, in flat order.
    """
    if start >= stop:
        return
    if len(shape) <= 1:
        yield (slice(start, stop),) if shape else (), stop - start
        return
    inner = prod(shape[1:])
    first, head = divmod(start, inner)
    last, tail = divmod(stop, inner)
    if first == last:
        for index, count in flat_blocks(shape[1:], head, tail):
            yield (slice(first, first + 1), *index), count
        return
    if head:
        for index, count in flat_blocks(shape[1:], head, inner):
            yield (slice(first, first + 1), *index), count
        first += 1
    if last > first:
        yield (slice(first, last), *(slice(0, d) for d in shape[1:])), (last - first) * inner
    if tail:
        for index, count in flat_blocks(shape[1:], 0, tail):
            yield (slice(last, last + 1), *index), count


_MAKING = threading.local()


def being_made() -> str | None:
    """The tensor this thread was writing when its writing failed (or is writing now): a worker
    process or task names it in its error report (:mod:`initcli.workers`, :mod:`initcli.distributed`)."""
    return getattr(_MAKING, "name", None)


@contextlib.contextmanager
def making(name: str) -> Iterator[None]:
    """Record ``name`` for :func:`being_made` while it is written (kept if the writing raises)."""
    _MAKING.name = name
    yield
    _MAKING.name = None


def write_h5_dataset(group: Any, name: str, value: Any, progress: Progress | None = None) -> Any:
    """Create dataset ``name`` in ``group`` (contiguous, as Keras writes) and fill it chunk by chunk.

    bfloat16 is stored as Keras 3 stores it: h5py makes ``ml_dtypes.bfloat16`` a 2-byte opaque
    type, and the attribute ``dtype = "bfloat16"`` tells Keras's ``load_weights`` (and initcli's
    readers) what the bytes are."""
    source = as_chunked(value)
    dataset = _create_h5_dataset(group, name, source, progress)
    if is_bfloat16(np.dtype(source.dtype)):
        dataset.attrs["dtype"] = "bfloat16"
    return dataset


def _create_h5_dataset(group: Any, name: str, source: Any, progress: Progress | None = None) -> Any:
    shape = tuple(source.shape)
    if not isinstance(source, ArrayChunks) and nbytes(source) <= SMALL:
        source = ArrayChunks(_gather(source))  # one call to HDF5 beats create-then-fill for small tensors
    if isinstance(source, ArrayChunks):
        dataset = group.create_dataset(name, data=source.array)
        if progress:
            progress(source.array.nbytes)
        return dataset
    dataset = group.create_dataset(name, shape=shape, dtype=source.dtype)
    at = 0
    for chunk in source.chunks():
        if not shape:
            dataset[()] = chunk[0]
        else:
            used = 0
            for index, count in flat_blocks(shape, at, at + chunk.size):
                block_shape = tuple(s.stop - s.start for s in index)
                dataset[index] = chunk[used : used + count].reshape(block_shape)
                used += count
        at += chunk.size
        if progress:
            progress(chunk.nbytes)
    return dataset
