"""Normalization layers: BatchNormalization, LayerNormalization, RMSNormalization, GroupNormalization, Normalization."""

from __future__ import annotations

from typing import Any

from ...initializers import Ones, Zeros
from .base import Built, Shape, _known, _unsupported_option, _weight, initializer_of


def _axes_shape(config: dict[str, Any], shape: Shape) -> tuple[int, ...]:
    axis = config.get("axis", -1)
    axes = axis if isinstance(axis, list) else [axis]
    return tuple(_known(shape[a], f"axis {a}", config) for a in axes)


def batch_normalization(config: dict[str, Any], shape: Shape) -> Built:
    _unsupported_option(config, "renorm", "batch renormalization")
    size = _axes_shape(config, shape)
    weights = []
    if config.get("scale", True):
        weights.append(_weight("gamma", size, initializer_of(config, "gamma_initializer", "ones")))
    if config.get("center", True):
        weights.append(_weight("beta", size, initializer_of(config, "beta_initializer", "zeros")))
    weights.append(
        _weight("moving_mean", size, initializer_of(config, "moving_mean_initializer", "zeros"), trainable=False)
    )
    weights.append(
        _weight("moving_variance", size, initializer_of(config, "moving_variance_initializer", "ones"), trainable=False)
    )
    return Built(weights, shape)


def layer_normalization(config: dict[str, Any], shape: Shape) -> Built:
    size = _axes_shape(config, shape)
    rms = bool(config.get("rms_scaling", False))
    weights = []
    if config.get("scale", True) or rms:
        weights.append(_weight("gamma", size, initializer_of(config, "gamma_initializer", "ones")))
    if config.get("center", True) and not rms:
        weights.append(_weight("beta", size, initializer_of(config, "beta_initializer", "zeros")))
    return Built(weights, shape)


def rms_normalization(config: dict[str, Any], shape: Shape) -> Built:
    return Built([_weight("scale", _axes_shape(config, shape), Ones())], shape)


def normalization(config: dict[str, Any], shape: Shape) -> Built:
    """``Normalization.build`` without a given mean and variance: ``mean`` and ``variance`` in the
    layer's variable dtype (float16 under a float16 policy), ``count`` an int32 scalar."""
    if config.get("mean") is not None and config.get("variance") is not None:
        return Built([], shape)
    axis = config.get("axis", -1)
    if axis is None:
        size: tuple[int, ...] = ()
    else:
        axes = sorted(a % len(shape) for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
        size = tuple(_known(shape[a], f"axis {a}", config) for a in axes)
    zeros, ones = Zeros(), Ones()
    weights = [
        _weight("mean", size, zeros, trainable=False),
        _weight("variance", size, ones, trainable=False),
        _weight("count", (), zeros, trainable=False, dtype="int32"),
    ]
    return Built(weights, shape)


def group_normalization(config: dict[str, Any], shape: Shape) -> Built:
    size = (_known(shape[config.get("axis", -1)], "channel dimension", config),)
    weights = []
    if config.get("scale", True):
        weights.append(_weight("gamma", size, initializer_of(config, "gamma_initializer", "ones")))
    if config.get("center", True):
        weights.append(_weight("beta", size, initializer_of(config, "beta_initializer", "zeros")))
    return Built(weights, shape)
