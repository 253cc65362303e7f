"""Keras 1/2 model configs rewritten into the Keras 3 form the planner (and Keras 3) reads.

``normalize`` returns a new config; a Keras 3 config passes through unchanged.  What it
rewrites, as Keras 2.x ``model.to_json()`` (tf.keras 2.0-2.16, standalone Keras 2) and
tfjs layers models write it:

* shapes written as ``{"class_name": "TensorShape", "items": [...]}`` become the list;
  a layer named only on its entry (``"name"`` beside ``"config"``) gets that name;
* the model: ``class_name`` ``Model`` becomes ``Functional``; a Sequential whose ``config``
  is the bare list of its layers (Keras <= 2.1) gets ``{"name", "layers"}``; ``module`` is
  added where missing (``keras``, ``keras.layers``), wrapped layers included;
* input shapes: a Sequential without an ``InputLayer`` whose first layer carries
  ``batch_input_shape`` / ``batch_shape`` (or ``input_shape``) gets an ``InputLayer`` with
  that ``batch_shape``, and those keys are removed from every layer but ``InputLayer``
  (Keras 3 refuses them there); an ``InputLayer``'s
  ``batch_input_shape`` becomes ``batch_shape``;
* Functional graphs: Keras 2 ``inbound_nodes`` (``[[["name", 0, 0, {kwargs}]]]``, and the
  single-tensor form ``[["name", 0, 0, {}]]`` of ``TFOpLambda``) become Keras 3 call nodes
  (``{"args": [...], "kwargs": {...}}`` of ``__keras_tensor__`` entries) whose shapes are
  propagated from the ``InputLayer`` shapes through each layer's rule, in graph order
  (an ``LSTM``/``GRU``/``SimpleRNN`` with ``return_state`` adds its states to its outputs,
  and one called on ``[x, *states]`` is called on ``x`` with ``initial_state``);
* arguments Keras 3 dropped: RNN ``time_major`` (when false; a true one is refused),
  ``groups`` of depthwise and separable convolutions (when 1) and their unused
  ``kernel_initializer``/``kernel_regularizer``/``kernel_constraint``, ``MultiHeadAttention``'s
  ``query_shape``/``value_shape``/``key_shape`` (moved to its ``build_config``);
  ``axis: [k]`` of ``BatchNormalization`` becomes ``k``; ``trainable`` and ``noise_shape``
  of the ``SpatialDropout`` layers (Keras 3's take neither); the ``dtype`` of initializer
  configs (tf.keras 2.2.4-tf wrote it; Keras 3 initializers refuse it); ``Embedding``'s
  ``input_length`` where the layer also records its input shape (Keras 3 ignores it, warning);
* a tfjs-converted Keras 3 ``InputLayer``'s ``batchInputShape`` becomes ``batch_shape``;
* ``TFOpLambda`` and ``SlicingOpLambda`` (TensorFlow ops recorded as layers) hold no
  weights: they stay in the graph, planned as weightless (Keras 3 itself cannot rebuild
  them).

Keras 1's ``Dense`` (``output_dim``, ``init``, ``bias``, ``input_dim``, and its
``W_regularizer``/``b_regularizer`` ``WeightRegularizer(l1, l2)``, which is ``L1L2``) becomes Keras 2's;
other Keras 1 classes (``Convolution2D``, ``Merge``, ...) are refused, naming the layer.
Initializer configs need no rewriting: Keras 2's form (no ``module``) and Keras 1's names
(``"glorot_uniform"``, ``"normal"``) are what ``keras.initializers.get`` and
:func:`initcli.initializers.get` accept.  Keras 2's ``VarianceScaling(distribution=
"normal")`` meant a truncated normal, and Keras 3 reads it as one too.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import InvalidArgument
from .tf_op_layers import WEIGHTLESS_OPS, op_output

MODEL_CLASSES = ("Sequential", "Functional", "Model")
_RNN_CLASSES = ("LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
_DEPTHWISE = ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D")
_SHAPE_KEYS = ("batch_input_shape", "batch_shape", "input_shape")

Shape = tuple[int | None, ...]


def is_model(entry: Any) -> bool:
    """Whether ``entry`` is a layer entry that describes a whole (nested) model."""
    return isinstance(entry, dict) and entry.get("class_name") in MODEL_CLASSES


def normalize(config: dict[str, Any]) -> dict[str, Any]:
    """The Keras 3 form of a Keras 1/2/3 model config (a new dict; see the module)."""
    model = _plain_shapes(copy.deepcopy(config))
    _model(model)
    return model


def _plain_shapes(value: Any) -> Any:
    """``{"class_name": "TensorShape", "items": [...]}`` (tf.keras SavedModel metadata) as the list."""
    if isinstance(value, dict):
        if value.get("class_name") == "TensorShape" and isinstance(value.get("items"), list) and len(value) == 2:
            return value["items"]
        return {key: _plain_shapes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_shapes(item) for item in value]
    return value


def _where(entry: dict[str, Any]) -> str:
    inner = entry.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    return f"layer {name or entry.get('name')!r} ({entry.get('class_name')})"


def _model(model: dict[str, Any]) -> list[Shape | None] | None:
    """Rewrite a model entry in place; the output shapes of a Functional model (``None`` for a
    Sequential: its output depends on the shape it is called on)."""
    if model.get("class_name") == "Model":
        model["class_name"] = "Functional"
    if "module" not in model:
        model["module"] = "keras.src.models.functional" if model["class_name"] == "Functional" else "keras"
        if model["class_name"] == "Functional":
            model.setdefault("registered_name", "Functional")
    inner = model.get("config")
    if isinstance(inner, list):  # Keras <= 2.1 Sequential: the config is the layer list
        inner = {"name": model.get("name") or "sequential", "layers": inner}
        model["config"] = inner
    if not isinstance(inner, dict):
        raise InvalidArgument(
            f"model config: 'config' is {_short(inner)}; a Keras model config has an object or a layer list there"
        )
    layers = inner.get("layers")
    if not isinstance(layers, list):
        raise InvalidArgument(f"model {inner.get('name')!r}: config has no 'layers' list")
    for entry in layers:
        if isinstance(entry, dict) and isinstance(entry.get("config"), dict):
            _keras1(entry)
    first = layers[0] if layers else None
    first_shape = (
        _first_layer_shape(first["config"])
        if model["class_name"] == "Sequential"
        and isinstance(first, dict)
        and isinstance(first.get("config"), dict)
        and first.get("class_name") not in ("InputLayer", *MODEL_CLASSES)
        else None
    )
    nested: dict[str, list[Shape | None] | None] = {}
    for index, entry in enumerate(layers):
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
            raise InvalidArgument(
                f"model {inner.get('name')!r}: layer entry {index} is {_short(entry)}; "
                "each layer is an object with 'class_name' and 'config'"
            )
        if entry.get("config") is None:
            entry["config"] = {}
        if isinstance(entry["config"], dict) and not entry["config"].get("name") and isinstance(entry.get("name"), str):
            entry["config"]["name"] = entry["name"]  # Keras 2 may keep the name on the entry only
        if not isinstance(entry["config"], dict) and not is_model(entry):
            raise InvalidArgument(f"{_where(entry)}: its config is {_short(entry['config'])}; expected an object")
        if is_model(entry):
            nested[str(entry["config"].get("name") or entry.get("name"))] = _model(entry)
            continue
        _layer(entry)
    if model["class_name"] == "Sequential":
        _sequential_input(layers, first_shape)
        return None
    return _functional(inner, layers, nested)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


KERAS1_CLASSES = (
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
    "AtrousConvolution1D",
    "AtrousConvolution2D",
    "Deconvolution2D",
    "SeparableConvolution2D",
    "MaxoutDense",
    "Highway",
    "TimeDistributedDense",
    "Merge",
)
"""Keras 1 layer classes that Keras 2 renamed or removed."""


def _keras1_regularizer(value: Any) -> dict[str, Any] | None:
    """Keras 1's ``WeightRegularizer(l1, l2)`` as it serialized it (``{"name": "WeightRegularizer",
    "l1": a, "l2": b}``) in Keras 2/3 terms: ``L1L2(l1=a, l2=b)``, the same penalty. None for
    anything else (which is refused by the caller)."""
    if not isinstance(value, dict) or value.get("name") != "WeightRegularizer":
        return None
    if set(value) - {"name", "l1", "l2"}:
        return None
    factors = {key: value.get(key, 0.0) for key in ("l1", "l2")}
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in factors.values()):
        return None
    return {"class_name": "L1L2", "config": {key: float(v) for key, v in factors.items()}}


def _keras1(entry: dict[str, Any]) -> None:
    """Keras 1's Dense (``output_dim``, ``init``, ``bias``, ``input_dim``) in Keras 2 terms;
    other Keras 1 layers are refused with how to convert them."""
    config = entry["config"]
    class_name = entry["class_name"]
    how = "load the model in standalone Keras 2.0-2.2 (which converts Keras 1 configs) and save model.to_json() again"
    if class_name in KERAS1_CLASSES:
        raise InvalidArgument(
            f"{_where(entry)} is a Keras 1 layer class; accepted: Keras 2 and 3 configs and Keras 1 Dense: {how}"
        )
    if "input_dtype" in config:  # Keras 1's name of the input dtype
        dtype = config.pop("input_dtype")
        config.setdefault("dtype", dtype)
    if class_name == "Dropout" and "p" in config and "rate" not in config:
        config["rate"] = config.pop("p")
    if class_name != "Dense" or "output_dim" not in config or "units" in config:
        return
    for key, keras2 in (("W_regularizer", "kernel_regularizer"), ("b_regularizer", "bias_regularizer")):
        regularizer = _keras1_regularizer(config.get(key))
        if regularizer is not None:
            config.pop(key)
            config[keras2] = regularizer
    for key in ("W_regularizer", "b_regularizer", "W_constraint", "b_constraint"):
        if config.get(key) is not None:
            raise InvalidArgument(
                f"{_where(entry)}: Keras 1 {key}={_short(config[key])} is not converted; accepted: null; {how}"
            )
        config.pop(key, None)
    config["units"] = config.pop("output_dim")
    if "init" in config:
        config["kernel_initializer"] = config.pop("init")
    if "bias" in config:
        config["use_bias"] = config.pop("bias")
    input_dim = config.pop("input_dim", None)
    if isinstance(input_dim, int) and "batch_input_shape" not in config:
        config["batch_input_shape"] = [None, input_dim]


_SPATIAL_DROPOUT = ("SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")


def _layer(entry: dict[str, Any]) -> None:
    """Rewrite one (non-model) layer entry's arguments in place."""
    entry.setdefault("module", "keras.layers")
    config = entry["config"]
    class_name = entry["class_name"]
    if class_name == "InputLayer":
        # the tfjs converter writes a Keras 3 InputLayer's shape as tfjs names it (batchInputShape)
        for key in ("batch_input_shape", "batchInputShape"):
            if key in config and "batch_shape" not in config:
                config["batch_shape"] = config.pop(key)
        return
    shaped = any(key in config for key in _SHAPE_KEYS)
    for key in _SHAPE_KEYS:
        config.pop(key, None)  # Keras 2 records the model's input shape on layers; Keras 3 refuses it
    if class_name == "Embedding" and shaped:
        # Keras 2's Embedding(input_length) is its input shape, recorded in batch_input_shape as
        # well; Keras 3 ignores the argument with a deprecation warning at every load
        config.pop("input_length", None)
    if class_name in _RNN_CLASSES and "time_major" in config:
        if config["time_major"]:
            raise InvalidArgument(
                f"{_where(entry)}: time_major={config['time_major']!r} has no Keras 3 equivalent; "
                "accepted: time_major false (batch-major inputs)"
            )
        del config["time_major"]
    for key, value in config.items():
        if key.endswith("_initializer") and isinstance(value, dict) and isinstance(value.get("config"), dict):
            # tf.keras 1.x-era initializers took a dtype (Keras 2.2.4-tf wrote it); Keras 3's take
            # the dtype when called, from the layer, and refuse it as an argument
            value["config"].pop("dtype", None)
    if class_name in _SPATIAL_DROPOUT:
        # Keras 2 wrote the base layer's trainable and Dropout's noise_shape (which the spatial
        # dropouts ignore, computing their own); Keras 3's SpatialDropout refuses both arguments
        config.pop("trainable", None)
        config.pop("noise_shape", None)
    if class_name in _DEPTHWISE and "groups" in config:
        if config["groups"] not in (1, None):
            raise InvalidArgument(
                f"{_where(entry)}: groups={config['groups']!r}; a depthwise or separable convolution "
                "accepts groups 1 only"
            )
        del config["groups"]
    if class_name in _DEPTHWISE:
        for key in ("kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            config.pop(key, None)  # Keras 2's Conv base arguments, unused by these layers
    if class_name == "BatchNormalization" and isinstance(config.get("axis"), list) and len(config["axis"]) == 1:
        config["axis"] = config["axis"][0]
    if class_name == "MultiHeadAttention":
        shapes = {key: config.pop(key) for key in ("query_shape", "value_shape", "key_shape") if key in config}
        if shapes.get("query_shape") is not None and shapes.get("value_shape") is not None:
            # Keras 2.13+'s build_config holds the query shape only; Keras 3's holds all three
            entry["build_config"] = {"shapes_dict": {k: v for k, v in shapes.items() if v is not None}}
        if config.get("softmax_robust_masking") is False:
            del config["softmax_robust_masking"]
    for key in ("layer", "backward_layer", "cell"):
        inner = config.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("class_name"), str):
            inner.setdefault("config", {})
            if isinstance(inner["config"], dict):
                _layer(inner)


