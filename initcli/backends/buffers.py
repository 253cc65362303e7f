"""Buffers every stream shares: the chunk size, reused buffer rings, and gathering chunks.

Streams produce a tensor as flat chunks of at most :data:`CHUNK` elements, so a
tensor of any size is written with flat memory; :class:`Ring` hands out a few
reused buffers in turn (a chunk is valid until the next one is requested), and
:func:`collect` gathers the chunks into one array when the whole tensor is wanted.
:data:`CHUNK` is read at call time (``buffers.CHUNK``) by the chunked streams, so
one assignment changes the chunk size of every backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from math import prod

import numpy as np

CHUNK = 1 << 21
"""Elements per chunk when streaming: 16 MiB of float64 draws."""

DEPTH = 2
"""Chunks each background stage may run ahead of its consumer."""


class Ring:
    """A few reused buffers handed out in turn.

    Large fresh allocations cost page faults on every chunk; reusing buffers keeps a
    stream's memory flat.  A buffer is reused ``count`` hand-outs later, so a consumer
    may hold a chunk only until it asks for the next one (and the pipeline's queues
    must be shorter than the ring).
    """

    def __init__(self, count: int, size: int, dtype: np.dtype) -> None:
        self.count, self.size, self.dtype = count, size, dtype
        self.buffers: list[np.ndarray] = []
        self.turn = 0

    def at(self, turn: int) -> np.ndarray:
        """The buffer for hand-out number ``turn`` (allocated on first use: small streams stay small)."""
        slot = turn % self.count
        while len(self.buffers) <= slot:
            self.buffers.append(np.empty(self.size, dtype=self.dtype))
        return self.buffers[slot]

    def next(self, count: int | None = None) -> np.ndarray:
        buffer = self.at(self.turn)
        self.turn += 1
        return buffer if count is None else buffer[:count]


def collect(chunks: Iterator[np.ndarray], shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Gather flat chunks into one array of ``shape`` (allocated once)."""
    out = np.empty(prod(shape), dtype=dtype)
    at = 0
    for chunk in chunks:
        out[at : at + chunk.size] = chunk
        at += chunk.size
    return out.reshape(shape)
