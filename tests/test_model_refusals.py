"""``initcli model`` refuses what Keras refuses, in one line, instead of coercing it.

Each hostile case mutates a small valid model config, in Keras 3 form (made by real Keras) and in
Keras 2 form (``to_json()`` of Keras 2.4: ``batch_input_shape`` on the first layer, Keras 2 call
nodes): ``units`` of 4.7 or ``"4"``, an input dimension of 8.5, ``"8"`` or ``true``, two layers with
one name, a cyclic graph, a call node or ``output_layers`` naming a layer the model lacks.  The CLI
must exit 2 with one ``initcli: error:`` line naming the layer or key, the bad value and what is
accepted, and write nothing; real Keras 3.15 refuses the same Keras 3 configs (``true`` aside: Keras
reads it as 1, a coercion initcli does not make).
"""

from __future__ import annotations

import copy
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from initcli.errors import InvalidArgument
from initcli.model.keras_config import plan_from_keras_config

from .helpers import json_paths, run_in_process, run_subprocess

PYTHON_ERROR = re.compile(r"Error\b|Traceback|internal error|Exception|object has no|not subscriptable")


def _dense(name: str, units: int, **extra):
    config = {
        "name": name,
        "trainable": True,
        "dtype": "float32",
        "units": units,
        "activation": "linear",
        "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": 1}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        **extra,
    }
    return {"class_name": "Dense", "config": config}


def keras2_sequential():
    return {
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": [_dense("d1", 4, batch_input_shape=[None, 8]), _dense("d2", 2)]},
        "keras_version": "2.4.0",
        "backend": "tensorflow",
    }


def keras2_functional():
    d1, d2 = _dense("d1", 4), _dense("d2", 2)
    d1.update(name="d1", inbound_nodes=[[["x", 0, 0, {}]]])
    d2.update(name="d2", inbound_nodes=[[["d1", 0, 0, {}]]])
    inputs = {"class_name": "InputLayer", "name": "x", "inbound_nodes": []}
    inputs["config"] = {"batch_input_shape": [None, 8], "dtype": "float32", "sparse": False, "name": "x"}
    return {
        "class_name": "Functional",
        "config": {
            "name": "model",
            "layers": [inputs, d1, d2],
            "input_layers": [["x", 0, 0]],
            "output_layers": [["d2", 0, 0]],
        },
        "keras_version": "2.4.0",
        "backend": "tensorflow",
    }


@pytest.fixture(scope="module")
def bases(keras):
    """The four valid configs the hostile cases mutate."""
    layers = keras.layers
    inputs = keras.Input((8,), name="x")
    functional = keras.Model(inputs, layers.Dense(2, name="d2")(layers.Dense(4, name="d1")(inputs)))
    sequential = keras.Sequential([keras.Input((8,)), layers.Dense(4, name="d1"), layers.Dense(2, name="d2")])
    return {
        "k3func": json.loads(functional.to_json()),
        "k3seq": json.loads(sequential.to_json()),
        "k2func": keras2_functional(),
        "k2seq": keras2_sequential(),
    }


def _layers(config):
    inner = config["config"]
    return inner if isinstance(inner, list) else inner["layers"]


def _layer(config, name):
    return next(entry for entry in _layers(config) if entry["config"].get("name") == name)


def _set_units(value):
    def mutate(config):
        _layer(config, "d1")["config"]["units"] = value

    return mutate


def _set_input_dim(value):
    """The input's last dimension, everywhere the config records it (as a user editing it would)."""

    def mutate(config):
        for path in list(json_paths(config)):
            if len(path) >= 2 and path[-2] in ("batch_shape", "batch_input_shape", "input_shape", "shape"):
                parent = config
                for key in path[:-1]:
                    parent = parent[key]
                if path[-1] == len(parent) - 1 and parent[-1] == 8:
                    parent[-1] = value
        if isinstance(config["config"], dict) and config["config"].get("build_input_shape"):
            config["config"]["build_input_shape"][-1] = value

    return mutate


def _duplicate_name(config):
    _layer(config, "d2")["config"]["name"] = "d1"
    entry = _layers(config)[-1]
    if "name" in entry:
        entry["name"] = "d1"
    if isinstance(config["config"], dict) and "output_layers" in config["config"]:
        outputs = config["config"]["output_layers"]
        (outputs[0] if isinstance(outputs[0], list) else outputs)[:2] = ["d1", 1]


