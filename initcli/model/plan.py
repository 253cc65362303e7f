"""The plan of a model's weights, independent of where it came from and where it goes.

A :class:`ModelPlan` lists the model's top-level layers in order; each
:class:`LayerPlan` lists its weights in Keras's variable order.  Each
:class:`WeightPlan` knows

* ``path`` -- the user-visible path ``<layer name>/<weight name>`` (nested
  models prefix their own name), used for derived seeds and ``.npz`` keys;
* ``h5_object`` / ``h5_index`` -- where Keras 3's ``.weights.h5`` keeps it
  (``layers/lstm/cell`` and ``vars/<i>``);
* the pieces it is made of: usually one ``(initializer, shape)``; LSTM's bias
  with ``unit_forget_bias`` is three pieces concatenated.

Sampling resolves seeds: a seed given in the initializer's config (or per
weight) is used as is, so seeded Keras configs reproduce Keras; otherwise the
weight's seed is derived from the master seed and its path
(:func:`initcli.seeds.derive_seed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidArgument
from ..initializers import Initializer, serialize
from ..initializers.base import RandomInitializer
from ..initializers.moments import expected_std
from ..provenance import Draw, Drawn
from ..seeds import derive_seed
from ..shapes import element_count

H5_CLASS_NAMES = {"GroupQueryAttention": "grouped_query_attention"}
"""Classes whose Python name (which names the h5 group) differs from their config ``class_name``."""


def h5_group(counters: dict[str, int], class_name: str, prefix: str = "") -> str:
    """Keras 3's group for the next entry of a layer list: the class in snake case, with
    ``_1``, ``_2``, ... for repeats of a class (``counters`` holds the counts so far)."""
    from ..initializers.registry import to_snake_case

    snake = H5_CLASS_NAMES.get(class_name, to_snake_case(class_name))
    count = counters.get(snake, 0)
    counters[snake] = count + 1
    return f"{prefix}layers/{snake}" + (f"_{count}" if count else "")


@dataclass
class Piece:
    """One initializer call: ``initializer(shape, dtype)``."""

    initializer: Initializer
    shape: tuple[int, ...]


@dataclass
class WeightPlan:
    """One weight of the model."""

    name: str
    path: str
    shape: tuple[int, ...]
    dtype: np.dtype
    pieces: list[Piece]
    h5_object: str
    h5_index: int
    trainable: bool = True
    seed: int | None = None
    """Explicit seed for this weight (overrides the initializer's and the derived one)."""
    seed_path: str | None = None
    """Path whose derived seed this weight uses, when Keras shares one initializer instance
    between two weights (ReversibleEmbedding); defaults to ``path``."""
    alias_of: str | None = None
    """Path of a weight this one repeats (SpectralNormalization tracks the wrapped kernel twice)."""

    @property
    def initializer(self) -> Initializer:
        """The main initializer (the first piece's)."""
        return self.pieces[0].initializer

    @property
    def nbytes(self) -> int:
        return element_count(self.shape) * self.dtype.itemsize


@dataclass
class LayerPlan:
    """A top-level layer (or nested model) and its weights in Keras's order."""

    name: str
    class_name: str
    h5_object: str
    weights: list[WeightPlan] = field(default_factory=list)
    h5_names: dict[str, str] = field(default_factory=dict)
    """``@name`` of each object group this layer writes (``layers/lstm/cell`` -> ``lstm_cell``)."""


@dataclass
class ModelPlan:
    """Every layer and weight of a model."""

    name: str
    layers: list[LayerPlan]
    keras_config: dict[str, Any] | None = None
    """The Keras model config (for ``.keras`` output), when the plan came from one."""

    def weights(self) -> list[WeightPlan]:
        """Every weight to sample (repeated weights, ``alias_of``, excluded)."""
        return [w for layer in self.layers for w in layer.weights if w.alias_of is None]

    def check(self) -> None:
        """Duplicate paths or HDF5 slots are errors."""
        seen: dict[str, str] = {}
        slots: set[tuple[str, int]] = set()
        for weight in (w for layer in self.layers for w in layer.weights):
            if weight.alias_of is not None:
                slots.add((weight.h5_object, weight.h5_index))
                continue
            if weight.path in seen:
                raise InvalidArgument(f"weight path {weight.path!r} appears twice; give each layer a unique name")
            seen[weight.path] = weight.path
            slot = (weight.h5_object, weight.h5_index)
            if slot in slots:
                raise InvalidArgument(f"two weights map to {weight.h5_object}/vars/{weight.h5_index}")
            slots.add(slot)


def seed_of(weight: WeightPlan, master_seed: int | None, index: int = 0) -> tuple[int | None, str | None]:
    """The seed piece ``index`` of ``weight`` is drawn with, and where it comes from.

    ``"weight"`` (the plan's per-weight seed) beats ``"config"`` (the seed in the
    initializer's config, as Keras would use it) beats ``"derived"`` (from the master
    seed and the weight's path; ``None`` until the master seed is known).  Deterministic
    initializers have ``(None, None)``.
    """
    initializer = weight.pieces[index].initializer if weight.pieces else None
    if not isinstance(initializer, RandomInitializer):
        return None, None
    if weight.seed is not None:
        return weight.seed, "weight"
    if initializer._init_seed is not None:
        return initializer.seed, "config"
    if master_seed is None:
        return None, "derived"
    base = weight.seed_path or weight.path
    return derive_seed(master_seed, base if index == 0 else f"{base}#{index}"), "derived"


def resolve_initializer(piece: Piece, weight: WeightPlan, master_seed: int, index: int) -> Initializer:
    """The initializer to call for one piece, with its seed settled (see :func:`seed_of`)."""
    seed, source = seed_of(weight, master_seed, index)
    if source in (None, "config"):
        return piece.initializer
    config = piece.initializer.get_config()
    config["seed"] = seed
    return type(piece.initializer).from_config(config)


def prepare_weight(weight: WeightPlan, master_seed: int, backend: str = "numpy") -> Drawn:
    """The weight as a :class:`~initcli.provenance.Drawn`: its initializer calls with their
    seeds settled (each piece in ``weight.dtype``, concatenated along axis 0) and ``backend``'s
    streams, nothing drawn yet."""
    draws = [
        Draw(
            resolve_initializer(piece, weight, master_seed, index),
            piece.shape,
            0,
            seed_of(weight, master_seed, index)[1],
        )
        for index, piece in enumerate(weight.pieces)
    ]
    total = sum(element_count(d.shape) for d in draws)
    if total != element_count(weight.shape):
        raise InvalidArgument(f"{weight.path}: its pieces hold {total} values, the weight {weight.shape}")
    return Drawn(draws, weight.shape, weight.dtype, backend)


def describe(weight: WeightPlan, master_seed: int | None = None) -> dict[str, Any]:
    """A JSON-ready description of a planned weight (for ``--dry-run``)."""
    from ..initializers.variance_scaling import VarianceScaling

    initializer = weight.initializer
    record: dict[str, Any] = {
        "path": weight.path,
        "h5": f"{weight.h5_object}/vars/{weight.h5_index}".lstrip("/"),
        "shape": list(weight.shape),
        "dtype": weight.dtype.name,
        "initializer": serialize(initializer),
        "bytes": weight.nbytes,
    }
    if isinstance(initializer, VarianceScaling):
        shape = weight.pieces[0].shape
        record["fans"] = list(initializer.fans(shape))
        record.update(initializer.spread(shape))
    record["std"] = expected_std(initializer, weight.pieces[0].shape)
    record["seed"], record["seed_source"] = seed_of(weight, master_seed)
    if len(weight.pieces) > 1:
        record["pieces"] = [{"initializer": serialize(p.initializer), "shape": list(p.shape)} for p in weight.pieces]
    return record
