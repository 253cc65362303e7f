"""Runs torch.nn.init cases in real torch (CPU) and saves what torch drew.

Run by tests/test_torch_init.py (and tests/golden/make_torch_init_golden.py) with a
Python that has torch::

    python tests/torch_init_worker.py OUT.npz < cases.json

``cases.json`` is a list of cases; each case is ``{"seed": s, "calls": [...]}`` and
runs ``torch.manual_seed(s)`` and then its calls in order on the global generator:

* ``{"op": "init", "name": "kaiming_normal_", "shape": [64, 784], "kwargs": {...}, "dtype": "float32"}``:
  ``torch.nn.init.<name>(torch.empty(shape, dtype=dtype), **kwargs)``;
* ``{"op": "modules", "specs": ["Linear(784,64)", "fc=Linear(64,10)"], "dtype": "float32"}``:
  the modules built in order, their ``state_dict`` entries named ``i.param`` or ``name.param``;
* ``{"op": "normal", "n": 5, "dtype": ...}`` / ``{"op": "rand", ...}``: ``Tensor.normal_()`` / ``uniform_()``;
* ``{"op": "randperm", "n": 10}``.

Member ``c{case}_{call}`` (``c{case}_{call}_{key}`` for modules) of OUT.npz holds the result.
A last member ``capability`` holds ``torch.backends.cpu.get_cpu_capability()`` and the version.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import torch
from torch import nn

DTYPES = {"float32": torch.float32, "float64": torch.float64}
MODULES = {
    "Linear": nn.Linear,
    "Conv1d": nn.Conv1d,
    "Conv2d": nn.Conv2d,
    "Conv3d": nn.Conv3d,
    "Embedding": nn.Embedding,
}


def build(spec: str, dtype: torch.dtype) -> tuple[str | None, nn.Module]:
    """``"Linear(784, 64)"`` or ``"fc=Linear(784, 64)"`` as a torch module of ``dtype``."""
    name = None
    head = spec.split("(", 1)[0]
    if "=" in head:
        name, spec = spec.split("=", 1)
    call = spec.strip().removeprefix("nn.")
    kind, _, rest = call.partition("(")
    factory = MODULES[kind]
    module = eval(f"factory({rest[:-1]}, dtype=dtype)", {"factory": factory, "dtype": dtype})  # test input only
    return name, module


def run(cases: list[dict]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    warnings.simplefilter("ignore")
    for c, case in enumerate(cases):
        torch.manual_seed(case["seed"])
        for k, call in enumerate(case["calls"]):
            key = f"c{c}_{k}"
            dtype = DTYPES[call.get("dtype", "float32")]
            op = call["op"]
            if op == "init":
                tensor = torch.empty(call["shape"], dtype=dtype)
                getattr(nn.init, call["name"])(tensor, **call.get("kwargs", {}))
                out[key] = tensor.numpy().copy()
            elif op == "modules":
                for i, spec in enumerate(call["specs"]):
                    name, module = build(spec, dtype)
                    prefix = str(i) if name is None else name
                    for param, value in module.state_dict().items():
                        out[f"{key}_{prefix}.{param}"] = value.numpy().copy()
            elif op == "normal":
                out[key] = torch.empty(call["n"], dtype=dtype).normal_(*call.get("args", ())).numpy()
            elif op == "rand":
                out[key] = torch.empty(call["n"], dtype=dtype).uniform_(*call.get("args", ())).numpy()
            elif op == "randperm":
                out[key] = torch.randperm(call["n"]).numpy()
            else:
                raise ValueError(op)
    out["capability"] = np.array(f"{torch.__version__} {torch.backends.cpu.get_cpu_capability()}")
    return out


def main() -> None:
    cases = json.load(sys.stdin)
    np.savez(sys.argv[1], **run(cases))


if __name__ == "__main__":
    main()
