"""``STFT``: the real or imaginary part of a windowed DFT kernel.

Mirrors ``keras.src.initializers.constant_initializers.STFT``.  For a shape
``(T, C, F)`` -- frame length, channels, ``fft_length // 2 + 1`` bins -- and
``N = 2 (F - 1)``:

    k[t, f] = cos(-2π t f / N)   (side="real")   or   sin(-2π t f / N)   (side="imag")
    k[t, f] *= w[t] / s          when a window w is given,

with ``s = sqrt(Σ w²)`` for ``scaling="density"``, ``s = Σ |w|`` for
``"spectrum"`` and ``s = 1`` for ``None``.  Every step is computed in the
requested dtype, in Keras's order, so the result is bit-identical.

For ``float64`` Keras's numpy backend computes in float32 (its type
promotion maps float64 to float32) and mostly returns float32; initcli
follows that computation exactly and returns float64 holding the same
values.  The one float64 step Keras keeps is the ``"spectrum"`` sum
``Σ |w|``, taken in float64 and rounded to float32 before the division.

Difference from Keras 3.15, on purpose: Keras ignores ``C`` and always
returns shape ``(T, 1, F)``; initcli returns the shape asked for, repeating
the kernel along the channel axis (identical for ``C = 1``, the shape Keras's
``STFTSpectrogram`` layer uses).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgument
from ..windows import check_window_name, get_window
from .base import Initializer, Param, check_choice, check_finite_result, fmt, largest

SIDES = ("real", "imag")
SCALINGS = ("density", "spectrum")


class STFT(Initializer):
    """Windowed DFT kernel (real or imaginary part) for STFT layers; shape ``(T, C, F)``."""

    params = (
        Param("side", "choice", "real", "Which part of the DFT kernel: real (cos) or imag (sin).", SIDES),
        Param(
            "window",
            "window",
            "hann",
            "Window name (hann, hamming, blackman, bartlett, boxcar, ...), a JSON list of T numbers, or none.",
        ),
        Param(
            "scaling",
            "choice",
            "density",
            "Window normalisation: density (L2), spectrum (L1) or none.",
            (*SCALINGS, "none"),
        ),
        Param("periodic", "bool", False, "Use the periodic (DFT-even) form of a named window."),
    )
    config_keys = ("side", "window", "periodic", "scaling")

    def __init__(
        self,
        side: str = "real",
        window: str | list[float] | None = "hann",
        scaling: str | None = "density",
        periodic: bool = False,
    ) -> None:
        self.side = check_choice("side", side, SIDES)
        if isinstance(window, str):
            check_window_name(window)
        elif window is not None:
            values = np.asarray(window)
            if values.ndim != 1 or values.dtype.kind not in "iuf" or not np.all(np.isfinite(values)):
                raise InvalidArgument(
                    f"window {window!r} is not valid; use a window name, a list of finite numbers, or none"
                )
        self.window: Any = window
        if scaling is not None:
            check_choice("scaling", scaling, (*SCALINGS, "none"))
        self.scaling = None if scaling == "none" else scaling
        if not isinstance(periodic, (bool, np.bool_)):
            raise InvalidArgument(f"periodic {periodic!r} is not a boolean; use true or false")
        self.periodic = bool(periodic)

    def check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 3:
            raise InvalidArgument(
                f"STFT needs a rank-3 shape (frame_length, channels, fft_length // 2 + 1), "
                f"but shape {shape} has rank {len(shape)}"
            )
        if shape[2] < 2:
            raise InvalidArgument(
                f"STFT needs at least 2 frequency bins (the last dimension), but shape {shape} has {shape[2]}"
            )
        if self.window is not None and not isinstance(self.window, str) and len(self.window) != shape[0]:
            raise InvalidArgument(
                f"window has {len(self.window)} values but the frame length (first dimension) is {shape[0]}; "
                "give one value per frame position"
            )

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> np.ndarray:
        frames, channels, bins = shape
        compute = np.dtype(np.float32) if dtype == np.float64 else dtype
        kind = compute.type
        window = None
        scale = None
        if self.window is not None:
            values = get_window(self.window, frames, self.periodic) if isinstance(self.window, str) else self.window
            with np.errstate(over="ignore"):  # checked just below
                window = np.asarray(values).astype(compute).reshape(frames, 1, 1)
                if self.scaling == "density":
                    scale = np.sqrt(np.sum(np.square(window)).astype(compute))
                elif self.scaling == "spectrum":
                    exact = np.asarray(values).astype(dtype)  # float64 stays float64 here, as in Keras
                    scale = np.sum(np.abs(exact)).astype(compute)
            self._check_window(window, scale, compute)
        freq = np.arange(bins, dtype=compute).reshape(1, 1, bins) / kind(2 * (bins - 1))
        time = np.arange(frames, dtype=compute).reshape(frames, 1, 1)
        args = (kind(-2) * time) * freq * np.arccos(kind(-1))
        kernel = np.cos(args) if self.side == "real" else np.sin(args)
        if window is not None:
            kernel = (kernel * window) / (scale if scale is not None else kind(1))
        if channels != 1:
            kernel = np.broadcast_to(kernel, shape).copy()
        return check_finite_result(kernel.astype(dtype, copy=False), "STFT", dtype, "use a window of smaller values")

    def _check_window(self, window: np.ndarray, scale: Any, compute: np.dtype) -> None:
        """The window and its normalisation must be finite, and the normalisation nonzero, in the
        dtype Keras computes in (else the kernel is NaN, infinite or silently all zeros)."""
        if not np.isfinite(window).all():
            raise InvalidArgument(
                f"STFT window {self.window!r} has values beyond {compute.name}'s largest finite value "
                f"{fmt(largest(compute))}; use smaller values"
            )
        if scale is not None and not (np.isfinite(scale) and scale > 0):
            norm = "an L2 norm" if self.scaling == "density" else "a sum of |values|"
            raise InvalidArgument(
                f"STFT window {self.window!r} with scaling {self.scaling!r} has {norm} of {float(scale):g} in "
                f"{compute.name}, which cannot normalise it; use a window that is not all zero and whose "
                f"{norm.split(' ', 1)[1]} is at most {fmt(largest(compute))}, or scaling none"
            )