def _first_layer_shape(config: dict[str, Any]) -> list[Any] | None:
    for key in ("batch_input_shape", "batch_shape"):
        if isinstance(config.get(key), list):
            return list(config[key])
    if isinstance(config.get("input_shape"), list):
        return [None, *config["input_shape"]]
    return None


def _sequential_input(layers: list[dict[str, Any]], shape: list[Any] | None) -> None:
    """An ``InputLayer`` for a Sequential whose first layer carried the input shape."""
    if shape is None:
        return
    first = layers[0]
    dtype = first["config"].get("dtype")
    input_config: dict[str, Any] = {"batch_shape": shape, "name": f"{first['config'].get('name', 'input')}_input"}
    if isinstance(dtype, str):
        input_config["dtype"] = dtype
    layers.insert(0, {"module": "keras.layers", "class_name": "InputLayer", "config": input_config})


# --- Functional graphs ------------------------------------------------------------------------------


def _is_legacy_node(node: Any) -> bool:
    return isinstance(node, list)


def _tensor_ref(value: Any, names: set[str]) -> tuple[str, int, int] | None:
    """``["layer", node, tensor]`` (optionally with a kwargs dict) naming a layer of the model."""
    if _is_triple(value) and value[0] in names:
        return value[0], value[1], value[2]
    return None


