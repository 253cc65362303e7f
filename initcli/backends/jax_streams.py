"""Keras 3's random streams under its JAX backend, in NumPy.

Keras's JAX backend turns an integer seed ``s`` into the raw Threefry key
``[s, 0]`` (uint32; the ``i``-th draw of ``keras.random.SeedGenerator(s)``
uses ``[s, i]``) and calls ``jax.random``; with JAX 0.10 on CPU:

* ``uniform(minval, maxval)``: ``f = bitcast((bits >> 9) | 0x3F800000) - 1``,
  a float32 in ``[0, 1)`` from the top 23 random bits, then
  ``max(minval, fma(f, maxval - minval, minval))`` (XLA fuses the multiply-add);
* ``normal``: ``sqrt(2) · erf_inv(u)`` with ``u`` uniform on
  ``[nextafter(-1, 0), 1)``, then Keras's ``x · stddev + mean``;
* ``truncated_normal``: ``u`` uniform on ``[erf(-2/√2), erf(2/√2))`` (XLA's
  float32 ``erf``), ``sqrt(2) · erf_inv(u)`` clipped to
  ``[nextafter(-2, +∞), nextafter(2, -∞)]``, then ``x · stddev + mean``.

bfloat16 draws use the low 8 bits of each word and the top 7 of those
(``bitcast((bits8 >> 1) | 0x3F80) - 1``, 128 values), with bfloat16 arithmetic
rounded after every operation and ``erf_inv``/``erf`` computed in float32 (the
same on CPUs with and without AVX512-BF16/FP16, and under
``XLA_FLAGS=--xla_cpu_max_isa=AVX2``: measured with jax/jaxlib 0.10.2).

float16 draws use the low 16 bits of each word and the top 10 of those
(``bitcast((bits16 >> 6) | 0x3C00) - 1``), with float16 arithmetic rounded
after every operation (no FMA) and ``erf_inv`` computed in float32; a Python
float becomes float16 through float32.  That is what XLA:CPU computes on
CPUs without AVX512-FP16 (it widens each float16 operation to float32 and
rounds its result back), and it is the stream of ``--backend jax`` on every
machine.  On CPUs with AVX512-FP16, XLA computes float16 natively and fuses
``f·(high - low) + low`` into one float16 FMA (a single rounding): the
functions below take ``fused_half=True`` for that variant, which
:mod:`initcli.backends.jax_native_half` names and detects.  float64 draws are the float32 ones:
JAX truncates float64 to float32 unless its 64-bit mode is enabled, and
Keras then returns float32 values (initcli returns them as float64).

Each output depends on its 23 random bits only, through a fixed function; for
large tensors that function is tabulated once (2**23 float32 values, 32 MiB,
cached on disk: see :mod:`initcli.backends.tables`) and looked up, for small ones it
is evaluated directly.  Either way the bits
are the same: :mod:`initcli.backends.xla_math` evaluates XLA's float32
polynomials with emulated FMAs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..dtypes import bfloat16, is_bfloat16
from . import tables, threefry, xla_math
from .chunking import affine, counter_chunks, half
from .float32 import F32, U32, fma, from_bits

_SQRT2 = from_bits(0x3FB504F3)
_INV_SQRT2 = from_bits(0x3F3504F3)  # XLA rewrites x / sqrt(2) as x * (1 / sqrt(2))


def key(seed: int, draw: int) -> tuple[int, int]:
    """The Threefry key of Keras's seed ``[seed, draw]``."""
    return seed & 0xFFFFFFFF, draw & 0xFFFFFFFF


def unit_floats(words: np.ndarray) -> np.ndarray:
    """``[0, 1)`` float32 values from the top 23 bits of uint32 ``words``."""
    return ((words >> U32(9)) | U32(0x3F800000)).view(F32) - F32(1)


def uniform_of(f: np.ndarray, low: np.float32, high: np.float32) -> np.ndarray:
    """``jax.random.uniform``'s map from unit floats ``f`` to ``[low, high)``."""
    return np.maximum(low, fma(f, high - low, low))


