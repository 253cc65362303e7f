"""``Orthogonal``: a random orthogonal matrix (Saxe et al. 2014), as Keras builds it.

For ``shape = (..., cols)`` with ``rows = prod(shape[:-1])``:

1. draw ``A ~ N(0, 1)`` of shape ``(max(rows, cols), min(rows, cols))`` from
   the seed's stream (float64 draws, cast to float32);
2. ``Q, R = qr(A)`` (reduced, LAPACK through ``numpy.linalg.qr``);
3. ``Q *= sign(diag(R))`` -- this makes ``Q`` Haar-distributed;
4. transpose if ``rows < cols``, reshape to ``shape``, multiply by ``gain``.

So the flattened matrix has orthonormal columns (or rows):
``WᵀW = gain² I`` when ``rows >= cols``.

Keras's numpy backend runs the QR in float32 whatever dtype is requested
(``ops.qr`` converts float64 to float32); its float64 result therefore comes
back as float32, and float16 raises ``TypeError``.  initcli follows the
float32 path for every dtype and casts the float32 result to the requested
dtype, so float32 output is Keras's, float64 output holds exactly Keras's
float32 values, and float16 works.  Keras on torch is the exception: its
``ops.qr`` keeps float64, so a float64 request draws float64 normals and takes
a float64 QR (and multiplies by ``gain`` in float64); initcli does the same
there (:func:`work_dtype`).

bfloat16 (numpy backend only): Keras draws the normals in bfloat16 (the float64
draws rounded once), ``numpy.linalg.qr`` takes them as float64, and the sign
and ``gain`` products are float64 too; Keras returns that float64 matrix and a
bfloat16 variable rounds it once.  initcli does the same.  Keras's jax backend
refuses a bfloat16 QR, and its tensorflow and torch backends have no bfloat16 QR
kernel: initcli refuses those too.
"""

from __future__ import annotations

from collections.abc import Iterator
from math import prod

import numpy as np

from ..backends import DEFAULT as DEFAULT_BACKEND
from ..backends import streams as backend_streams
from ..backends.buffers import collect
from ..dtypes import is_bfloat16
from ..errors import InvalidArgument
from .base import SEED_PARAM, Param, RandomInitializer, check_finite_result, check_range, check_real, fmt, largest

_FLOAT32_MAX = largest(np.dtype(np.float32))


def work_dtype(dtype: np.dtype, backend: str) -> np.dtype:
    """The dtype of the normal draw and the QR: float64 for a float64 request on torch, else float32."""
    if backend == "torch" and np.dtype(dtype) == np.float64:
        return np.dtype(np.float64)
    if is_bfloat16(np.dtype(dtype)):  # the draw is bfloat16; the QR takes it as float64
        return np.dtype(dtype)
    return np.dtype(np.float32)


class Orthogonal(RandomInitializer):
    """Random orthogonal matrix (orthonormal rows or columns of the flattened shape) times ``gain``."""

    params = (Param("gain", "float", 1.0, "Multiplicative factor applied to the orthogonal matrix."), SEED_PARAM)
    streams = False  # the QR needs the whole matrix
    config_keys = ("seed", "gain")

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain = check_real("gain", gain)
        if not abs(float(gain)) <= _FLOAT32_MAX:
            raise InvalidArgument(
                f"gain {gain!r} is beyond float32's largest finite value {fmt(_FLOAT32_MAX)}, and Orthogonal "
                f"multiplies in float32 (as Keras does) for every dtype; use |gain| <= {fmt(_FLOAT32_MAX)}"
            )
        super().__init__(seed)

    def check_values(self, shape: tuple[int, ...], dtype: np.dtype, backend: str = DEFAULT_BACKEND) -> None:
        what = f"Orthogonal(gain={self.gain!r})"
        if is_bfloat16(dtype) and backend != DEFAULT_BACKEND:
            raise InvalidArgument(
                f"Orthogonal in bfloat16 is refused on the {backend} backend, as Keras's {backend} backend "
                "has no bfloat16 QR; use backend numpy, or float16, float32 or float64"
            )
        check_range(what, self.gain, self.gain, dtype, f"use |gain| <= {fmt(largest(dtype))}")

    def check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) < 2:
            raise InvalidArgument(
                f"Orthogonal needs a shape of rank 2 or more, but shape {shape} has rank {len(shape)}"
            )

    def working_bytes(self, shape: tuple[int, ...], dtype: np.dtype) -> int:
        rows, cols = prod(shape[:-1]), shape[-1]
        big, small = max(rows, cols), min(rows, cols)
        # float64 draw, its float32 copy (float64 on torch), LAPACK's Q, R and workspace, the result
        work = 8 if dtype == np.float64 else 4  # the most work_dtype() can give for this dtype
        return big * small * (8 + work * 4) + small * small * work + rows * cols * dtype.itemsize

    def streaming_bytes(self, shape: tuple[int, ...], dtype: np.dtype) -> int:
        return self.working_bytes(shape, dtype)  # the QR needs the whole matrix

    def _chunks(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> Iterator[np.ndarray]:
        yield self._generate(shape, dtype, draw, backend).reshape(-1)

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> np.ndarray:
        rows = prod(shape[:-1])
        cols = shape[-1]
        flat_shape = (max(rows, cols), min(rows, cols))
        work = work_dtype(dtype, backend)
        a = collect(
            backend_streams(backend).normal_chunks(prod(flat_shape), 0.0, 1.0, work, self.seed, draw), flat_shape, work
        )
        q, r = np.linalg.qr(a.astype(np.float64) if is_bfloat16(a.dtype) else a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        if self.gain != 1:  # gain * q, in the QR's dtype as Keras does it (1 * q is q, bit for bit)
            with np.errstate(over="ignore"):  # |q| may exceed 1 by rounding: checked below
                q *= self.gain
        values = q.reshape(shape).astype(dtype, copy=False)
        advice = f"use a smaller |gain| (at most {fmt(largest(dtype))})"
        return check_finite_result(values, f"Orthogonal(gain={self.gain!r})", dtype, advice)
