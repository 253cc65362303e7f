"""Golden vectors pin initcli's output streams, with no Keras needed.

``tests/golden/streams.json`` holds, for a set of (initializer, shape, seed,
dtype, draw) cases, the SHA-256 of the tensor's bytes and its first values
as exact hex floats.  Any change to the numbers -- ours, or NumPy's
``default_rng`` streams after an upgrade -- fails here.

To regenerate after an intended change (the generator first checks each
case against real Keras)::

    INITCLI_REGENERATE_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

import initcli

GOLDEN = Path(__file__).with_name("golden") / "streams.json"

CASES = [
    ("glorot_normal", {}, (784, 64), 1, "float32", 0),
    ("glorot_uniform", {}, (784, 64), 1, "float32", 0),
    ("he_normal", {}, (3, 3, 16, 32), 12345, "float32", 0),
    ("he_uniform", {}, (3, 3, 16, 32), 0, "float64", 0),
    ("lecun_normal", {}, (100,), 2**32 - 1, "float16", 0),
    ("lecun_uniform", {}, (2, 3, 3, 4, 5), 2**31, "float32", 0),
    ("random_normal", {"mean": 0.5, "stddev": 2.0}, (10, 10), 7, "float64", 0),
    ("random_uniform", {"minval": -1.0, "maxval": 3.0}, (), 8, "float32", 0),
    ("truncated_normal", {"stddev": 1.0}, (1000,), 9, "float32", 0),
    (
        "variance_scaling",
        {"scale": 2.5, "mode": "fan_avg", "distribution": "untruncated_normal"},
        (64, 32),
        10,
        "float32",
        0,
    ),
    ("orthogonal", {"gain": 1.0}, (64, 48), 11, "float32", 0),
    ("orthogonal", {"gain": 2.0}, (3, 3, 8, 16), 12, "float32", 0),
    ("glorot_normal", {}, (784, 64), 1, "float32", 3),
    ("identity", {"gain": 0.5}, (5, 7), None, "float32", 0),
    ("constant", {"value": 0.1}, (4,), None, "float16", 0),
    ("stft", {"side": "imag", "window": "hann"}, (16, 1, 9), None, "float32", 0),
]


def _tensor(name, kwargs, shape, seed, dtype, draw):
    params = dict(kwargs)
    if seed is not None:
        params["seed"] = seed
    return initcli.sample(name, shape, dtype=dtype, draw=draw, **params)


def _record(array: np.ndarray) -> dict[str, object]:
    return {
        "sha256": hashlib.sha256(array.tobytes()).hexdigest(),
        "head": [float(v).hex() for v in array.ravel()[:6]],
        "dtype": array.dtype.name,
        "shape": list(array.shape),
    }


def _key(case) -> str:
    name, kwargs, shape, seed, dtype, draw = case
    return f"{name}{json.dumps(kwargs, sort_keys=True)} shape={list(shape)} seed={seed} {dtype} draw={draw}"


def _regenerate() -> None:
    os.environ.setdefault("KERAS_BACKEND", "numpy")

    records = {}
    for case in CASES:
        name, kwargs, shape, seed, dtype, draw = case
        mine = _tensor(*case)
        if draw == 0 and name not in ("orthogonal", "stft"):
            from keras.src.initializers import ALL_OBJECTS_DICT

            cls = ALL_OBJECTS_DICT[name]
            params = dict(kwargs, **({"seed": seed} if seed is not None else {}))
            theirs = np.asarray(cls(**params)(shape, dtype=dtype))
            assert theirs.tobytes() == mine.tobytes(), case
        records[_key(case)] = _record(mine)
    GOLDEN.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")


if os.environ.get("INITCLI_REGENERATE_GOLDEN"):
    _regenerate()


@pytest.mark.parametrize("case", CASES, ids=_key)
def test_golden_vector(case):
    golden = json.loads(GOLDEN.read_text())
    assert _key(case) in golden, "golden file lacks this case; regenerate it"
    assert _record(_tensor(*case)) == golden[_key(case)]


def test_golden_file_has_no_stale_cases():
    assert set(json.loads(GOLDEN.read_text())) == {_key(c) for c in CASES}


PLAN_GOLDEN = Path(__file__).with_name("golden") / "plans.json"
PLAN_CASES = [("mnist_mlp.yaml", 1), ("lstm_text_classifier.toml", 7), ("transformer_encoder.yaml", 2**32 - 1)]


def _plan_digests(config: str, seed: int) -> dict[str, str]:
    from initcli.api import sample_plan
    from initcli.model.batch_config import load_batch_config

    plan, _ = load_batch_config(Path(__file__).resolve().parent.parent / "sample_configs" / config)
    sampled = sample_plan(plan, seed)
    return {path: hashlib.sha256(array.tobytes()).hexdigest() for path, array in sampled.items()}


if os.environ.get("INITCLI_REGENERATE_GOLDEN"):
    PLAN_GOLDEN.write_text(
        json.dumps({f"{c} seed={s}": _plan_digests(c, s) for c, s in PLAN_CASES}, indent=1, sort_keys=True) + "\n"
    )


@pytest.mark.parametrize("config,seed", PLAN_CASES)
def test_golden_whole_model_streams(config, seed):
    """Pins the per-weight seed derivation (initcli-seed-v1) together with the streams."""
    golden = json.loads(PLAN_GOLDEN.read_text())
    assert _plan_digests(config, seed) == golden[f"{config} seed={seed}"]
