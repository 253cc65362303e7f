"""Provenance: how each tensor of a file was made, stored in the file, and how to remake it.

Schema ``initcli/provenance/1`` (JSON).  Each tensor carries::

    {"schema": "initcli/provenance/1", "initcli": "0.1.0",
     "stream": {"backend": "numpy", "version": 1, "numpy": "2.4.6",
                "verified": "keras 3.15.1 with numpy 2.x ..."},
     "path": "hidden1/kernel", "shape": [784, 256], "dtype": "float32",
     "initializer": <Keras config as given, e.g. seed null>,
     "pieces": [{"initializer": <Keras config as called, seed settled>,
                 "shape": [784, 256], "draw": 0, "seed": 2811547104, "seed_source": "derived"}],
     "fans": [784, 256], "std": 0.0505}          # fans/std when they apply

``pieces`` lists the initializer calls whose results, concatenated along
axis 0, are the tensor (one call, except LSTM biases with
``unit_forget_bias``); ``draw`` is the index ``i`` of the stream key
``[seed, i]``.  A tensor Keras stores twice (SpectralNormalization's kernel)
carries ``{"alias_of": "<path>"}`` instead of pieces.  The file carries::

    {"schema": ..., "initcli": ..., "stream": ..., "command": "batch",
     "inputs": {"config": "mlp.yaml", "config_sha256": "...", "master_seed": 1}}

Where it is stored, so that Keras and NumPy ignore it: HDF5 (``.weights.h5``,
legacy ``.h5``, the ``.keras`` archive's weights) -- a JSON string attribute
``initcli`` on each dataset and on the root; ``.npz`` -- each member's zip
comment and the archive comment; ``.npy`` -- an opt-in sidecar
``<file>.json`` (``--manifest``) holding ``{"file": ..., "tensors": [...]}``.

The bytes of a tensor are determined by: the initializer and its parameters,
the shape, the dtype, the seed and draw index, the backend stream and
initcli's stream version (:data:`STREAM_VERSION`, raised whenever any of
these mappings changes), as pinned by ``tests/test_golden.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .backends import BACKENDS, VERIFIED
from .backends import DEFAULT as DEFAULT_BACKEND
from .errors import InvalidArgument
from .initializers import Initializer, deserialize, serialize
from .initializers.moments import expected_std
from .memory import check_fits
from .shapes import element_count

SCHEMA = "initcli/provenance/1"
STREAM_VERSION = 1
"""Version of the mapping (initializer, parameters, shape, dtype, seed, draw) -> bytes."""
ATTRIBUTE = "initcli"
"""Name of the HDF5 attribute that holds provenance JSON."""


@dataclass
class Draw:
    """One initializer call that made (part of) a tensor."""

    initializer: Initializer
    """As called: a random initializer's ``seed`` is the one used."""
    shape: tuple[int, ...]
    draw: int = 0
    seed_source: str | None = None
    """``given``, ``drawn`` (single tensors), ``config``, ``weight`` or ``derived`` (models)."""


@dataclass
class Drawn:
    """A tensor defined by its initializer calls: produced chunk by chunk, or whole.

    ``chunks()`` concatenates the calls' chunks (axis-0 concatenation in C order),
    so any size streams with bounded memory; ``array()`` builds it in memory.
    """

    draws: list[Draw]
    shape: tuple[int, ...]
    dtype: np.dtype
    backend: str = DEFAULT_BACKEND
    """The Keras backend whose random streams make the numbers."""

    def chunks(self) -> Iterator[np.ndarray]:
        for d in self.draws:
            yield from d.initializer.chunks(d.shape, self.dtype, draw=d.draw, backend=self.backend)

    def array(self) -> np.ndarray:
        if len(self.draws) == 1:
            d = self.draws[0]
            return d.initializer.sample(d.shape, self.dtype, draw=d.draw, backend=self.backend).reshape(self.shape)
        parts = [d.initializer.sample(d.shape, self.dtype, draw=d.draw, backend=self.backend) for d in self.draws]
        return np.concatenate(parts, axis=0).reshape(self.shape)

    def check(self, *, in_memory: bool) -> None:
        """Fail now, before any work, if the tensor cannot be made (shape, memory)."""
        for d in self.draws:
            d.initializer.check_shape(d.shape)
            need = (d.initializer.working_bytes if in_memory else d.initializer.streaming_bytes)(d.shape, self.dtype)
            check_fits(need, f"{type(d.initializer).__name__} of shape {d.shape}")

    @property
    def nbytes(self) -> int:
        return element_count(self.shape) * self.dtype.itemsize


