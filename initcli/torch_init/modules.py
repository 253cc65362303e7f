"""Default parameter resets of ``nn.Linear``, ``nn.Conv1d/2d/3d`` and ``nn.Embedding`` (torch 2.13.0, CPU).

A module's constructor draws its parameters from the global generator, in
this order (``reset_parameters``):

* ``Linear(in_features, out_features, bias=True)``: ``weight[out, in]`` by
  ``kaiming_uniform_(a=√5)`` -- i.e. ``uniform_(-b, b)``, ``b = √3·√(2/(1+5))/√fan_in
  = 1/√fan_in`` computed that way in double -- then ``bias[out]`` by
  ``uniform_(-1/√fan_in, 1/√fan_in)`` (bound 0 when ``fan_in`` is 0).
* ``ConvNd(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
  groups=1, bias=True, padding_mode='zeros')``: the same with ``weight[out, in/groups, *k]``
  and ``fan_in = in/groups · prod(k)``.  ``stride``, ``padding``, ``dilation`` and
  ``padding_mode`` do not change the draws (they are checked as torch checks them).
* ``Embedding(num_embeddings, embedding_dim, padding_idx=None, ...)``: ``weight`` by
  ``normal_(0, 1)``, then row ``padding_idx`` (negative counts from the end) set to 0.

Several modules made in sequence (as a model's ``__init__`` or ``nn.Sequential``
makes them) continue one generator; :func:`reset_modules` names their tensors
as the model's ``state_dict`` does: ``0.weight``, ``0.bias``, ``1.weight``, ...
or ``NAME.weight`` for a spec written ``NAME=Linear(...)``.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidArgument
from .functions import kaiming_uniform_, normal_, resolve_generator, uniform_
from .generator import LazyDraw, TorchGenerator, check_dtype


@dataclass(frozen=True)
class Parameter:
    """One tensor a module draws: its name in the module, shape and how it is drawn."""

    name: str
    shape: tuple[int, ...]
    draw: Callable[[TorchGenerator, np.dtype], np.ndarray]


@dataclass(frozen=True)
class Module:
    """A module as its constructor was called: ``kind(*args, **kwargs)`` and its parameters in draw order."""

    kind: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    parameters: tuple[Parameter, ...] = ()

    def __str__(self) -> str:
        shown = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.kind}({', '.join(shown)})"


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgument(f"{what} {value!r} is not a non-negative integer")
    return value


def _tuple(value: Any, n: int, what: str) -> tuple[int, ...]:
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise InvalidArgument(f"{what} {value!r} needs {n} values for a {n}-d convolution")
        return tuple(_int(v, what) for v in value)
    return (_int(value, what),) * n


def _weight_and_bias(weight_shape: tuple[int, ...], bias: bool, fan_in: int) -> tuple[Parameter, ...]:
    """``kaiming_uniform_(weight, a=√5)`` then ``uniform_(bias, -1/√fan_in, 1/√fan_in)``."""

    def weight(gen: TorchGenerator, dtype: np.dtype) -> np.ndarray:
        return kaiming_uniform_(weight_shape, a=math.sqrt(5), generator=gen, dtype=dtype)

    params = [Parameter("weight", weight_shape, weight)]
    if bias:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0

        def draw_bias(gen: TorchGenerator, dtype: np.dtype) -> np.ndarray:
            return uniform_((weight_shape[0],), -bound, bound, generator=gen, dtype=dtype)

        params.append(Parameter("bias", (weight_shape[0],), draw_bias))
    return tuple(params)


def Linear(in_features: int, out_features: int, bias: bool = True) -> tuple[Parameter, ...]:
    """``nn.Linear``: ``weight[out_features, in_features]``, ``bias[out_features]``."""
    fan_in = _int(in_features, "in_features")
    return _weight_and_bias((_int(out_features, "out_features"), fan_in), bool(bias), fan_in)


def _conv(n: int) -> Callable[..., tuple[Parameter, ...]]:
    def conv(
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> tuple[Parameter, ...]:
        in_c, out_c = _int(in_channels, "in_channels"), _int(out_channels, "out_channels")
        kernel = _tuple(kernel_size, n, "kernel_size")
        strides = _tuple(stride, n, "stride")
        _tuple(dilation, n, "dilation")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise InvalidArgument(f"groups must be a positive integer, got {groups!r}")
        if in_c % groups:
            raise InvalidArgument(f"in_channels must be divisible by groups ({in_c} by {groups})")
        if out_c % groups:
            raise InvalidArgument(f"out_channels must be divisible by groups ({out_c} by {groups})")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise InvalidArgument(f"Invalid padding string {padding!r}, should be one of 'same', 'valid'")
            if padding == "same" and any(s != 1 for s in strides):
                raise InvalidArgument("padding='same' is not supported for strided convolutions")
        else:
            _tuple(padding, n, "padding")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise InvalidArgument(
                f"padding_mode must be one of zeros, reflect, replicate, circular, but got {padding_mode!r}"
            )
        shape = (out_c, in_c // groups, *kernel)
        return _weight_and_bias(shape, bool(bias), in_c // groups * math.prod(kernel))

    conv.__name__ = conv.__qualname__ = f"Conv{n}d"
    conv.__doc__ = f"``nn.Conv{n}d``: ``weight[out, in/groups, *kernel_size]``, ``bias[out]``."
    return conv


Conv1d, Conv2d, Conv3d = _conv(1), _conv(2), _conv(3)


def Embedding(
    num_embeddings: int,
    embedding_dim: int,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> tuple[Parameter, ...]:
    """``nn.Embedding``: ``weight[num_embeddings, embedding_dim]`` by ``normal_``, row ``padding_idx`` zeroed."""
    num, dim = _int(num_embeddings, "num_embeddings"), _int(embedding_dim, "embedding_dim")
    row = padding_idx
    if row is not None:
        if isinstance(row, bool) or not isinstance(row, int):
            raise InvalidArgument(f"padding_idx {row!r} is not an integer")
        if row >= num or row < -num:
            raise InvalidArgument(f"Padding_idx must be within num_embeddings (padding_idx {row}, {num} embeddings)")
        row %= num

    def weight(gen: TorchGenerator, dtype: np.dtype) -> np.ndarray:
        out = normal_((num, dim), generator=gen, dtype=dtype)
        if row is not None:
            if isinstance(out, LazyDraw):  # a lazy generator: zeroed as it is computed
                return out.zeroed(row * dim, (row + 1) * dim)
            out[row] = 0
        return out

    return (Parameter("weight", (num, dim), weight),)


MODULES: dict[str, Callable[..., tuple[Parameter, ...]]] = {
    "Linear": Linear,
    "Conv1d": Conv1d,
    "Conv2d": Conv2d,
    "Conv3d": Conv3d,
    "Embedding": Embedding,
}
"""The modules whose default resets are reproduced, by torch's class name."""


