"""What a reader hands back: the tensors of a file, lazily loadable."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class StoredTensor:
    """A tensor in a file: where it is, its shape and dtype, its provenance, and how to load it."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    provenance: dict[str, Any] | None
    load: Callable[[], np.ndarray]
    reader: Callable[[], Callable[[int], np.ndarray]] | None = None
    """Returns ``read(count)``: the next ``count`` flat elements, in C order (bounded memory).
    Past the end it returns fewer (an empty array at the end); a file that holds fewer
    elements than it declares raises :class:`~initcli.errors.InitcliError` instead."""
    provenance_problem: str | None = None
    """Why stored provenance was set aside (``provenance`` is then ``None``): a record of
    initcli's schema whose fields have other JSON types."""
    stale: str | None = None
    """Why the provenance may describe another file (a ``.npy`` sidecar whose recorded size or
    SHA-256 differ from the file's): ``verify`` still compares, and says so; ``inspect`` sets
    the provenance aside."""

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
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


@dataclass
class StoredFile:
    """A file's kind (``npy``, ``npz``, ``hdf5``, ``keras``), tensors and file-level provenance."""

    kind: str
    tensors: list[StoredTensor]
    provenance: dict[str, Any] | None
