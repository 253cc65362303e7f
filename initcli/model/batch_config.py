"""initcli's batch config: layers, their weights and initializers, in JSON, TOML or YAML.

A config lists a model's layers in order::

    name: mnist_mlp            # optional; the model's name in the files
    seed: 1                    # optional master seed (--seed overrides it)
    dtype: float32             # optional default dtype
    layers:
      - name: hidden           # the layer's name (Keras's layer.name)
        class: Dense           # its Keras class: fixes the weight order
        weights:
          kernel: {shape: [784, 128], initializer: glorot_uniform}
          bias: {shape: [128], initializer: zeros}
      - {name: flatten, class: Flatten}        # weightless layers may be listed

``weights`` is a mapping from weight name to spec, or a list of specs with a
``name`` each.  A spec has ``shape``, ``initializer`` (a name such as
``he_normal`` or a Keras config ``{"class_name": ..., "config": {...}}``) and
optionally ``seed`` and ``dtype``.  For a class initcli knows (see
:mod:`initcli.model.catalog`) the weights are put in Keras's order and
unknown weight names are errors; for any other class they are kept in the
order given, unless its name is a near miss of a known class (``dense``,
``Conv2d``, ``BatchNormalisation``): that is an error suggesting the class.

A block of layers repeated ``N`` times (a transformer's decoder blocks) is written once::

      - repeat: 32                 # 32 copies; ``from: K`` numbers them from K instead of 0
        layers:
          - {name: "block_{i}_norm", class: RMSNormalization, weights: {scale: {shape: [4096], initializer: ones}}}
          - ...

``{i}`` in a name is the copy's number (nested blocks: ``{i}`` the inner, ``{j}`` the outer).
The unrolled config is exactly the one written out by hand: the same paths, the same seeds.

Each weight's path is ``<layer name>/<weight name>``; its seed is the
``seed`` of its spec, else the seed in its initializer config, else derived
from the master seed and the path (:func:`initcli.seeds.derive_seed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..dtypes import resolve_dtype
from ..errors import InvalidArgument
from ..initializers import get
from ..initializers.registry import to_snake_case
from ..seeds import check_seed
from ..shapes import normalize_shape
from .catalog import near_class, slots_for
from .config_files import read_document
from .plan import LayerPlan, ModelPlan, Piece, WeightPlan, h5_group


def load_batch_config(path: str | Path) -> tuple[ModelPlan, int | None]:
    """Read a batch config file; return its plan and its master seed (if it gives one)."""
    return plan_from_batch_config(read_document(path), str(path))


def plan_from_batch_config(document: Any, where: str = "config") -> tuple[ModelPlan, int | None]:
    """Build a :class:`ModelPlan` from a parsed batch config."""
    if not isinstance(document, dict):
        raise InvalidArgument(f"{where}: the top level must be a mapping with a 'layers' list")
    unknown = sorted(set(document) - {"name", "seed", "dtype", "layers"})
    if unknown:
        raise InvalidArgument(f"{where}: unknown top-level key {unknown[0]!r}; use name, seed, dtype, layers")
    name = document.get("name", "model")
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"{where}: name {name!r} must be a non-empty string")
    seed = document.get("seed")
    if seed is not None:
        seed = _wrap(f"{where}: seed", lambda: check_seed(seed))
    default_dtype = _wrap(f"{where}: dtype", lambda: resolve_dtype(document.get("dtype")))
    layers = document.get("layers")
    if not isinstance(layers, list) or not layers:
        raise InvalidArgument(f"{where}: 'layers' must be a non-empty list of layers")
    counters: dict[str, int] = {}
    names: set[str] = set()
    plans = [
        _layer(entry, at, default_dtype, counters, names) for entry, at in _expanded(layers, f"{where}: layers", [0])
    ]
    plan = ModelPlan(name=name, layers=plans)
    plan.check()
    return plan, seed


REPEAT_LIMIT = 100_000
"""Layers a config may expand to (``repeat`` blocks included): far beyond any real model, and a
bound on what a crafted ``repeat: 10**12`` can make initcli build."""


def _expanded(layers: list[Any], at: str, count: list[int]) -> Iterator[tuple[Any, str]]:
    """The layers of a config with every ``repeat`` block unrolled, each with where it came from.

    ``{repeat: N, layers: [...]}`` stands for its layers ``N`` times over, ``{i}`` in a layer's
    name replaced by the copy's number (``0 .. N-1``; ``from: K`` starts at ``K``).  Blocks nest:
    an inner block's ``{i}`` is its own number, and ``{j}``, ``{k}`` ... name the outer ones'
    (innermost first is ``i``).  ``count`` counts the layers made against :data:`REPEAT_LIMIT`."""
    yield from _unrolled(layers, at, count, ())


def _unrolled(layers: list[Any], at: str, count: list[int], outer: tuple[int, ...]) -> Iterator[tuple[Any, str]]:
    for index, entry in enumerate(layers):
        where = f"{at}[{index}]"
        if isinstance(entry, dict) and "repeat" in entry:
            unknown = sorted(set(entry) - {"repeat", "from", "layers"})
            if unknown:
                raise InvalidArgument(f"{where}: unknown key {unknown[0]!r}; a repeat block has repeat, from, layers")
            times, start = entry["repeat"], entry.get("from", 0)
            for value, key in ((times, "repeat"), (start, "from")):
                if not isinstance(value, int) or isinstance(value, bool) or value < (1 if key == "repeat" else 0):
                    wanted = "a positive" if key == "repeat" else "a non-negative"
                    raise InvalidArgument(f"{where}: {key} {value!r} must be {wanted} integer")
            inner = entry.get("layers")
            if not isinstance(inner, list) or not inner:
                raise InvalidArgument(f"{where}: a repeat block needs a non-empty 'layers' list")
            if times * len(inner) + count[0] > REPEAT_LIMIT:
                raise InvalidArgument(
                    f"{where}: repeat {times} of {len(inner)} layers makes more than {REPEAT_LIMIT} layers"
                )
            for number in range(start, start + times):
                yield from _unrolled(inner, f"{where}.layers", count, (number, *outer))
            continue
        count[0] += 1
        if count[0] > REPEAT_LIMIT:
            raise InvalidArgument(f"{where}: the config makes more than {REPEAT_LIMIT} layers")
        if outer and isinstance(entry, dict) and isinstance(entry.get("name"), str):
            entry = {**entry, "name": _numbered(entry["name"], outer, where)}
            where = f"{where} (copy {outer[0]})"
        yield entry, where


_INDEX_NAMES = "ijklmn"


def _numbered(name: str, outer: tuple[int, ...], where: str) -> str:
    """``name`` with ``{i}`` (the innermost block's number), ``{j}`` (the next) ... filled in."""
    if "{i}" not in name:
        raise InvalidArgument(f"{where}: name {name!r} in a repeat block needs {{i}}, or every copy has the same name")
    for letter, number in zip(_INDEX_NAMES, outer, strict=False):
        name = name.replace(f"{{{letter}}}", str(number))
    return name


def _wrap(at: str, action: Any) -> Any:
    try:
        return action()
    except InvalidArgument as error:
        raise InvalidArgument(f"{at}: {error}") from None


def _layer(entry: Any, at: str, dtype: np.dtype, counters: dict[str, int], names: set[str]) -> LayerPlan:
    if not isinstance(entry, dict):
        raise InvalidArgument(f"{at}: a layer must be a mapping with 'name' and 'class'")
    unknown = sorted(set(entry) - {"name", "class", "weights"})
    if unknown:
        raise InvalidArgument(f"{at}: unknown key {unknown[0]!r}; a layer has name, class, weights")
    class_name = entry.get("class")
    if not isinstance(class_name, str) or not class_name:
        raise InvalidArgument(f"{at}: 'class' is missing; give the Keras layer class, e.g. Dense")
    near = near_class(class_name)
    if near is not None:
        raise InvalidArgument(
            f"{at}: class {class_name!r} is not a Keras layer class; did you mean {near!r}? (a class initcli does "
            "not know gets neither Keras's weight order nor its group name)"
        )
    layer_name = entry.get("name") or to_snake_case(class_name)
    if not isinstance(layer_name, str) or "/" in layer_name:
        raise InvalidArgument(f"{at}: name {layer_name!r} must be a string without '/'")
    if layer_name in names:
        raise InvalidArgument(f"{at}: layer name {layer_name!r} is used twice; layer names must be unique")
    names.add(layer_name)
    h5_object = h5_group(counters, class_name)
    layer = LayerPlan(name=layer_name, class_name=class_name, h5_object=h5_object, h5_names={h5_object: layer_name})
    specs = _weight_specs(entry.get("weights"), at)
    slots = slots_for(class_name)
    if slots is not None:
        order = {slot.name: position for position, slot in enumerate(slots)}
        for weight_name in specs:
            if weight_name not in order:
                raise InvalidArgument(f"{at}: {class_name} has no weight {weight_name!r}; it has {', '.join(order)}")
        ordered = sorted(specs, key=order.__getitem__)
        by_name = {slot.name: slot for slot in slots}
    else:
        ordered = list(specs)
        by_name = {}
    per_object: dict[str, int] = {}
    for weight_name in ordered:
        slot = by_name.get(weight_name)
        sub = slot.sub_object if slot else ""
        obj = f"{h5_object}/{sub}" if sub else h5_object
        if sub:
            layer.h5_names.setdefault(obj, sub.replace("/", "_"))
        index = per_object.get(obj, 0)
        per_object[obj] = index + 1
        layer.weights.append(
            _weight(
                specs[weight_name],
                f"{at}.weights.{weight_name}",
                layer_name,
                weight_name,
                obj,
                index,
                dtype,
                trainable=slot.trainable if slot else True,
            )
        )
    return layer


def _weight_specs(weights: Any, at: str) -> dict[str, dict[str, Any]]:
    if weights is None:
        return {}
    if isinstance(weights, dict):
        items = list(weights.items())
    elif isinstance(weights, list):
        items = []
        for position, spec in enumerate(weights):
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise InvalidArgument(f"{at}.weights[{position}]: each weight needs a 'name'")
            items.append((spec["name"], {k: v for k, v in spec.items() if k != "name"}))
    else:
        raise InvalidArgument(f"{at}: 'weights' must be a mapping of name to spec, or a list of specs")
    specs: dict[str, dict[str, Any]] = {}
    for weight_name, spec in items:
        if weight_name in specs:
            raise InvalidArgument(f"{at}: weight {weight_name!r} is listed twice")
        if not isinstance(spec, dict):
            raise InvalidArgument(f"{at}.weights.{weight_name}: a weight must be a mapping with shape and initializer")
        specs[weight_name] = spec
    return specs


def _weight(
    spec: dict[str, Any],
    at: str,
    layer_name: str,
    weight_name: str,
    h5_object: str,
    index: int,
    default_dtype: np.dtype,
    *,
    trainable: bool,
) -> WeightPlan:
    unknown = sorted(set(spec) - {"shape", "initializer", "seed", "dtype"})
    if unknown:
        raise InvalidArgument(f"{at}: unknown key {unknown[0]!r}; a weight has shape, initializer, seed, dtype")
    if "shape" not in spec:
        raise InvalidArgument(f"{at}: 'shape' is missing")
    if "initializer" not in spec:
        raise InvalidArgument(f"{at}: 'initializer' is missing; e.g. glorot_uniform")
    shape = _wrap(at, lambda: normalize_shape(spec["shape"]))
    initializer = _wrap(f"{at}.initializer", lambda: get(spec["initializer"]))
    seed = spec.get("seed")
    if seed is not None:
        seed = _wrap(f"{at}.seed", lambda: check_seed(seed))
    dtype = _wrap(f"{at}.dtype", lambda: resolve_dtype(spec["dtype"])) if "dtype" in spec else default_dtype
    _wrap(at, lambda: initializer.check_shape(shape))
    return WeightPlan(
        name=weight_name,
        path=f"{layer_name}/{weight_name}",
        shape=shape,
        dtype=dtype,
        pieces=[Piece(initializer, shape)],
        h5_object=h5_object,
        h5_index=index,
        trainable=trainable,
        seed=seed,
    )
