"""Writers lay tensors out in files; they know nothing of random numbers.

* :mod:`initcli.writers.atomic` -- every file is written to a temporary file
  beside the target and moved into place only when complete;
* :mod:`initcli.writers.npy` -- ``.npy`` (one tensor) and ``.npz`` (several,
  reproducible zip members);
* :mod:`initcli.writers.safetensors` -- safetensors files and sharded sets;
* :mod:`initcli.writers.hdf5`, :mod:`initcli.writers.keras_h5`, :mod:`initcli.writers.sharded`
  -- HDF5 datasets, Keras's weight files and Keras's sharded sets.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidArgument

FORMATS = ("npy", "npz", "hdf5", "safetensors")
"""Output formats by name; the suffix of the output path chooses one."""


def format_for_path(path: str, explicit: str | None = None) -> str:
    """The output format: ``explicit`` if given, else from the suffix (``-`` means npy on stdout)."""
    if explicit is not None:
        if explicit not in FORMATS:
            raise InvalidArgument(f"format {explicit!r} is not known; use one of {', '.join(FORMATS)}")
        return explicit
    if path == "-":
        return "npy"
    suffix = Path(path).suffix.lower()
    if suffix in (".npy", ".npz"):
        return suffix[1:]
    if suffix in (".h5", ".hdf5"):
        return "hdf5"
    if suffix == ".safetensors":
        return "safetensors"
    shown = suffix or "(none)"
    raise InvalidArgument(
        f"output suffix {shown!r} of {path!r} is not known; use .npy, .npz, .h5 (with --path) or .safetensors, "
        "or -o - for .npy on stdout"
    )