def _is_triple(value: Any) -> bool:
    """Whether ``value`` has the shape of a Keras 2 tensor reference: ``["layer", node, tensor]``,
    optionally with a kwargs dict."""
    return (
        isinstance(value, list)
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and isinstance(value[2], int)
    )


def _own_input_node(entry: dict[str, Any]) -> bool:
    """Keras 2's ``_should_skip_first_node``: a nested Functional, or a Sequential built with an
    input shape, has a node of its own first, which configs leave out but count."""
    if entry["class_name"] == "Functional":
        return True
    layers = entry["config"].get("layers") or []
    return bool(layers) and isinstance(layers[0], dict) and layers[0].get("class_name") == "InputLayer"


def _shift_refs(value: Any, shifted: set[str]) -> Any:
    """Keras 2 references to nested models' call nodes, renumbered as Keras 3 numbers them."""
    if _is_triple(value):
        if value[0] in shifted:
            if value[1] < 1:
                raise InvalidArgument(
                    f"a call node reads node {value[1]} of the nested model {value[0]!r}; Keras 2 numbers "
                    "a nested model's calls from 1 (node 0 is its own input)"
                )
            value = [value[0], value[1] - 1, *value[2:]]
        return [*value[:3], *(_shift_refs(v, shifted) for v in value[3:])]
    if isinstance(value, list):
        return [_shift_refs(v, shifted) for v in value]
    if isinstance(value, dict):
        return {k: _shift_refs(v, shifted) for k, v in value.items()}
    return value


