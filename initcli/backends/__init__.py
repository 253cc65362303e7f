"""The Keras backends whose random streams initcli reproduces.

Keras 3 maps one seed to different numbers on each backend.  initcli draws
the numbers of any of them with NumPy alone:

* ``numpy`` (default): Keras's NumPy backend (:mod:`initcli.backends.numpy_streams`);
* ``jax``: Keras on JAX (:mod:`initcli.backends.jax_streams`);
* ``tensorflow``: Keras on TensorFlow (:mod:`initcli.backends.tf_streams`);
* ``torch``: Keras on PyTorch, CPU (:mod:`initcli.backends.torch_streams`).

Each stream module has ``uniform_chunks``, ``normal_chunks`` and
``truncated_normal_chunks`` with one signature:
``(n, a, b, dtype, seed, draw) -> chunks`` with ``(a, b)`` being
``(minval, maxval)`` or ``(mean, stddev)``.  Code outside this package never
imports a stream module by name: it asks :func:`streams` for a backend's
module (``tests/test_import_graph.py`` checks this).  What the streams share
lives beside them: :mod:`initcli.backends.buffers` (chunk size, buffer rings,
gathering chunks) and :mod:`initcli.backends.chunking` (counter-based chunks
drawn on all cores); seeds are checked by :mod:`initcli.seeds`.

:mod:`initcli.backends.jax_native_half` has the same functions for Keras on
JAX where XLA:CPU computes float16 natively (CPUs with AVX512-FP16); it is
not a backend (``jax`` gives the same bytes on every machine) but what the
live tests compare with there.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from ..errors import InvalidArgument

DEFAULT = "numpy"
BACKENDS = ("numpy", "jax", "tensorflow", "torch")
_ALIASES = {"np": "numpy", "tf": "tensorflow"}
_MODULES = {
    "numpy": "initcli.backends.numpy_streams",
    "jax": "initcli.backends.jax_streams",
    "tensorflow": "initcli.backends.tf_streams",
    "torch": "initcli.backends.torch_streams",
}

VERIFIED = {
    "numpy": "keras 3.15.1 with numpy 2.x (any platform: NumPy's own generators); bfloat16 with ml_dtypes",
    "jax": (
        "keras 3.15.1 with jax/jaxlib 0.10.2 on x86-64 CPUs with FMA (float16: CPUs without AVX512-FP16; "
        "bfloat16 also on AVX512-BF16 CPUs)"
    ),
    "tensorflow": "keras 3.15.1 with tensorflow-cpu 2.21 on x86-64 Linux with glibc 2.28-2.40 (bfloat16 too)",
    "torch": (
        "keras 3.15.1 with torch 2.13.0+cpu on the CPU device, x86-64 Linux (glibc 2.36): live on an AVX-512 CPU "
        "(its own dispatch and ATEN_CPU_CAPABILITY=avx2: torch's AVX2 kernels), golden hashes from an AVX2 CPU; "
        "not ATEN_CPU_CAPABILITY=default; float16, bfloat16, float32, float64"
    ),
}
"""What each stream was checked against, bit for bit (recorded in provenance)."""


def check_backend(name: Any) -> str:
    """The canonical backend name for ``name`` (``numpy``, ``jax``, ``tensorflow``, ``torch``; also ``np``, ``tf``)."""
    if isinstance(name, str):
        key = name.strip().lower()
        key = _ALIASES.get(key, key)
        if key in BACKENDS:
            return key
    raise InvalidArgument(f"backend {name!r} is not known; use one of {', '.join(BACKENDS)}")


def streams(backend: str) -> ModuleType:
    """The module that draws ``backend``'s random streams."""
    return importlib.import_module(_MODULES[check_backend(backend)])
