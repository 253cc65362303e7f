"""``VarianceScaling`` and its six presets (Glorot, He and LeCun, normal and uniform).

Mirrors ``keras.src.initializers.random_initializers.VarianceScaling``.  With
``(fan_in, fan_out)`` from :func:`initcli.fans.compute_fans` and

    n = fan_in | fan_out | (fan_in + fan_out) / 2      (mode fan_in | fan_out | fan_avg)
    s = scale / max(1, n)

the weights are drawn as

* ``truncated_normal``: N(0, σ²) truncated to ±2σ with
  ``σ = sqrt(s) / 0.87962566103423978``, so that the kept values have
  standard deviation ``sqrt(s)``;
* ``untruncated_normal``: N(0, s);
* ``uniform``: U[-limit, limit) with ``limit = sqrt(3 s)``.

``distribution`` is lower-cased and ``"normal"`` means ``"truncated_normal"``,
as in Keras.  Every preset is one ``VarianceScaling`` call:

=============  =====  =======  ================
preset         scale  mode     distribution
=============  =====  =======  ================
GlorotNormal   1      fan_avg  truncated_normal
GlorotUniform  1      fan_avg  uniform
HeNormal       2      fan_in   truncated_normal
HeUniform      2      fan_in   uniform
LecunNormal    1      fan_in   truncated_normal
LecunUniform   1      fan_in   uniform
=============  =====  =======  ================
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import ClassVar

import numpy as np

from ..backends import DEFAULT as DEFAULT_BACKEND
from ..backends import streams as backend_streams
from ..errors import InvalidArgument
from ..fans import compute_fans
from ..shapes import element_count
from .base import (
    SEED_PARAM,
    Param,
    RandomInitializer,
    check_axes,
    check_choice,
    check_range,
    check_real,
    check_width,
    finite_chunks,
    fmt,
    largest,
)

TRUNCATED_STDDEV_RATIO = 0.87962566103423978
"""Standard deviation of a standard normal truncated to [-2, 2]."""

MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

_INPUT_AXES = Param(
    "input_axes", "axes", None, "Axes whose sizes multiply to fan_in (used only together with output_axes)."
)
_OUTPUT_AXES = Param(
    "output_axes", "axes", None, "Axes whose sizes multiply to fan_out (used only together with input_axes)."
)


class VarianceScaling(RandomInitializer):
    """Scale-aware initializer: variance ``scale / n`` where ``n`` depends on ``mode``.

    n = fan_in, fan_out or (fan_in + fan_out) / 2 for mode fan_in, fan_out,
    fan_avg; s = scale / max(1, n).  truncated_normal: N(0, σ²) cut at ±2σ with
    σ = sqrt(s) / 0.87962566103423978; untruncated_normal: N(0, s); uniform:
    U[-sqrt(3 s), sqrt(3 s)).  Fans: rank 2 (in, out); rank >= 3
    (*rf, in, out) gives fan_in = in * prod(rf), fan_out = out * prod(rf);
    input_axes and output_axes (both) override them.
    """

    params = (
        Param("scale", "float", 1.0, "Scaling factor (positive)."),
        Param("mode", "choice", "fan_in", "Which fan divides the scale.", MODES),
        Param(
            "distribution",
            "choice",
            "truncated_normal",
            "Distribution to draw from ('normal' means truncated_normal).",
            (*DISTRIBUTIONS, "normal"),
        ),
        SEED_PARAM,
        _INPUT_AXES,
        _OUTPUT_AXES,
    )
    config_keys = ("seed", "scale", "mode", "distribution", "input_axes", "output_axes")

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
        input_axes: list[int] | None = None,
        output_axes: list[int] | None = None,
    ) -> None:
        self.scale = check_real("scale", scale, positive=True)
        self.mode = check_choice("mode", mode, MODES)
        if not isinstance(distribution, str):
            raise InvalidArgument(f"distribution {distribution!r} is not valid; use one of {', '.join(DISTRIBUTIONS)}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        self.distribution = check_choice("distribution", distribution, DISTRIBUTIONS)
        self.input_axes = check_axes("input_axes", input_axes)
        self.output_axes = check_axes("output_axes", output_axes)
        super().__init__(seed)

    def fans(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """``(fan_in, fan_out)`` of ``shape`` under this initializer's axes."""
        return compute_fans(shape, self.input_axes, self.output_axes)

    def spread(self, shape: tuple[int, ...]) -> dict[str, float]:
        """The drawing parameters for ``shape``: ``{"stddev": σ}`` (the σ passed to the
        normal draw) or ``{"limit": l}``, computed in the same float order as Keras."""
        fan_in, fan_out = self.fans(shape)
        scale = self.scale
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        if self.distribution == "truncated_normal":
            return {"stddev": math.sqrt(scale) / TRUNCATED_STDDEV_RATIO}
        if self.distribution == "untruncated_normal":
            return {"stddev": math.sqrt(scale)}
        return {"limit": math.sqrt(3.0 * scale)}

    def check_shape(self, shape: tuple[int, ...]) -> None:
        self.fans(shape)  # validates explicit axes against the rank
        spread = self.spread(shape)
        if not all(math.isfinite(v) for v in spread.values()):  # sqrt(3 s) with 3 s beyond float64
            raise InvalidArgument(
                f"{self._what(shape)}: the uniform limit sqrt(3·scale/n) overflows float64 "
                f"(n = {self._n(shape):g}); use scale <= {fmt(largest(np.dtype(np.float64)) / 3 * self._n(shape))}"
            )

    def check_values(self, shape: tuple[int, ...], dtype: np.dtype, backend: str = DEFAULT_BACKEND) -> None:
        spread = self.spread(shape)
        if "limit" in spread:
            limit = spread["limit"]
            check_range(self._what(shape), -limit, limit, dtype, "use a smaller scale", backend, uniform_bounds=True)
            check_width(self._what(shape), 2 * spread["limit"], dtype, backend, "2·limit")
        elif self.distribution == "truncated_normal":
            reach = 2 * spread["stddev"]
            check_range(self._what(shape), -reach, reach, dtype, "use a smaller scale", backend)
        # untruncated_normal is unbounded: its chunks are checked as they are drawn

    def _n(self, shape: tuple[int, ...]) -> float:
        """``max(1, n)``: what divides the scale."""
        fan_in, fan_out = self.fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out}.get(self.mode, (fan_in + fan_out) / 2.0)
        return max(1.0, n)

    def _what(self, shape: tuple[int, ...]) -> str:
        return (
            f"{type(self).__name__}(scale={self.scale!r}, mode={self.mode!r}, distribution={self.distribution!r}) "
            f"of shape {shape}"
        )

    def _chunks(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> Iterator[np.ndarray]:
        spread = self.spread(shape)
        n = element_count(shape)
        if self.distribution == "truncated_normal":
            return backend_streams(backend).truncated_normal_chunks(n, 0.0, spread["stddev"], dtype, self.seed, draw)
        if self.distribution == "untruncated_normal":
            stddev = spread["stddev"]
            return finite_chunks(
                lambda: backend_streams(backend).normal_chunks(n, 0.0, stddev, dtype, self.seed, draw),
                self._what(shape),
                dtype,
                "use a smaller scale",
                backend,
            )
        limit = spread["limit"]
        return backend_streams(backend).uniform_chunks(n, -limit, limit, dtype, self.seed, draw)


class _Preset(VarianceScaling):
    """A ``VarianceScaling`` with fixed ``(scale, mode, distribution)``."""

    preset: ClassVar[tuple[float, str, str]]
    params = (SEED_PARAM, _INPUT_AXES, _OUTPUT_AXES)
    config_keys = ("seed", "input_axes", "output_axes")

    def __init__(
        self,
        seed: int | None = None,
        input_axes: list[int] | None = None,
        output_axes: list[int] | None = None,
    ) -> None:
        scale, mode, distribution = self.preset
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)


class GlorotNormal(_Preset):
    """Glorot (Xavier) normal: truncated normal with std ``sqrt(2 / (fan_in + fan_out))``."""

    preset = (1.0, "fan_avg", "truncated_normal")


class GlorotUniform(_Preset):
    """Glorot (Xavier) uniform: U[-limit, limit) with ``limit = sqrt(6 / (fan_in + fan_out))``."""

    preset = (1.0, "fan_avg", "uniform")


class HeNormal(_Preset):
    """He normal: truncated normal with std ``sqrt(2 / fan_in)``."""

    preset = (2.0, "fan_in", "truncated_normal")


class HeUniform(_Preset):
    """He uniform: U[-limit, limit) with ``limit = sqrt(6 / fan_in)``."""

    preset = (2.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """LeCun normal: truncated normal with std ``sqrt(1 / fan_in)``."""

    preset = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """LeCun uniform: U[-limit, limit) with ``limit = sqrt(3 / fan_in)``."""

    preset = (1.0, "fan_in", "uniform")
