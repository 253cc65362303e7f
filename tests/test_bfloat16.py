"""``--dtype bfloat16`` against real Keras 3.15.1, per backend, live.

What Keras computes (found by measuring; the expected values below always come from Keras itself):

* numpy backend: the float64 draws rounded once to bfloat16 (``ml_dtypes``, round to nearest even);
  Orthogonal draws bfloat16 normals, ``numpy.linalg.qr`` takes them as float64, and Keras returns
  that float64 matrix (a bfloat16 variable rounds it once);
* jax backend: native bfloat16 draws, 7 random bits a value (the low byte of each Threefry word,
  shifted right once), each bfloat16 operation rounded;
* tensorflow backend: native bfloat16 uniforms from the low 7 bits of each Philox word, normals
  that are the float32 ones rounded, then each bfloat16 operation rounded;
* torch backend: the float32 draws rounded (``rand``'s 1.0 becomes 0.0; the last 16 normals of a
  tensor whose size is not a multiple of 16 are the last block of a float32 draw of the next multiple
  of 16), then Keras's scalar steps in bfloat16;
* Orthogonal: Keras raises on jax, tensorflow and torch (no bfloat16 QR there); initcli refuses.

The Keras side runs in a subprocess per backend (:data:`WORKER`, ``KERAS_BACKEND=B``), with the
interpreter running the tests.  jax is a test dependency: its tests fail if it cannot be imported.
The tensorflow and torch tests skip where that backend is not installed unless
``INITCLI_REQUIRE_TENSORFLOW=1`` / ``INITCLI_REQUIRE_TORCH=1`` (torch on CPU, ``KERAS_TORCH_DEVICE=cpu``;
its bfloat16 stream is :mod:`initcli.backends.torch_streams`'s).  Keras's numpy backend imports jax.
Files: ``.weights.h5`` written by the command line are loaded with Keras's own ``load_weights``
into models with bfloat16 variables; ``.npy`` files are compared with ``numpy.save``'s bytes.
"""

from __future__ import annotations

import collections
import importlib.util
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import ml_dtypes
import numpy as np
import pytest

import initcli

from .helpers import keras_env

BF16 = np.dtype(ml_dtypes.bfloat16)
WORKER_TIMEOUT = 600

WORKER = r"""
import json, sys
import numpy as np
import keras

def bits(value):
    value = np.asarray(keras.ops.convert_to_numpy(value))
    return value.view(np.uint16) if value.dtype.name == "bfloat16" else value

request = json.load(open(sys.argv[1]))
out, errors = {}, {}
for i, case in enumerate(request["cases"]):
    cls = getattr(keras.initializers, case["class_name"])
    config = dict(case["config"])
    try:
        if case.get("draw", 0):
            initializer = cls(seed=keras.random.SeedGenerator(case["seed"]), **config)
            for _ in range(case["draw"] + 1):
                value = initializer(tuple(case["shape"]), dtype=case["dtype"])
        else:
            if case["seed"] is not None:
                config["seed"] = case["seed"]
            value = cls(**config)(tuple(case["shape"]), dtype=case["dtype"])
        out[f"case_{i}"] = bits(value)
        out[f"dtype_{i}"] = np.array(np.asarray(keras.ops.convert_to_numpy(value)).dtype.name)
    except Exception as error:
        errors[str(i)] = f"{type(error).__name__}: {error}"
for i, load in enumerate(request.get("loads", [])):
    inputs = keras.Input(tuple(load["input"]))
    layer = keras.layers.Dense(load["units"], dtype="bfloat16", name="dense")
    model = keras.Model(inputs, layer(inputs))
    if load["path"].endswith(".keras"):
        model = keras.models.load_model(load["path"])
        layer = model.get_layer("dense")
    else:
        model.load_weights(load["path"])
    out[f"load_{i}_kernel"] = bits(layer.kernel.value)
    out[f"load_{i}_bias"] = bits(layer.bias.value)
    out[f"load_{i}_dtype"] = np.array(layer.kernel.dtype)
out["errors"] = np.array(json.dumps(errors))
np.savez(sys.argv[2], **out)
"""

