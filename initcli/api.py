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
from typing import Any

import numpy as np

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
    **params: Any,
) -> np.ndarray:
    """One tensor: ``sample("he_normal", (3, 3, 16, 32), seed=1)``.

    ``params`` are the initializer's own arguments (``seed``, ``mean``,
    ``stddev``, ``mode``, ...) when ``initializer`` is a name.
    """
    return make_initializer(initializer, **params).sample(shape, dtype, draw=draw)


def plan_many(
    initializer: Initializer,
    shapes: Sequence[Sequence[int]],
    names: Sequence[str] | None = None,
    dtype: str | np.dtype | None = None,
) -> tuple[list[tuple[int, ...]], list[str], np.dtype]:
    """Check shapes, names, dtype and memory for :func:`sample_many` without drawing anything."""
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
    if len(checked) > 1:
        results = sum(element_count(s) * resolved_dtype.itemsize for s in checked)
        peak = max(initializer.working_bytes(s, resolved_dtype) for s in checked)
        check_fits(results + peak, f"{len(checked)} tensors")
    else:
        what = f"{type(initializer).__name__} of shape {checked[0]}"
        check_fits(initializer.working_bytes(checked[0], resolved_dtype), what)
    return checked, list(names), resolved_dtype


def sample_many(
    initializer: Initializer,
    shapes: Sequence[Sequence[int]],
    names: Sequence[str] | None = None,
    dtype: str | np.dtype | None = None,
) -> list[Tensor]:
    """Several tensors from one initializer; tensor ``i`` uses draw ``i`` of the seed's stream.

    Every shape is checked (and the memory for all of them) before anything is drawn.
    """
    checked, names, resolved_dtype = plan_many(initializer, shapes, names, dtype)
    return [
        Tensor(name, initializer.sample(shape, resolved_dtype, draw=i), initializer, i)
        for i, (name, shape) in enumerate(zip(names, checked, strict=False))
    ]


def sample_plan(plan: Any, master_seed: int) -> dict[str, Any]:
    """Sample every weight of a :class:`~initcli.model.plan.ModelPlan`; keyed by weight path.

    ``initcli batch``/``initcli model`` call exactly this.
    """
    from .model.plan import sample_weight

    total = sum(w.nbytes for w in plan.weights())
    largest = max((w.nbytes for w in plan.weights()), default=0)
    check_fits(total + 2 * largest, f"the model's {len(plan.weights())} weights")
    return {w.path: sample_weight(w, master_seed) for w in plan.weights()}


def plan_notes(plan: Any, sampled: dict[str, Any], file_record: dict[str, Any] | None) -> dict[str, str]:
    """Provenance JSON for every weight of a sampled plan (and ``""`` for the file)."""
    from .provenance import dumps, tensor_record

    notes = {"": dumps(file_record)} if file_record is not None else {}
    for layer in plan.layers:
        for weight in layer.weights:
            if weight.alias_of is not None:
                array = sampled[weight.alias_of].array
                notes[weight.path] = dumps(tensor_record(weight.path, array, [], alias_of=weight.alias_of))
            else:
                done = sampled[weight.path]
                notes[weight.path] = dumps(tensor_record(weight.path, done.array, done.draws, weight.initializer))
    return notes


def write_plan(
    path: str,
    plan: Any,
    sampled: dict[str, Any],
    layout: str,
    *,
    force: bool = False,
    file_record: dict[str, Any] | None = None,
) -> None:
    """Write a sampled plan (``sample_plan``'s result) in ``layout`` (keras3, legacy, keras or npz),
    with provenance in the file."""
    from .writers.keras_h5 import write_keras_archive, write_weights_h5
    from .writers.npy import write_npz

    arrays = {p: s.array for p, s in sampled.items()}
    notes = plan_notes(plan, sampled, file_record)
    if layout == "npz":
        write_npz(path, arrays, force=force, notes=notes)
    elif layout == "keras":
        write_keras_archive(path, plan, arrays, force=force, notes=notes)
    else:
        write_weights_h5(path, plan, arrays, layout=layout, force=force, notes=notes)