def stream_info(backend: str = DEFAULT_BACKEND) -> dict[str, Any]:
    """The random stream that made the numbers, the versions it depends on and what
    it was verified against."""
    return {"backend": backend, "version": STREAM_VERSION, "numpy": np.__version__, "verified": VERIFIED[backend]}


def _settled_config(initializer: Initializer) -> dict[str, Any]:
    config = serialize(initializer)
    if "seed" in config["config"] and getattr(initializer, "seed", None) is not None:
        config["config"]["seed"] = initializer.seed
    return config


def tensor_record(
    path: str,
    shape: tuple[int, ...],
    dtype: np.dtype,
    draws: list[Draw],
    configured: Initializer | None = None,
    alias_of: str | None = None,
    backend: str = DEFAULT_BACKEND,
) -> dict[str, Any]:
    """The provenance of one tensor."""
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "initcli": __version__,
        "stream": stream_info(backend),
        "path": path,
        "shape": list(shape),
        "dtype": np.dtype(dtype).name,
    }
    if alias_of is not None:
        record["alias_of"] = alias_of
        return record
    first = draws[0]
    record["initializer"] = serialize(configured or first.initializer)
    record["pieces"] = [
        {
            "initializer": _settled_config(d.initializer),
            "shape": list(d.shape),
            "draw": d.draw,
            "seed": getattr(d.initializer, "seed", None),
            "seed_source": d.seed_source,
        }
        for d in draws
    ]
    fans = getattr(first.initializer, "fans", None)
    if callable(fans):
        record["fans"] = list(fans(first.shape))
    std = expected_std(first.initializer, first.shape)
    if std is not None:
        record["std"] = std
    return record


def file_record(
    command: str,
    inputs: dict[str, Any],
    backend: str = DEFAULT_BACKEND,
    tensors: list[str] | None = None,
    stream: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The provenance of a whole file: the command, its inputs and (``tensors``) the path of
    every tensor it wrote, so that ``verify`` notices a tensor removed from the file;
    ``stream`` in place of ``backend``'s (torch.nn.init's, :mod:`initcli.torch_init.records`)."""
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "initcli": __version__,
        "stream": stream or stream_info(backend),
        "command": command,
        "inputs": inputs,
    }
    if tensors is not None:
        record["tensors"] = list(tensors)
    return record


def merged_file_note(record: dict[str, Any]) -> Callable[[str | None], str]:
    """For a file that is added to (``--append``, ``--path``): a function from the file's
    previous note to the new one, whose ``tensors`` list keeps the paths the previous
    record listed, then adds this run's."""

    def merge(previous: str | None) -> str:
        merged = dict(record)
        old = loads(previous)
        listed = old.get("tensors") if old is not None else None
        if isinstance(listed, list) and all(isinstance(p, str) for p in listed):
            merged["tensors"] = listed + [p for p in record.get("tensors", []) if p not in listed]
        return dumps(merged)

    return merge


def digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (config and model digests), read in 1 MiB blocks so that
    memory stays flat whatever the file's size."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            sha.update(block)
    return sha.hexdigest()


def dumps(record: dict[str, Any]) -> str:
    """Compact, key-sorted JSON: the same record always gives the same bytes."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def loads(text: str | bytes | None) -> dict[str, Any] | None:
    """Parse stored provenance; ``None`` for anything that is not ours.

    What initcli writes is ASCII JSON.  A record holding text that is not Unicode -- invalid
    UTF-8 bytes (which h5py hands over as lone surrogates) or a ``\\udcxx`` escape -- is not
    ours: its names could be neither printed nor compared."""
    if not text:
        return None
    try:
        record = json.loads(text)
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError, RecursionError):
        return None
    return record if isinstance(record, dict) and record.get("schema") == SCHEMA else None


def drawn_from_record(record: dict[str, Any]) -> Drawn:
    """The tensor a provenance record describes, ready to be remade in chunks or whole
    (not for ``alias_of`` records)."""
    stream = record.get("stream", {})
    backend = stream.get("backend", DEFAULT_BACKEND)
    if backend not in BACKENDS or stream.get("version", STREAM_VERSION) != STREAM_VERSION:
        raise InvalidArgument(
            f"{record.get('path')}: stream {backend!r} version {stream.get('version')} is not available "
            f"in initcli {__version__}"
        )
    draws = [
        Draw(
            deserialize(piece["initializer"]),
            tuple(piece["shape"]),
            int(piece.get("draw", 0)),
            piece.get("seed_source"),
        )
        for piece in record["pieces"]
    ]
    return Drawn(draws, tuple(record["shape"]), np.dtype(record["dtype"]), backend)


def regenerate(record: dict[str, Any]) -> np.ndarray:
    """Remake a tensor from its provenance record, in memory (not for ``alias_of`` records)."""
    return drawn_from_record(record).array()