RANDOM = [
    ("RandomUniform", {}),
    ("RandomUniform", {"minval": -3.0, "maxval": 7.0}),
    ("RandomNormal", {}),
    ("RandomNormal", {"mean": 0.1, "stddev": 0.7}),
    ("TruncatedNormal", {}),
    ("TruncatedNormal", {"mean": 0.3, "stddev": 0.05}),
    ("GlorotNormal", {}),
    ("GlorotUniform", {}),
    ("HeNormal", {}),
    ("HeUniform", {}),
    ("LecunNormal", {}),
    ("LecunUniform", {}),
    ("VarianceScaling", {"scale": 2.5, "mode": "fan_avg", "distribution": "untruncated_normal"}),
    ("VarianceScaling", {"scale": 0.3, "mode": "fan_out", "distribution": "truncated_normal"}),
]
DETERMINISTIC = [
    ("Zeros", {}),
    ("Ones", {}),
    ("Constant", {"value": 0.3}),
    ("Constant", {"value": 1.0 + 2**-8 + 2**-20}),  # a tie in float32, not in float64
    ("Identity", {"gain": 0.3}),
]
SHAPES = [(64, 32), (3, 5), (1000, 7), (17,), (3, 3, 8, 16)]
SEEDS = [0, 1, 12345]
SNAKE = {
    "RandomUniform": "random_uniform",
    "RandomNormal": "random_normal",
    "TruncatedNormal": "truncated_normal",
    "GlorotNormal": "glorot_normal",
    "GlorotUniform": "glorot_uniform",
    "HeNormal": "he_normal",
    "HeUniform": "he_uniform",
    "LecunNormal": "lecun_normal",
    "LecunUniform": "lecun_uniform",
    "VarianceScaling": "variance_scaling",
    "Orthogonal": "orthogonal",
    "Zeros": "zeros",
    "Ones": "ones",
    "Constant": "constant",
    "Identity": "identity",
}


def _case(name: str, config: dict, seed: int | None, shape: tuple[int, ...], draw: int = 0) -> dict:
    return {"class_name": name, "config": config, "seed": seed, "draw": draw, "shape": shape, "dtype": "bfloat16"}


def _cases(backend: str) -> list[dict]:
    cases = []
    for name, config in RANDOM:
        cases += [_case(name, config, seed, shape) for shape in SHAPES for seed in SEEDS]
        cases.append(_case(name, config, 7, (40, 9), draw=2))  # the third call with SeedGenerator(7)
    for name, config in DETERMINISTIC:
        cases += [_case(name, config, None, shape) for shape in [(64, 32), (3, 5)]]
    # large tensors: many chunks, several worker threads, table lookups
    cases.append(_case("RandomNormal", {}, 5, ((1 << 19) + 3,)))
    cases.append(_case("GlorotUniform", {}, 5, (700, 900)))
    if backend == "numpy":
        for shape in [(64, 32), (3, 5), (1000, 7), (2, 3, 4)]:
            cases += [_case("Orthogonal", {"gain": gain}, seed, shape) for seed in SEEDS for gain in (1.0, 1.7)]
    return cases


def _backend_available(backend: str) -> bool:
    return backend == "numpy" or importlib.util.find_spec(backend) is not None


def run_keras(backend: str, tmp_path: Path, cases: list[dict], loads: list[dict] = ()) -> dict:
    """Run :data:`WORKER` under ``KERAS_BACKEND=backend``; its arrays, keyed as it saved them."""
    if not _backend_available(backend):
        required = {"tensorflow": "INITCLI_REQUIRE_TENSORFLOW", "torch": "INITCLI_REQUIRE_TORCH"}.get(backend)
        if backend == "jax" or (required and os.environ.get(required) == "1"):
            pytest.fail(f"{backend} is required here but cannot be imported")
        pytest.skip(f"{backend} is not installed")
    request, out = tmp_path / f"request-{backend}.json", tmp_path / f"keras-{backend}.npz"
    request.write_text(json.dumps({"cases": cases, "loads": list(loads)}))
    env = keras_env(backend)
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(request), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as npz:
        return {key: npz[key] for key in npz.files}


