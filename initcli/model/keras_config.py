"""Plans from Keras model configs: the JSON of ``model.to_json()`` or the ``config.json`` of a ``.keras``.

Every layer's input shape comes from, in order of preference, its
``build_config`` (what Keras built it with), the shapes of the tensors in
its first ``inbound_nodes`` call (Functional models), or propagation from
the model's input through the layers before it (Sequential models).  Each
layer's weights come from :mod:`initcli.model.layers`; nested models and
their layers get Keras's nested paths (``layers/sequential/layers/dense``).

Keras 3 names each entry of a model's layer list by its class in snake
case with a per-class counter (``dense``, ``dense_1``); a Sequential model's
list leaves out its ``InputLayer``, a Functional model's keeps it.  That is
the ``.weights.h5`` layout; the legacy ``.h5`` layout groups by
``layer.name``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..dtypes import resolve_dtype
from ..errors import InvalidArgument
from ..initializers.registry import to_snake_case
from . import sources
from .catalog import class_hint
from .config_checks import check_model_config
from .functional_order import functional_layer_order
from .layers import RULES, Built
from .layers.base import UnknownShape
from .legacy_configs import MODEL_CLASSES, normalize
from .plan import LayerPlan, ModelPlan, WeightPlan, h5_group
from .tf_op_layers import WEIGHTLESS_OPS


def load_model_config(path: str | Path) -> dict[str, Any]:
    """The model config in any model file initcli reads (see :mod:`initcli.model.sources`)."""
    return sources.load_model_config(path)


def plan_from_keras_config(config: dict[str, Any]) -> ModelPlan:
    """The plan of every weight of the model described by ``config`` (Keras 1, 2 or 3 form:
    see :mod:`initcli.model.legacy_configs`); the plan keeps the Keras 3 form of the config."""
    try:
        check_model_config(config)
        config = normalize(config)
        inner = config.get("config") or {}
        name = inner.get("name", "model")
        layers = _model_layers(config, prefix="", path_prefix="", model_dtype=_dtype_of(inner, "float32"))
    except InvalidArgument:
        raise
    except RecursionError:
        raise InvalidArgument("the model config is nested too deeply to be a model") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError) as error:
        raise InvalidArgument(f"the model config is malformed: {_describe(error)}") from None
    plan = ModelPlan(name=name, layers=layers, keras_config=config)
    plan.check()
    return plan


def _describe(error: Exception) -> str:
    """What went wrong reading a config, in the config's terms (no Python exception names)."""
    if isinstance(error, KeyError):
        return f"a required key {error.args[0]!r} is missing"
    if isinstance(error, AttributeError | TypeError):
        return "an entry has the wrong kind of value (an object, list, string or number where another is expected)"
    return " ".join(str(error).split()) or "a value cannot be read"


def _config_problem(error: Exception) -> str:
    """A layer rule's failure in the config's terms."""
    if isinstance(error, ArithmeticError):
        return "a size, stride or rate of 0"
    if isinstance(error, IndexError):
        return "an axis or a tuple beyond the input's rank"
    if isinstance(error, ValueError) and "invalid literal" in str(error):
        return "a number written as a string " + str(error).rsplit(":", 1)[-1].strip()
    return "a value of the wrong kind (null, a list, an object or a string where a number is expected)"


def _dtype_of(config: dict[str, Any], default: str) -> str:
    policy = config.get("dtype")
    if policy is None:
        return default
    name = policy.get("config", {}).get("name") if isinstance(policy, dict) else policy
    if not isinstance(name, str):
        return default
    if name.startswith("mixed_"):
        return "float32"
    return name


def _variable_dtype(class_name: object, config: dict[str, Any], sub: str, default: str) -> str:
    """The dtype of the variable at ``sub`` (its path under the layer) of a layer of ``class_name``.

    A wrapper's variables belong to the layer it wraps, whose own dtype policy decides: Keras 3
    rebuilds the wrapped layer from its own config and does not pass the wrapper's policy on (a
    ``TimeDistributed(dtype="bfloat16")`` around a float32 ``Dense`` keeps float32 variables).
    SpectralNormalization's ``vector_u`` takes the kernel's dtype; a Bidirectional's backward layer
    is the forward one's config unless it has its own."""
    if class_name in ("TimeDistributed", "SpectralNormalization"):
        inner = config.get("layer")
        if isinstance(inner, dict):
            rest = sub.split("/", 1)[1] if sub.startswith("layer/") else ""
            return _variable_dtype(inner.get("class_name"), inner.get("config") or {}, rest, default)
    if class_name == "Bidirectional":
        head, _, rest = sub.partition("/")
        inner = config.get("layer") if head == "forward_layer" else None
        if head == "backward_layer":
            inner = config.get("backward_layer") or config.get("layer")
        if isinstance(inner, dict):
            return _variable_dtype(inner.get("class_name"), inner.get("config") or {}, rest, default)
    return _dtype_of(config, default)