_NORMAL_LOW = np.nextafter(F32(-1), F32(0))
_TRUNCATION = (F32(-2), F32(2))
_TRUNCATED_LOW = xla_math.erf(_TRUNCATION[0] * _INV_SQRT2)
_TRUNCATED_HIGH = xla_math.erf(_TRUNCATION[1] * _INV_SQRT2)
_CLIP_LOW = np.nextafter(_TRUNCATION[0], F32(np.inf))
_CLIP_HIGH = np.nextafter(_TRUNCATION[1], F32(-np.inf))


def normal_of(mantissas: np.ndarray) -> np.ndarray:
    """Standard normals (before ``stddev``/``mean``) from 23-bit ``mantissas``."""
    u = uniform_of(unit_floats(mantissas << U32(9)), _NORMAL_LOW, F32(1))
    return xla_math.erf_inv(u) * _SQRT2


def truncated_normal_of(mantissas: np.ndarray) -> np.ndarray:
    """Standard truncated normals (before ``stddev``/``mean``) from 23-bit ``mantissas``."""
    u = uniform_of(unit_floats(mantissas << U32(9)), _TRUNCATED_LOW, _TRUNCATED_HIGH)
    return np.clip(xla_math.erf_inv(u) * _SQRT2, _CLIP_LOW, _CLIP_HIGH)


NORMAL_TABLE = tables.Table("jax-normal", normal_of, "9ffa4612027d27822ae3dddd2a30a923607e79184747632c3aa9e72ff0c27bc4")
TRUNCATED_NORMAL_TABLE = tables.Table(
    "jax-truncated-normal", truncated_normal_of, "42243b5b1cac193a50777adf18dbb71f86c1e01baf103b3cdfbc801224ae30b0"
)


def _is_half(dtype: np.dtype) -> bool:
    """Whether JAX draws ``dtype`` in float16 (else in float32: in JAX's default 32-bit mode a
    float64 request is truncated to float32, so Keras's values are the float32 ones)."""
    return dtype == np.float16


def _half_indices(k: tuple[int, int], start: int, count: int) -> np.ndarray:
    """JAX's float16 draws take the low 16 bits of each word; their top 10 bits make the float."""
    words = threefry.bits(k, start, count)
    return (words & U32(0xFFFF)) >> U32(6)


def half_unit_floats(indices: np.ndarray) -> np.ndarray:
    """``[0, 1)`` float16 values from 10-bit ``indices``."""
    return (indices.astype(np.uint16) | np.uint16(0x3C00)).view(np.float16) - np.float16(1)


def half_uniform_of(f: np.ndarray, low: np.float16, high: np.float16, *, fused_half: bool = False) -> np.ndarray:
    """``jax.random.uniform`` in float16: ``max(low, f·(high - low) + low)`` with ``high - low``
    rounded to float16; then each operation rounded to float16 (XLA:CPU without AVX512-FP16), or,
    with ``fused_half``, ``f·(high - low) + low`` rounded once (the float16 FMA XLA:CPU emits with
    AVX512-FP16; computed exactly in float64: the product of two float16 values and their sum
    with a third fit in 53 bits, and NumPy rounds float64 to float16 directly, once)."""
    width = high - low
    if fused_half:
        exact = f.astype(np.float64) * np.float64(width) + np.float64(low)
        return np.maximum(low, exact.astype(np.float16))
    return np.maximum(low, f * width + low)


_HALF_SQRT2 = np.float16(np.sqrt(2))
_HALF_TRUNCATION = (np.float16(-2), np.float16(2))


def half_normal_of(indices: np.ndarray, *, fused_half: bool = False) -> np.ndarray:
    """float16 standard normals: ``sqrt2 · float16(erf_inv(float32(u)))`` (XLA computes
    ``erf_inv`` of float16 in float32), ``u`` float16-uniform on ``[nextafter(-1, 0), 1)``
    (``fused_half``: see :func:`half_uniform_of`; here both give the same ``u``)."""
    low = np.nextafter(np.float16(-1), np.float16(0))
    u = half_uniform_of(half_unit_floats(indices), low, np.float16(1), fused_half=fused_half)
    return _HALF_SQRT2 * xla_math.erf_inv(u.astype(F32)).astype(np.float16)


