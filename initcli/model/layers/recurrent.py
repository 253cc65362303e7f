"""Recurrent layers: LSTM, GRU, SimpleRNN, Bidirectional and ConvLSTM1D/2D/3D."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import InvalidArgument
from ...initializers import Ones
from ..plan import Piece
from .base import Built, BuiltWeight, Shape, _channel_axis, _known, _tuple, _weight, initializer_of
from .conv import _conv_output


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
