"""initcli: Keras initializers, bit for bit, outside a training framework.

The Python API mirrors the command line one to one::

    import initcli
    w = initcli.sample("glorot_normal", (784, 64), seed=1)   # initcli glorot_normal --shape 784,64 --seed 1
    initcli.write_npy("w.npy", w)                            #   -o w.npy

Initializer classes, ``get``, ``serialize`` and ``deserialize`` live in
:mod:`initcli.initializers` and are re-exported here, as is
:class:`initcli.SeedGenerator` (``X(seed=initcli.SeedGenerator(s))`` gives
Keras's ``i``-th draw on the ``i``-th call).  Attributes are loaded
lazily so that ``import initcli`` (and ``initcli --version``) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "sample": "initcli.api",
    "sample_many": "initcli.api",
    "Tensor": "initcli.api",
    "write_npy": "initcli.writers.npy",
    "write_npz": "initcli.writers.npy",
    "compute_fans": "initcli.fans",
    "BACKENDS": "initcli.backends",
    "InitcliError": "initcli.errors",
    "InvalidArgument": "initcli.errors",
    "ResourceError": "initcli.errors",
    "SeedGenerator": "initcli.seed_generator",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        initializers = importlib.import_module("initcli.initializers")
        if name in initializers.__all__:
            return getattr(initializers, name)
        raise AttributeError(f"module 'initcli' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