def half_truncated_normal_of(indices: np.ndarray, *, fused_half: bool = False) -> np.ndarray:
    """float16 standard truncated normals, as :func:`half_normal_of` on ``[erf(-2/√2), erf(2/√2))``,
    clipped to ``[nextafter(-2, +∞), nextafter(2, -∞)]`` in float16 (``fused_half``: see
    :func:`half_uniform_of`)."""
    lower, upper = _HALF_TRUNCATION
    a = xla_math.erf(np.float32(lower / _HALF_SQRT2)).astype(np.float16)
    b = xla_math.erf(np.float32(upper / _HALF_SQRT2)).astype(np.float16)
    u = half_uniform_of(half_unit_floats(indices), a, b, fused_half=fused_half)
    values = _HALF_SQRT2 * xla_math.erf_inv(u.astype(F32)).astype(np.float16)
    return np.clip(values, np.nextafter(lower, np.float16(np.inf)), np.nextafter(upper, np.float16(-np.inf)))


_HALF_INDICES = np.arange(1 << 10, dtype=U32)


def _half_chunks(values: np.ndarray, n: int, seed: int, draw: int) -> Iterator[np.ndarray]:
    """float16 draws: ``values[i]`` for each element's 10-bit index ``i``."""
    k = key(seed, draw)

    def fill(start: int, out: np.ndarray) -> None:
        np.take(values, _half_indices(k, start, out.size), out=out)

    return counter_chunks(n, np.dtype(np.float16), fill, drawn=np.float16)


_BF16_INDICES = np.arange(1 << 7, dtype=U32)


def bf16(value: float) -> np.generic:
    """A Python float as a bfloat16 tensor gets it: through float32 (``bfloat16(float32(value))``).
    A scalar, so that arithmetic with bfloat16 arrays stays in bfloat16 (rounded each time)."""
    return bfloat16().type(np.float32(value))


def bf16_unit_floats(indices: np.ndarray) -> np.ndarray:
    """``[0, 1)`` bfloat16 values from 7-bit ``indices`` (``bitcast(i | 0x3F80) - 1``, exact)."""
    return (indices.astype(np.uint16) | np.uint16(0x3F80)).view(bfloat16()) - bf16(1.0)


def _below(value: float) -> np.generic:
    """The bfloat16 number next to ``bfloat16(value)`` towards zero."""
    return (np.asarray(bf16(value)).view(np.uint16) - np.uint16(1)).view(bfloat16())[()]


def bf16_uniform_of(f: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``jax.random.uniform`` in bfloat16: ``max(low, f·(high - low) + low)``, each operation
    rounded to bfloat16 (``ml_dtypes`` computes each in float32 and rounds its result)."""
    return np.maximum(low, f * (high - low) + low)


def _bf16_erf_inv(u: np.ndarray) -> np.ndarray:
    return xla_math.erf_inv(u.astype(F32)).astype(bfloat16())


def bf16_normal_of(indices: np.ndarray) -> np.ndarray:
    """bfloat16 standard normals: ``sqrt2 · bfloat16(erf_inv(float32(u))))``, ``u`` bfloat16-uniform
    on ``[nextafter(-1, 0), 1)``."""
    u = bf16_uniform_of(bf16_unit_floats(indices), _below(-1.0), bf16(1.0))
    return bf16(np.sqrt(2)) * _bf16_erf_inv(u)


def bf16_truncated_normal_of(indices: np.ndarray) -> np.ndarray:
    """bfloat16 standard truncated normals: as :func:`bf16_normal_of` with ``u`` on
    ``[erf(-2/√2), erf(2/√2))`` (``erf`` of the float32 quotient, rounded), clipped to
    ``±nextafter(2, 0)``."""
    sqrt2 = bf16(np.sqrt(2))
    a = bf16(xla_math.erf(np.float32(-2) / F32(sqrt2)))
    b = bf16(xla_math.erf(np.float32(2) / F32(sqrt2)))
    values = sqrt2 * _bf16_erf_inv(bf16_uniform_of(bf16_unit_floats(indices), a, b))
    edge = _below(2.0)
    return np.clip(values, -edge, edge).astype(bfloat16())  # a selection: exact in any dtype


def _bf16_chunks(values: np.ndarray, n: int, seed: int, draw: int) -> Iterator[np.ndarray]:
    """bfloat16 draws: ``values[i]`` for each element's 7-bit index ``i`` (low byte of its word >> 1)."""
    if not is_bfloat16(values.dtype):  # every step above must have stayed in bfloat16
        raise AssertionError(f"bfloat16 table computed in {values.dtype}")
    k = key(seed, draw)

    def fill(start: int, out: np.ndarray) -> None:
        np.take(values, (threefry.bits(k, start, out.size) & U32(0xFF)) >> U32(1), out=out)

    return counter_chunks(n, bfloat16(), fill, drawn=bfloat16())