def _model_layers(model: dict[str, Any], prefix: str, path_prefix: str, model_dtype: str) -> list[LayerPlan]:
    kind = model["class_name"]
    config = model.get("config") or {}
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise InvalidArgument(f"model {config.get('name')!r}: config has no 'layers' list")
    if kind != "Sequential":
        entries = functional_layer_order(config) or entries
    counters: dict[str, int] = {}
    plans: list[LayerPlan] = []
    current: Any = _sequential_input(model) if kind == "Sequential" else None
    for entry in entries:
        class_name = entry.get("class_name")
        layer_config = entry.get("config") or {}
        name = layer_config.get("name") or to_snake_case(str(class_name))
        if is_ops_node(entry):
            continue  # a keras.ops call in a Functional graph: not a layer, no weights, no group
        if class_name == "InputLayer":
            shape = layer_config.get("batch_shape") or layer_config.get("batch_input_shape")
            current = tuple(shape) if shape else current
            if kind == "Sequential":
                continue
        h5_object = h5_group(counters, str(class_name), prefix)
        layer = LayerPlan(name=name, class_name=str(class_name), h5_object=h5_object, h5_names={h5_object: name})
        if class_name == "InputLayer":
            plans.append(layer)
            continue
        if class_name in MODEL_CLASSES:
            for sub in _model_layers(entry, f"{h5_object}/", f"{path_prefix}{name}/", model_dtype):
                layer.weights.extend(sub.weights)
                layer.h5_names.update(sub.h5_names)
            current = UnknownShape(  # weightless layers pass it on; the next with weights needs its build_config
                f"the output shape of the nested model {name!r} is not computed by initcli; give the layers "
                "after it a build_config with their input_shape"
            )
            plans.append(layer)
            continue
        if class_name in WEIGHTLESS_OPS:  # a TensorFlow op recorded as a layer (Keras 2): no weights
            current = None
            plans.append(layer)
            continue
        rule = RULES.get(str(class_name))
        if rule is None:
            raise InvalidArgument(
                f"layer {name!r} of class {class_name!r} is not supported by initcli yet{class_hint(str(class_name))}; "
                "no file was written (see 'initcli layers' for the supported layers)"
            )
        inputs = _input_shapes(entry, current)
        if inputs is None or (inputs and inputs[0] is None):
            raise InvalidArgument(
                f"layer {name!r} ({class_name}): its input shape is unknown (no build_config, and "
                f"{_unknown_source(entry)}); give the layer a build_config with its input_shape"
            )
        try:
            built: Built = rule(layer_config, *inputs)
        except KeyError as error:
            raise InvalidArgument(f"layer {name!r} ({class_name}): its config lacks {error.args[0]!r}") from None
        except (TypeError, ValueError, IndexError, ArithmeticError, AttributeError) as error:
            if isinstance(error, InvalidArgument):
                raise
            shapes = ", ".join(str(tuple(shape)) if shape is not None else "unknown" for shape in inputs)
            raise InvalidArgument(
                f"layer {name!r} ({class_name}): cannot build it from its config on input shape {shapes}: "
                f"{_config_problem(error)}; accepted: the values Keras's {class_name} takes (positive integers "
                "for sizes, strides and rates)"
            ) from None
        _check_shapes(name, str(class_name), inputs, built)
        # a weightless layer's dtype (Hashing's int64, a lookup's string) names no weight
        dtypes = {
            weight.sub: resolve_dtype(_variable_dtype(class_name, layer_config, weight.sub or "", model_dtype))
            for weight in built.weights
        }
        current = built.output
        per_object: dict[str, int] = {}
        for sub_path, sub_name in built.sub_names.items():
            layer.h5_names[f"{h5_object}/{sub_path}"] = sub_name
        for weight in built.weights:
            obj = f"{h5_object}/{weight.sub}" if weight.sub else h5_object
            index = per_object.get(obj, 0)
            per_object[obj] = index + 1
            layer.weights.append(
                WeightPlan(
                    name=weight.name,
                    path=f"{path_prefix}{name}/{weight.name}",
                    shape=weight.shape,
                    dtype=resolve_dtype(weight.dtype, integers=True) if weight.dtype else dtypes[weight.sub],
                    pieces=weight.pieces,
                    h5_object=obj,
                    h5_index=index,
                    trainable=weight.trainable,
                    seed_path=f"{path_prefix}{name}/{weight.seed_name}" if weight.seed_name else None,
                    alias_of=f"{path_prefix}{name}/{weight.alias_of}" if weight.alias_of else None,
                )
            )
        plans.append(layer)
    return plans