def _read(source, target):
    """d-layer ``target`` reads ``source`` instead of what it read."""

    def mutate(config):
        node = _layer(config, target)["inbound_nodes"][0]
        if isinstance(node, dict):
            node["args"][0]["config"]["keras_history"][0] = source
        else:
            node[0][0] = source

    return mutate


def _read_node(node_index):
    """d2 reads call node ``node_index`` of d1, which is called once."""

    def mutate(config):
        node = _layer(config, "d2")["inbound_nodes"][0]
        if isinstance(node, dict):
            node["args"][0]["config"]["keras_history"][1] = node_index
        else:
            node[0][1] = node_index

    return mutate


def _output_node(config):
    outputs = config["config"]["output_layers"]
    (outputs[0] if isinstance(outputs[0], list) else outputs)[1] = 2


def _missing_output(config):
    outputs = config["config"]["output_layers"]
    (outputs[0] if isinstance(outputs[0], list) else outputs)[0] = "nope"


MUTATIONS = {
    "units=4.7": (_set_units(4.7), ["'d1'", "units", "4.7", "positive integer"]),
    "units='4'": (_set_units("4"), ["'d1'", "units", "'4'", "positive integer"]),
    "units=4.0": (_set_units(4.0), ["'d1'", "units", "4.0", "positive integer"]),
    "units=true": (_set_units(True), ["'d1'", "units", "True", "positive integer"]),
    "units=0": (_set_units(0), ["'d1'", "units", "0", "positive integer"]),
    "units=-2": (_set_units(-2), ["'d1'", "units", "-2", "positive integer"]),
    "units=null": (_set_units(None), ["'d1'", "units", "None", "positive integer"]),
    "units=[4]": (_set_units([4]), ["'d1'", "units", "[4]", "positive integer"]),
    "dim=8.5": (_set_input_dim(8.5), ["shape", "8.5", "float", "integer of at least 0"]),
    "dim=8.0": (_set_input_dim(8.0), ["shape", "8.0", "float", "integer of at least 0"]),
    "dim='8'": (_set_input_dim("8"), ["shape", '"8"', "string", "integer of at least 0"]),
    "dim=true": (_set_input_dim(True), ["shape", "true", "boolean", "integer of at least 0"]),
    "dim=-3": (_set_input_dim(-3), ["shape", "-3", "negative", "integer of at least 0"]),
    "dim=[8]": (_set_input_dim([8]), ["shape", "8", "integer of at least 0"]),
    "duplicate name": (_duplicate_name, ["two layers are named 'd1'", "unique"]),
    "cycle": (_read("d2", "d1"), ["'d1'", "'d2'", "cycle"]),
    "self loop": (_read("d1", "d1"), ["'d1'", "cycle"]),
    "inbound from missing layer": (_read("nope", "d2"), ["'nope'", "not a layer of the model", "'d1'"]),
    "output names missing layer": (_missing_output, ["output_layers", "'nope'", "not a layer of the model", "'d2'"]),
    "inbound node index 5": (_read_node(5), ["'d1'", "node"]),
    "output node index 2": (_output_node, ["output_layers", "'d2'", "node 2"]),
}
FUNCTIONAL_ONLY = {
    "cycle",
    "self loop",
    "inbound from missing layer",
    "output names missing layer",
    "inbound node index 5",
    "output node index 2",
}
CASES = [
    (base, mutation)
    for base in ("k3func", "k3seq", "k2func", "k2seq")
    for mutation in MUTATIONS
    if "func" in base or mutation not in FUNCTIONAL_ONLY
]


def _hostile(bases, base, mutation):
    config = copy.deepcopy(bases[base])
    MUTATIONS[mutation][0](config)
    return config


def _assert_one_line_refusal(result, words, directory):
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initcli: error: "), result.stderr
    assert not PYTHON_ERROR.search(lines[0]), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not (directory / "out.weights.h5").exists()


def test_the_unmutated_configs_plan(bases, tmp_path):
    for name, config in bases.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(config))
        result = run_in_process(["model", f"{name}.json", "--dry-run"], tmp_path)
        assert result.exit_code == 0, (name, result.stderr)


@pytest.mark.parametrize(("base", "mutation"), CASES, ids=[f"{b}-{m}" for b, m in CASES])
def test_keras_refusals_are_refused_in_one_line(bases, tmp_path, base, mutation):
    (tmp_path / "model.json").write_text(json.dumps(_hostile(bases, base, mutation)))
    result = run_in_process(["model", "model.json", "--seed", "1", "-o", "out.weights.h5"], tmp_path)
    _assert_one_line_refusal(result, MUTATIONS[mutation][1], tmp_path)


