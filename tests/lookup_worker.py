"""Real Keras 3 on TensorFlow for ``tests/test_lookup_layers.py`` (run as a script, one process).

``python lookup_worker.py DIR`` with ``KERAS_BACKEND=tensorflow``: builds every model of
:data:`MODELS` (a lookup or hashing layer followed by a seeded ``Dense``), writes
``DIR/<case>/model.json`` and Keras's own ``keras.weights.h5`` and prints ``built`` and one JSON line
of each model's weights; then waits for a line on stdin, loads initcli's ``ours.weights.h5``,
``ours.keras`` and ``ours.h5`` of each case (where they exist) and prints one JSON line: per case
and file, ``"equal"`` when every weight loaded equals Keras's seeded initial value, else the
problem.  Exit code 3 when TensorFlow cannot be imported.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

UNAVAILABLE = 3


def _models(keras):
    layers = keras.layers
    head = {"kernel_initializer": keras.initializers.GlorotUniform(seed=5), "name": "head"}

    def single(layer, shape, dtype, embed=None):
        inputs = keras.Input(shape, dtype=dtype, name="x")
        x = layer(inputs)
        if embed:
            x = layers.Embedding(embed, 4, embeddings_initializer=keras.initializers.RandomUniform(seed=3))(x)
        return keras.Model(inputs, layers.Dense(2, **head)(x))

    def crossing(mode):
        a, b = keras.Input((1,), dtype="int64", name="a"), keras.Input((1,), dtype="int64", name="b")
        x = layers.HashedCrossing(6, output_mode=mode)((a, b))
        if mode == "int":
            x = layers.Embedding(6, 4, embeddings_initializer=keras.initializers.RandomUniform(seed=3))(x)
        return keras.Model([a, b], layers.Dense(2, **head)(x))

    vocab = {"StringLookup": (["a", "b", "c"], "string"), "IntegerLookup": ([7, 8, 9], "int64")}
    models = {}
    for mode in ("int", "one_hot", "multi_hot", "count"):
        embed = 8 if mode == "int" else None
        models[f"Hashing-{mode}"] = lambda m=mode, e=embed: single(layers.Hashing(5, output_mode=m), (3,), "int64", e)
        for cls, (words, dtype) in vocab.items():
            models[f"{cls}-{mode}"] = lambda c=cls, w=words, d=dtype, m=mode, e=embed: single(
                getattr(layers, c)(vocabulary=w, output_mode=m), (3,), d, e
            )
        extra = {"output_sequence_length": 5} if mode == "int" else {}
        models[f"TextVectorization-{mode}"] = lambda m=mode, e=embed, x=extra: single(
            layers.TextVectorization(vocabulary=["a", "b", "c"], output_mode=m, **x), (1,), "string", e
        )
    models["TextVectorization-multi_hot-split=None"] = lambda: single(
        layers.TextVectorization(vocabulary=["a", "b"], output_mode="multi_hot", split=None), (3,), "string"
    )
    models["StringLookup-one_hot-num_oov_indices=2-mask"] = lambda: single(
        layers.StringLookup(vocabulary=["a", "b"], output_mode="one_hot", num_oov_indices=2, mask_token="_"),
        (1,),
        "string",
    )
    models["IntegerLookup-multi_hot-pad_to_max_tokens"] = lambda: single(
        layers.IntegerLookup(vocabulary=[1, 2], output_mode="multi_hot", max_tokens=6, pad_to_max_tokens=True),
        (3,),
        "int64",
    )
    models["HashedCrossing-int"] = lambda: crossing("int")
    models["HashedCrossing-one_hot"] = lambda: crossing("one_hot")
    models["Sequential-StringLookup-multi_hot"] = lambda: keras.Sequential(
        [
            keras.Input((3,), dtype="string"),
            layers.StringLookup(vocabulary=["a", "b"], output_mode="multi_hot"),
            layers.Dense(2, **head),
        ]
    )
    return models


def main() -> int:
    directory = Path(sys.argv[1])
    try:
        import keras
        import tensorflow  # noqa: F401
    except ImportError as error:
        print(f"unavailable: {error}", flush=True)
        return UNAVAILABLE
    assert keras.backend.backend() == "tensorflow", keras.backend.backend()
    import numpy as np

    reference = {}
    summary = {}
    for case, build in _models(keras).items():
        folder = directory / case
        folder.mkdir(parents=True, exist_ok=True)
        model = build()
        text = model.to_json()
        (folder / "model.json").write_text(text)
        fresh = keras.models.model_from_json(text)  # seeded: Keras's own initial values
        fresh.save_weights(str(folder / "keras.weights.h5"))
        reference[case] = (text, [np.asarray(v) for v in fresh.weights])
        summary[case] = [[v.path, list(v.shape)] for v in fresh.weights]
    print("built", flush=True)
    print(json.dumps(summary), flush=True)
    sys.stdin.readline()
    results: dict[str, dict[str, str]] = {}
    for case, (text, expected) in reference.items():
        results[case] = {}
        for suffix in (".weights.h5", ".keras", ".h5"):
            path = directory / case / f"ours{suffix}"
            if not path.exists():
                continue
            try:
                if suffix == ".keras":
                    model = keras.models.load_model(str(path))
                else:
                    model = keras.models.model_from_json(text)
                    model.load_weights(str(path))
                loaded = [np.asarray(v) for v in model.weights]
                if len(loaded) != len(expected):
                    results[case][suffix] = f"{len(loaded)} weights, Keras has {len(expected)}"
                    continue
                bad = [
                    v.path
                    for v, a, b in zip(model.weights, loaded, expected, strict=True)
                    if a.tobytes() != b.tobytes()
                ]
                results[case][suffix] = f"differs: {bad}" if bad else "equal"
            except Exception as error:  # reported to the test, which fails on it
                results[case][suffix] = f"load failed: {type(error).__name__}: {error}"
    print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    sys.exit(main())
