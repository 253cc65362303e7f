"""Run real Keras 3 initializers on one backend; the Keras side of ``tests/test_backends_live.py``.

Keras fixes its backend when it is first imported, so the live tests run this
script once per backend in a subprocess::

    KERAS_BACKEND=jax JAX_PLATFORMS=cpu python tests/keras_backend_worker.py CASES.json OUT.npz
    KERAS_BACKEND=torch KERAS_TORCH_DEVICE=cpu python tests/keras_backend_worker.py CASES.json OUT.npz

``CASES.json`` is a JSON list of cases, each an object with ``class_name``,
``config`` (keyword arguments of the initializer class, without ``seed``),
``seed``, ``draw``, ``shape`` and ``dtype``.  ``draw == 0`` calls
``keras.initializers.<class_name>(seed=seed, **config)(shape, dtype=dtype)``
once; ``draw == k > 0`` builds the initializer with
``seed=keras.random.SeedGenerator(seed)`` and keeps its ``(k + 1)``-th call.

``OUT.npz`` holds ``case_<i>`` (the array Keras returned for case ``i``, in
the dtype Keras returned it) and ``meta``, a JSON string: the Keras and backend
versions (for torch also the CPU kernels torch dispatches to, ``cpu_capability``,
its thread count and the device Keras puts tensors on), and ``errors``,
``{"<i>": "<ExceptionType>: <message>"}`` for the cases where Keras raised.
No pickles: ``np.load`` needs no ``allow_pickle``.

Exit status :data:`UNAVAILABLE` (with the reason on stderr) when the backend
or Keras cannot be imported, 2 for a wrong Keras version or backend, else 0.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

UNAVAILABLE = 3
KERAS_VERSION = "3.15.1"
BACKEND_MODULES = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}


def run_case(keras, np, case: dict):
    """The array Keras returns for ``case``."""
    cls = getattr(keras.initializers, case["class_name"])
    shape = tuple(case["shape"])
    if case["draw"] == 0:
        value = cls(seed=case["seed"], **case["config"])(shape, dtype=case["dtype"])
    else:
        initializer = cls(seed=keras.random.SeedGenerator(case["seed"]), **case["config"])
        for _ in range(case["draw"] + 1):
            value = initializer(shape, dtype=case["dtype"])
    return np.asarray(keras.ops.convert_to_numpy(value))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: KERAS_BACKEND=jax|tensorflow|torch keras_backend_worker.py CASES.json OUT.npz", file=sys.stderr)
        return 2
    backend = os.environ.get("KERAS_BACKEND", "")
    if backend not in BACKEND_MODULES:
        print(f"KERAS_BACKEND must be one of {sorted(BACKEND_MODULES)}, not {backend!r}", file=sys.stderr)
        return 2
    try:
        backend_module = importlib.import_module(BACKEND_MODULES[backend])
        import keras
    except ImportError as error:
        print(f"cannot import the {backend} backend: {type(error).__name__}: {error}", file=sys.stderr)
        return UNAVAILABLE
    import numpy as np

    if keras.__version__ != KERAS_VERSION:
        print(f"need keras {KERAS_VERSION}, found {keras.__version__}", file=sys.stderr)
        return 2
    if keras.backend.backend() != backend:
        print(f"keras runs on {keras.backend.backend()!r}, not {backend!r}", file=sys.stderr)
        return 2

    extra = {}
    if backend == "torch":
        # Keras draws on the device of its tensors (a CUDA generator is another stream entirely)
        device = str(keras.ops.convert_to_tensor(0.0).device)
        if device != "cpu":
            print(f"keras puts torch tensors on {device!r}, not 'cpu' (set KERAS_TORCH_DEVICE=cpu)", file=sys.stderr)
            return 2
        extra = {
            "cpu_capability": backend_module.backends.cpu.get_cpu_capability(),
            "num_threads": backend_module.get_num_threads(),
            "device": device,
        }

    with open(argv[0], encoding="utf-8") as handle:
        cases = json.load(handle)
    arrays: dict[str, object] = {}
    errors: dict[str, str] = {}
    for index, case in enumerate(cases):
        try:
            arrays[f"case_{index}"] = run_case(keras, np, case)
        except Exception as error:
            first_line = (str(error).strip().splitlines() or [""])[0]
            errors[str(index)] = f"{type(error).__name__}: {first_line}"
    meta = {
        "keras": keras.__version__,
        "backend": backend,
        "backend_version": backend_module.__version__,
        "numpy": np.__version__,
        "cases": len(cases),
        "errors": errors,
        **extra,
    }
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(argv[1], **arrays)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
