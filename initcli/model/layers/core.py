"""Core layers: Dense, EinsumDense, Embedding, PReLU, and the weightless reshaping and merging layers."""

from __future__ import annotations

from math import prod
from typing import Any

from ...errors import InvalidArgument
from .. import einsum
from .base import (
    Built,
    Shape,
    UnknownShape,
    _known,
    _unsupported_option,
    _weight,
    initializer_of,
    positive_int,
    with_einsum_axes,
)


def dense(config: dict[str, Any], shape: Shape) -> Built:
    _unsupported_option(config, "lora_rank", "LoRA")
    units = positive_int(config, "units")
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
    size = (positive_int(config, "input_dim"), positive_int(config, "output_dim"))
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
    return Built([], (shape[0], positive_int(config, "n"), shape[1]))


def merge(config: dict[str, Any], *shapes: Shape) -> Built:
    return Built([], shapes[0])


def concatenate(config: dict[str, Any], *shapes: Shape) -> Built:
    axis = config.get("axis", -1)
    out = list(shapes[0])
    sizes = [s[axis] for s in shapes]
    out[axis] = None if any(s is None for s in sizes) else sum(sizes)  # type: ignore[arg-type]
    return Built([], tuple(out))


def dot(config: dict[str, Any], *shapes: Shape) -> Built:
    """``Dot.compute_output_shape``: both inputs lose their contracted axis, the second its batch axis."""
    if len(shapes) != 2:
        raise InvalidArgument(f"layer {config.get('name')!r}: Dot takes 2 inputs, got {len(shapes)}")
    first, second = list(shapes[0]), list(shapes[1])
    axes = config.get("axes", -1)
    if isinstance(axes, int):
        pair = [axes % len(first), axes % len(second)] if axes < 0 else [axes, axes]
    else:
        pair = [int(a) for a in axes]
    first.pop(pair[0])
    second.pop(pair[1])
    second.pop(0)
    out = first + second
    if len(out) == 1:
        out.append(1)
    return Built([], tuple(out))


def _lambda_shape(value: Any, batch: int | None) -> Any:
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple)) for v in value):
        return [_lambda_shape(v, batch) for v in value]
    if isinstance(value, (list, tuple)) and all(v is None or (isinstance(v, int) and v > 0) for v in value):
        return (batch, *value)
    return None


def lambda_layer(config: dict[str, Any], *shapes: Shape) -> Built:
    """``Lambda``: no weights, never executed; its output shape is its ``output_shape`` (without the
    batch axis, as Keras stores it). Without one, the shape is unknown and a layer that needs it
    gets an error naming this one."""
    name = config.get("name")
    declared = config.get("output_shape")
    batch = shapes[0][0] if shapes and not isinstance(shapes[0], UnknownShape) and len(shapes[0]) else None
    output = _lambda_shape(declared, batch) if declared is not None else None
    if output is None:
        what = "has no output_shape" if declared is None else f"has an output_shape initcli cannot read ({declared!r})"
        return Built(
            [],
            UnknownShape(
                f"layer {name!r} (Lambda) {what}, and initcli never runs its function; give the Lambda "
                "output_shape=(...) (without the batch axis), or a build_config to the layers after it"
            ),
        )
    return Built([], output)
