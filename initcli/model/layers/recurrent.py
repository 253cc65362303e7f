"""Recurrent layers: LSTM, GRU, SimpleRNN, generic RNN over cells, the cells called by themselves,
Bidirectional and ConvLSTM1D/2D/3D."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import InvalidArgument
from ...initializers import Ones
from ..catalog import class_hint
from ..plan import Piece
from .base import Built, BuiltWeight, Shape, _channel_axis, _known, _tuple, _weight, initializer_of, positive_int
from .conv import _conv_output


def _cell_weights(config: dict[str, Any], fan_in: int, gates: int, prefix: str, sub: str) -> list[BuiltWeight]:
    units = positive_int(config, "units")
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
    units = positive_int(config, "units")
    return (shape[0], shape[1], units) if config.get("return_sequences", False) else (shape[0], units)


def rnn(class_name: str) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        fan_in = _known(shape[-1], "feature dimension", config)
        weights = _cell_weights(config, fan_in, _GATES[class_name], "", "cell")
        return Built(weights, _rnn_output(config, shape), {"cell": _CELL_NAMES[class_name]})

    return rule


def _direction(
    config: dict[str, Any], inner: dict[str, Any], fan_in: int, direction: str
) -> tuple[list[BuiltWeight], dict[str, str], int]:
    """One direction of a ``Bidirectional``: its weights (``forward/kernel`` ... under
    ``forward_layer/cell``), the ``@name`` of its cell groups and its output width."""
    class_name = inner.get("class_name")
    inner_config = inner.get("config") or {}
    if class_name in _GATES:
        prefix, sub = f"{direction}/", f"{direction}_layer/cell"
        weights = _cell_weights(inner_config, fan_in, _GATES[str(class_name)], prefix, sub)
        return weights, {sub: _CELL_NAMES[str(class_name)]}, positive_int(inner_config, "units")
    if class_name == "RNN":
        weights, names, width = _generic_cells(inner_config, inner_config["cell"], fan_in)
        for weight in weights:
            weight.name = f"{direction}/{weight.name}"
            weight.sub = f"{direction}_layer/{weight.sub}"
        return weights, {f"{direction}_layer/{k}": v for k, v in names.items()}, width
    raise InvalidArgument(
        f"layer {config.get('name')!r}: Bidirectional around {class_name!r} is not supported"
        f"{class_hint(str(class_name))}; use LSTM, GRU, SimpleRNN or RNN over their cells"
    )


def bidirectional(config: dict[str, Any], shape: Shape) -> Built:
    """``Bidirectional`` around LSTM, GRU, SimpleRNN or ``RNN(cell)`` (and a ``backward_layer`` of
    another of these): the forward layer's weights, then the backward layer's."""
    forward = config["layer"]
    backward = config.get("backward_layer") or forward
    fan_in = _known(shape[-1], "feature dimension", config)
    weights, names, width_f = _direction(config, forward, fan_in, "forward")
    more, back_names, _ = _direction(config, backward, fan_in, "backward")
    weights += more
    steps = (shape[0], shape[1]) if forward["config"].get("return_sequences", False) else (shape[0],)
    merge = config.get("merge_mode", "concat")
    # Bidirectional.compute_output_shape: from the forward layer alone (a backward layer of another
    # width still gives twice the forward width, as Keras builds the next layer with)
    output: Any = (*steps, 2 * width_f) if merge == "concat" else (*steps, width_f)
    if merge is None:
        output = [(*steps, width_f), (*steps, width_f)]
    # Keras names them "forward_" / "backward_" + the wrapped layer's name without a "forward_"
    # prefix, so a config that already holds "forward_lstm" (every to_json() does) keeps it
    inner_name = str(forward["config"].get("name", "rnn")).removeprefix("forward_")
    names = {
        "forward_layer": f"forward_{inner_name}",
        **names,
        "backward_layer": config["backward_layer"]["config"].get("name", "backward")
        if config.get("backward_layer")
        else f"backward_{inner_name}",
        **back_names,
    }
    return Built(weights, output, names)


def conv_lstm(rank: int) -> Callable[[dict[str, Any], Shape], Built]:
    def rule(config: dict[str, Any], shape: Shape) -> Built:
        filters = positive_int(config, "filters")
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


_CELL_GATES = {"LSTMCell": 4, "GRUCell": 3, "SimpleRNNCell": 1}


def _snake(class_name: str) -> str:
    from ...initializers.registry import to_snake_case

    return to_snake_case(class_name)


def _generic_cells(
    layer: dict[str, Any], cell: dict[str, Any], fan_in: int
) -> tuple[list[BuiltWeight], dict[str, str], int]:
    """The weights of ``RNN(cell)``'s cell (one cell, or a ``StackedRNNCells`` / list of cells), the
    ``@name`` of each group, and the output width (the last cell's units)."""
    if isinstance(cell, list):
        cell = {"class_name": "StackedRNNCells", "config": {"name": "stacked_rnn_cells", "cells": cell}}
    if not isinstance(cell, dict):
        raise InvalidArgument(f"layer {layer.get('name')!r}: RNN cell {cell!r} is not a cell config")
    class_name = cell.get("class_name")
    config = cell.get("config") or {}
    if class_name in _CELL_GATES:
        weights = _cell_weights(config, fan_in, _CELL_GATES[class_name], "", "cell")
        return weights, {"cell": str(config.get("name", _snake(str(class_name))))}, positive_int(config, "units")
    if class_name != "StackedRNNCells":
        raise InvalidArgument(
            f"layer {layer.get('name')!r}: RNN over a cell of class {class_name!r} is not supported by initcli"
            f"{class_hint(str(class_name))}; use LSTMCell, GRUCell, SimpleRNNCell or StackedRNNCells of them"
        )
    cells = config.get("cells")
    if not isinstance(cells, list) or not cells:
        raise InvalidArgument(f"layer {layer.get('name')!r}: StackedRNNCells has no 'cells' list")
    weights: list[BuiltWeight] = []
    names = {"cell": str(config.get("name", "stacked_rnn_cells"))}
    counters: dict[str, int] = {}
    width = fan_in
    for inner in cells:
        inner_class = inner.get("class_name") if isinstance(inner, dict) else None
        if inner_class not in _CELL_GATES:
            raise InvalidArgument(
                f"layer {layer.get('name')!r}: StackedRNNCells over {inner_class!r} is not supported by initcli"
                f"{class_hint(str(inner_class))}; use LSTMCell, GRUCell or SimpleRNNCell"
            )
        inner_config = inner.get("config") or {}
        snake = _snake(str(inner_class))
        count = counters.get(snake, 0)
        counters[snake] = count + 1
        sub = f"cell/cells/{snake}" + (f"_{count}" if count else "")
        cell_name = str(inner_config.get("name", snake))
        weights += _cell_weights(inner_config, width, _CELL_GATES[str(inner_class)], f"{cell_name}/", sub)
        names[sub] = cell_name
        width = positive_int(inner_config, "units")
    return weights, names, width


def generic_rnn(config: dict[str, Any], shape: Shape) -> Built:
    """``RNN(cell)`` over ``LSTMCell``, ``GRUCell``, ``SimpleRNNCell`` or ``StackedRNNCells`` (or a list
    of cells, which Keras stacks): each cell builds on the previous cell's output width; Keras keeps
    a stack's cells under ``cell/cells/<class>`` with a per-class counter."""
    fan_in = _known(shape[-1], "feature dimension", config)
    weights, names, width = _generic_cells(config, config["cell"], fan_in)
    output = (shape[0], shape[1], width) if config.get("return_sequences", False) else (shape[0], width)
    return Built(weights, output, names)


def cell(class_name: str) -> Callable[..., Built]:
    """``LSTMCell``, ``GRUCell`` or ``SimpleRNNCell`` called by itself in a Functional model
    (``cell(x, states)``, which Keras 3 saves and loads): the weights it builds inside ``RNN``
    (``kernel``, ``recurrent_kernel``, ``bias``), in the layer's own group; it returns its output and
    its new states, each ``(batch, units)`` (an LSTM cell has two states)."""

    def rule(config: dict[str, Any], *shapes: Shape) -> Built:
        if not shapes:
            raise InvalidArgument(f"layer {config.get('name')!r} ({class_name}): its input shape is unknown")
        shape = shapes[0]
        fan_in = _known(shape[-1], "feature dimension", config)
        weights = _cell_weights(config, fan_in, _CELL_GATES[class_name], "", "")
        step = (shape[0], positive_int(config, "units"))
        return Built(weights, [step] * (3 if class_name == "LSTMCell" else 2))

    return rule


def stacked_cells(config: dict[str, Any], *shapes: Shape) -> Built:
    """``StackedRNNCells`` called by itself (``cells(x, states)``): its cells' weights as inside
    ``RNN``, under ``cells/<class>`` with a per-class counter; the output is the last cell's."""
    if not shapes:
        raise InvalidArgument(f"layer {config.get('name')!r} (StackedRNNCells): its input shape is unknown")
    shape = shapes[0]
    fan_in = _known(shape[-1], "feature dimension", config)
    entry = {"class_name": "StackedRNNCells", "config": config}
    weights, names, width = _generic_cells(config, entry, fan_in)
    for weight in weights:
        weight.sub = weight.sub.removeprefix("cell/")
    sub_names = {sub.removeprefix("cell/"): name for sub, name in names.items() if sub != "cell"}
    return Built(weights, (shape[0], width), sub_names)
