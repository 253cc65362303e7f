"""Values in a Keras model config that Keras itself refuses, refused before anything is planned.

initcli reads a model config to compute shapes; a value Keras would not
accept must not be coerced into one it would (``int(8.5)``), or the file
written would belong to no model Keras can build.  :func:`check_model_config`
runs on the config as read (Keras 1, 2 or 3 form, before it is rewritten
into Keras 3's) and refuses, in one line naming the model or layer, the key,
the value and what is accepted:

* a dimension of an input or build shape (``batch_shape``,
  ``batch_input_shape``, ``input_shape``, ``build_input_shape``,
  ``shapes_dict``, the ``query_shape``/``value_shape``/``key_shape`` of Keras
  2.13, the shape of a tensor in a call node, Keras 1's ``input_dim``) that
  is not an integer of at least 0 or null: Keras's ``standardize_shape``
  refuses floats (``8.5``, even ``8.0``), strings (``"8"``) and negative
  numbers.  ``true`` is refused too: Keras would read it as 1, which is a
  silent coercion, not a dimension anyone wrote;
* two layers of one model (Sequential or Functional, at any nesting) with
  one name: Keras's ``Sequential.add`` refuses it ("should have unique
  names") and a Functional model cannot tell its layers apart.

Graph problems of Functional models (cycles, call nodes or outputs naming a
layer that does not exist) are refused where the graph is walked
(:mod:`initcli.model.functional_order`).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgument
from .legacy_configs import MODEL_CLASSES

SHAPE_KEYS = frozenset(
    {
        "batch_shape",
        "batch_input_shape",
        "input_shape",
        "build_input_shape",
        "shapes_dict",
        "query_shape",
        "value_shape",
        "key_shape",
        "sequences_shape",
    }
)
"""Keys whose value is a shape (or a list or mapping of shapes), wherever they appear in a config."""


EMBEDDINGS = frozenset({"Embedding", "ReversibleEmbedding"})
"""Classes whose ``input_dim`` is a vocabulary size, not an input shape (their rules check it)."""

ACCEPTED = "accepted: an integer of at least 0, or null for an unknown size (as Keras requires)"


def check_model_config(config: Any) -> None:
    """Raise :class:`InvalidArgument` for the first value of ``config`` that Keras refuses (see the module)."""
    _walk(config, "the model")


def _where(entry: dict[str, Any], default: str) -> str:
    inner = entry.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    name = name if isinstance(name, str) else entry.get("name")
    if isinstance(name, str) and isinstance(entry.get("class_name"), str):
        return f"layer {name!r} ({entry['class_name']})"
    return default


def _walk(value: Any, where: str) -> None:
    if isinstance(value, list):
        for item in value:
            _walk(item, where)
        return
    if not isinstance(value, dict):
        return
    where = _where(value, where)
    if value.get("class_name") == "__keras_tensor__" and isinstance(value.get("config"), dict):
        tensor = value["config"]
        history = tensor.get("keras_history")
        source = history[0] if isinstance(history, list) and history and isinstance(history[0], str) else "?"
        _check_shapes(tensor.get("shape"), f"{where}: the shape of its input from {source!r}")
        return
    if value.get("class_name") in MODEL_CLASSES:
        _check_unique_names(value)
    inner = value.get("config")
    if isinstance(inner, dict) and inner.get("input_dim") is not None and value.get("class_name") not in EMBEDDINGS:
        _check_dimension(inner["input_dim"], inner["input_dim"], f"{where}: input_dim")  # Keras 1's input size
    for key, item in value.items():
        if key in SHAPE_KEYS:
            _check_shapes(item, f"{where}: {key}")
        else:
            _walk(item, where)


def _check_shapes(value: Any, where: str) -> None:
    """``value`` is a shape, a list or mapping of shapes, a ``TensorShape`` record, or null."""
    if value is None:
        return
    if isinstance(value, dict):
        if value.get("class_name") == "TensorShape":  # tf.keras SavedModel metadata: the list is its items
            _check_shapes(value.get("items"), where)
            return
        for item in value.values():
            _check_shapes(item, where)
        return
    if not isinstance(value, list):
        if isinstance(value, str | float | bool):
            raise InvalidArgument(f"{where} is {value!r}, not a shape; accepted: a list of dimensions, {ACCEPTED}")
        return
    if value and all(isinstance(item, list | dict) for item in value):  # one shape per input
        for item in value:
            _check_shapes(item, where)
        return
    for item in value:
        _check_dimension(item, value, where)


def _check_dimension(dim: Any, shape: Any, where: str) -> None:
    if dim is None:
        return
    if isinstance(dim, bool):
        raise InvalidArgument(
            f"{where} {_show(shape)}: dimension {_show(dim)} is a boolean, not a size (Keras would silently read "
            f"it as {int(dim)}); {ACCEPTED}"
        )
    if not isinstance(dim, int):
        kind = {float: "a float", str: "a string", list: "a list", dict: "an object"}.get(type(dim), "not a number")
        raise InvalidArgument(
            f"{where} {_show(shape)}: dimension {_show(dim)} is {kind} (Keras refuses it: cannot convert to a "
            f"shape); {ACCEPTED}"
        )
    if dim < 0:
        raise InvalidArgument(
            f"{where} {_show(shape)}: dimension {dim} is negative (Keras refuses negative dimensions); {ACCEPTED}"
        )


def _show(value: Any) -> str:
    """A config value as the JSON it was written in (``null``, ``true``, ``"8"``)."""
    import json

    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _check_unique_names(model: dict[str, Any]) -> None:
    inner = model.get("config")
    entries = inner if isinstance(inner, list) else inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(entries, list):
        return
    model_name = inner.get("name") if isinstance(inner, dict) else None
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        layer_config = entry.get("config")
        name = layer_config.get("name") if isinstance(layer_config, dict) else None
        name = name if isinstance(name, str) else entry.get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            kind = model.get("class_name")
            raise InvalidArgument(
                f"model {model_name!r} ({kind}): two layers are named {name!r} (Keras refuses it: the layers of a "
                "model must have unique names); accepted: a different name for each layer"
            )
        seen.add(name)
