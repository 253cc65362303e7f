"""What each Keras layer class builds: its weights (Keras's order) and its output shape.

A rule takes the layer's config and its input shape(s) (batch dimension
first, ``None`` when unknown) and returns the weights the layer's
``build()`` creates -- sub-object, name, shape, initializer pieces,
trainable -- and the shape of its output, so shapes can be propagated through
a model whose layers carry no ``build_config``.

Each rule mirrors the ``build()`` of the Keras 3.15 class it names; the
model tests build the same layers with real Keras and compare every weight.
A class with no rule is an error naming the layer, never a silently wrong
file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod
from typing import Any

from ..errors import InvalidArgument
from ..initializers import GlorotUniform, Initializer, Ones, TruncatedNormal, Zeros, get
from ..initializers.variance_scaling import VarianceScaling
from . import einsum
from .plan import Piece

Shape = tuple[int | None, ...]


@dataclass
class BuiltWeight:
    """A weight a layer's ``build()`` creates."""

    name: str
    shape: tuple[int, ...]
    pieces: list[Piece]
    sub: str = ""
    trainable: bool = True
    dtype: str | None = None
    """A dtype other than the layer's (Normalization's ``count`` is int32)."""
    alias_of: str | None = None
    """Name of another weight of this layer that this one repeats."""
    seed_name: str | None = None
    """Name of the weight whose seed this one shares (one initializer instance used twice)."""


@dataclass
class Built:
    """What a layer builds from given input shapes."""

    weights: list[BuiltWeight] = field(default_factory=list)
    output: Any = None
    sub_names: dict[str, str] = field(default_factory=dict)
    """``@name`` of each sub-object group (``cell`` -> ``lstm_cell``)."""


def initializer_of(config: dict[str, Any], key: str, default: str) -> Initializer:
    """The initializer in ``config[key]`` (a Keras config dict or a name), or ``default``."""
    value = config.get(key, default)
    if value is None:
        value = default
    try:
        initializer = get(value)
    except InvalidArgument as error:
        raise InvalidArgument(f"{config.get('name', '?')}: {key}: {error}") from None
    assert initializer is not None
    return initializer


def _weight(name: str, shape: tuple[int, ...], initializer: Initializer, **kwargs: Any) -> BuiltWeight:
    return BuiltWeight(name, tuple(int(d) for d in shape), [Piece(initializer, tuple(int(d) for d in shape))], **kwargs)


def _known(value: int | None, what: str, config: dict[str, Any]) -> int:
    if value is None:
        raise InvalidArgument(f"layer {config.get('name')!r}: the {what} of its input is unknown; give build_config")
    return int(value)


def _channel_axis(config: dict[str, Any], rank: int) -> int:
    return 1 if config.get("data_format") == "channels_first" else rank - 1


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    return tuple(int(v) for v in value)


# --- weight layers --------------------------------------------------------------------------------


def _unsupported_option(config: dict[str, Any], option: str, what: str) -> None:
    if config.get(option):
        raise InvalidArgument(f"layer {config.get('name')!r}: {what} ({option}) is not supported by initcli yet")


def dense(config: dict[str, Any], shape: Shape) -> Built:
    _unsupported_option(config, "lora_rank", "LoRA")
    units = int(config["units"])
    fan_in = _known(shape[-1], "last dimension", config)
    weights = [_weight("kernel", (fan_in, units), initializer_of(config, "kernel_initializer", "glorot_uniform"))]
    if config.get("use_bias", True):
        weights.append(_weight("bias", (units,), initializer_of(config, "bias_initializer", "zeros")))
    return Built(weights, (*shape[:-1], units))


def with_einsum_axes(initializer: Initializer, input_axes: list[int], output_axes: list[int]) -> Initializer:
    """``EinsumDense.build``: a VarianceScaling-family kernel initializer without axes gets the
    einsum's fan axes, keeping its concrete seed."""
    if isinstance(initializer, VarianceScaling) and (initializer.input_axes is None or initializer.output_axes is None):
        config = initializer.get_config()
        config["seed"] = initializer._init_seed  # None stays None: the plan derives one
        config["input_axes"] = input_axes
        config["output_axes"] = output_axes
        return type(initializer).from_config(config)
    return initializer


