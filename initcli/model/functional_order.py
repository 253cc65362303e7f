"""The order Keras gives a Functional model's layers, computed from the config's graph.

Keras 3 names ``.weights.h5`` groups by class with a per-class counter in
``model.layers`` order, and rebuilds that order from the graph when it loads
a config (``keras.src.ops.function.map_graph``), whatever the order of the
config's ``layers`` list.  This module replays it:

1. depth-first search from the model's outputs (in order) through each call
   node's input tensors (positional arguments in order, then keyword
   arguments by sorted key), numbering each layer when first seen;
2. walking the nodes from the outputs back, an output node has depth 0 and
   each parent node ``max(its depth, child depth + 1)``; a layer's depth is
   the largest of its nodes';
3. layers sorted by depth, deepest first, ties by first-seen number; inputs
   unconnected to the outputs come last (depth 0, number -1).

A graph Keras refuses to rebuild is refused here, in one line naming the
layer: a call node reading a layer the model does not have (Keras: "Unknown
layer"), ``input_layers``/``output_layers`` naming one (Keras: "could not find
layer"), and a cycle (Keras: "the graph ... has loops").
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..errors import InvalidArgument

Node = tuple[str, int]


def _history(value: Any, out: list[tuple[str, int, int]]) -> None:
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            layer, node, tensor = value["config"]["keras_history"]
            out.append((layer, int(node), int(tensor)))
            return
        for key in sorted(value):
            _history(value[key], out)
    elif isinstance(value, list):
        for item in value:
            _history(item, out)


def _triples(value: Any) -> list[tuple[str, int, int]]:
    """``["x", 0, 0]`` or ``[["x", 0, 0], ...]`` -> list of triples."""
    if not value:
        return []
    if isinstance(value[0], str):
        return [(value[0], int(value[1]), int(value[2]))]
    return [(v[0], int(v[1]), int(v[2])) for v in value]


def _check_known(tensors: list[tuple[str, int, int]], by_name: dict[Any, Any], what: str, keras: str) -> None:
    """Every tensor's layer is a layer of the model, and its call node one the layer has (an
    ``InputLayer`` has node 0; a nested model, which Keras numbers from its own first node, is not
    checked), or one line naming the first that is not."""
    for layer, node_index, _ in tensors:
        if layer not in by_name:
            known = sorted(str(name) for name in by_name)
            shown = ", ".join(repr(name) for name in known[:8]) + (", ..." if len(known) > 8 else "")
            raise InvalidArgument(
                f"{what} {layer!r}, which is not a layer of the model (Keras refuses it: {keras}); "
                f"accepted: one of {shown}"
            )
        entry = by_name[layer]
        if entry.get("class_name") in ("Sequential", "Functional", "Model"):
            continue
        calls = 1 if entry.get("class_name") == "InputLayer" else len(entry.get("inbound_nodes") or [])
        if not 0 <= node_index < calls:
            raise InvalidArgument(
                f"{what} {layer!r} at call node {node_index}, but {layer!r} is called {calls} time(s) (Keras refuses "
                f"it: layer node index out of bounds); accepted: a node index from 0 to {calls - 1}"
            )


def functional_layer_order(config: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The layer entries of a Functional model config in Keras's ``model.layers`` order,
    or ``None`` if the config's graph cannot be read (then the list order is used).

    :raises InvalidArgument: the graph names a layer the model does not have, or has a cycle."""
    try:
        return _order(config)
    except InvalidArgument:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError):
        return None


def _order(config: dict[str, Any]) -> list[dict[str, Any]] | None:
    entries = config.get("layers") or []
    by_name = {entry.get("config", {}).get("name") or entry.get("name"): entry for entry in entries}
    inputs_of: dict[Node, list[tuple[str, int, int]]] = {}
    for name, entry in by_name.items():
        for index, node in enumerate(entry.get("inbound_nodes") or []):
            tensors: list[tuple[str, int, int]] = []
            _history(node.get("args", []), tensors)
            _history(node.get("kwargs", {}), tensors)
            inputs_of[(name, index)] = tensors
            _check_known(tensors, by_name, f"layer {name!r}: its call node {index} reads", "Unknown layer")
    model_inputs = set(_triples(config.get("input_layers")))
    outputs = _triples(config.get("output_layers"))
    _check_known(list(model_inputs), by_name, "the model's input_layers name", "could not find layer")
    _check_known(outputs, by_name, "the model's output_layers name", "could not find layer")
    if not outputs:
        return None
    finished: set[Node] = set()
    in_progress: list[Node] = []  # the path from an output to the node being visited
    ordered_nodes: list[Node] = []
    first_seen: dict[str, int] = {}

    def visit(tensor: tuple[str, int, int]) -> None:
        layer, node_index, _ = tensor
        node = (layer, node_index)
        if node in finished:
            return
        is_input = by_name.get(layer, {}).get("class_name") == "InputLayer"
        if not is_input and tensor in model_inputs:
            finished.add(node)
            return
        if node in in_progress:
            loop = [name for name, _ in in_progress[in_progress.index(node) + 1 :]][::-1]
            chain = " -> ".join(repr(name) for name in [layer, *loop, layer])
            raise InvalidArgument(
                f"layer {layer!r} reads its own output: {chain} is a cycle (Keras refuses it: the graph of the "
                "Functional model has loops); accepted: a graph that runs from the inputs to the outputs"
            )
        first_seen.setdefault(layer, len(first_seen))
        in_progress.append(node)
        if not is_input:
            for parent in inputs_of.get(node, []):
                visit(parent)
        finished.add(node)
        in_progress.pop()
        ordered_nodes.append(node)

    try:
        for output in outputs:
            visit(output)
    except InvalidArgument:
        raise
    except (ValueError, KeyError, RecursionError):
        return None
    in_graph = set(ordered_nodes)
    node_depth: dict[Node, int] = {}
    layer_depth: dict[str, int] = {}
    for node in reversed(ordered_nodes):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node[0], 0))
        layer_depth[node[0]] = depth
        node_depth[node] = depth
        for layer, index, _ in inputs_of.get(node, []):
            parent = (layer, index)
            if parent in in_graph:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for layer, _, _ in _triples(config.get("input_layers")):
        if layer not in layer_depth and layer in by_name:
            layer_depth[layer] = 0
            first_seen[layer] = -1
    by_depth: dict[int, list[str]] = defaultdict(list)
    for layer, depth in layer_depth.items():
        by_depth[depth].append(layer)
    order: list[str] = []
    for depth in sorted(by_depth, reverse=True):
        order.extend(sorted(by_depth[depth], key=first_seen.__getitem__))
    if set(order) != set(by_name):
        return None  # layers outside the graph: keep the list as given
    return [by_name[name] for name in order]
