"""``repeat`` blocks in batch configs, and the Llama-style 7B sample built small into real Keras."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from initcli import examples
from tests.helpers import run_in_process, run_subprocess


def _dense(name: str, n: int = 3) -> dict:
    return {"name": name, "class": "Dense", "weights": {"kernel": {"shape": [n, n], "initializer": "he_normal"}}}


def _plan(tmp_path: Path, document: dict, name: str) -> dict:
    (tmp_path / name).write_text(json.dumps(document))
    result = run_in_process(["batch", name, "--seed", "5", "--dry-run", "--json"], tmp_path)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_repeat_is_the_config_written_out(tmp_path):
    """Paths, HDF5 slots, shapes and derived seeds of a repeat block (nested, with ``from``) equal
    those of the same layers written out by hand."""
    block = {"repeat": 2, "from": 3, "layers": [_dense("outer_{i}"), {"repeat": 2, "layers": [_dense("b{j}_in{i}")]}]}
    repeated = {"layers": [_dense("first"), block, _dense("last")]}
    by_hand = [_dense("first")]
    for outer in (3, 4):
        by_hand += [_dense(f"outer_{outer}"), _dense(f"b{outer}_in0"), _dense(f"b{outer}_in1")]
    by_hand.append(_dense("last"))
    assert _plan(tmp_path, repeated, "r.json") == _plan(tmp_path, {"layers": by_hand}, "h.json")


@pytest.mark.parametrize(
    ("block", "words"),
    [
        ({"repeat": 0, "layers": [_dense("a{i}")]}, "repeat 0 must be a positive integer"),
        ({"repeat": True, "layers": [_dense("a{i}")]}, "repeat True"),
        ({"repeat": 2.0, "layers": [_dense("a{i}")]}, "repeat 2.0"),
        ({"repeat": 2, "from": -1, "layers": [_dense("a{i}")]}, "from -1 must be a non-negative"),
        ({"repeat": 2, "layers": []}, "non-empty 'layers'"),
        ({"repeat": 2, "layers": [_dense("same")]}, "needs {i}"),
        ({"repeat": 2, "times": 3, "layers": [_dense("a{i}")]}, "unknown key 'times'"),
        # refused before a single copy is made, not after 100000
        ({"repeat": 10**12, "layers": [_dense("a{i}")]}, "repeat 1000000000000 of 1 layers makes more than 100000"),
        (
            {"repeat": 1000, "layers": [{"repeat": 1000, "layers": [_dense("a{j}_{i}")]}]},
            "makes more than 100000 layers",
        ),
    ],
)
def test_bad_repeat_blocks_are_one_line(tmp_path, block, words):
    (tmp_path / "c.json").write_text(json.dumps({"layers": [block]}))
    result = run_subprocess(["batch", "c.json", "--seed", "1", "--dry-run"], tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and words in lines[0], result.stderr


TINY = {32000: 50, 4096: 16, 11008: 24, 32: 4, 128: 4}
"""The 7B sample's dimensions and the tiny ones the test builds (heads 32 -> 4, head size 128 -> 4)."""


def _tiny_config(tmp_path: Path) -> Path:
    document = yaml.safe_load(examples.read_bytes("llama_7b_decoder.yaml"))

    def shrink(value):
        if isinstance(value, dict):
            return {k: ([TINY[n] for n in v] if k == "shape" else shrink(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [shrink(v) for v in value]
        return value

    document = shrink(document)
    (block,) = [layer for layer in document["layers"] if "repeat" in layer]
    assert block["repeat"] == 32
    block["repeat"] = 2
    (tmp_path / "tiny.json").write_text(json.dumps(document))
    return tmp_path / "tiny.json"


def _tiny_llama(keras, blocks: int = 2):
    """The Keras model the sample's header describes, with the tiny dimensions."""
    layers = keras.layers
    tokens = keras.Input((None,), dtype="int32")
    x = layers.Embedding(50, 16, name="token_embedding")(tokens)
    for i in range(blocks):
        h = layers.RMSNormalization(name=f"block_{i}_attention_norm")(x)
        a = layers.MultiHeadAttention(4, 4, use_bias=False, name=f"block_{i}_attention")(h, h, use_causal_mask=True)
        x = layers.Add()([x, a])
        h = layers.RMSNormalization(name=f"block_{i}_ffn_norm")(x)
        g = layers.Dense(24, use_bias=False, activation="silu", name=f"block_{i}_ffn_gate")(h)
        u = layers.Dense(24, use_bias=False, name=f"block_{i}_ffn_up")(h)
        x = layers.Add()([x, layers.Dense(16, use_bias=False, name=f"block_{i}_ffn_down")(layers.Multiply()([g, u]))])
    x = layers.RMSNormalization(name="final_norm")(x)
    return keras.Model(tokens, layers.Dense(50, use_bias=False, name="lm_head")(x), name="llama_7b_decoder")


@pytest.mark.parametrize("output", ["tiny.weights.h5", "tiny.weights.json"])
def test_llama_sample_loads_into_the_keras_model_it_describes(keras, tmp_path, output):
    """The 7B sample with tiny dimensions (the same file otherwise): every weight loads into the
    Keras model its header describes, with the values initcli drew (read back from .npz)."""
    config = _tiny_config(tmp_path)
    extra = ["--max-shard-size", "8KiB"] if output.endswith(".json") else []
    for target in (output, "tiny.npz"):
        args = ["batch", config.name, "--seed", "9", "-q", "-o", target, *(extra if target == output else [])]
        result = run_subprocess(args, tmp_path)
        assert result.exit_code == 0, result.stderr
    if extra:
        assert len(list(tmp_path.glob("tiny_0000*.weights.h5"))) > 1
    model = _tiny_llama(keras)
    model.load_weights(tmp_path / output)
    with np.load(tmp_path / "tiny.npz") as archive:
        drawn = {name: archive[name] for name in archive.files}
    assert (
        len(drawn) == len(model.weights) == 1 + 2 * 9 + 2
    )  # embedding, 2 blocks of 2 norms + 4 + 3 kernels, norm, head
    by_layer = {layer.name: layer for layer in model.layers}
    np.testing.assert_array_equal(
        np.asarray(by_layer["token_embedding"].embeddings), drawn["token_embedding/embeddings"]
    )
    np.testing.assert_array_equal(np.asarray(by_layer["block_1_ffn_down"].kernel), drawn["block_1_ffn_down/kernel"])
    attention = by_layer["block_0_attention"]
    np.testing.assert_array_equal(np.asarray(attention.value_dense.kernel), drawn["block_0_attention/value/kernel"])
    np.testing.assert_array_equal(np.asarray(by_layer["lm_head"].kernel), drawn["lm_head/kernel"])
    kernel = drawn["lm_head/kernel"]
    assert abs(kernel.std() - 0.02) < 6 * 0.02 / np.sqrt(2 * kernel.size)  # N(0, 0.02): 6 standard errors