@pytest.mark.parametrize("mutation", [m for m in MUTATIONS if m not in ("units=true", "dim=true")])
@pytest.mark.parametrize("base", ["k3func", "k3seq"])
def test_keras_itself_refuses_the_keras3_cases(keras, bases, base, mutation):
    if "func" not in base and mutation in FUNCTIONAL_ONLY:
        pytest.skip("a Sequential model has no graph")
    with pytest.raises(Exception):  # noqa: B017 - Keras raises TypeError, ValueError or RuntimeError
        keras.models.model_from_json(json.dumps(_hostile(bases, base, mutation)))


def test_keras_reads_a_true_dimension_as_one(keras, bases):
    """Documented difference: Keras takes ``true`` for a dimension (Python's bool is an int); initcli refuses."""
    model = keras.models.model_from_json(json.dumps(_hostile(bases, "k3func", "dim=true")))
    assert tuple(model.weights[0].shape) == (1, 4)


@pytest.mark.parametrize(
    ("source", "target", "chain"), [("d2", "d1", "'d2' -> 'd1' -> 'd2'"), ("d1", "d1", "'d1' -> 'd1'")]
)
def test_a_keras3_cycle_is_named_layer_by_layer(bases, tmp_path, source, target, chain):
    config = copy.deepcopy(bases["k3func"])
    _read(source, target)(config)
    (tmp_path / "model.json").write_text(json.dumps(config))
    result = run_in_process(["model", "model.json", "--dry-run"], tmp_path)
    _assert_one_line_refusal(result, [f"{chain} is a cycle", "has loops"], tmp_path)


def test_a_refusal_through_a_real_process(bases, tmp_path):
    (tmp_path / "model.json").write_text(json.dumps(_hostile(bases, "k2func", "dim=8.5")))
    result = run_subprocess(["model", "model.json", "--seed", "1", "-o", "out.weights.h5"], tmp_path)
    _assert_one_line_refusal(result, ["'x'", "8.5", "float"], tmp_path)


def test_a_duplicate_name_of_weightless_layers_is_refused(keras, tmp_path):
    """Two Dropout layers with one name have no weights whose paths would collide: still refused."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.1, name="drop"), keras.layers.Dense(2)])
    config = json.loads(model.to_json())
    config["config"]["layers"].insert(2, copy.deepcopy(config["config"]["layers"][1]))
    (tmp_path / "model.json").write_text(json.dumps(config))
    result = run_in_process(["model", "model.json", "--seed", "1", "-o", "out.weights.h5"], tmp_path)
    _assert_one_line_refusal(result, ["'drop'", "unique"], tmp_path)


BAD_DIMENSIONS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x >= 0),
    st.integers(max_value=-1),
    st.booleans(),
    st.text(max_size=4),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_bad_dimension_anywhere_is_refused(bases, data):
    """Hypothesis: a non-integer, boolean or negative value put at any shape dimension of any of the four
    configs is an InvalidArgument naming the value, never a plan and never another exception."""
    base = data.draw(st.sampled_from(sorted(bases)))
    config = copy.deepcopy(bases[base])
    dims = [
        path
        for path in json_paths(config)
        if len(path) >= 2
        and path[-2] in ("batch_shape", "batch_input_shape", "input_shape", "shape", "build_input_shape")
        and isinstance(path[-1], int)
    ]
    path = data.draw(st.sampled_from(dims))
    value = data.draw(BAD_DIMENSIONS)
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    with pytest.raises(InvalidArgument) as error:
        plan_from_keras_config(config)
    message = str(error.value)
    assert "\n" not in message and json.dumps(value) in message and "accepted" in message


@pytest.mark.parametrize("value", [8.5, "8", True, -1])
def test_a_keras1_input_dim_keras_refuses_is_refused(tmp_path, value):
    layer = {"class_name": "Dense", "config": {"name": "d", "output_dim": 3, "input_dim": value, "init": "zero"}}
    config = {"class_name": "Sequential", "config": [layer], "keras_version": "1.2.2"}
    (tmp_path / "model.json").write_text(json.dumps(config))
    result = run_in_process(["model", "model.json", "--seed", "1", "-o", "out.weights.h5"], tmp_path)
    _assert_one_line_refusal(result, ["'d' (Dense): input_dim", json.dumps(value), "integer of at least 0"], tmp_path)
