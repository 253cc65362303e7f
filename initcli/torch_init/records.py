"""Provenance of ``initcli torch`` output: how to remake each tensor, and remaking it.

torch's numbers depend on everything drawn since ``torch.manual_seed``, so a tensor's record
names the whole run it came from, not just its own call.  Each tensor carries the common
fields of :mod:`initcli.provenance` (``schema``, ``initcli``, ``stream``, ``path``, ``shape``,
``dtype``) and a ``torch`` object, one of::

    {"seed": 1, "calls": [{"function": "kaiming_normal_", "shape": [64, 784],
                           "arguments": {"mode": "fan_out"}}, ...], "index": 0}
    {"seed": 0, "modules": ["Linear(784, 64)", "fc=Linear(64, 10)"], "parameter": "fc.weight"}

``calls``: the function calls of the run, in order, on one generator seeded with ``seed``
(the run's every ``--shape``), the tensor being call ``index``; ``modules``: the module
specs made in sequence after ``torch.manual_seed(seed)``, the tensor being the
``state_dict`` entry ``parameter``.  The stream is ``{"backend": "torch.nn.init", ...}``.

:func:`replay_run` remakes every tensor of a run at once (one pass of the generator for the
whole file, as the command made it): a call that only reshapes its draw is computed lazily,
chunk by chunk (:class:`~initcli.torch_init.generator.LazyDraw`), the others whole, as the
command itself computes them.  A malformed record is :class:`Malformed`, with the reason.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .. import __version__
from ..errors import InvalidArgument
from .generator import LAZY_SAFE, LazyDraw, TorchGenerator, check_dtype, check_torch_seed

STREAM = "torch.nn.init"
"""The ``stream.backend`` of a torch.nn.init record."""
STREAM_VERSION = 1
"""Version of the mapping (run, seed) -> bytes of :mod:`initcli.torch_init`."""
VERIFIED = (
    "torch 2.13.0, CPU build, x86-64 Linux: bit for bit but orthogonal_ (NumPy's QR, about 1e-7) and "
    "trunc_normal_ where P(a<X<b) <= 0.3 (rare last-bit differences); verify remakes initcli's own numbers"
)
MAX_CALLS = 4096
"""The most calls or modules a run's record may list."""


class Malformed(ValueError):
    """A torch record that cannot describe a tensor (the message says why)."""


def stream_info() -> dict[str, Any]:
    """The stream of every torch.nn.init tensor."""
    return {"backend": STREAM, "version": STREAM_VERSION, "numpy": np.__version__, "verified": VERIFIED}


def tensor_record(path: str, shape: tuple[int, ...], dtype: np.dtype, torch: dict[str, Any]) -> dict[str, Any]:
    """One tensor's provenance: the common fields and the run (``torch``, see the module)."""
    from ..provenance import SCHEMA

    return {
        "schema": SCHEMA,
        "initcli": __version__,
        "stream": stream_info(),
        "path": path,
        "shape": list(shape),
        "dtype": np.dtype(dtype).name,
        "torch": torch,
    }


def run_key(record: dict[str, Any]) -> str:
    """What identifies the run a tensor's record belongs to (tensors of one run share it)."""
    torch = record.get("torch")
    if not isinstance(torch, dict):
        raise Malformed(f"torch is {_short(torch)}, not an object")
    run = {k: v for k, v in torch.items() if k not in ("index", "parameter")}
    return json.dumps([run, record.get("dtype")], sort_keys=True)


def member(record: dict[str, Any]) -> int | str:
    """Which tensor of its run ``record`` describes: a call's index or a ``state_dict`` key."""
    torch = record["torch"]
    if "calls" in torch:
        calls = _list(torch["calls"], "calls")
        index = torch.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(calls):
            raise Malformed(f"index is {_short(index)}, not the number of one of the {len(calls)} calls")
        return index
    parameter = torch.get("parameter")
    if not isinstance(parameter, str):
        raise Malformed(f"parameter is {_short(parameter)}, not a state_dict key")
    return parameter