def is_ops_node(entry: dict[str, Any]) -> bool:
    """A ``keras.ops`` call recorded in a Functional graph (``x + 3.0``, ``ops.reshape``, the mask of
    ``Embedding(mask_zero=True)``): Keras 3 saves it as an entry whose ``module`` is
    ``keras.src.ops.*``.  It is an ``Operation``, not a ``Layer``: it holds no weights and is left out
    of ``model.layers``, so it takes no ``.weights.h5`` group and no per-class counter (its class
    names, ``Add``, ``Multiply``, ``Reshape``, are those of layers: the module tells them apart)."""
    module = entry.get("module")
    return isinstance(module, str) and (module.startswith("keras.src.ops.") or module.startswith("keras.ops"))


def _check_shapes(name: str, class_name: str, inputs: Any, built: Built) -> None:
    """A weight or output dimension below 1 means the config cannot be built (Keras refuses it too)."""
    for weight in built.weights:
        if any(d < 0 for d in weight.shape):
            raise InvalidArgument(
                f"layer {name!r} ({class_name}): weight {weight.name} would have shape {weight.shape}"
            )
    outputs = built.output if isinstance(built.output, list) else [built.output]
    for output in outputs:
        if output is not None and any(d is not None and d <= 0 for d in output[1:]):
            raise InvalidArgument(
                f"layer {name!r} ({class_name}): computed output shape {tuple(output)} is zero or negative "
                f"for input shape {tuple(inputs[0])}"
            )


def _sequential_input(model: dict[str, Any]) -> Any:
    config = model.get("config") or {}
    shape = config.get("build_input_shape") or (model.get("build_config") or {}).get("input_shape")
    return tuple(shape) if shape else None


def _input_shapes(entry: dict[str, Any], current: Any) -> list[tuple[int | None, ...]] | None:
    build = entry.get("build_config") or {}
    if "input_shape" in build and build["input_shape"] is not None:
        shape = build["input_shape"]
        if shape and isinstance(shape[0], list):
            return [tuple(s) for s in shape]
        return [tuple(shape)]
    if build.get("shapes_dict"):  # an empty one: build() took no shape (Embedding): read the call's tensors
        shapes = build["shapes_dict"]
        if "sequences_shape" in shapes:  # an RNN called with initial_state: build(sequences_shape, ...)
            return [tuple(shapes["sequences_shape"])]
        ordered = [shapes.get("query_shape"), shapes.get("value_shape"), shapes.get("key_shape")]
        return [tuple(s) if s is not None else None for s in ordered]  # type: ignore[misc]
    nodes = entry.get("inbound_nodes") or []
    if nodes:
        tensors: list[tuple[int | None, ...]] = []
        _collect_tensor_shapes(nodes[0].get("args", []), tensors)
        keyed = nodes[0].get("kwargs", {}) or {}
        key_tensors: list[tuple[int | None, ...]] = []
        if isinstance(keyed, dict) and "key" in keyed:
            _collect_tensor_shapes(keyed["key"], key_tensors)
        if tensors:
            if entry.get("class_name") == "MultiHeadAttention":
                if len(tensors) == 1 and isinstance(keyed, dict) and "value" in keyed:
                    _collect_tensor_shapes(keyed["value"], tensors)
                return [*tensors[:2], *(key_tensors[:1] or [None])]  # type: ignore[list-item]
            return tensors
    if current is not None:
        return [current]
    return None


def _unknown_source(entry: dict[str, Any]) -> str:
    """Why a layer's input shape is unknown: the layer it reads, when its output shape is not computed."""
    sources: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("class_name") == "__keras_tensor__":
                if not isinstance(value["config"].get("shape"), list):
                    sources.append(str(value["config"]["keras_history"][0]))
                return
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk((entry.get("inbound_nodes") or [None])[0])
    if sources:
        return f"initcli cannot compute the output shape of {sources[0]!r}, which it reads"
    return "no shapes in its inbound nodes"


def _collect_tensor_shapes(value: Any, out: list[tuple[int | None, ...]]) -> None:
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            shape = value["config"].get("shape")
            out.append(tuple(shape) if isinstance(shape, list) else None)  # type: ignore[arg-type]
            return
        for item in value.values():
            _collect_tensor_shapes(item, out)
    elif isinstance(value, list):
        for item in value:
            _collect_tensor_shapes(item, out)
