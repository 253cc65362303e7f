"""The model samples shipped with initcli (one per input kind) load into Keras 3 with Keras's values.

``classifier_model.json`` (Keras 3 ``to_json()``), ``keras2_sentiment.json`` (Keras 2),
``tfjs_digits_model.json`` (tfjs ``model.json``) and ``keras2_digits.h5`` (a whole-model ``.h5``)
are what the README's model section shows; each is written as ``.weights.h5`` and ``.keras``, loaded
by real Keras, laid out as Keras's own ``save_weights`` lays it out, and each stored tensor equals
what the real Keras initializers recorded for it (class, config and seed of each piece, from
``inspect --json``) give.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from initcli import examples
from initcli.model.legacy_configs import normalize
from initcli.model.sources import load_model_config

from .helpers import h5_datasets, run_in_process

SAMPLES = Path(__file__).resolve().parent.parent / "sample_configs"
MODEL_SAMPLES = [name for name, (command, _) in examples.DESCRIPTIONS.items() if command == "model"]


def test_every_input_kind_has_a_sample():
    assert sorted(MODEL_SAMPLES) == sorted(
        ["classifier_model.json", "keras2_sentiment.json", "tfjs_digits_model.json", "keras2_digits.h5"]
    )
    assert json.loads((SAMPLES / "keras2_sentiment.json").read_text())["keras_version"].startswith("2.")
    assert "model_config" in json.loads((SAMPLES / "tfjs_digits_model.json").read_text())["modelTopology"]


@pytest.mark.parametrize("name", MODEL_SAMPLES)
def test_model_sample_loads_into_keras_with_kerass_values(keras, tmp_path, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the Keras 3 form of an old config is one Keras reads without a warning
        model = keras.models.model_from_json(json.dumps(normalize(load_model_config(SAMPLES / name))))
    model.save_weights(str(tmp_path / "keras.weights.h5"))
    for output in ("ours.weights.h5", "ours.keras"):
        result = run_in_process(["model", str(SAMPLES / name), "--seed", "7", "-o", output], tmp_path)
        assert result.exit_code == 0, result.stderr
    assert h5_datasets(tmp_path / "ours.weights.h5") == h5_datasets(tmp_path / "keras.weights.h5")
    model.load_weights(str(tmp_path / "ours.weights.h5"))
    archive = keras.models.load_model(str(tmp_path / "ours.keras"))
    report = run_in_process(["inspect", "ours.weights.h5", "--json"], tmp_path)
    assert report.exit_code == 0, report.stderr
    records = {t["path"]: t for t in json.loads(report.stdout)["tensors"]}
    assert len(records) == len(model.weights) > 0
    for variable, archived in zip(model.weights, archive.weights, strict=True):
        record = records[f"{variable.path.split('/')[0]}/{variable.name}"]
        pieces = record.get("pieces") or [{"shape": list(variable.shape), "initializer": record["initializer"]}]
        expected = np.concatenate(
            [
                np.asarray(keras.initializers.deserialize(p["initializer"])(tuple(p["shape"]), dtype=variable.dtype))
                for p in pieces
            ]
        )
        assert np.asarray(variable).tobytes() == expected.tobytes(), (name, variable.path)
        assert np.asarray(archived).tobytes() == expected.tobytes(), (name, variable.path)
