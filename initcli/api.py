"""The Python API behind the command line: sample one tensor or several from one initializer.

``sample(name, shape, seed=..., dtype=..., **params)`` is exactly
``initcli NAME --shape ... --seed ... --dtype ... --PARAM ...``.  With
several shapes (``sample_many``), tensor ``i`` is drawn from the stream key
``[seed, i]``: the first tensor is what ``keras.initializers.X(seed=s)``
gives, and tensor ``i`` is what the ``i``-th call of
``keras.initializers.X(seed=keras.random.SeedGenerator(s))`` gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .backends import check_backend
from .dtypes import resolve_dtype
from .errors import InvalidArgument
from .initializers import Initializer, get, lookup
from .initializers.base import RandomInitializer
from .memory import check_fits
from .shapes import element_count, normalize_shape


@dataclass
class Tensor:
    """A sampled tensor and how it was made."""

    name: str
    array: np.ndarray
    initializer: Initializer
    draw: int
    backend: str = "numpy"

    @property
    def seed(self) -> int | None:
        """The seed actually used (``None`` for deterministic initializers)."""
        return self.initializer.seed if isinstance(self.initializer, RandomInitializer) else None


def make_initializer(identifier: str | dict[str, Any] | Initializer, **params: Any) -> Initializer:
    """An initializer from a name (with ``params``), a config dict or an instance."""
    if isinstance(identifier, str):
        cls = lookup(identifier)
        try:
            return cls(**params)
        except TypeError as error:
            raise InvalidArgument(f"bad arguments for {cls.__name__}: {error}") from None
    if params:
        raise InvalidArgument("parameters can be given with an initializer name only, not with a config or instance")
    initializer = get(identifier)
    assert initializer is not None
    return initializer


def sample(
    initializer: str | dict[str, Any] | Initializer,
    shape: Sequence[int] | int | str,
    *,
    dtype: str | np.dtype | None = None,
    draw: int = 0,
    backend: str = "numpy",
    **params: Any,
) -> np.ndarray:
    """One tensor: ``sample("he_normal", (3, 3, 16, 32), seed=1)``.

    ``params`` are the initializer's own arguments (``seed``, ``mean``,
    ``stddev``, ``mode``, ...) when ``initializer`` is a name; ``backend``
    (``numpy``, ``jax`` or ``tensorflow``) picks whose random numbers to
    reproduce: ``initcli NAME --backend jax``.
    """
    return make_initializer(initializer, **params).sample(shape, dtype, draw=draw, backend=backend)


def plan_many(
    initializer: Initializer,
    shapes: Sequence[Sequence[int]],
    names: Sequence[str] | None = None,
    dtype: str | np.dtype | None = None,
) -> tuple[list[tuple[int, ...]], list[str], np.dtype]:
    """Check shapes, names and dtype for :func:`sample_many` without drawing anything."""
    resolved_dtype = resolve_dtype(dtype)
    checked = [normalize_shape(s) for s in shapes]
    if not checked:
        raise InvalidArgument("no shapes given; give at least one shape")
    if names is None:
        names = [f"arr_{i}" for i in range(len(checked))]
    if len(names) != len(checked):
        raise InvalidArgument(f"{len(names)} names for {len(checked)} shapes; give one name per shape")
    if len(set(names)) != len(names):
        raise InvalidArgument(f"tensor names {list(names)} repeat; give each tensor its own name")
    for shape in checked:
        initializer.check_shape(shape)
    return checked, list(names), resolved_dtype


def sample_many(
    initializer: Initializer,
    shapes: Sequence[Sequence[int]],
    names: Sequence[str] | None = None,
    dtype: str | np.dtype | None = None,
    backend: str = "numpy",
) -> list[Tensor]:
    """Several tensors from one initializer; tensor ``i`` uses draw ``i`` of the seed's stream.

    Every shape is checked (and the memory for all of them) before anything is drawn.
    """
    checked, names, resolved_dtype = plan_many(initializer, shapes, names, dtype)
    results = sum(element_count(s) * resolved_dtype.itemsize for s in checked)
    peak = max(initializer.working_bytes(s, resolved_dtype) for s in checked)
    what = f"{type(initializer).__name__} of shape {checked[0]}" if len(checked) == 1 else f"{len(checked)} tensors"
    check_fits(results - element_count(checked[-1]) * resolved_dtype.itemsize + peak, what)
    return [
        Tensor(name, initializer.sample(shape, resolved_dtype, draw=i, backend=backend), initializer, i, backend)
        for i, (name, shape) in enumerate(zip(names, checked, strict=False))
    ]


def prepare_plan(plan: Any, master_seed: int, backend: str = "numpy") -> dict[str, Any]:
    """Every weight of a :class:`~initcli.model.plan.ModelPlan` as a
    :class:`~initcli.provenance.Drawn` (seeds settled, nothing drawn), keyed by path;
    each fails now if it could not be made."""
    from .model.plan import prepare_weight

    backend = check_backend(backend)
    prepared = {w.path: prepare_weight(w, master_seed, backend) for w in plan.weights()}
    for drawn in prepared.values():
        drawn.check(in_memory=False)
    return prepared


def sample_plan(plan: Any, master_seed: int, backend: str = "numpy") -> dict[str, np.ndarray]:
    """Every weight of a plan as an array in memory, keyed by path (``prepare_plan`` then draw)."""
    prepared = prepare_plan(plan, master_seed, backend)
    total = sum(d.nbytes for d in prepared.values())
    largest = max((d.nbytes for d in prepared.values()), default=0)
    check_fits(total + 2 * largest, f"the model's {len(prepared)} weights")
    return {path: drawn.array() for path, drawn in prepared.items()}


def plan_notes(plan: Any, prepared: dict[str, Any], file_record: dict[str, Any] | None) -> dict[str, str]:
    """Provenance JSON for every weight of a prepared plan (and ``""`` for the file, which lists
    the weights drawn: every layout stores those; a second copy Keras keeps of one, an
    ``alias_of`` record, is checked against its original instead)."""
    from .provenance import dumps, tensor_record

    notes = {}
    if file_record is not None:
        drawn = [w.path for layer in plan.layers for w in layer.weights if w.alias_of is None]
        notes[""] = dumps({"tensors": drawn, **file_record})
    for layer in plan.layers:
        for weight in layer.weights:
            if weight.alias_of is not None:
                record = tensor_record(
                    weight.path,
                    weight.shape,
                    weight.dtype,
                    [],
                    alias_of=weight.alias_of,
                    backend=prepared[weight.alias_of].backend,
                )
            else:
                drawn = prepared[weight.path]
                record = tensor_record(
                    weight.path, weight.shape, weight.dtype, drawn.draws, weight.initializer, backend=drawn.backend
                )
            notes[weight.path] = dumps(record)
    return notes


def write_plan(
    path: str,
    plan: Any,
    prepared: dict[str, Any],
    layout: str,
    *,
    force: bool = False,
    file_record: dict[str, Any] | None = None,
    progress: Any = None,
    max_shard_bytes: int | None = None,
    workers: int = 1,
    remote: Any = None,
    resume: bool = False,
) -> list[str]:
    """Write a prepared plan (``prepare_plan``'s result) in ``layout`` (keras3, legacy, keras,
    npz or sharded: Keras's ``.weights.json`` set, shards of at most ``max_shard_bytes``, by
    default Keras's 5 GiB; or safetensors, sharded when ``max_shard_bytes`` is given), streaming
    each weight, with provenance in the file (every shard); ``workers`` processes, or ``remote``
    (:func:`initcli.distributed.dask_remote`), make the shards of a set.  Returns the names of
    the files written (one, or the shards and their index)."""
    from .writers.keras_h5 import write_keras_archive, write_weights_h5
    from .writers.npy import write_npz
    from .writers.sharded import DEFAULT_SHARD_BYTES, write_sharded

    notes = plan_notes(plan, prepared, file_record)
    if max_shard_bytes is not None and layout not in ("sharded", "safetensors"):
        raise InvalidArgument(
            f"--max-shard-size needs a sharded layout (-o NAME.weights.json or NAME.safetensors); got {layout}"
        )
    common = {"force": force, "notes": notes, "progress": progress}
    sets = {**common, "workers": workers, "remote": remote, "resume": resume}  # how a set's shards are made
    if layout == "safetensors":
        from .writers.safetensors import write_safetensors, write_safetensors_sharded

        if max_shard_bytes is not None:
            return write_safetensors_sharded(path, prepared, max_shard_bytes=max_shard_bytes, **sets)
        write_safetensors(path, prepared, **common)
        return [Path(path).name]
    if layout == "sharded":
        limit = DEFAULT_SHARD_BYTES if max_shard_bytes is None else max_shard_bytes
        written = write_sharded(path, plan, prepared, max_shard_bytes=limit, **sets)
        return [*(shard.name for shard in written.shards), Path(path).name]
    if layout == "npz":
        write_npz(path, prepared, force=force, notes=notes, progress=progress)
    elif layout == "keras":
        write_keras_archive(path, plan, prepared, force=force, notes=notes, progress=progress)
    else:
        write_weights_h5(path, plan, prepared, layout=layout, force=force, notes=notes, progress=progress)
    return [Path(path).name]