def _bits(values: np.ndarray) -> np.ndarray:
    assert values.dtype == BF16, values.dtype
    return values.view(np.uint16)


@pytest.mark.parametrize("backend", ["numpy", "jax", "tensorflow", "torch"])
def test_initializers_bit_for_bit(backend, tmp_path):
    cases = _cases(backend)
    keras_side = run_keras(backend, tmp_path, cases)
    errors = json.loads(str(keras_side["errors"]))
    assert not errors, errors
    mismatched = []
    for i, case in enumerate(cases):
        theirs = keras_side[f"case_{i}"]
        if str(keras_side[f"dtype_{i}"]) == "float64":  # numpy Orthogonal: Keras returns float64; a variable rounds it
            theirs = theirs.astype(BF16).view(np.uint16)
        else:
            assert str(keras_side[f"dtype_{i}"]) == "bfloat16", case
        params = dict(case["config"])
        if case["seed"] is not None:
            params["seed"] = case["seed"]
        ours = initcli.sample(
            SNAKE[case["class_name"]],
            tuple(case["shape"]),
            dtype="bfloat16",
            draw=case.get("draw", 0),
            backend=backend,
            **params,
        )
        if not np.array_equal(_bits(ours).reshape(-1), theirs.reshape(-1)):
            mismatched.append(case)
    assert not mismatched, f"{len(mismatched)} of {len(cases)} cases differ, first {mismatched[:3]}"
    assert len(cases) >= 230


@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_orthogonal_bfloat16_is_refused_where_keras_refuses(backend, tmp_path):
    keras_side = run_keras(
        backend, tmp_path, [{"class_name": "Orthogonal", "config": {}, "seed": 1, "shape": (6, 4), "dtype": "bfloat16"}]
    )
    assert "0" in json.loads(str(keras_side["errors"]))  # Keras raises there
    with pytest.raises(initcli.InvalidArgument, match="bfloat16"):
        initcli.sample("orthogonal", (6, 4), dtype="bfloat16", backend=backend, seed=1)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "initcli", *args], capture_output=True, text=True, cwd=cwd, timeout=WORKER_TIMEOUT
    )