def module(kind: str, *args: Any, **kwargs: Any) -> Module:
    """The module ``kind(*args, **kwargs)``, with torch's argument names and checks."""
    builder = MODULES.get(kind)
    if builder is None:
        raise InvalidArgument(f"module {kind!r} is not known; use one of {', '.join(MODULES)}")
    try:
        params = builder(*args, **kwargs)
    except TypeError as error:
        message = str(error).replace(f"{builder.__name__}()", kind)
        raise InvalidArgument(f"{kind}: {message}") from None
    return Module(kind, tuple(args), dict(kwargs), params)


def parse_module(text: str) -> tuple[str | None, Module]:
    """``"Linear(784, 64)"``, ``"nn.Conv2d(3, 16, 3, padding=1)"`` or ``"fc1=Linear(784, 64)"``:
    (the name, or ``None``) and the module.  Arguments must be literals."""
    name, _, call = text.partition("=") if _looks_named(text) else (None, "", text)
    try:
        node = ast.parse(call.strip(), mode="eval").body
    except SyntaxError:
        node = None
    if not isinstance(node, ast.Call):
        raise InvalidArgument(f"module {text!r} is not a call like Linear(784, 64); use one of {', '.join(MODULES)}")
    func = node.func
    kind = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg is not None}
    except ValueError:
        raise InvalidArgument(f"module {text!r}: arguments must be literal numbers, strings or tuples") from None
    if len(kwargs) != len(node.keywords):
        raise InvalidArgument(f"module {text!r}: **kwargs are not accepted; write the arguments out")
    kwargs.pop("device", None)
    if "dtype" in kwargs:
        raise InvalidArgument(f"module {text!r}: give the dtype with --dtype (dtype=) for all modules")
    return (name.strip() if name else None), module(kind, *args, **kwargs)


def _looks_named(text: str) -> bool:
    """Whether ``text`` starts with a state_dict prefix and ``=``: ``fc1=``, ``features.0=``."""
    head = text.split("(", 1)[0]
    return "=" in head and re.fullmatch(r"\w+(\.\w+)*", head.split("=", 1)[0].strip()) is not None


def reset_modules(
    modules: Sequence[Module | str | tuple[str, Module | str]],
    *,
    generator: TorchGenerator | None = None,
    seed: int | None = None,
    dtype: object = "float32",
) -> dict[str, np.ndarray]:
    """The parameters ``modules`` draw when constructed one after the other, as a ``state_dict``.

    ``modules`` are :class:`Module` objects, spec strings (:func:`parse_module`) or
    ``(name, module)`` pairs; unnamed ones are named by their index, as in ``nn.Sequential``.
    With a :attr:`~TorchGenerator.lazy` generator every tensor of 16 elements or more is a
    :class:`LazyDraw`, computed chunk by chunk when read.
    """
    gen = resolve_generator(generator, seed)
    kind = check_dtype(dtype)
    state: dict[str, np.ndarray] = {}
    for index, item in enumerate(modules):
        name, spec = item if isinstance(item, tuple) else (None, item)
        if isinstance(spec, str):
            parsed_name, spec = parse_module(spec)
            name = name or parsed_name
        prefix = str(index) if name is None else name
        for param in spec.parameters:
            key = f"{prefix}.{param.name}"
            if key in state:
                raise InvalidArgument(f"two modules are named {prefix!r}; give each module its own name")
            state[key] = param.draw(gen, kind)
    return state
