"""Wrappers: TimeDistributed and SpectralNormalization, around any layer that has a rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import InvalidArgument
from ...initializers import TruncatedNormal
from ..catalog import class_hint
from .base import Built, BuiltWeight, Shape, _weight


def _inner(config: dict[str, Any]) -> tuple[str, dict[str, Any], Callable[..., Built]]:
    inner = config.get("layer") or {}
    class_name = inner.get("class_name")
    from . import RULES  # the registry imports this module

    rule = RULES.get(str(class_name))
    if rule is None:
        raise InvalidArgument(
            f"layer {config.get('name')!r}: wrapping {class_name!r} is not supported by initcli yet"
            f"{class_hint(str(class_name))}"
        )
    return str(class_name), inner.get("config") or {}, rule


def _nest(built: Built, prefix: str) -> Built:
    """Move a wrapped layer's weights under the wrapper's ``layer`` attribute."""
    for weight in built.weights:
        weight.sub = f"{prefix}/{weight.sub}" if weight.sub else prefix
    built.sub_names = {f"{prefix}/{k}": v for k, v in built.sub_names.items()}
    return built


def time_distributed(config: dict[str, Any], shape: Shape) -> Built:
    _, inner_config, rule = _inner(config)
    built = _nest(rule(inner_config, (shape[0], *shape[2:])), "layer")
    built.sub_names["layer"] = inner_config.get("name", "layer")
    built.output = (shape[0], shape[1], *built.output[1:])
    return built


def spectral_normalization(config: dict[str, Any], shape: Shape) -> Built:
    _, inner_config, rule = _inner(config)
    built = _nest(rule(inner_config, shape), "layer")
    built.sub_names["layer"] = inner_config.get("name", "layer")
    names = [w.name for w in built.weights]
    tracked = "kernel" if "kernel" in names else "embeddings" if "embeddings" in names else None
    if tracked is None:
        raise InvalidArgument(f"layer {config.get('name')!r}: SpectralNormalization needs a layer with a kernel")
    kernel = next(w for w in built.weights if w.name == tracked)
    vector = _weight("vector_u", (1, kernel.shape[-1]), TruncatedNormal(stddev=0.02), trainable=False)
    built.weights += [BuiltWeight(f"tracked_{tracked}", kernel.shape, [], alias_of=tracked), vector]
    return built