def einsum_dense(config: dict[str, Any], shape: Shape) -> Built:
    shapes = einsum.analyze(config["equation"], config.get("bias_axes"), shape, config.get("output_shape"))
    kernel_init = with_einsum_axes(
        initializer_of(config, "kernel_initializer", "glorot_uniform"), shapes.input_axes, shapes.output_axes
    )
    weights = [_weight("kernel", shapes.kernel, kernel_init)]
    if shapes.bias is not None:
        weights.append(_weight("bias", shapes.bias, initializer_of(config, "bias_initializer", "zeros")))
    return Built(weights, shapes.output)


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
        filters = int(config["filters"])
        channels = _known(shape[_channel_axis(config, len(shape))], "channel dimension", config)
        groups = int(config.get("groups", 1) or 1)
        kernel = (*_tuple(config["kernel_size"], rank), channels // groups, filters)
        weights = [_weight("kernel", kernel, initializer_of(config, "kernel_initializer", "glorot_uniform"))]
        if config.get("use_bias", True):
            weights.append(_weight("bias", (filters,), initializer_of(config, "bias_initializer", "zeros")))
        return Built(weights, _conv_output(config, shape, rank, filters))

    return rule


def conv_transpose(rank: int) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        filters = int(config["filters"])
        channels = _known(shape[_channel_axis(config, len(shape))], "channel dimension", config)
        kernel = (*_tuple(config["kernel_size"], rank), filters, channels)
        weights = [_weight("kernel", kernel, initializer_of(config, "kernel_initializer", "glorot_uniform"))]
        if config.get("use_bias", True):
            weights.append(_weight("bias", (filters,), initializer_of(config, "bias_initializer", "zeros")))
        return Built(weights, _conv_output(config, shape, rank, filters, transpose=True))

    return rule


def depthwise_conv(rank: int) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        multiplier = int(config.get("depth_multiplier", 1))
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
        multiplier = int(config.get("depth_multiplier", 1))
        filters = int(config["filters"])
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


def embedding(config: dict[str, Any], shape: Shape) -> Built:
    _unsupported_option(config, "lora_rank", "LoRA")
    size = (int(config["input_dim"]), int(config["output_dim"]))
    initializer = initializer_of(config, "embeddings_initializer", "uniform")
    weights = [_weight("embeddings", size, initializer)]
    if config.get("tie_weights") is False:  # ReversibleEmbedding: the same instance, so the same seed
        weights.append(_weight("reverse_embeddings", size[::-1], initializer, seed_name="embeddings"))
    return Built(weights, (*shape, size[1]))


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
        _weight("mean", size, zeros, trainable=False, dtype="float32"),
        _weight("variance", size, ones, trainable=False, dtype="float32"),
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


def _cell_weights(config: dict[str, Any], fan_in: int, gates: int, prefix: str, sub: str) -> list[BuiltWeight]:
    units = int(config["units"])
    kernel = initializer_of(config, "kernel_initializer", "glorot_uniform")
    recurrent = initializer_of(config, "recurrent_initializer", "orthogonal")
    weights = [
        _weight(f"{prefix}kernel", (fan_in, gates * units), kernel, sub=sub),
        _weight(f"{prefix}recurrent_kernel", (units, gates * units), recurrent, sub=sub),
    ]
    if config.get("use_bias", True):
        bias_init = initializer_of(config, "bias_initializer", "zeros")
        if gates == 4 and config.get("unit_forget_bias", True):
            pieces = [Piece(bias_init, (units,)), Piece(Ones(), (units,)), Piece(bias_init, (2 * units,))]
            weights.append(BuiltWeight(f"{prefix}bias", (4 * units,), pieces, sub=sub))
        elif gates == 3 and config.get("reset_after", True):
            weights.append(_weight(f"{prefix}bias", (2, 3 * units), bias_init, sub=sub))
        else:
            weights.append(_weight(f"{prefix}bias", (gates * units,), bias_init, sub=sub))
    return weights


_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}
_CELL_NAMES = {"LSTM": "lstm_cell", "GRU": "gru_cell", "SimpleRNN": "simple_rnn_cell"}