def test_torch_bfloat16_from_the_command_line(tmp_path):
    """--backend torch draws bfloat16 as Keras on torch does (pinned by tests/golden/backend_torch_half.json,
    tests/test_backend_torch.py); the command line writes it as an ml_dtypes bfloat16 .npy."""
    proc = _cli("glorot_normal", "--shape", "4,3", "--dtype", "bfloat16", "--seed", "1", "--backend", "torch",
                "-o", "w.npy", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    written = np.load(tmp_path / "w.npy")  # descr <V2, as numpy.save writes ml_dtypes' bfloat16
    expected = initcli.sample("glorot_normal", (4, 3), dtype="bfloat16", seed=1, backend="torch")
    assert written.dtype == np.dtype("V2") and written.view(BF16).tobytes() == expected.tobytes()
    assert initcli.sample("ones", (2,), dtype="bfloat16", backend="torch").dtype == BF16


@pytest.mark.parametrize("backend", ["numpy", "jax", "tensorflow"])
@pytest.mark.parametrize("suffix", [".weights.h5", ".keras"])
def test_weights_file_loads_into_bfloat16_model(backend, suffix, tmp_path):
    """The command line writes a Dense layer's bfloat16 kernel and bias; Keras's ``load_weights``
    (``load_model`` for ``.keras``) puts them in a bfloat16 model; the kernel is what Keras draws."""
    if not _backend_available(backend):
        run_keras(backend, tmp_path, [])  # skips or fails as the backend requires
    weights = tmp_path / "w.weights.h5"
    for args in (
        ["glorot_uniform", "--shape", "48,20", "--seed", "3", "--path", "layers/dense/vars/0"],
        ["random_normal", "--shape", "20", "--seed", "4", "--stddev", "0.5", "--path", "layers/dense/vars/1"],
    ):
        proc = _cli(*args, "--dtype", "bfloat16", "--backend", backend, "-o", str(weights), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    with h5py.File(weights, "r") as handle:
        dataset = handle["layers/dense/vars/0"]
        assert dataset.dtype == np.dtype("V2") and dataset.attrs["dtype"] == "bfloat16"  # as Keras writes it
    target = weights
    if suffix == ".keras":
        target = tmp_path / "m.keras"
        config = tmp_path / "config.json"
        config.write_text(
            json.dumps(
                {
                    "class_name": "Sequential",
                    "config": {
                        "name": "seq",
                        "layers": [
                            {"class_name": "InputLayer", "config": {"batch_shape": [None, 48], "name": "in"}},
                            {
                                "class_name": "Dense",
                                "config": {
                                    "name": "dense",
                                    "units": 20,
                                    "dtype": "bfloat16",
                                    "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": 3}},
                                    "bias_initializer": {
                                        "class_name": "RandomNormal",
                                        "config": {"seed": 4, "stddev": 0.5},
                                    },
                                },
                            },
                        ],
                    },
                }
            )
        )
        proc = _cli("model", str(config), "--backend", backend, "-o", str(target), cwd=tmp_path)
        if proc.returncode != 0:
            pytest.xfail(f"initcli model with a bfloat16 layer: {proc.stderr.strip()}")
    cases = [
        {"class_name": "GlorotUniform", "config": {}, "seed": 3, "shape": (48, 20), "dtype": "bfloat16"},
        {"class_name": "RandomNormal", "config": {"stddev": 0.5}, "seed": 4, "shape": (20,), "dtype": "bfloat16"},
    ]
    keras_side = run_keras(backend, tmp_path, cases, [{"path": str(target), "input": [48], "units": 20}])
    assert str(keras_side["load_0_dtype"]) == "bfloat16"
    np.testing.assert_array_equal(keras_side["load_0_kernel"], keras_side["case_0"])
    np.testing.assert_array_equal(keras_side["load_0_bias"], keras_side["case_1"])


