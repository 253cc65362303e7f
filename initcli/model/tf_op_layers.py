"""Keras 2's TensorFlow op layers: ``TFOpLambda`` and ``SlicingOpLambda`` nodes of Functional graphs.

tf.keras records a TensorFlow function called on a symbolic tensor (``tf.nn.relu(x)``, ``x[:, 1:]``)
as a layer of one of these classes.  They hold no weights and Keras 3 has no class for them, so they
are planned as weightless; what remains is their output shape, computed for the elementwise ops
(the shape of their first input) and for basic slices, so shapes can be propagated past them.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgument

Shape = tuple[int | None, ...]

WEIGHTLESS_OPS = ("TFOpLambda", "SlicingOpLambda")
"""TensorFlow op layers of Keras 2 Functional graphs: no weights, no Keras 3 class."""

ELEMENTWISE_OPS = frozenset(
    f"{module}.{name}"
    for module, names in (
        (
            "nn",
            (
                "relu",
                "relu6",
                "elu",
                "selu",
                "gelu",
                "silu",
                "swish",
                "sigmoid",
                "tanh",
                "softplus",
                "softsign",
                "leaky_relu",
                "softmax",
                "log_softmax",
                "dropout",
            ),
        ),
        (
            "math",
            (
                "abs",
                "exp",
                "log",
                "sqrt",
                "rsqrt",
                "square",
                "sigmoid",
                "tanh",
                "negative",
                "sin",
                "cos",
                "softplus",
                "reciprocal",
                "sign",
                "round",
                "floor",
                "ceil",
                "erf",
                "log1p",
                "expm1",
            ),
        ),
    )
    for name in names
) | {
    "identity",
    "cast",
    "stop_gradient",
    "clip_by_value",
    "math.multiply",
    "math.truediv",
    "__operators__.add",
    "math.add",
    "math.subtract",
    "math.maximum",
    "math.minimum",
    "math.pow",
}
"""TFOpLambda functions whose output has the shape of their first input (a scalar second operand, for
the binary ones: Keras 2 records a tensor operand as a node input, then the shape is not computed)."""


def op_output(entry: dict[str, Any], inputs: list[Shape | None], kwargs: dict[str, Any]) -> list[Shape | None]:
    """The output shape of a ``TFOpLambda`` (elementwise ops) or ``SlicingOpLambda`` (basic slices)."""
    shape = inputs[0] if len(inputs) == 1 else None
    if shape is None:
        return [None]
    function = entry["config"].get("function")
    if entry["class_name"] == "TFOpLambda":
        tensors = [v for v in kwargs.values() if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__"]
        return [shape] if function in ELEMENTWISE_OPS and not tensors else [None]
    spec = kwargs.get("slice_spec")
    if function != "__operators__.getitem" or spec is None:
        return [None]
    specs = spec if isinstance(spec, list) else [spec]
    if len(specs) > len(shape):
        return [None]
    out: list[int | None] = []
    for dim, item in zip(shape, specs, strict=False):
        if isinstance(item, bool) or not isinstance(item, (int, dict)):
            return [None]  # None (new axis), Ellipsis, tensors: not computed
        if isinstance(item, int):
            continue  # an index drops the axis
        bounds = [item.get(k) for k in ("start", "stop", "step")]
        if set(item) - {"start", "stop", "step"} or not all(b is None or type(b) is int for b in bounds):
            return [None]
        if bounds[2] == 0:
            where = f"layer {entry['config'].get('name')!r} ({entry['class_name']})"
            raise InvalidArgument(f"{where}: a slice step of 0; accepted: a non-zero step")
        out.append(None if dim is None else len(range(*slice(*bounds).indices(dim))))
    return [(*out, *shape[len(specs) :])]