def _rnn_output(config: dict[str, Any], shape: Shape) -> Shape:
    units = int(config["units"])
    return (shape[0], shape[1], units) if config.get("return_sequences", False) else (shape[0], units)


def rnn(class_name: str) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        fan_in = _known(shape[-1], "feature dimension", config)
        weights = _cell_weights(config, fan_in, _GATES[class_name], "", "cell")
        return Built(weights, _rnn_output(config, shape), {"cell": _CELL_NAMES[class_name]})

    return rule


def bidirectional(config: dict[str, Any], shape: Shape) -> Built:
    forward = config["layer"]
    backward = config.get("backward_layer") or forward
    for inner in (forward, backward):
        if inner.get("class_name") not in _GATES:
            raise InvalidArgument(
                f"layer {config.get('name')!r}: Bidirectional around {inner.get('class_name')!r} is not supported; "
                "use LSTM, GRU or SimpleRNN"
            )
    fan_in = _known(shape[-1], "feature dimension", config)
    weights = _cell_weights(forward["config"], fan_in, _GATES[forward["class_name"]], "forward/", "forward_layer/cell")
    weights += _cell_weights(
        backward["config"], fan_in, _GATES[backward["class_name"]], "backward/", "backward_layer/cell"
    )
    out_f = _rnn_output(forward["config"], shape)
    out_b = _rnn_output(backward["config"], shape)
    merge = config.get("merge_mode", "concat")
    output = (*out_f[:-1], out_f[-1] + out_b[-1]) if merge == "concat" else out_f  # type: ignore[operator]
    inner_name = forward["config"].get("name", "rnn")
    names = {
        "forward_layer": f"forward_{inner_name}",
        "forward_layer/cell": _CELL_NAMES[forward["class_name"]],
        "backward_layer": config["backward_layer"]["config"].get("name", "backward")
        if config.get("backward_layer")
        else f"backward_{inner_name}",
        "backward_layer/cell": _CELL_NAMES[backward["class_name"]],
    }
    return Built(weights, output, names)


def multi_head_attention(config: dict[str, Any], query: Shape, value: Shape, key: Shape | None = None) -> Built:
    key = key or value
    heads = int(config["num_heads"])
    key_dim = int(config["key_dim"])
    value_dim = int(config.get("value_dim") or key_dim)
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
        heads = heads_out if name in ("query", "gate") else int(config.get("num_key_value_heads", heads_out))
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
    heads = int(config["num_query_heads"])
    head_dim = int(config["head_dim"])
    q_dim = _known(query[-1], "query feature dimension", config)
    projections = [("query", "_query_dense", query, head_dim), ("key", "_key_dense", key, head_dim)]
    if config.get("use_gate", False):
        projections.append(("gate", "_gate_dense", query, head_dim))
    projections.append(("value", "_value_dense", value, head_dim))
    return _attention_projections(config, projections, heads, (q_dim,), query, "_output_dense", head_dim)


def conv_lstm(rank: int) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        filters = int(config["filters"])
        step = (shape[0], *shape[2:])  # one time step
        channels = _known(step[_channel_axis(config, len(step))], "channel dimension", config)
        size = _tuple(config["kernel_size"], rank)
        kernel_init = initializer_of(config, "kernel_initializer", "glorot_uniform")
        recurrent_init = initializer_of(config, "recurrent_initializer", "orthogonal")
        weights = [
            _weight("kernel", (*size, channels, 4 * filters), kernel_init, sub="cell"),
            _weight("recurrent_kernel", (*size, filters, 4 * filters), recurrent_init, sub="cell"),
        ]
        if config.get("use_bias", True):
            bias_init = initializer_of(config, "bias_initializer", "zeros")
            if config.get("unit_forget_bias", True):
                pieces = [Piece(bias_init, (filters,)), Piece(Ones(), (filters,)), Piece(bias_init, (2 * filters,))]
                weights.append(BuiltWeight("bias", (4 * filters,), pieces, sub="cell"))
            else:
                weights.append(_weight("bias", (4 * filters,), bias_init, sub="cell"))
        out_step = _conv_output(config, step, rank, filters)
        output = (shape[0], shape[1], *out_step[1:]) if config.get("return_sequences") else out_step
        return Built(weights, output, {"cell": "conv_lstm_cell"})

    return rule


