"""Record what real torch.nn.init draws, for tests/test_torch_init.py to check without torch.

Run with a Python that has torch 2.13.0 (CPU)::

    /work/venv-torch/bin/python tests/golden/make_torch_init_golden.py

It writes tests/golden/torch_init.json: the cases (the worker's format, see
tests/torch_init_worker.py), the SHA-256 of every tensor torch produced
(``dtype|shape|bytes``), and for ``orthogonal_`` (which is matched up to its QR
only) the values themselves.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from torch_init_worker import run  # noqa: E402

SEEDS = [0, 1, 2**32 - 1, 2**32 + 5, -1]
SHAPES = [[3, 5], [16, 1], [17, 3], [2, 3, 3, 3], [40, 25]]
VARIANTS = [
    ("uniform_", {"a": -0.1, "b": 0.3}),
    ("normal_", {"mean": 0.1, "std": 0.7}),
    ("xavier_uniform_", {}),
    ("xavier_normal_", {"gain": 0.5}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("trunc_normal_", {"std": 0.02}),
    ("trunc_normal_", {"a": -0.2, "b": 0.2}),
    ("trunc_normal_", {"mean": 0.3, "std": 0.7, "a": 2.0, "b": 3.0}),
    ("sparse_", {"sparsity": 0.3}),
]


def digest(array: np.ndarray) -> str:
    """SHA-256 of ``dtype|shape|C-order bytes``."""
    array = np.ascontiguousarray(array)
    head = f"{array.dtype.str}|{list(array.shape)}|".encode()
    return hashlib.sha256(head + array.tobytes()).hexdigest()


def cases() -> list[dict]:
    out = []
    for name, kwargs in VARIANTS:
        for seed in SEEDS:
            for shape in SHAPES:
                if name == "sparse_" and len(shape) != 2:
                    continue
                for dtype in ("float32", "float64"):
                    call = {"op": "init", "name": name, "shape": shape, "kwargs": kwargs, "dtype": dtype}
                    out.append({"seed": seed, "calls": [call, {"op": "normal", "n": 3, "dtype": dtype}]})
    for seed in SEEDS:
        for dtype in ("float32", "float64"):
            specs = ["Linear(20, 7)", "Conv2d(4, 6, 3, groups=2)", "Embedding(5, 3, padding_idx=-1)", "fc=Linear(3, 5)"]
            out.append({"seed": seed, "calls": [{"op": "modules", "specs": specs, "dtype": dtype}]})
            sequence = [
                {"op": "normal", "n": 3, "dtype": dtype},
                {"op": "normal", "n": 20, "dtype": dtype},
                {"op": "normal", "n": 1, "dtype": dtype},
                {"op": "init", "name": "kaiming_normal_", "shape": [3, 3], "dtype": dtype},
                {"op": "randperm", "n": 17},
                {"op": "init", "name": "uniform_", "shape": [5, 4], "dtype": dtype},
            ]
            out.append({"seed": seed, "calls": sequence})
            ortho = {"op": "init", "name": "orthogonal_", "shape": [6, 10], "kwargs": {"gain": 1.5}, "dtype": dtype}
            out.append({"seed": seed, "calls": [ortho, {"op": "normal", "n": 3, "dtype": dtype}]})
    return out


def main() -> None:
    import torch

    all_cases = cases()
    results = run(all_cases)
    records = []
    for c, case in enumerate(all_cases):
        tensors = {k: v for k, v in results.items() if k.startswith(f"c{c}_")}
        record: dict = {"case": case, "sha256": {k: digest(v) for k, v in tensors.items()}}
        if case["calls"][0].get("name") == "orthogonal_":
            record["values"] = {k: v.tolist() for k, v in tensors.items()}
        records.append(record)
    document = {
        "made_with": f"torch {torch.__version__}, capability {torch.backends.cpu.get_cpu_capability()}",
        "records": records,
    }
    (HERE / "torch_init.json").write_text(json.dumps(document, indent=1) + "\n")
    print(f"{len(records)} cases, {sum(len(r['sha256']) for r in records)} tensors")


if __name__ == "__main__":
    main()
