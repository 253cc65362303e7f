"""The sample configs shipped inside the package (``initcli/sample_configs/``).

They are package data, so they exist wherever initcli is installed; the
repository's top-level ``sample_configs`` is a link to the same directory.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from .errors import InvalidArgument

DESCRIPTIONS = {
    "mnist_mlp.yaml": ("batch", "MLP for MNIST: Dense 784 -> 256 -> 128 -> 10"),
    "small_cnn.json": ("batch", "small CNN: Conv2D, BatchNormalization, Conv2D, Dense on 28x28x1"),
    "lstm_text_classifier.toml": ("batch", "text classifier: Embedding(20000, 128), LSTM(64), Dense(1)"),
    "transformer_encoder.yaml": ("batch", "one transformer encoder block: MultiHeadAttention(4, 16), Dense, LayerNorm"),
    "llama_7b_decoder.yaml": ("batch", "Llama-style 7B decoder: 32 repeated blocks (repeat), 6.74e9 parameters"),
    "classifier_model.json": ("model", "Keras model config (model.to_json()): Conv2D, BatchNormalization, Dense"),
    "keras2_sentiment.json": ("model", "Keras 2 (tf.keras 2.21) to_json(): Sequential Embedding, LSTM, Dense"),
    "tfjs_digits_model.json": ("model", "tfjs layers-model model.json: Functional Conv2D, MaxPooling2D, Dense"),
    "keras2_digits.h5": ("model", "whole-model .h5 saved by Keras 2 model.save(): the same CNN"),
}
"""Each shipped file: the command that reads it and what it describes."""


def directory() -> Any:
    """The installed ``sample_configs`` directory (an ``importlib.resources`` Traversable)."""
    return resources.files("initcli") / "sample_configs"


def names() -> list[str]:
    """The shipped file names, in the order of :data:`DESCRIPTIONS` (then any others, sorted)."""
    present = {entry.name for entry in directory().iterdir() if entry.is_file() and not entry.name.startswith(".")}
    return [n for n in DESCRIPTIONS if n in present] + sorted(present - set(DESCRIPTIONS))


def resolve(name: str) -> str:
    """The shipped file called ``name`` (with or without its suffix), or a one-line error listing them."""
    available = names()
    if name in available:
        return name
    by_stem = [n for n in available if n.rsplit(".", 1)[0] == name]
    if len(by_stem) == 1:
        return by_stem[0]
    raise InvalidArgument(f"no example named {name!r}; the examples are {', '.join(available)}")


def read_bytes(name: str) -> bytes:
    """The bytes of the shipped file ``name`` (see :func:`resolve`)."""
    return (directory() / resolve(name)).read_bytes()