def _inner(config: dict[str, Any]) -> tuple[str, dict[str, Any], Callable[..., Built]]:
    inner = config.get("layer") or {}
    class_name = inner.get("class_name")
    rule = RULES.get(str(class_name))
    if rule is None:
        raise InvalidArgument(f"layer {config.get('name')!r}: wrapping {class_name!r} is not supported by initcli yet")
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


RULES: dict[str, Callable[..., Built]] = {
    "Dense": dense,
    "EinsumDense": einsum_dense,
    "Conv1D": conv(1),
    "Conv2D": conv(2),
    "Conv3D": conv(3),
    "Conv1DTranspose": conv_transpose(1),
    "Conv2DTranspose": conv_transpose(2),
    "Conv3DTranspose": conv_transpose(3),
    "DepthwiseConv1D": depthwise_conv(1),
    "DepthwiseConv2D": depthwise_conv(2),
    "SeparableConv1D": separable_conv(1),
    "SeparableConv2D": separable_conv(2),
    "Embedding": embedding,
    "BatchNormalization": batch_normalization,
    "LayerNormalization": layer_normalization,
    "GroupNormalization": group_normalization,
    "LSTM": rnn("LSTM"),
    "GRU": rnn("GRU"),
    "SimpleRNN": rnn("SimpleRNN"),
    "Bidirectional": bidirectional,
    "MultiHeadAttention": multi_head_attention,
    "GroupQueryAttention": group_query_attention,
    "Attention": attention,
    "AdditiveAttention": additive_attention,
    "ReversibleEmbedding": embedding,
    "RMSNormalization": rms_normalization,
    "Normalization": normalization,
    "ConvLSTM1D": conv_lstm(1),
    "ConvLSTM2D": conv_lstm(2),
    "ConvLSTM3D": conv_lstm(3),
    "TimeDistributed": time_distributed,
    "SpectralNormalization": spectral_normalization,
    "PReLU": prelu,
    "Flatten": flatten,
    "Reshape": reshape,
    "Permute": permute,
    "RepeatVector": repeat_vector,
    "Add": merge,
    "Subtract": merge,
    "Multiply": merge,
    "Average": merge,
    "Maximum": merge,
    "Minimum": merge,
    "Concatenate": concatenate,
    **{
        name: same_shape
        for name in (
            "Activation",
            "ReLU",
            "LeakyReLU",
            "ELU",
            "Softmax",
            "Dropout",
            "SpatialDropout1D",
            "SpatialDropout2D",
            "SpatialDropout3D",
            "GaussianNoise",
            "GaussianDropout",
            "AlphaDropout",
            "Rescaling",
            "Identity",
            "ActivityRegularization",
            "Masking",
            "UnitNormalization",
            "CenterCrop",
        )
    },
    "MaxPooling1D": pooling(1),
    "MaxPooling2D": pooling(2),
    "MaxPooling3D": pooling(3),
    "AveragePooling1D": pooling(1),
    "AveragePooling2D": pooling(2),
    "AveragePooling3D": pooling(3),
    "GlobalMaxPooling1D": pooling(1, True),
    "GlobalMaxPooling2D": pooling(2, True),
    "GlobalMaxPooling3D": pooling(3, True),
    "GlobalAveragePooling1D": pooling(1, True),
    "GlobalAveragePooling2D": pooling(2, True),
    "GlobalAveragePooling3D": pooling(3, True),
    "ZeroPadding1D": padding_or_cropping(1, 1),
    "ZeroPadding2D": padding_or_cropping(2, 1),
    "ZeroPadding3D": padding_or_cropping(3, 1),
    "Cropping1D": padding_or_cropping(1, -1),
    "Cropping2D": padding_or_cropping(2, -1),
    "Cropping3D": padding_or_cropping(3, -1),
    "UpSampling1D": upsampling(1),
    "UpSampling2D": upsampling(2),
    "UpSampling3D": upsampling(3),
}
"""Rules by Keras class name; classes without a rule are reported as unsupported."""
