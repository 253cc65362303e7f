"""Fan-in and fan-out of a weight shape, exactly as Keras computes them.

Mirrors ``keras.src.initializers.random_initializers.compute_fans``:

* explicit axes: when *both* ``input_axes`` and ``output_axes`` are given,
  ``fan_in = prod(shape[a] for a in input_axes)`` and likewise ``fan_out``;
  if only one of them is given, both are ignored (Keras does the same);
* rank 0: ``fan_in = fan_out = 1``;
* rank 1: ``fan_in = fan_out = shape[0]``;
* rank 2: ``fan_in, fan_out = shape``;
* rank >= 3 (convolution kernels ``(*receptive_field, in, out)``):
  ``rf = prod(shape[:-2])``, ``fan_in = shape[-2] * rf``, ``fan_out = shape[-1] * rf``.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from .errors import InvalidArgument


def compute_fans(
    shape: Sequence[int],
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` for ``shape``.

    >>> compute_fans((3, 3, 16, 32))
    (144, 288)
    >>> compute_fans((4, 5, 6), input_axes=[0, 1], output_axes=[2])
    (20, 6)
    """
    shape = tuple(int(d) for d in shape)
    if input_axes is not None and output_axes is not None:
        return _axes_product(shape, input_axes, "input_axes"), _axes_product(shape, output_axes, "output_axes")
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _axes_product(shape: tuple[int, ...], axes: Sequence[int], what: str) -> int:
    """Product of ``shape`` over ``axes`` (negative axes count from the end)."""
    rank = len(shape)
    result = 1
    for axis in axes:
        if not -rank <= axis < rank:
            raise InvalidArgument(
                f"{what} names axis {axis}, but shape {shape} has rank {rank}; use axes from {-rank} to {rank - 1}"
            )
        result *= shape[axis]
    return int(result)