def replay_run(record: dict[str, Any], limit: int | None = None) -> dict[int | str, np.ndarray | LazyDraw]:
    """Every tensor of the run ``record`` belongs to, by :func:`member` key; :class:`Malformed`
    before any draw if the run makes more than ``limit`` elements in all."""
    from ..memory import check_fits
    from . import DETERMINISTIC, INITIALIZERS, reset_modules
    from .modules import parse_module

    torch = record.get("torch")
    if not isinstance(torch, dict):
        raise Malformed(f"torch is {_short(torch)}, not an object")
    try:
        dtype = check_dtype(record.get("dtype"))
    except InvalidArgument as error:
        raise Malformed(str(error)) from None
    if "calls" in torch:
        calls = _list(torch["calls"], "calls")
        random = any(not isinstance(c, dict) or c.get("function") not in DETERMINISTIC for c in calls)
        generator = TorchGenerator(_seed(torch)) if random else None
        shapes = [
            _shape(c.get("shape") if isinstance(c, dict) else None, f"call {i}'s shape") for i, c in enumerate(calls)
        ]
        _check_limit(sum(math.prod(shape) for shape in shapes), limit)
        out: dict[int | str, np.ndarray | LazyDraw] = {}
        for index, call in enumerate(calls):
            if not isinstance(call, dict):
                raise Malformed(f"call {index} is {_short(call)}, not an object")
            name = call.get("function")
            if name not in INITIALIZERS:
                raise Malformed(f"call {index}'s function is {_short(name)}, not a torch.nn.init function")
            shape = _shape(call.get("shape"), f"call {index}'s shape")
            arguments = call.get("arguments", {})
            if not isinstance(arguments, dict) or not all(
                isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in arguments.values()
            ):
                raise Malformed(f"call {index}'s arguments are {_short(arguments)}, not numbers and strings by name")
            if generator is not None:
                generator.lazy = name in LAZY_SAFE
            if name not in LAZY_SAFE:
                check_fits(math.prod(shape) * dtype.itemsize * 3, f"{name} of shape {shape}")
            _check_arguments(INITIALIZERS[name], arguments, index)
            extra = {} if name in DETERMINISTIC else {"generator": generator}
            out[index] = INITIALIZERS[name](shape, **arguments, **extra, dtype=dtype)
        return out
    specs = _list(torch.get("modules"), "modules")
    if not all(isinstance(spec, str) for spec in specs):
        raise Malformed("modules are not all module specs like 'Linear(784, 64)'")
    parsed = [parse_module(spec) for spec in specs]
    _check_limit(sum(math.prod(p.shape) for _, m in parsed for p in m.parameters), limit)
    generator = TorchGenerator(_seed(torch))
    generator.lazy = True  # computed chunk by chunk as compared, as the command wrote them
    return dict(reset_modules(parsed, generator=generator, dtype=dtype))


def _check_limit(total: int, limit: int | None) -> None:
    if limit is not None and total > limit:
        raise Malformed(f"its run makes {total} elements, more than the {limit} verify remakes for this file")


def _seed(torch: dict[str, Any]) -> int:
    try:
        return check_torch_seed(torch.get("seed"))
    except InvalidArgument as error:
        raise Malformed(str(error)) from None


def _check_arguments(function: Any, arguments: dict[str, Any], index: int) -> None:
    """Only torch's own arguments of ``function`` (not ``generator``, ``seed`` or ``dtype``)."""
    from . import arguments as torch_arguments

    accepted = torch_arguments(function)
    unknown = [key for key in arguments if key not in accepted]
    if unknown:
        raise Malformed(f"call {index} has arguments {', '.join(map(repr, unknown))}, which torch's function has not")


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise Malformed(f"{what} is {_short(value)}, not a non-empty list")
    if len(value) > MAX_CALLS:
        raise Malformed(f"{len(value)} {what} (at most {MAX_CALLS})")
    return value


def _shape(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > 32:
        raise Malformed(f"{what} is {_short(value)}, not a list of at most 32 sizes")
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**63 for d in value):
        raise Malformed(f"{what} is {_short(value)}, not a list of sizes")
    return tuple(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
