"""Where a model's architecture is read from: every kind of file a user already has.

* the JSON of ``model.to_json()`` (Keras 1, 2 or 3);
* a tfjs layers-model ``model.json``: the config is ``modelTopology.model_config``, or
  ``modelTopology`` itself when it is one (tfjs's own ``model.save``);
* a ``.keras`` archive: only its ``config.json`` member is read, nothing is extracted;
* a whole-model HDF5 file saved by Keras 2 / tf.keras (``model.save("m.h5")``): the
  architecture is the root attribute ``model_config``.  A weights-only HDF5 file
  (``.weights.h5``, or a legacy ``.h5`` from ``save_weights``) has no architecture: one
  line says so.

The file is opened once, as a regular file (FIFOs, devices and directories are refused
by :func:`initcli.reading.guard.open_regular`), and read up to :data:`CONFIG_LIMIT`
bytes of config.  An HDF5 file is checked for soft, external and user-defined links
before anything in it is touched (:mod:`initcli.reading.hdf5`); only the root attribute
is read.  A fixed-length string attribute is checked against the limit before it is
read; a variable-length one (h5py's usual kind) lives in the file's own heap, so it is
bounded by the file's size, and checked against the limit once read.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument, ResourceError
from ..interrupts import import_whole
from .config_files import check_integers, decode_text, loads_json
from .legacy_configs import MODEL_CLASSES

CONFIG_LIMIT = 64 * 1024 * 1024
"""The largest model config read (a JSON file, a ``config.json`` member, an HDF5 attribute)."""

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ACCEPTED = "the JSON of model.to_json(), a tfjs model.json, a .keras archive or an .h5 saved by model.save()"


def load_model_config(path: str | Path) -> dict[str, Any]:
    """The Keras model config in ``path`` (any kind listed in the module), not yet normalized."""
    from ..reading.guard import open_regular

    path = Path(path)
    if not os.path.lexists(path):
        raise ResourceError(f"model {str(path)!r} does not exist")
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as handle:
        magic = handle.read(8)
        handle.seek(0)
        if magic.startswith(b"PK\x03\x04") or (magic[:4] != HDF5_SIGNATURE[:4] and zipfile.is_zipfile(handle)):
            handle.seek(0)
            data, where = _keras_archive(handle, path)
        elif magic == HDF5_SIGNATURE:
            return _check_model(_parse(_hdf5_model_config(path), f"{path}:model_config"), f"{path}:model_config")
        else:
            if path.suffix == ".keras":
                raise InvalidArgument(f"{str(path)!r} is not a zip archive; a .keras file is a zip with config.json")
            handle.seek(0)
            data = handle.read(CONFIG_LIMIT + 1)
            if len(data) > CONFIG_LIMIT:
                raise InvalidArgument(f"{str(path)!r} is larger than {CONFIG_LIMIT} bytes; is it a model config?")
            where = str(path)
    config = _parse(decode_text(data, repr(where)), where)
    return _check_model(_unwrap_tfjs(config, where), where)


def _parse(text: str, where: str) -> Any:
    try:
        config = loads_json(text, where)
        check_integers(config, where)
    except RecursionError:
        raise InvalidArgument(f"{where}: nested too deeply to be a model config") from None
    return config


def _unwrap_tfjs(config: Any, where: str) -> Any:
    """A tfjs ``model.json``'s model config (``modelTopology.model_config`` or ``modelTopology``)."""
    if not isinstance(config, dict) or "modelTopology" not in config:
        return config
    topology = config["modelTopology"]
    if isinstance(topology, dict) and isinstance(topology.get("model_config"), dict):
        return topology["model_config"]
    if isinstance(topology, dict) and topology.get("class_name") in MODEL_CLASSES:
        return topology
    raise InvalidArgument(
        f"{where}: a tfjs model.json whose modelTopology holds no model_config "
        f"(found {type(topology).__name__}); a tfjs graph model has no Keras layers: convert a layers model"
    )