def test_npy_is_numpy_save_of_the_keras_array(tmp_path):
    """``.npy``: the bytes ``numpy.save`` writes for Keras's bfloat16 array (descr ``<V2``);
    ``numpy.load`` gives 2-byte voids, ``.view(ml_dtypes.bfloat16)`` the values, ``.view(np.uint16)``
    the bits without ml_dtypes."""
    case = {"class_name": "HeNormal", "config": {}, "seed": 9, "shape": (30, 11), "dtype": "bfloat16"}
    keras_side = run_keras("numpy", tmp_path, [case])
    expected = tmp_path / "expected.npy"
    np.save(expected, keras_side["case_0"].view(BF16))
    proc = _cli("he_normal", "--shape", "30,11", "--seed", "9", "--dtype", "bfloat16", "-o", "w.npy", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "w.npy").read_bytes() == expected.read_bytes()
    loaded = np.load(tmp_path / "w.npy")
    assert loaded.dtype == np.dtype("V2")
    np.testing.assert_array_equal(loaded.view(np.uint16), keras_side["case_0"])
    assert loaded.view(BF16).dtype.name == "bfloat16"
    # the float32 values from the bits alone: bfloat16 is the top half of a float32
    as_float32 = (loaded.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(as_float32, keras_side["case_0"].view(BF16).astype(np.float32))


def test_npz_member_is_bfloat16_bits(tmp_path):
    proc = _cli("lecun_uniform", "--shape", "5,6", "--seed", "2", "--dtype", "bfloat16", "-o", "w.npz", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "w.npz") as npz:
        (member,) = npz.files
        stored = npz[member]
    assert stored.dtype == np.dtype("V2")
    expected = initcli.sample("lecun_uniform", (5, 6), dtype="bfloat16", seed=2)
    np.testing.assert_array_equal(stored.view(np.uint16), expected.view(np.uint16))


def test_dtype_names():
    from initcli.dtypes import resolve_dtype

    for name in ("bfloat16", "bf16", "BFloat16", ml_dtypes.bfloat16, BF16):
        assert resolve_dtype(name) == BF16
    assert initcli.sample("ones", (3,), dtype="bf16").dtype == BF16


def _write(tmp_path: Path, *args: str) -> None:
    proc = _cli(*args, "--dtype", "bfloat16", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("target", ["w.weights.h5", "w.npz"])
def test_verify_bfloat16_files(target, tmp_path):
    """``verify`` regenerates bfloat16 tensors from their provenance: identical as written, different
    after one element's bits change (the stored bits are compared, not a float tolerance)."""
    extra = ["--path", "layers/dense/vars/0"] if target.endswith(".h5") else []
    _write(tmp_path, "he_uniform", "--shape", "33,7", "--seed", "4", "-o", target, *extra)
    proc = _cli("verify", target, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 identical, 0 different" in proc.stderr
    if target.endswith(".h5"):
        with h5py.File(tmp_path / target, "r+") as handle:
            dataset = handle["layers/dense/vars/0"]
            bits = np.asarray(dataset[()]).view(np.uint16).copy()
            bits[5, 3] ^= 1  # one unit in the last place
            dataset[...] = bits.view(dataset.dtype)
        proc = _cli("verify", target, cwd=tmp_path)
        assert proc.returncode != 0
        assert "0 identical, 1 different" in proc.stderr


def test_inspect_reads_keras_written_bfloat16(tmp_path):
    """A ``.weights.h5`` that Keras itself saved from a bfloat16 Dense layer: ``inspect`` reads its
    opaque 2-byte datasets as bfloat16, with Keras's values."""
    script = (
        "import keras, numpy as np\n"
        "inputs = keras.Input((12,))\n"
        "layer = keras.layers.Dense(5, dtype='bfloat16', name='dense',"
        " kernel_initializer=keras.initializers.GlorotNormal(seed=1), bias_initializer='ones')\n"
        "model = keras.Model(inputs, layer(inputs))\n"
        "model.save_weights('k.weights.h5')\n"
        "np.save('kernel.npy', np.asarray(layer.kernel.value).view(np.uint16))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "numpy"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = _cli("inspect", "--json", "k.weights.h5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    tensors = {t["name"]: t for t in json.loads(proc.stdout)["tensors"]}
    kernel = tensors["layers/dense/vars/0"]
    assert kernel["dtype"] == "bfloat16" and kernel["shape"] == [12, 5]
    expected = np.load(tmp_path / "kernel.npy").view(BF16).astype(np.float64)
    assert kernel["stats"]["min"] == expected.min() and kernel["stats"]["max"] == expected.max()
    assert tensors["layers/dense/vars/1"]["stats"]["min"] == 1.0
    # and the same numbers are what initcli draws for that kernel
    ours = initcli.sample("glorot_normal", (12, 5), dtype="bfloat16", seed=1)
    np.testing.assert_array_equal(ours.view(np.uint16), np.load(tmp_path / "kernel.npy"))


def test_inspect_npy_bfloat16(tmp_path):
    _write(tmp_path, "constant", "--value", "0.3", "--shape", "4,4", "-o", "c.npy")
    proc = _cli("inspect", "--json", "c.npy", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (tensor,) = json.loads(proc.stdout)["tensors"]
    assert tensor["dtype"] == "bfloat16"
    assert tensor["stats"]["min"] == tensor["stats"]["max"] == float(ml_dtypes.bfloat16(0.3))  # 0.30078125


BATCH = """
name: m
dtype: bfloat16
layers:
  - name: dense
    class: Dense
    weights:
      kernel: {shape: [12, 5], initializer: {class_name: HeNormal, config: {seed: 8}}}
      bias: {shape: [5], initializer: {class_name: RandomUniform, config: {seed: 9}}}
"""


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_batch_config_dtype_bfloat16(backend, tmp_path):
    """A batch config's ``dtype: bfloat16``: Keras's ``load_weights`` fills a bfloat16 model with
    exactly what Keras draws for those initializers."""
    (tmp_path / "m.yaml").write_text(BATCH)
    proc = _cli("batch", "m.yaml", "--backend", backend, "-o", "m.weights.h5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    cases = [_case("HeNormal", {}, 8, (12, 5)), _case("RandomUniform", {}, 9, (5,))]
    keras_side = run_keras(
        backend, tmp_path, cases, [{"path": str(tmp_path / "m.weights.h5"), "input": [12], "units": 5}]
    )
    np.testing.assert_array_equal(keras_side["load_0_kernel"], keras_side["case_0"])
    np.testing.assert_array_equal(keras_side["load_0_bias"], keras_side["case_1"])


def test_legacy_h5_is_laid_out_as_tf_keras_writes_bfloat16(tmp_path):
    """Legacy ``.h5``: 2-byte opaque datasets under ``<layer>/<layer>/<weight>``, as tf_keras 2.21
    writes a bfloat16 layer (it adds no attribute; initcli adds ``dtype = "bfloat16"`` for its
    readers).  tf_keras itself cannot load bfloat16 from a legacy file (``No cast function
    available``), checked below where tf_keras is installed."""
    (tmp_path / "m.yaml").write_text(BATCH)
    proc = _cli("batch", "m.yaml", "-o", "m.h5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "m.h5", "r") as handle:
        kernel = handle["dense/dense/kernel"]
        assert kernel.dtype == np.dtype("V2") and kernel.shape == (12, 5)
        expected = initcli.sample("he_normal", (12, 5), dtype="bfloat16", seed=8)
        np.testing.assert_array_equal(np.asarray(kernel[()]).view(np.uint16), expected.view(np.uint16))
    if importlib.util.find_spec("tf_keras") is None:
        return
    script = (
        "import tf_keras as k\n"
        "m = k.Sequential([k.layers.Dense(5, dtype='bfloat16', name='dense', input_shape=(12,))])\n"
        "m.save_weights('own.h5')\n"
        "for path in ('own.h5', 'm.h5'):\n"
        "    try:\n"
        "        m.load_weights(path)\n"
        "        print(path, 'loaded')\n"
        "    except ValueError as error:\n"
        "        print(path, 'refused', error)\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # tf_keras treats its own file and initcli's alike
    assert proc.stdout.splitlines() == [
        "own.h5 refused No cast function available.",
        "m.h5 refused No cast function available.",
    ]


NESTED = r"""
import json, sys
import numpy as np
import keras

def bits(v):
    a = np.asarray(keras.ops.convert_to_numpy(v.value))
    return a.view(np.uint16) if a.dtype.name == "bfloat16" else a

if sys.argv[1] == "make" and sys.argv[2] == "wrappers":
    seeded = lambda kind, seed: {"kernel_initializer": getattr(keras.initializers, kind)(seed=seed)}
    rnn = lambda seed: {"kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
                        "recurrent_initializer": keras.initializers.GlorotNormal(seed=seed + 1),
                        "bias_initializer": keras.initializers.RandomNormal(seed=seed + 2)}
    L = keras.layers
    x = keras.Input((5, 6))
    y = L.TimeDistributed(L.Dense(4, dtype="bfloat16", **seeded("GlorotNormal", 1)), name="td_inner")(x)
    y = L.TimeDistributed(L.Dense(4, **seeded("HeUniform", 2)), dtype="bfloat16", name="td_outer")(y)
    y = L.Bidirectional(L.LSTM(3, dtype="float16", return_sequences=True, **rnn(3)), name="bi_inner")(y)
    y = L.Bidirectional(L.GRU(2, **rnn(6)), dtype="mixed_float16", name="bi_outer")(y)
    y = L.Dense(3, dtype="mixed_float16", name="mixed16", **seeded("LecunNormal", 9))(y)
    out = L.Dense(2, dtype="float16", name="half", **seeded("RandomUniform", 10))(y)
    model = keras.Model(x, out)
    open("cfg.json", "w").write(model.to_json())
elif sys.argv[1] == "make":
    inner = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(4, dtype="bfloat16", name="inner_dense",
                               kernel_initializer=keras.initializers.GlorotNormal(seed=2),
                               bias_initializer=keras.initializers.RandomUniform(seed=3)),
        ],
        name="inner",
    )
    x = keras.Input((6,))
    out = keras.layers.Dense(3, dtype="mixed_bfloat16", name="mixed",
                             kernel_initializer=keras.initializers.HeUniform(seed=4))(inner(x))
    model = keras.Model(x, out)
    open("cfg.json", "w").write(model.to_json())
else:
    model = keras.models.load_model("m.keras")
np.savez(sys.argv[1] + ".npz", **{f"w{i}": bits(v) for i, v in enumerate(model.weights)},
         dtypes=np.array(json.dumps([str(v.dtype) for v in model.weights])))
"""


# the variable dtypes Keras 3.15.1 builds for each model (written out here, so that a change in what
# either side does is seen): the layer's own dtype decides -- a wrapper's dtype does not reach the layer
# it wraps -- and mixed_* policies keep float32 variables
KERAS_DTYPES = {
    "nested": ["bfloat16", "bfloat16", "float32", "float32"],
    "wrappers": ["bfloat16"] * 2 + ["float32"] * 2 + ["float16"] * 6 + ["float32"] * 8 + ["float16"] * 2,
}


def _stored_dtypes(archive: Path) -> collections.Counter:
    """The dtypes of the variables stored in a ``.keras`` archive, as Keras reads them back (a
    2-byte opaque dataset with ``dtype = "bfloat16"`` is bfloat16)."""
    with zipfile.ZipFile(archive) as bundle, h5py.File(io.BytesIO(bundle.read("model.weights.h5")), "r") as handle:
        found: collections.Counter = collections.Counter()

        def count(_: str, item: object) -> None:
            if isinstance(item, h5py.Dataset):
                found[str(item.attrs.get("dtype", item.dtype.name))] += 1

        handle.visititems(count)
    return found


@pytest.mark.parametrize("model", list(KERAS_DTYPES))
@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_nested_model_and_wrappers_with_bfloat16_and_mixed_policies(backend, model, tmp_path):
    """``nested``: a Functional model around a nested Sequential whose Dense is bfloat16, then a Dense
    under the ``mixed_bfloat16`` policy (float32 variables).  ``wrappers``: TimeDistributed with a
    bfloat16 Dense inside and with a bfloat16 wrapper around a default Dense, Bidirectional LSTM with a
    float16 layer inside and Bidirectional GRU under a ``mixed_float16`` wrapper, a ``mixed_float16``
    Dense and a float16 Dense.  ``initcli model`` on the config Keras wrote gives a ``.keras`` whose
    variables, after ``load_model``, are the ones Keras built itself, dtype and bits.  (XLA without
    AVX512-FP16, whose float16 arithmetic ``--backend jax`` reproduces on every machine.)"""
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_cpu_max_isa=AVX2"}
    for step in ("make", "load"):
        if step == "load":
            proc = _cli("model", "cfg.json", "--backend", backend, "-o", "m.keras", cwd=tmp_path)
            assert proc.returncode == 0, proc.stderr
        proc = subprocess.run(
            [sys.executable, "-c", NESTED, step, model], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    with np.load(tmp_path / "make.npz") as made, np.load(tmp_path / "load.npz") as loaded:
        assert json.loads(str(made["dtypes"])) == KERAS_DTYPES[model]
        assert str(loaded["dtypes"]) == str(made["dtypes"])
        # load_model casts what it reads into each variable's dtype: the file itself must hold Keras's dtypes
        assert _stored_dtypes(tmp_path / "m.keras") == collections.Counter(KERAS_DTYPES[model])
        for i in range(len(KERAS_DTYPES[model])):
            assert loaded[f"w{i}"].dtype == made[f"w{i}"].dtype
            np.testing.assert_array_equal(loaded[f"w{i}"], made[f"w{i}"])
