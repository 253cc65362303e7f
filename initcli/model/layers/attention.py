"""Attention layers: MultiHeadAttention, GroupQueryAttention, Attention, AdditiveAttention."""

from __future__ import annotations

from typing import Any

from ...initializers import GlorotUniform, Ones
from .base import Built, BuiltWeight, Shape, _known, _weight, initializer_of, positive_int, with_einsum_axes


def multi_head_attention(config: dict[str, Any], query: Shape, value: Shape, key: Shape | None = None) -> Built:
    key = key or value
    heads = positive_int(config, "num_heads")
    key_dim = positive_int(config, "key_dim")
    value_dim = positive_int(config, "value_dim", key_dim)
    out_dim = config.get("output_shape")
    q_dim = _known(query[-1], "query feature dimension", config)
    if out_dim is None:
        out_shape: tuple[int, ...] = (q_dim,)
    else:
        out_shape = (int(out_dim),) if isinstance(out_dim, int) else tuple(int(d) for d in out_dim)
    projections = [("query", "query_dense", query, key_dim), ("key", "key_dense", key, key_dim)]
    if config.get("use_gate", False):
        projections.append(("gate", "_gate_dense", query, value_dim))
    projections.append(("value", "value_dense", value, value_dim))
    return _attention_projections(config, projections, heads, out_shape, query, "output_dense")


def _attention_projections(
    config: dict[str, Any],
    projections: list[tuple[str, str, Shape, int]],
    heads_out: int,
    out_shape: tuple[int, ...],
    query: Shape,
    output_sub: str,
    value_dim: int | None = None,
) -> Built:
    """The EinsumDense sublayers of an attention layer: one (features, heads, dim) kernel per
    projection with einsum fans in=[0] out=[1, 2], then the (heads, dim, *out) output kernel with
    in=[0, 1]; each sublayer gets a clone of the layer's initializers (seeded ones keep the seed)."""
    use_bias = config.get("use_bias", True)
    kernel_init = initializer_of(config, "kernel_initializer", "glorot_uniform")
    bias_init = initializer_of(config, "bias_initializer", "zeros")
    weights: list[BuiltWeight] = []
    for name, sub, shape, dim in projections:
        heads = heads_out if name in ("query", "gate") else positive_int(config, "num_key_value_heads", heads_out)
        features = _known(shape[-1], f"{name} feature dimension", config)
        init = with_einsum_axes(kernel_init, [0], [1, 2])
        weights.append(_weight(f"{name}/kernel", (features, heads, dim), init, sub=sub))
        if use_bias:
            weights.append(_weight(f"{name}/bias", (heads, dim), bias_init, sub=sub))
    dim = value_dim if value_dim is not None else projections[-1][3]
    n_out = len(out_shape)
    init = with_einsum_axes(kernel_init, [0, 1], list(range(2, 2 + n_out)))
    weights.append(_weight("attention_output/kernel", (heads_out, dim, *out_shape), init, sub=output_sub))
    if use_bias:
        weights.append(_weight("attention_output/bias", out_shape, bias_init, sub=output_sub))
    names = {sub: name for name, sub, _, _ in projections} | {output_sub: "attention_output"}
    return Built(weights, (*query[:-1], *out_shape), names)


def group_query_attention(config: dict[str, Any], query: Shape, value: Shape, key: Shape | None = None) -> Built:
    key = key or value
    heads = positive_int(config, "num_query_heads")
    head_dim = positive_int(config, "head_dim")
    q_dim = _known(query[-1], "query feature dimension", config)
    projections = [("query", "_query_dense", query, head_dim), ("key", "_key_dense", key, head_dim)]
    if config.get("use_gate", False):
        projections.append(("gate", "_gate_dense", query, head_dim))
    projections.append(("value", "_value_dense", value, head_dim))
    return _attention_projections(config, projections, heads, (q_dim,), query, "_output_dense", head_dim)


def attention(config: dict[str, Any], *shapes: Shape) -> Built:
    weights = []
    if config.get("use_scale", False):
        weights.append(_weight("scale", (), Ones()))
    if config.get("score_mode", "dot") == "concat":
        weights.append(_weight("concat_score_weight", (), Ones()))
    return Built(weights, shapes[0])


def additive_attention(config: dict[str, Any], *shapes: Shape) -> Built:
    weights = []
    if config.get("use_scale", True):
        dim = _known(shapes[0][-1], "query feature dimension", config)
        weights.append(_weight("scale", (dim,), GlorotUniform()))
    return Built(weights, shapes[0])
