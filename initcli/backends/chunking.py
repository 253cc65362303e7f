"""Counter-based streams cut into chunks and drawn on all cores.

Under JAX and TensorFlow every element of a random tensor is a function of
the key and the element's own counter, so any range of elements can be
computed on its own.  :func:`counter_chunks` splits a tensor of ``n``
elements into chunks of :data:`~initcli.backends.buffers.CHUNK` elements, fills them
on a thread pool (NumPy releases the GIL in its loops) in blocks of
:data:`BLOCK` elements, and yields them in order from a ring of reused
buffers, so memory stays flat at any size.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..parallel import ordered_map, workers
from . import buffers
from .buffers import Ring

BLOCK = 1 << 20
"""Elements per block inside a chunk: large enough that NumPy's per-call costs (the stream
maths makes hundreds of calls per block) vanish, small enough that the block's temporary
arrays stay at tens of MiB per thread.  Measured: 2**20 ran the TensorFlow truncated normal
1.5x faster than 2**18 on this project's 2-core reference machine."""

PARALLEL_FROM = 1 << 17
"""Tensors smaller than a chunk but at least this large are still split between the threads."""

Fill = Callable[[int, np.ndarray], None]
"""``fill(start, out)``: write elements ``start .. start + len(out) - 1`` into ``out``."""


_TUNED = False


def keep_temporaries_in_the_heap() -> None:
    """Stop glibc from mapping and unmapping every large NumPy temporary.

    The stream maths makes many temporary arrays of a block's size (up to a few
    MiB).  By default glibc serves allocations above its ``mmap`` threshold with
    fresh ``mmap`` calls and returns them on ``free``, so every temporary costs
    page faults on first touch: that tripled the time of the Box-Muller maths.
    Raising the threshold to 32 MiB (and the heap trim threshold to 128 MiB,
    the most memory a process keeps after freeing) serves them from the heap.
    Larger arrays, such as whole tensors, are still mapped.  Done once per
    process, on glibc only; elsewhere nothing happens.
    """
    global _TUNED
    if _TUNED:
        return
    _TUNED = True
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return
    mallopt(_M_TRIM_THRESHOLD, 128 << 20)
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)


_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def counter_chunks(
    n: int, dtype: np.dtype, fill: Fill, *, drawn: Any = np.float32, chunk: int | None = None, block: int | None = None
) -> Iterator[np.ndarray]:
    """The ``n`` elements that ``fill`` defines in dtype ``drawn``, cast to ``dtype``, as flat chunks.

    ``fill`` is called on blocks of at most ``block`` elements, from several
    threads at once.  Each chunk is valid until the next one is requested.
    """
    if n == 0:
        return
    keep_temporaries_in_the_heap()
    chunk = chunk or buffers.CHUNK
    block = block or BLOCK
    threads = workers()
    if n <= chunk:  # one chunk's worth: split it between the threads, if it is worth a thread
        chunk = -(-n // threads // 4) * 4 if n >= PARALLEL_FROM else n
        threads = -(-n // chunk)
    size = min(n, chunk)
    drawn_ring = Ring(threads + 3, size, np.dtype(drawn))
    cast_ring = Ring(threads + 3, size, dtype) if dtype != drawn_ring.dtype else drawn_ring

    def make(job: tuple[int, int]) -> np.ndarray:
        index, offset = job
        count = min(chunk, n - offset)
        values = drawn_ring.at(index)[:count]
        for at in range(0, count, block):
            fill(offset + at, values[at : at + block])
        out = cast_ring.at(index)[:count]
        if out is not values:
            np.copyto(out, values, casting="unsafe")
        return out

    yield from ordered_map(make, enumerate(range(0, n, chunk)), threads)


def affine(values: np.ndarray, stddev: np.floating, mean: np.floating) -> None:
    """``values * stddev + mean`` in the values' dtype with two roundings, in place: what
    Keras computes after a standard draw on the JAX and TensorFlow backends (two eager ops)."""
    values *= stddev
    values += mean


def half(value: float) -> np.float16:
    """A Python float as a float16 tensor gets it on both backends: through float32
    (two roundings: ``float16(float32(value))``)."""
    return np.float16(np.float32(value))
