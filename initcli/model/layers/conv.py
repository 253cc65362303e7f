"""Convolution, pooling, padding, cropping and upsampling layers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import Built, Shape, _channel_axis, _known, _tuple, _weight, initializer_of, positive_int


def _conv_output(config: dict[str, Any], shape: Shape, rank: int, filters: int, transpose: bool = False) -> Shape:
    channels_first = config.get("data_format") == "channels_first"
    spatial = list(shape[2:] if channels_first else shape[1:-1])
    kernel = _tuple(config["kernel_size"], rank)
    strides = _tuple(config.get("strides", 1), rank)
    dilation = _tuple(config.get("dilation_rate", 1), rank)
    padding = config.get("padding", "valid")
    out: list[int | None] = []
    for size, k, s, d in zip(spatial, kernel, strides, dilation, strict=True):
        if size is None:
            out.append(None)
            continue
        effective = (k - 1) * d + 1
        if transpose:
            out.append(size * s + max(effective - s, 0) if padding == "valid" else size * s)
        elif padding == "same" or padding == "causal":
            out.append(-(-size // s))
        else:
            out.append((size - effective) // s + 1)
    return (shape[0], filters, *out) if channels_first else (shape[0], *out, filters)


def conv(rank: int) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        filters = positive_int(config, "filters")
        channels = _known(shape[_channel_axis(config, len(shape))], "channel dimension", config)
        groups = positive_int(config, "groups", 1)
        kernel = (*_tuple(config["kernel_size"], rank), channels // groups, filters)
        weights = [_weight("kernel", kernel, initializer_of(config, "kernel_initializer", "glorot_uniform"))]
        if config.get("use_bias", True):
            weights.append(_weight("bias", (filters,), initializer_of(config, "bias_initializer", "zeros")))
        return Built(weights, _conv_output(config, shape, rank, filters))

    return rule


def conv_transpose(rank: int) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        filters = positive_int(config, "filters")
        channels = _known(shape[_channel_axis(config, len(shape))], "channel dimension", config)
        kernel = (*_tuple(config["kernel_size"], rank), filters, channels)
        weights = [_weight("kernel", kernel, initializer_of(config, "kernel_initializer", "glorot_uniform"))]
        if config.get("use_bias", True):
            weights.append(_weight("bias", (filters,), initializer_of(config, "bias_initializer", "zeros")))
        return Built(weights, _conv_output(config, shape, rank, filters, transpose=True))

    return rule


def depthwise_conv(rank: int) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        multiplier = positive_int(config, "depth_multiplier", 1)
        channels = _known(shape[_channel_axis(config, len(shape))], "channel dimension", config)
        kernel = (*_tuple(config["kernel_size"], rank), channels, multiplier)
        weights = [_weight("kernel", kernel, initializer_of(config, "depthwise_initializer", "glorot_uniform"))]
        if config.get("use_bias", True):
            weights.append(
                _weight("bias", (channels * multiplier,), initializer_of(config, "bias_initializer", "zeros"))
            )
        return Built(weights, _conv_output(config, shape, rank, channels * multiplier))

    return rule


def separable_conv(rank: int) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        multiplier = positive_int(config, "depth_multiplier", 1)
        filters = positive_int(config, "filters")
        channels = _known(shape[_channel_axis(config, len(shape))], "channel dimension", config)
        depthwise = (*_tuple(config["kernel_size"], rank), channels, multiplier)
        pointwise = (*(1,) * rank, channels * multiplier, filters)
        weights = [
            _weight("depthwise_kernel", depthwise, initializer_of(config, "depthwise_initializer", "glorot_uniform")),
            _weight("pointwise_kernel", pointwise, initializer_of(config, "pointwise_initializer", "glorot_uniform")),
        ]
        if config.get("use_bias", True):
            weights.append(_weight("bias", (filters,), initializer_of(config, "bias_initializer", "zeros")))
        return Built(weights, _conv_output(config, shape, rank, filters))

    return rule


def pooling(rank: int, global_: bool = False) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        channels_first = config.get("data_format") == "channels_first"
        channels = shape[1] if channels_first else shape[-1]
        if global_:
            if config.get("keepdims", False):
                ones = (1,) * rank
                return Built([], (shape[0], channels, *ones) if channels_first else (shape[0], *ones, channels))
            return Built([], (shape[0], channels))
        pool = _tuple(config.get("pool_size", 2), rank)
        strides = _tuple(config.get("strides") or pool, rank)
        spatial = shape[2:] if channels_first else shape[1:-1]
        out = []
        for size, p, s in zip(spatial, pool, strides, strict=True):
            if size is None:
                out.append(None)
            elif config.get("padding", "valid") == "same":
                out.append(-(-size // s))
            else:
                out.append((size - p) // s + 1)
        return Built([], (shape[0], channels, *out) if channels_first else (shape[0], *out, channels))

    return rule


def padding_or_cropping(rank: int, sign: int) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        amount = config.get("padding" if sign > 0 else "cropping", 1)
        if isinstance(amount, int):
            pairs = [(amount, amount)] * rank
        elif rank == 1 and all(isinstance(a, int) for a in amount):
            pairs = [tuple(amount)]
        else:
            pairs = [(a, a) if isinstance(a, int) else tuple(a) for a in amount]
        channels_first = config.get("data_format") == "channels_first"
        spatial = list(shape[2:] if channels_first else shape[1:-1])
        out = [None if s is None else s + sign * (a + b) for s, (a, b) in zip(spatial, pairs, strict=True)]
        if channels_first:
            return Built([], (shape[0], shape[1], *out))
        return Built([], (shape[0], *out, shape[-1]))

    return rule


def upsampling(rank: int) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        factors = _tuple(config.get("size", 2), rank)
        channels_first = config.get("data_format") == "channels_first"
        spatial = shape[2:] if channels_first else shape[1:-1]
        out = [None if s is None else s * f for s, f in zip(spatial, factors, strict=True)]
        return Built([], (shape[0], shape[1], *out) if channels_first else (shape[0], *out, shape[-1]))

    return rule


def adaptive_pooling(rank: int) -> Callable[[dict[str, Any], Shape], Built]:
    """``AdaptiveAveragePooling*D`` / ``AdaptiveMaxPooling*D``: the spatial axes become ``output_size``."""

    def rule(config: dict[str, Any], shape: Shape) -> Built:
        size = _tuple(config["output_size"], rank)
        if config.get("data_format") == "channels_first":
            return Built([], (shape[0], shape[1], *size))
        return Built([], (shape[0], *size, shape[-1]))

    return rule
