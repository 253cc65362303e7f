"""``torch.nn.init``'s functions (torch 2.13.0, CPU), on shapes instead of tensors.

Each function takes the tensor's ``shape`` where torch takes the tensor, then
torch's own arguments with torch's defaults, and keyword-only ``generator``
(a :class:`~initcli.torch_init.generator.TorchGenerator` to continue) or
``seed`` (a fresh one, as right after ``torch.manual_seed(seed)``) and
``dtype`` (float32, torch's default, or float64).  It returns a new array, in
torch's layout (C order, ``weight[out, in, *kernel]``).

Fans (``_calculate_fan_in_and_fan_out``): ``fan_in = shape[1]·prod(shape[2:])``,
``fan_out = shape[0]·prod(shape[2:])``; fewer than 2 dimensions is an error.
Bounds and standard deviations are computed in Python double, as torch does,
and the draws are the generator's ``uniform_`` and ``normal_``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgument
from .generator import TorchGenerator, check_dtype

Shape = Sequence[int]

LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)
NONLINEARITIES = (*LINEAR_FNS, "sigmoid", "tanh", "relu", "leaky_relu", "selu")
FAN_MODES = ("fan_in", "fan_out")


def check_shape(shape: Shape) -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative ints."""
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise InvalidArgument(f"shape {shape!r} is not a sequence of integers; use e.g. (64, 784)") from None
    if any(d < 0 for d in dims):
        raise InvalidArgument(f"shape {dims} has a negative dimension; use sizes >= 0")
    return dims


def resolve_generator(generator: TorchGenerator | None, seed: int | None) -> TorchGenerator:
    """The generator to draw from: ``generator`` itself, or a fresh one for ``seed``."""
    if generator is not None and seed is not None:
        raise InvalidArgument("give either generator= (to continue a stream) or seed= (a fresh one), not both")
    if generator is not None:
        if not isinstance(generator, TorchGenerator):
            raise InvalidArgument(f"generator {generator!r} is not an initcli.torch_init.TorchGenerator")
        return generator
    if seed is None:
        raise InvalidArgument(
            "no seed: give seed= (as torch.manual_seed(seed)) or generator=; torch seeds a fresh process at random"
        )
    return TorchGenerator(seed)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """``torch.nn.init.calculate_gain``: 1 for linear/conv/sigmoid, 5/3 for tanh, √2 for relu,
    √(2 / (1 + slope²)) for leaky_relu (slope ``param``, default 0.01), 3/4 for selu."""
    if nonlinearity in LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope: float = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            slope = param
        else:
            raise InvalidArgument(f"negative_slope {param} not a valid number; use a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise InvalidArgument(f"Unsupported nonlinearity {nonlinearity}; use one of {', '.join(NONLINEARITIES)}")


def calculate_fan_in_and_fan_out(shape: Shape) -> tuple[int, int]:
    """torch's fans: ``(shape[1]·r, shape[0]·r)`` with ``r = prod(shape[2:])``."""
    dims = check_shape(shape)
    if len(dims) < 2:
        raise InvalidArgument(
            f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape {dims})"
        )
    receptive = math.prod(dims[2:])
    return dims[1] * receptive, dims[0] * receptive


