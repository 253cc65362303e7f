"""Core layers: Dense, EinsumDense, Embedding, PReLU, and the weightless reshaping and merging layers."""

from __future__ import annotations

from math import prod
from typing import Any

from .. import einsum
from .base import Built, Shape, _known, _unsupported_option, _weight, initializer_of, with_einsum_axes


def dense(config: dict[str, Any], shape: Shape) -> Built:
    _unsupported_option(config, "lora_rank", "LoRA")
    units = int(config["units"])
    fan_in = _known(shape[-1], "last dimension", config)
    weights = [_weight("kernel", (fan_in, units), initializer_of(config, "kernel_initializer", "glorot_uniform"))]
    if config.get("use_bias", True):
        weights.append(_weight("bias", (units,), initializer_of(config, "bias_initializer", "zeros")))
    return Built(weights, (*shape[:-1], units))


def einsum_dense(config: dict[str, Any], shape: Shape) -> Built:
    shapes = einsum.analyze(config["equation"], config.get("bias_axes"), shape, config.get("output_shape"))
    kernel_init = with_einsum_axes(
        initializer_of(config, "kernel_initializer", "glorot_uniform"), shapes.input_axes, shapes.output_axes
    )
    weights = [_weight("kernel", shapes.kernel, kernel_init)]
    if shapes.bias is not None:
        weights.append(_weight("bias", shapes.bias, initializer_of(config, "bias_initializer", "zeros")))
    return Built(weights, shapes.output)


def embedding(config: dict[str, Any], shape: Shape) -> Built:
    _unsupported_option(config, "lora_rank", "LoRA")
    size = (int(config["input_dim"]), int(config["output_dim"]))
    initializer = initializer_of(config, "embeddings_initializer", "uniform")
    weights = [_weight("embeddings", size, initializer)]
    if config.get("tie_weights") is False:  # ReversibleEmbedding: the same instance, so the same seed
        weights.append(_weight("reverse_embeddings", size[::-1], initializer, seed_name="embeddings"))
    return Built(weights, (*shape, size[1]))


def prelu(config: dict[str, Any], shape: Shape) -> Built:
    size = [_known(d, "dimension", config) for d in shape[1:]]
    for axis in config.get("shared_axes") or []:
        size[axis - 1] = 1
    return Built([_weight("alpha", tuple(size), initializer_of(config, "alpha_initializer", "zeros"))], shape)


# --- weightless layers: output shapes --------------------------------------------------------------


def same_shape(config: dict[str, Any], shape: Shape) -> Built:
    return Built([], shape)


def flatten(config: dict[str, Any], shape: Shape) -> Built:
    rest = shape[1:]
    if config.get("data_format") == "channels_first" and len(rest) > 1:
        rest = (*rest[1:], rest[0])
    return Built([], (shape[0], None if any(d is None for d in rest) else prod(rest)))  # type: ignore[arg-type]


def reshape(config: dict[str, Any], shape: Shape) -> Built:
    target = list(config["target_shape"])
    if -1 in target:
        known = prod(d for d in target if d != -1)
        total = None if any(d is None for d in shape[1:]) else prod(shape[1:])  # type: ignore[arg-type]
        target[target.index(-1)] = None if total is None else total // known
    return Built([], (shape[0], *target))


def permute(config: dict[str, Any], shape: Shape) -> Built:
    return Built([], (shape[0], *(shape[d] for d in config["dims"])))


def repeat_vector(config: dict[str, Any], shape: Shape) -> Built:
    return Built([], (shape[0], int(config["n"]), shape[1]))


def merge(config: dict[str, Any], *shapes: Shape) -> Built:
    return Built([], shapes[0])


def concatenate(config: dict[str, Any], *shapes: Shape) -> Built:
    axis = config.get("axis", -1)
    out = list(shapes[0])
    sizes = [s[axis] for s in shapes]
    out[axis] = None if any(s is None for s in sizes) else sum(sizes)  # type: ignore[arg-type]
    return Built([], tuple(out))