def _functional(
    inner: dict[str, Any], layers: list[dict[str, Any]], nested: dict[str, list[Shape | None] | None]
) -> list[Shape | None] | None:
    """Keras 2 call nodes into Keras 3 ones, with every tensor's shape propagated; the model's
    output shapes (``None`` each where unknown), or ``None`` if it has no Keras 2 nodes."""
    by_name: dict[str, dict[str, Any]] = {}
    for entry in layers:
        name = entry["config"].get("name") if isinstance(entry["config"], dict) else None
        name = name or entry.get("name")
        if not isinstance(name, str):
            raise InvalidArgument(f"{_where(entry)}: a Functional model's layer needs a 'name'")
        if name in by_name:
            raise InvalidArgument(f"two layers are named {name!r}; the names in a model must be unique")
        by_name[name] = entry
    names = set(by_name)
    legacy = [
        (name, index)
        for name, entry in by_name.items()
        for index, node in enumerate(entry.get("inbound_nodes") or [])
        if _is_legacy_node(node)
    ]
    if not legacy:
        return None
    shifted = {name for name, entry in by_name.items() if is_model(entry) and _own_input_node(entry)}
    if shifted:
        for name, index in legacy:
            nodes = by_name[name]["inbound_nodes"]
            nodes[index] = _shift_refs(nodes[index], shifted)
        for key in ("input_layers", "output_layers"):
            if isinstance(inner.get(key), list):
                inner[key] = _shift_refs(inner[key], shifted)
    produced: dict[tuple[str, int], list[Shape | None]] = {}
    dtypes: dict[str, str] = {}
    for name, entry in by_name.items():
        if entry["class_name"] == "InputLayer":
            shape = entry["config"].get("batch_shape")
            produced[(name, 0)] = [tuple(shape) if isinstance(shape, list) else None]
            dtype = entry["config"].get("dtype")
            dtypes[name] = dtype if isinstance(dtype, str) else "float32"
    waiting = list(legacy)
    while waiting:
        progress = False
        for name, index in list(waiting):
            entry = by_name[name]
            node = entry["inbound_nodes"][index]
            refs = _node_refs(node, names)
            if any((layer, node_index) not in produced for layer, node_index, _ in refs):
                continue
            converted, inputs = _convert_node(node, names, produced, dtypes)
            if entry["class_name"] in _STATES and len(inputs) > 1 and "initial_state" not in converted["kwargs"]:
                # Keras 2 records rnn(x, initial_state=[h, c]) as one node of the tensors x, h, c
                tensors = converted["args"][0]
                converted = {"args": [tensors[0]], "kwargs": {**converted["kwargs"], "initial_state": tensors[1:]}}
                inputs = inputs[:1]
            entry["inbound_nodes"][index] = converted
            produced[(name, index)] = _outputs_of(entry, inputs, converted["kwargs"], nested)
            dtype = entry["config"].get("dtype") if isinstance(entry["config"], dict) else None
            dtypes.setdefault(name, dtype if isinstance(dtype, str) else "float32")
            waiting.remove((name, index))
            progress = True
        if not progress:
            name, index = waiting[0]
            missing = [
                layer
                for layer, node_index, _ in _node_refs(by_name[name]["inbound_nodes"][index], names)
                if (layer, node_index) not in produced
            ]
            raise InvalidArgument(
                f"{_where(by_name[name])}: its input comes from {missing[0]!r}, which is not computed before it "
                "(a cycle, or a call node that does not exist); the graph must run from the inputs to the outputs"
            )
    outputs = inner.get("output_layers")
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], str):
        outputs = [outputs]
    shapes: list[Shape | None] = []
    for ref in outputs if isinstance(outputs, list) else []:
        found = _tensor_ref(ref, names)
        known = produced.get((found[0], found[1])) if found else None
        shapes.append(known[found[2]] if known and found and found[2] < len(known) else None)
    return shapes