def _check_model(config: Any, where: str) -> dict[str, Any]:
    if not isinstance(config, dict) or config.get("class_name") not in MODEL_CLASSES:
        found = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise InvalidArgument(
            f"{where}: not a Keras model config (class_name {found!r}, accepted: "
            f"{', '.join(MODEL_CLASSES)}); give {ACCEPTED}"
        )
    return config


def _keras_archive(handle: Any, path: Path) -> tuple[bytes, str]:
    try:
        with zipfile.ZipFile(handle) as archive:
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                raise InvalidArgument(f"{str(path)!r} is a zip without config.json; is it a .keras file?") from None
            if info.file_size > CONFIG_LIMIT:
                raise InvalidArgument(
                    f"{str(path)!r}: config.json is {info.file_size} bytes; the limit is {CONFIG_LIMIT}"
                )
            with archive.open(info) as member:
                data = member.read(CONFIG_LIMIT + 1)
            if len(data) > CONFIG_LIMIT:
                raise InvalidArgument(f"{str(path)!r}: config.json is larger than {CONFIG_LIMIT} bytes")
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError) as error:
        text = " ".join(str(error).split()) or type(error).__name__
        raise InvalidArgument(f"{str(path)!r} is not a valid .keras archive: {text}") from None
    return data, f"{path}:config.json"


MODEL_CONFIG_SECONDS = 30.0
"""How long reading an HDF5 file's ``model_config`` may take before the file counts as damaged
(some damaged files make the HDF5 library loop forever; see :mod:`initcli.reading.bounded`)."""


def _hdf5_model_config(path: Path) -> str:
    """The root ``model_config`` attribute of an HDF5 file, as text, read in a child process
    with a time limit (:data:`MODEL_CONFIG_SECONDS`)."""
    from ..reading.bounded import in_child

    text = in_child(
        __name__,
        "_hdf5_model_config_bytes",
        (path,),
        MODEL_CONFIG_SECONDS,
        f"reading the model_config of {str(path)!r}",
    )
    return text.decode("utf-8", "surrogatepass")


def _hdf5_model_config_bytes(path: Path) -> bytes:
    """:func:`_read_hdf5_model_config` as bytes, for the process that reads it."""
    return _read_hdf5_model_config(path).encode("utf-8", "surrogatepass")


def _read_hdf5_model_config(path: Path) -> str:
    """The root ``model_config`` attribute of an HDF5 file, as text (see the module)."""
    h5py = import_whole("h5py")

    from ..reading.guard import translated
    from ..reading.hdf5 import _check_links, open_hdf5

    where = repr(str(path))
    with translated(path), open_hdf5(path) as handle:
        _check_links(handle, where)
        if "model_config" not in handle.attrs:
            kind = "Keras 3 weights" if "layers" in handle or "vars" in handle else "weights only"
            if "layer_names" in handle.attrs:
                kind = "legacy Keras weights (layer_names)"
            raise InvalidArgument(
                f"{where} holds {kind} and no architecture (no model_config attribute); give {ACCEPTED}"
            )
        attribute = h5py.h5a.open(handle.id, b"model_config")
        kind = attribute.get_type()
        if not isinstance(kind, h5py.h5t.TypeStringID) or attribute.shape not in ((), (1,)):
            raise InvalidArgument(
                f"{where}: its model_config attribute is not a JSON string (HDF5 type class "
                f"{kind.get_class()}, shape {attribute.shape}); Keras writes one string"
            )
        if not kind.is_variable_str() and attribute.get_storage_size() > CONFIG_LIMIT:
            raise InvalidArgument(
                f"{where}: its model_config attribute is {attribute.get_storage_size()} bytes; "
                f"the limit is {CONFIG_LIMIT}"
            )
        value = handle.attrs["model_config"]
    if hasattr(value, "shape") and getattr(value, "shape", ()) == (1,):
        value = value[0]
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")  # h5py decodes invalid bytes so
    if not isinstance(value, bytes):
        raise InvalidArgument(f"{where}: its model_config attribute is a {type(value).__name__}; Keras writes a string")
    if len(value) > CONFIG_LIMIT:
        raise InvalidArgument(f"{where}: its model_config attribute is {len(value)} bytes; the limit is {CONFIG_LIMIT}")
    return decode_text(value, repr(f"{path}:model_config"))
