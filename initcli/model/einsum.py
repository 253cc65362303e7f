"""Weight shapes and fan axes of an ``EinsumDense`` layer, from its equation.

Mirrors ``keras.src.layers.core.einsum_dense._analyze_einsum_string``: an
equation ``[input],[kernel]->[output]`` (optionally with ``...`` on the left
or right of the input and output) and the layer's partial ``output_shape``
give

* the kernel shape: each kernel letter takes its size from the output (if
  the letter is in the output spec) or the input;
* ``input_axes`` / ``output_axes``: the kernel axes whose letters come from
  the input / the output -- ``EinsumDense`` passes them to a
  ``VarianceScaling``-family kernel initializer that has none, so its fans
  are the products of those axes;
* the bias shape for ``bias_axes``;
* the full output shape (batch dimension first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidArgument

Shape = tuple[int | None, ...]


@dataclass
class EinsumShapes:
    kernel: tuple[int, ...]
    bias: tuple[int, ...] | None
    output: Shape
    input_axes: list[int]
    output_axes: list[int]


def analyze(equation: str, bias_axes: str | None, input_shape: Shape, output_shape: object) -> EinsumShapes:
    """Kernel, bias and output shapes, and the fan axes, of ``EinsumDense(equation, output_shape, bias_axes)``."""
    dotted = re.sub(r"\.\.\.", "0", equation)
    for pattern, left in (
        ("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$", False),
        ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)$", True),
        ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0$", False),
    ):
        match = re.match(pattern, dotted)
        if match:
            return _analyze(match.group(1), match.group(2), match.group(3), bias_axes, input_shape, output_shape, left)
    raise InvalidArgument(
        f"einsum equation {equation!r} is not supported; use [X],[Y]->[Z], ...[X],[Y]->...[Z] or [X]...,[Y]->[Z]..."
    )


def _analyze(
    input_spec: str,
    weight_spec: str,
    output_spec: str,
    bias_axes: str | None,
    input_shape: Shape,
    partial_output: object,
    left_elided: bool,
) -> EinsumShapes:
    elided = len(input_shape) - len(input_spec)
    output = [partial_output] if isinstance(partial_output, int) else list(partial_output or [])  # type: ignore[call-overload]
    output.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        for i in range(1, elided):
            output.insert(1, input_shape[i])
    elif elided > 0:
        for i in range(len(input_shape) - elided, len(input_shape)):
            output.append(input_shape[i])
    if left_elided:
        input_map = {dim: (i + elided) - len(input_shape) for i, dim in enumerate(input_spec)}
        output_map = {dim: i + elided for i, dim in enumerate(output_spec)}
    else:
        input_map = {dim: i for i, dim in enumerate(input_spec)}
        output_map = {dim: i for i, dim in enumerate(output_spec)}
    for dim in input_spec:
        if dim in output_map and output[output_map[dim]] is None:
            output[output_map[dim]] = input_shape[input_map[dim]]
    kernel: list[int] = []
    input_axes: list[int] = []
    output_axes: list[int] = []
    for i, dim in enumerate(weight_spec):
        if dim in output_map:
            size = output[output_map[dim]]
            output_axes.append(i)
        elif dim in input_map:
            size = input_shape[input_map[dim]]
            input_axes.append(i)
        else:
            raise InvalidArgument(f"einsum kernel dimension {dim!r} is in neither the input nor the output spec")
        if size is None:
            raise InvalidArgument(f"einsum kernel dimension {dim!r} has no known size; give output_shape")
        kernel.append(int(size))
    bias = None
    if bias_axes:
        offset = elided if left_elided else 0
        sizes = {char: output[i + offset] for i, char in enumerate(output_spec)}
        first = min(output_spec.find(char) for char in bias_axes)
        bias_list = [sizes[char] if char in bias_axes else 1 for char in output_spec[first:]]
        if not left_elided:
            bias_list.extend([1] * max(elided, 0))
        bias = tuple(int(b) for b in bias_list)  # type: ignore[arg-type]
    return EinsumShapes(tuple(kernel), bias, tuple(output), input_axes, output_axes)
