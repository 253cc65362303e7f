"""Whole-model weight files in the layouts Keras loads: ``.weights.h5``, legacy ``.h5`` and ``.keras``.

Writers take a :class:`~initcli.model.plan.ModelPlan` and the arrays for its
weights; they draw nothing.

**Keras 3 ``.weights.h5``** (``model.load_weights``): each object's
variables are datasets ``<object>/vars/<i>``; every layer and sub-object gets
a ``vars`` group carrying ``@name``; the model's own (empty) ``vars`` group
carries the model name.  Datasets are contiguous and uncompressed, as Keras
writes them.

**Legacy Keras 2 ``.h5``** (``load_weights`` on ``.h5``/``.hdf5``, Keras 2 and
3): root attributes ``layer_names`` (every top-level layer, weightless ones
too), ``backend`` and ``keras_version``; one group per layer named by
``layer.name`` with ``weight_names`` listing its weights (trainable first,
as Keras lists them) and a dataset for each.  Keras loads these by position
(topologically) or, with ``by_name=True``, by layer name.

**``.keras``**: a zip of ``config.json`` (the Keras model config),
``metadata.json`` and ``model.weights.h5`` (the Keras 3 layout), all
stored uncompressed as Keras writes them, so ``keras.models.load_model``
returns the model with these weights.

Before anything is written, every HDF5 name the layout will create (groups,
datasets, the ``name``/``layer_names``/``weight_names`` strings) is checked:
NUL characters (HDF5 cuts names there) and text that is not valid UTF-8 are
refused, with the name shown escaped, and so are two weights or groups whose
names become the same HDF5 path (``a//b`` is ``a/b``) or a dataset that
another name needs as a group.  Nothing is merged silently.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgument
from ..h5open import hdf5_file
from ..interrupts import import_whole
from ..model.plan import ModelPlan
from ..provenance import ATTRIBUTE
from .atomic import Scratch, atomic_write, seekable_into
from .chunks import Progress, write_h5_dataset
from .zipfiles import member

KERAS_VERSION = "3.15.1"
"""The Keras version whose layouts these files follow (recorded in legacy and .keras files)."""


Notes = Mapping[str, str]
"""Provenance JSON by weight path (and ``""`` for the file), stored as ``initcli`` attributes."""


def _note(node: Any, notes: Notes | None, key: str) -> None:
    if notes and key in notes:
        node.attrs[ATTRIBUTE] = notes[key]


def _h5_layout_keras3(
    handle: Any, plan: ModelPlan, arrays: Mapping[str, Any], notes: Notes | None, progress: Progress | None
) -> None:
    _note(handle, notes, "")
    for layer in plan.layers:
        for obj, name in layer.h5_names.items():
            handle.create_group(f"{obj}/vars").attrs["name"] = name  # each object once: no lookups
        for weight in layer.weights:
            source = arrays[weight.alias_of or weight.path]
            dataset = write_h5_dataset(handle, f"{weight.h5_object}/vars/{weight.h5_index}", source, progress)
            _note(dataset, notes, weight.path)
    handle.create_group("vars").attrs["name"] = plan.name


def _string_array(values: list[str]) -> np.ndarray:
    h5py = import_whole("h5py")

    return np.array(values, dtype=h5py.string_dtype("utf-8"))


def _h5_layout_legacy(
    handle: Any, plan: ModelPlan, arrays: Mapping[str, Any], notes: Notes | None, progress: Progress | None
) -> None:
    _note(handle, notes, "")
    handle.attrs["layer_names"] = _string_array([layer.name for layer in plan.layers])
    handle.attrs["backend"] = "numpy"
    handle.attrs["keras_version"] = KERAS_VERSION
    # by name, as Keras writes them: a Keras 2 layer named "a/b" (tf.keras MobileNetV3) after its parent "a"
    for layer in sorted(plan.layers, key=lambda layer: layer.name):
        group = handle.create_group(layer.name)
        unique = [w for w in layer.weights if w.alias_of is None]
        ordered = [w for w in unique if w.trainable] + [w for w in unique if not w.trainable]
        names = [_legacy_name(layer.name, w.path) for w in ordered]
        group.attrs["weight_names"] = _string_array(names)
        for weight, name in zip(ordered, names, strict=True):
            _note(write_h5_dataset(group, name, arrays[weight.path], progress), notes, weight.path)


def _legacy_name(layer_name: str, path: str) -> str:
    """``enc1/kernel`` -> ``enc1/kernel``; nested ``block/inner/kernel`` keeps its inner path."""
    return path if path.startswith(f"{layer_name}/") else f"{layer_name}/{path}"


def write_weights_h5(
    path: str | os.PathLike[str],
    plan: ModelPlan,
    arrays: Mapping[str, Any],
    *,
    layout: str = "keras3",
    force: bool = False,
    notes: Notes | None = None,
    progress: Progress | None = None,
) -> None:
    """Write the tensors (arrays or chunked sources, keyed by weight path) as an HDF5 weights
    file, atomically, one chunk at a time (names checked first: :func:`check_h5_names`)."""
    check_h5_names(plan, layout)
    with atomic_write(path, force=force) as stream, seekable_into(stream) as file:
        _write_h5(file, layout, plan, arrays, notes, progress)


def _h5_path(name: str) -> str:
    """The path HDF5 stores ``name`` at: empty and ``.`` components dropped."""
    return "/".join(part for part in name.split("/") if part not in ("", "."))


def check_h5_names(plan: ModelPlan, layout: str) -> None:
    """Refuse, before any data is written, names HDF5 would store as other names: NUL
    characters, text that is not valid UTF-8, two objects at the same HDF5 path, and a
    dataset that is also needed as a group."""
    from .hdf5 import check_h5_name
    from .npy import shown_name

    groups: dict[str, str] = {}
    datasets: dict[str, str] = {}

    def add(table: dict[str, str], name: str, what: str) -> None:
        check_h5_name(name, what)
        stored = _h5_path(name)
        if stored in table:
            raise InvalidArgument(
                f"{what} {shown_name(name)} and {table[stored]} would both be stored at HDF5 path "
                f"{shown_name(stored)}; give them distinct names"
            )
        table[stored] = f"{what} {shown_name(name)}"

    check_h5_name(plan.name, "model name")
    if layout == "keras3":
        add(groups, "vars", "the model's vars group")
        for layer in plan.layers:
            for obj, name in layer.h5_names.items():
                check_h5_name(name, "layer name")
                add(groups, f"{obj}/vars", "HDF5 group")
            for weight in layer.weights:
                add(datasets, f"{weight.h5_object}/vars/{weight.h5_index}", f"weight {shown_name(weight.path)} at")
    else:
        for layer in plan.layers:
            add(groups, layer.name, "layer")
            unique = [w for w in layer.weights if w.alias_of is None]
            for weight in unique:
                name = _legacy_name(layer.name, weight.path)
                check_h5_name(name, "weight name")
                add(datasets, f"{layer.name}/{name}", f"weight {shown_name(weight.path)} at")
    for stored, what in [*datasets.items(), *groups.items()]:
        parts = stored.split("/")
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            if prefix in datasets:
                raise InvalidArgument(
                    f"{what} {shown_name(stored)} needs {shown_name(prefix)} as a group, but "
                    f"{datasets[prefix]} is a dataset there; give them distinct names"
                )
        if stored in datasets and stored in groups:
            raise InvalidArgument(f"{what} {shown_name(stored)} is also {groups[stored]}; give them distinct names")


def _write_h5(
    file: Any, layout: str, plan: ModelPlan, arrays: Mapping[str, Any], notes: Notes | None, progress: Progress | None
) -> None:
    """Write the HDF5 layout into ``file``, an open binary file object (h5py's file-object driver:
    the scratch file may have no name)."""
    write = {"keras3": _h5_layout_keras3, "legacy": _h5_layout_legacy}[layout]
    with hdf5_file(file, "w", track_order=True) as handle:
        write(handle, plan, arrays, notes, progress)
    file.flush()


def write_keras_archive(
    path: str | os.PathLike[str],
    plan: ModelPlan,
    arrays: Mapping[str, Any],
    *,
    force: bool = False,
    notes: Notes | None = None,
    progress: Progress | None = None,
) -> None:
    """Write a ``.keras`` archive (config, metadata, weights) that ``keras.models.load_model`` reads."""
    if plan.keras_config is None:
        raise ValueError("a .keras archive needs the Keras model config")
    members = {
        "metadata.json": json.dumps({"keras_version": KERAS_VERSION, "date_saved": "1980-01-01@00:00:00"}).encode(),
        "config.json": json.dumps(plan.keras_config).encode(),
    }
    check_h5_names(plan, "keras3")
    with atomic_write(path, force=force) as stream:
        # the weights go to an unnamed scratch HDF5 file beside the output, then into the zip in blocks
        weights = Scratch(Path(stream.directory) / "model.weights.h5")
        try:
            _write_h5(weights.handle, "keras3", plan, arrays, notes, progress)
            weights.handle.seek(0)
            with zipfile.ZipFile(stream, "w", allowZip64=True) as archive:
                for name, data in members.items():
                    archive.writestr(member(name), data)
                with archive.open(member("model.weights.h5"), "w", force_zip64=True) as target:
                    shutil.copyfileobj(weights.handle, target, 1 << 20)
        finally:
            weights.close()


LAYOUTS = ("keras3", "legacy", "keras", "npz", "sharded", "safetensors")


def layout_for_path(path: str, explicit: str | None = None) -> str:
    """The whole-model layout: ``explicit``, else by suffix.

    ``.weights.h5`` -> keras3, ``.h5``/``.hdf5`` -> legacy, ``.keras`` -> keras, ``.npz`` -> npz,
    ``.weights.json`` -> sharded (Keras's index and ``_00000.weights.h5`` shards),
    ``.safetensors`` -> safetensors.
    """
    if explicit is not None:
        if explicit not in LAYOUTS:
            raise InvalidArgument(f"layout {explicit!r} is not known; use one of {', '.join(LAYOUTS)}")
        return explicit
    name = Path(path).name.lower()
    if name.endswith(".weights.h5"):
        return "keras3"
    if name.endswith((".h5", ".hdf5")):
        return "legacy"
    if name.endswith(".keras"):
        return "keras"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(".weights.json"):
        return "sharded"
    if name.endswith(".safetensors"):
        return "safetensors"
    raise InvalidArgument(
        f"output {path!r} has no known suffix; use .weights.h5 (Keras 3), .h5 (legacy Keras 2), "
        ".keras, .npz, .weights.json (sharded) or .safetensors, or choose with --layout"
    )