def _node_refs(node: Any, names: set[str]) -> list[tuple[str, int, int]]:
    """Every tensor a Keras 2 call node reads (positional, then in its kwargs)."""
    triples = _triples(node)
    unknown = [t[0] for t in triples if t[0] not in names]
    if unknown:
        raise InvalidArgument(
            f"a call node reads {unknown[0]!r}, which is not a layer of the model; accepted: one of {sorted(names)[:8]}"
        )
    return [(t[0], t[1], t[2]) for t in triples]


def _triples(node: Any) -> list[list[Any]]:
    """Every ``["layer", node, tensor]`` (optionally with a kwargs dict, itself searched) in a
    Keras 2 call node, in order."""
    found: list[list[Any]] = []

    def walk(value: Any) -> None:
        if _is_triple(value):
            found.append(value)
            if len(value) == 4:
                walk(value[3])
            return
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(node)
    return found


def _keras_tensor(
    ref: tuple[str, int, int], produced: dict[tuple[str, int], list[Shape | None]], dtypes: dict[str, str]
) -> tuple[dict[str, Any], Shape | None]:
    layer, node_index, tensor_index = ref
    outputs = produced[(layer, node_index)]
    if not 0 <= tensor_index < len(outputs):
        raise InvalidArgument(
            f"a call node reads output {tensor_index} of {layer!r}, which has {len(outputs)} output(s)"
        )
    shape = outputs[tensor_index]
    tensor = {
        "class_name": "__keras_tensor__",
        "config": {
            "shape": list(shape) if shape is not None else None,
            "dtype": dtypes.get(layer, "float32"),
            "keras_history": [layer, node_index, tensor_index],
        },
    }
    return tensor, shape


