"""Keras config dicts in and out: ``serialize``, ``deserialize`` and ``get``.

``serialize(init)`` gives the form Keras writes into model JSON::

    {"module": "keras.initializers", "class_name": "GlorotUniform",
     "config": {"seed": null, "input_axes": null, "output_axes": null},
     "registered_name": null}

``deserialize`` accepts that form, the Keras 2 form ``{"class_name", "config"}``
(``module`` and ``registered_name`` optional) and any alias as ``class_name``.
``get`` accepts what ``keras.initializers.get`` accepts: ``None``, an
initializer (initcli's, or Keras's own, converted), a config dict, a name,
an initializer class, an array (its values for exactly its shape) or a
callable ``fn(shape, dtype=None)``; anything else is refused.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..errors import InvalidArgument
from .base import Initializer
from .constant import FromArray, FromCallable
from .registry import KERAS_NAMES, lookup


def serialize(initializer: Initializer) -> dict[str, Any]:
    """The Keras-3 serialized form of ``initializer`` (JSON-ready)."""
    if not isinstance(initializer, Initializer):
        raise InvalidArgument(f"{initializer!r} is not an initializer; pass an initcli Initializer instance")
    return {
        "module": "keras.initializers",
        "class_name": getattr(type(initializer), "keras_name", type(initializer).__name__),
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
    if "dtype" in arguments and "module" not in config and cls.__name__ != "Constant":
        arguments = _without_legacy_dtype(name, arguments)
    try:
        return cls.from_config(arguments)
    except TypeError as error:
        raise InvalidArgument(f"bad arguments for {cls.__name__}: {error}") from None


def _without_legacy_dtype(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A Keras 2 form config (no ``module``) without its ``dtype``: tf.keras on TensorFlow 1
    (``keras_version`` ``2.x-tf``) wrote the initializer's default call dtype into its config;
    the layer calling it names its own dtype, so it is left out.  It must name a float dtype."""
    dtype = arguments["dtype"]
    if dtype not in ("float16", "bfloat16", "float32", "float64"):
        raise InvalidArgument(
            f"initializer {name!r}: dtype {dtype!r} is not a float dtype; tf.keras configs record "
            "float16, bfloat16, float32 or float64 there"
        )
    return {key: value for key, value in arguments.items() if key != "dtype"}


def _keras_initializer(identifier: Any) -> Initializer | None:
    """A Keras initializer instance of a built-in class as the initcli one with the same config;
    its seed object is kept (a ``keras.random.SeedGenerator`` stays shared).  ``None`` if
    ``identifier`` is not a Keras initializer of a class initcli knows."""
    keras_initializers = sys.modules.get("keras.src.initializers")
    if keras_initializers is None or not isinstance(identifier, keras_initializers.Initializer):
        return None
    cls = KERAS_NAMES.get(type(identifier).__name__)
    if cls is None or type(identifier).__module__.split(".")[0] != "keras" or cls is Initializer:
        return None
    config = dict(identifier.get_config())
    if "seed" in config:
        config["seed"] = getattr(identifier, "_init_seed", None)
    for name in ("value", "gain"):  # raw values: Keras's Identity config drops its gain
        if any(p.name == name for p in cls.params) and hasattr(identifier, name):
            value = getattr(identifier, name)
            config[name] = value if isinstance(value, (int, float, list, tuple)) else np.asarray(value)
    if cls.__name__ == "Constant":
        return cls(config["value"])
    converted = cls.from_config(config)
    drawn = getattr(identifier, "seed", None)
    if config.get("seed", 0) is None and isinstance(drawn, int) and not isinstance(drawn, bool):
        converted.seed = drawn  # the seed Keras drew for an unseeded initializer: the same values
    return converted


def _is_array(identifier: Any) -> bool:
    """A NumPy array or scalar, or a backend tensor (anything with ``__array__`` and a ``shape``)."""
    if isinstance(identifier, (np.ndarray, np.generic)):
        return True
    return hasattr(identifier, "__array__") and hasattr(identifier, "shape") and hasattr(identifier, "dtype")


def get(identifier: Any) -> Initializer | None:
    """Retrieve an initializer, accepting what ``keras.initializers.get`` accepts.

    * ``None`` gives ``None``; an initcli initializer is returned as it is;
    * a Keras initializer of a built-in class gives the initcli one with its config
      (and its seed generator, still shared);
    * a config dict (Keras 3 or Keras 2 form) is :func:`deserialize`-d;
    * a name (Keras's exact names and aliases, plus forgiving spellings, see
      :func:`initcli.initializers.lookup`) gives the class with default arguments;
    * an initializer class is instantiated;
    * an array (NumPy, or a backend tensor) gives :class:`FromArray`: its values, cast to the
      dtype asked for, for exactly its shape;
    * any other callable ``fn(shape, dtype=None)`` gives :class:`FromCallable`.

    Anything else raises :class:`InvalidArgument` (a ``ValueError``, as Keras raises).
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
    converted = _keras_initializer(identifier)
    if converted is not None:
        return converted
    if _is_array(identifier):
        try:
            array = np.asarray(identifier)
        except (TypeError, ValueError) as error:
            raise InvalidArgument(f"could not read initializer array {identifier!r}: {error}") from None
        return FromArray(array)
    if isinstance(identifier, type):  # another class: instantiated, as Keras does
        try:
            instance = identifier()
        except Exception as error:
            raise InvalidArgument(
                f"could not instantiate initializer class {identifier.__name__}: {type(error).__name__}: {error}"
            ) from None
        converted = _keras_initializer(instance)
        if converted is not None:
            return converted
        if callable(instance):
            return FromCallable(instance)
    elif callable(identifier):
        return FromCallable(identifier)
    raise InvalidArgument(
        f"could not interpret initializer identifier {identifier!r}; use a name, a config dict, "
        "an Initializer, an array or a function fn(shape, dtype=None)"
    )