def calculate_correct_fan(shape: Shape, mode: str) -> int:
    """``fan_in`` or ``fan_out`` (``mode`` is lower-cased first, as torch does)."""
    mode = str(mode).lower()
    if mode not in FAN_MODES:
        raise InvalidArgument(f"Mode {mode} not supported, please use one of {list(FAN_MODES)}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def _uniform(shape: Shape, a: float, b: float, gen: TorchGenerator, dtype: object) -> np.ndarray:
    dims = check_shape(shape)
    if not a <= b:
        raise InvalidArgument(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
    return gen.uniform(math.prod(dims), a, b, check_dtype(dtype)).reshape(dims)


def _normal(shape: Shape, mean: float, std: float, gen: TorchGenerator, dtype: object) -> np.ndarray:
    dims = check_shape(shape)
    if not std >= 0:
        raise InvalidArgument(f"normal expects std >= 0.0, but found std {std}")
    return gen.normal(math.prod(dims), mean, std, check_dtype(dtype)).reshape(dims)


# ---- the random initializers ---------------------------------------------------------------


def uniform_(
    shape: Shape,
    a: float = 0.0,
    b: float = 1.0,
    *,
    generator: TorchGenerator | None = None,
    seed: int | None = None,
    dtype: object = "float32",
) -> np.ndarray:
    """``uniform_(a, b)``: ``fma(x, RN(b) - RN(a), RN(a))``, ``x`` torch's [0, 1) uniform."""
    return _uniform(shape, a, b, resolve_generator(generator, seed), dtype)


def normal_(
    shape: Shape,
    mean: float = 0.0,
    std: float = 1.0,
    *,
    generator: TorchGenerator | None = None,
    seed: int | None = None,
    dtype: object = "float32",
) -> np.ndarray:
    """``normal_(mean, std)``: Box-Muller, ``fma(z, std, mean)`` (fill for >= 16 elements, else serial)."""
    return _normal(shape, mean, std, resolve_generator(generator, seed), dtype)


def xavier_uniform_(
    shape: Shape,
    gain: float = 1.0,
    *,
    generator: TorchGenerator | None = None,
    seed: int | None = None,
    dtype: object = "float32",
) -> np.ndarray:
    """``xavier_uniform_``: ``uniform_(-a, a)``, ``a = √3 · gain · √(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    if fan_in + fan_out == 0:
        raise InvalidArgument(f"xavier_uniform_ of shape {tuple(shape)}: fan_in + fan_out is 0 (torch divides by it)")
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return _uniform(shape, -a, a, resolve_generator(generator, seed), dtype)


def xavier_normal_(
    shape: Shape,
    gain: float = 1.0,
    *,
    generator: TorchGenerator | None = None,
    seed: int | None = None,
    dtype: object = "float32",
) -> np.ndarray:
    """``xavier_normal_``: ``normal_(0, std)``, ``std = gain · √(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    if fan_in + fan_out == 0:
        raise InvalidArgument(f"xavier_normal_ of shape {tuple(shape)}: fan_in + fan_out is 0 (torch divides by it)")
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _normal(shape, 0.0, std, resolve_generator(generator, seed), dtype)


def _kaiming_std(shape: Shape, a: float, mode: str, nonlinearity: str) -> float | None:
    """``gain / √fan``, or ``None`` for a zero-element tensor (torch warns and draws nothing)."""
    dims = check_shape(shape)
    if 0 in dims:
        return None
    fan = calculate_correct_fan(dims, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    shape: Shape,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    generator: TorchGenerator | None = None,
    seed: int | None = None,
    dtype: object = "float32",
) -> np.ndarray:
    """``kaiming_uniform_``: ``uniform_(-bound, bound)``, ``bound = √3 · gain / √fan``.

    ``gain = calculate_gain(nonlinearity, a)`` and ``fan`` is ``fan_in`` or ``fan_out`` by ``mode``;
    ``a = √5`` is what ``nn.Linear`` and ``nn.ConvNd`` use (``bound = 1/√fan_in``).
    """
    gen = resolve_generator(generator, seed)
    std = _kaiming_std(shape, a, mode, nonlinearity)
    if std is None:
        return np.empty(check_shape(shape), dtype=check_dtype(dtype))
    bound = math.sqrt(3.0) * std
    return _uniform(shape, -bound, bound, gen, dtype)


def kaiming_normal_(
    shape: Shape,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    generator: TorchGenerator | None = None,
    seed: int | None = None,
    dtype: object = "float32",
) -> np.ndarray:
    """``kaiming_normal_``: ``normal_(0, std)``, ``std = calculate_gain(nonlinearity, a) / √fan``."""
    gen = resolve_generator(generator, seed)
    std = _kaiming_std(shape, a, mode, nonlinearity)
    if std is None:
        return np.empty(check_shape(shape), dtype=check_dtype(dtype))
    return _normal(shape, 0, std, gen, dtype)


# ---- the deterministic ones ------------------------------------------------------------------


def constant_(shape: Shape, val: float, *, dtype: object = "float32") -> np.ndarray:
    """``constant_(val)``: every element ``RN(val)``."""
    return np.full(check_shape(shape), val, dtype=check_dtype(dtype))


def ones_(shape: Shape, *, dtype: object = "float32") -> np.ndarray:
    """``ones_``: every element 1."""
    return constant_(shape, 1.0, dtype=dtype)


def zeros_(shape: Shape, *, dtype: object = "float32") -> np.ndarray:
    """``zeros_``: every element 0."""
    return constant_(shape, 0.0, dtype=dtype)


def eye_(shape: Shape, *, dtype: object = "float32") -> np.ndarray:
    """``eye_``: ``torch.eye(rows, cols)``; 2-D only."""
    dims = check_shape(shape)
    if len(dims) != 2:
        raise InvalidArgument(f"Only tensors with 2 dimensions are supported by eye_ (shape {dims})")
    return np.eye(dims[0], dims[1], dtype=check_dtype(dtype))


def dirac_(shape: Shape, groups: int = 1, *, dtype: object = "float32") -> np.ndarray:
    """``dirac_(groups)``: a convolution kernel that passes channels through (3-, 4- or 5-D).

    Zeros, then for each group ``g`` and ``d < min(out // groups, in)`` a 1 at
    ``[g·(out // groups) + d, d, k₁ // 2, ...]`` (the centre tap).
    """
    dims = check_shape(shape)
    if len(dims) not in (3, 4, 5):
        raise InvalidArgument(f"Only tensors with 3, 4, or 5 dimensions are supported by dirac_ (shape {dims})")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise InvalidArgument(f"groups {groups!r} is not a positive integer")
    if dims[0] % groups != 0:
        raise InvalidArgument(f"dim 0 must be divisible by groups (shape {dims}, groups {groups})")
    out = np.zeros(dims, dtype=check_dtype(dtype))
    per_group = dims[0] // groups
    centre = tuple(k // 2 for k in dims[2:])
    for g in range(groups):
        for d in range(min(per_group, dims[1])):
            out[(g * per_group + d, d, *centre)] = 1
    return out
