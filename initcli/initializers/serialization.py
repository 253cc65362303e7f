"""Keras config dicts in and out: ``serialize``, ``deserialize`` and ``get``.

``serialize(init)`` gives the form Keras writes into model JSON::

    {"module": "keras.initializers", "class_name": "GlorotUniform",
     "config": {"seed": null, "input_axes": null, "output_axes": null},
     "registered_name": null}

``deserialize`` accepts that form, the Keras 2 form ``{"class_name", "config"}``
(``module`` and ``registered_name`` optional) and any alias as ``class_name``.
``get`` accepts a name, a config dict, an instance or an initializer class.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgument
from .base import Initializer
from .registry import lookup


def serialize(initializer: Initializer) -> dict[str, Any]:
    """The Keras-3 serialized form of ``initializer`` (JSON-ready)."""
    if not isinstance(initializer, Initializer):
        raise InvalidArgument(f"{initializer!r} is not an initializer; pass an initcli Initializer instance")
    return {
        "module": "keras.initializers",
        "class_name": type(initializer).__name__,
        "config": initializer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any], custom_objects: dict[str, type[Initializer]] | None = None) -> Initializer:
    """Build an initializer from a serialized dict (Keras 3 or Keras 2 form)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise InvalidArgument(
            f"initializer config {config!r} has no 'class_name'; "
            'use {"class_name": "GlorotUniform", "config": {...}}'
        )
    name = config.get("registered_name") or config["class_name"]
    if not isinstance(name, str):
        raise InvalidArgument(f"initializer class_name {name!r} is not a string; use a name such as 'GlorotUniform'")
    cls = lookup(name, custom_objects)
    arguments = config.get("config") or {}
    if not isinstance(arguments, dict):
        raise InvalidArgument(f"initializer config for {name!r} is {arguments!r}; use a dict of arguments")
    try:
        return cls.from_config(arguments)
    except TypeError as error:
        raise InvalidArgument(f"bad arguments for {cls.__name__}: {error}") from None


def get(identifier: Any) -> Initializer | None:
    """Retrieve an initializer: by name, by config dict, as an instance, or from a class.

    ``None`` gives ``None`` (as Keras).  Names resolve through
    :func:`initcli.initializers.lookup` (Keras's exact names plus forgiving
    spellings), with default arguments.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    raise InvalidArgument(
        f"could not interpret initializer identifier {identifier!r}; use a name, a config dict or an Initializer"
    )