def _convert_node(
    node: list[Any],
    names: set[str],
    produced: dict[tuple[str, int], list[Shape | None]],
    dtypes: dict[str, str],
) -> tuple[dict[str, Any], list[Shape | None]]:
    """A Keras 2 node as Keras 3's ``{"args", "kwargs"}``, and its input shapes in call order."""
    items = [node] if _tensor_ref(node, names) is not None else node  # TFOpLambda: the node is one tensor
    tensors: list[dict[str, Any]] = []
    shapes: list[Shape | None] = []
    kwargs: dict[str, Any] = {}
    for item in items:
        ref = _tensor_ref(item, names)
        if ref is None:
            raise InvalidArgument(f"a call node holds {_short(item)}; expected [layer name, node, tensor, kwargs]")
        tensor, shape = _keras_tensor(ref, produced, dtypes)
        tensors.append(tensor)
        shapes.append(shape)
        if len(item) == 4 and isinstance(item[3], dict):
            kwargs.update(item[3])
    keyed: list[Shape | None] = []

    def convert(value: Any) -> Any:
        ref = _tensor_ref(value, names)
        if ref is not None:
            tensor, shape = _keras_tensor(ref, produced, dtypes)
            keyed.append(shape)
            return tensor
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    kwargs = {key: convert(value) for key, value in kwargs.items()}
    args: list[Any] = [tensors[0]] if len(tensors) == 1 else [tensors]
    if len(tensors) == 1 and "value" in kwargs:
        shapes = shapes + keyed[:1]
    return {"args": args, "kwargs": kwargs}, shapes


def _sequential_output(entry: dict[str, Any], shape: Shape | None) -> Shape | None:
    """The output shape of a nested Sequential called on ``shape`` (``None`` if not computed)."""
    for layer in entry["config"].get("layers") or []:
        if shape is None:
            return None
        if layer["class_name"] == "InputLayer":
            continue
        if layer["class_name"] == "Sequential":
            shape = _sequential_output(layer, shape)
            continue
        outputs = _outputs_of(layer, [shape])
        shape = outputs[0] if len(outputs) == 1 else None
    return shape


def _outputs_of(
    entry: dict[str, Any],
    inputs: list[Shape | None],
    kwargs: dict[str, Any] | None = None,
    nested: dict[str, list[Shape | None] | None] | None = None,
) -> list[Shape | None]:
    """The output shapes of one call of a layer (``None`` where they cannot be known)."""
    from .layers import RULES

    class_name = entry["class_name"]
    if class_name in WEIGHTLESS_OPS:
        return op_output(entry, inputs, kwargs or {})
    if class_name == "Sequential":
        return [_sequential_output(entry, inputs[0] if len(inputs) == 1 else None)]
    if is_model(entry):
        return (nested or {}).get(str(entry["config"].get("name"))) or [None]
    if any(shape is None for shape in inputs):
        return [None]
    rule = RULES.get(class_name)
    if rule is None:
        return [None]
    try:
        built = rule(entry["config"], *inputs)
    except InvalidArgument:
        return [None]  # the planner reports it, naming the layer
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        return [None]
    output = built.output
    if isinstance(output, list):
        return [tuple(o) if o is not None else None for o in output]
    shapes = [tuple(output) if output is not None else None]
    states = _STATES.get(class_name, 0)
    if states and entry["config"].get("return_state") and isinstance(entry["config"].get("units"), int):
        # [output, *states]: an encoder's final states feed a decoder's initial_state
        shapes += [(inputs[0][0], entry["config"]["units"])] * states
    return shapes


_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}
"""How many state tensors a recurrent layer called with return_state returns after its output."""