def uniform_chunks(
    n: int, minval: float, maxval: float, dtype: np.dtype, seed: int, draw: int = 0, *, fused_half: bool = False
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.uniform(minval, maxval)`` under JAX, as flat chunks
    (``fused_half``: float16 as XLA:CPU computes it with AVX512-FP16, see :func:`half_uniform_of`)."""
    if is_bfloat16(dtype):
        return _bf16_chunks(bf16_uniform_of(bf16_unit_floats(_BF16_INDICES), bf16(minval), bf16(maxval)), n, seed, draw)
    if _is_half(dtype):
        low, high = half(minval), half(maxval)
        table = half_uniform_of(half_unit_floats(_HALF_INDICES), low, high, fused_half=fused_half)
        return _half_chunks(table, n, seed, draw)
    k = key(seed, draw)
    low32, high32 = F32(minval), F32(maxval)

    def fill(start: int, out: np.ndarray) -> None:
        out[:] = uniform_of(unit_floats(threefry.bits(k, start, out.size)), low32, high32)

    return counter_chunks(n, dtype, fill)


def _normal_family(
    table: tables.Table,
    half_function: Callable[..., np.ndarray],
    n: int,
    mean: float,
    stddev: float,
    dtype: np.dtype,
    seed: int,
    draw: int,
    fused_half: bool,
) -> Iterator[np.ndarray]:
    if is_bfloat16(dtype):
        function = bf16_truncated_normal_of if table is TRUNCATED_NORMAL_TABLE else bf16_normal_of
        return _bf16_chunks(function(_BF16_INDICES) * bf16(stddev) + bf16(mean), n, seed, draw)
    if _is_half(dtype):
        values = half_function(_HALF_INDICES, fused_half=fused_half)
        affine(values, half(stddev), half(mean))
        return _half_chunks(values, n, seed, draw)
    k = key(seed, draw)
    scale, shift = F32(stddev), F32(mean)
    lookup = table.for_size(n)

    def fill(start: int, out: np.ndarray) -> None:
        mantissas = threefry.bits(k, start, out.size)
        mantissas >>= U32(9)
        if lookup is None:
            out[:] = table.function(mantissas)
        else:
            np.take(lookup, mantissas, out=out)
        affine(out, scale, shift)

    return counter_chunks(n, dtype, fill)


def normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0, *, fused_half: bool = False
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.normal(mean, stddev)`` under JAX, as flat chunks
    (``fused_half``: see :func:`uniform_chunks`)."""
    return _normal_family(NORMAL_TABLE, half_normal_of, n, mean, stddev, dtype, seed, draw, fused_half)


def truncated_normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0, *, fused_half: bool = False
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.truncated_normal(mean, stddev)`` under JAX, as flat chunks
    (``fused_half``: see :func:`uniform_chunks`)."""
    return _normal_family(
        TRUNCATED_NORMAL_TABLE, half_truncated_normal_of, n, mean, stddev, dtype, seed, draw, fused_half
    )
