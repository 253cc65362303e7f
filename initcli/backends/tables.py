"""Tables of a stream's per-word maps, built once and cached on disk.

Each of JAX's normal and truncated normal values is a fixed function of 23
random bits (``sqrt(2)·erf_inv(u)`` with XLA's emulated float32 maths), so for
large tensors it is cheaper to evaluate that function once for all 2**23
inputs and look values up than to evaluate it per element.  (TensorFlow's
Box-Muller radius and angle are also functions of 23 bits, but looking them up
in 96 MiB of tables measured slower than computing them.)  A table is 2**23
float32 entries (32 MiB); it is kept in memory for the life of the process
and in a cache directory between runs (:func:`cache_directory`).  Every table,
built or loaded, must match the SHA-256 recorded when it was checked against
the real backend, so a corrupt or tampered cache file (a cryptographic digest:
no change that keeps it can be crafted, unlike a CRC) or a platform whose
arithmetic differs can never produce numbers silently; a cached file that does
not match is rebuilt, never used.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import ResourceError
from ..parallel import ordered_map
from ..provenance import STREAM_VERSION
from ..writers.atomic import atomic_write
from .chunking import keep_temporaries_in_the_heap

ENTRIES = 1 << 23
"""Inputs of a table: every 23-bit value."""

BUILD_FROM = 1 << 22
"""Tensors with at least this many elements build a table if none is cached yet."""

CACHED_FROM = 1 << 18
"""Tensors with at least this many elements load a table cached on disk (about 25 ms)."""

_PART = 1 << 16

_LOCK = threading.Lock()
_TABLES: dict[str, np.ndarray] = {}


def cache_directory() -> Path | None:
    """Where tables are cached between runs: ``$INITCLI_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/initcli``, else ``~/.cache/initcli``; ``INITCLI_CACHE_DIR=""``
    turns the cache off."""
    chosen = os.environ.get("INITCLI_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "initcli"


class Table:
    """A named map from 23-bit inputs to float32 values, with the SHA-256 (hex) of its bytes."""

    def __init__(self, name: str, function: Callable[[np.ndarray], np.ndarray], sha256: str):
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"table {name!r}: {sha256!r} is not a SHA-256 in lower-case hex")
        self.name, self.function, self.sha256 = name, function, sha256

    def path(self) -> Path | None:
        directory = cache_directory()
        return None if directory is None else directory / f"{self.name}-stream{STREAM_VERSION}.f32"

    def checked(self, values: np.ndarray) -> bool:
        """Whether ``values`` are exactly this table (size, dtype and SHA-256 of the bytes)."""
        return (
            values.dtype == np.float32
            and values.size == ENTRIES
            and hashlib.sha256(np.ascontiguousarray(values)).hexdigest() == self.sha256
        )

    def build(self) -> np.ndarray:
        """Evaluate the function on every input, on all cores, and check the result."""
        keep_temporaries_in_the_heap()
        values = np.empty(ENTRIES, dtype=np.float32)

        def part(start: int) -> None:
            values[start : start + _PART] = self.function(np.arange(start, start + _PART, dtype=np.uint32))

        for _ in ordered_map(part, range(0, ENTRIES, _PART)):
            pass
        if not self.checked(values):
            raise ResourceError(
                f"the {self.name} table does not match its checksum on this machine, so its numbers "
                "would not be the backend's; please report this platform"
            )
        return values

    def load(self) -> np.ndarray | None:
        path = self.path()
        if path is None or not path.exists():
            return None
        try:
            values = np.fromfile(path, dtype=np.float32)
        except (OSError, ValueError):
            return None
        return values if self.checked(values) else None

    def store(self, values: np.ndarray) -> None:
        """Write the table atomically (best effort: a cache that cannot be written is skipped)."""
        path = self.path()
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path, force=True) as scratch:
                scratch.write(memoryview(values))
        except OSError:  # includes initcli's ResourceError
            pass

    def values(self, *, build: bool = True) -> np.ndarray | None:
        """The table: from memory, else from the disk cache, else (if ``build``) built and cached."""
        with _LOCK:
            if self.name in _TABLES:
                return _TABLES[self.name]
            values = self.load()
            if values is None:
                if not build:
                    return None
                values = self.build()
                self.store(values)
            values.flags.writeable = False
            _TABLES[self.name] = values
            return values

    def for_size(self, n: int) -> np.ndarray | None:
        """The table to use for a tensor of ``n`` elements, if any: direct evaluation is
        cheaper for small tensors unless the table is already in memory."""
        if self.name in _TABLES:
            return _TABLES[self.name]
        if n >= BUILD_FROM:
            return self.values()
        if n >= CACHED_FROM:
            return self.values(build=False)
        return None


def forget() -> None:
    """Drop the tables held in memory (the disk cache stays)."""
    with _LOCK:
        _TABLES.clear()
