"""``torch.nn.init`` (torch 2.13.0, CPU) in NumPy: torch's names, arguments, defaults and numbers.

``torch.nn.init`` draws from torch's global CPU generator.  Here a
:class:`TorchGenerator` stands in for it right after ``torch.manual_seed(seed)``;
each function takes a shape where torch takes a tensor and returns a new array
that equals, bit for bit, what torch puts in the tensor::

    from initcli import torch_init as ti
    w = ti.kaiming_normal_((64, 784), mode="fan_out", seed=1)
    # == torch.manual_seed(1); torch.nn.init.kaiming_normal_(torch.empty(64, 784), mode="fan_out")

    g = ti.TorchGenerator(0)                      # torch.manual_seed(0)
    w = ti.xavier_uniform_((128, 64), generator=g)  # successive calls continue the stream
    b = ti.normal_((128,), std=0.01, generator=g)

    sd = ti.reset_modules(["Linear(784, 64)", "Conv2d(64, 128, 3)"], seed=0)  # {"0.weight": ..., ...}

Exact: every function but ``orthogonal_`` (NumPy's QR) and ``trunc_normal_`` when
``P(a < X < b) <= 0.3`` (torch's ``log`` there is SLEEF's); see :mod:`.special`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .functions import (
    calculate_fan_in_and_fan_out,
    calculate_gain,
    constant_,
    dirac_,
    eye_,
    kaiming_normal_,
    kaiming_uniform_,
    normal_,
    ones_,
    uniform_,
    xavier_normal_,
    xavier_uniform_,
    zeros_,
)
from .generator import TorchGenerator
from .modules import MODULES, Module, module, parse_module, reset_modules
from .special import orthogonal_, sparse_, trunc_normal_

INITIALIZERS: dict[str, Callable[..., Any]] = {
    "uniform_": uniform_,
    "normal_": normal_,
    "trunc_normal_": trunc_normal_,
    "constant_": constant_,
    "ones_": ones_,
    "zeros_": zeros_,
    "eye_": eye_,
    "dirac_": dirac_,
    "xavier_uniform_": xavier_uniform_,
    "xavier_normal_": xavier_normal_,
    "kaiming_uniform_": kaiming_uniform_,
    "kaiming_normal_": kaiming_normal_,
    "orthogonal_": orthogonal_,
    "sparse_": sparse_,
}
"""``torch.nn.init``'s functions by name."""

DETERMINISTIC = frozenset({"constant_", "ones_", "zeros_", "eye_", "dirac_"})
"""The functions that draw nothing (they take no seed)."""

EXACT = frozenset(INITIALIZERS) - {"orthogonal_"}
"""Bit-identical with torch (``trunc_normal_`` only where ``P(a < X < b) > 0.3``)."""


def arguments(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """torch's own arguments of a function here, by name with their defaults: those after the
    shape and before the keyword-only ``generator``, ``seed`` and ``dtype``."""
    return {
        name: p
        for name, p in list(inspect.signature(function).parameters.items())[1:]
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    }


def get(name: str) -> Callable[..., Any]:
    """The function called ``name`` (torch's spelling, with the trailing underscore)."""
    from ..errors import InvalidArgument

    function = INITIALIZERS.get(name)
    if function is None:
        hint = f" (torch's name is {name}_)" if f"{name}_" in INITIALIZERS else ""
        raise InvalidArgument(f"torch.nn.init has no {name!r}{hint}; use one of {', '.join(INITIALIZERS)}")
    return function


__all__ = [
    "DETERMINISTIC",
    "EXACT",
    "INITIALIZERS",
    "MODULES",
    "Module",
    "TorchGenerator",
    "arguments",
    "calculate_fan_in_and_fan_out",
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "get",
    "kaiming_normal_",
    "kaiming_uniform_",
    "module",
    "normal_",
    "ones_",
    "orthogonal_",
    "parse_module",
    "reset_modules",
    "sparse_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]
