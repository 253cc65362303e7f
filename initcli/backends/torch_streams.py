"""Keras 3's random streams under its torch backend (CPU), in NumPy.

**Seed.** Keras reinterprets an integer seed ``s`` as int32 and hands torch the
pair ``[s, 0]``; the ``i``-th draw of ``keras.random.SeedGenerator(s)`` hands
``[s, i]``.  Each call builds a fresh ``torch.Generator("cpu")`` seeded with
``(s0 + s1) mod 2**32``, so a seed ``s`` at draw ``i`` is the torch seed
``(s + i) mod 2**32`` (:func:`torch_seed`): seeds ``s`` and ``s + 2**32`` (and
``-1`` and ``2**32 - 1``) give the same numbers, and ``SeedGenerator(42)``'s second
draw is seed 43.  The engine is mt19937 (:mod:`initcli.backends.mt19937`).

**Uniform.** ``torch.rand``: float32 element ``i`` is ``(w_i & 0xFFFFFF)·2**-24``
from word ``i``; float64 element ``i`` is ``((w_2i << 32 | w_2i+1) & (2**53 - 1))·2**-53``.
Keras then computes ``(maxval - minval)·x + minval`` as two tensor ops:
``RN(RN(span)·x) + RN(minval)`` in the dtype, ``span`` in double.

**Normal.** ``torch.normal(mean, std)`` on ``n`` elements:

* ``n >= 16``: all ``n`` uniforms first (as above), then each block of 16
  (``a = u[0:8]``, ``b = u[8:16]``) becomes ``r = sqrt(-2·log(1 - a))``,
  ``θ = 2π·b``, ``out[j] = fma(r·cos θ_j, std, mean)``, ``out[j+8] = fma(r·sin θ_j, std, mean)``.
  float32 uses avx_mathfun's ``log``/``sincos`` with GCC's FMAs
  (:mod:`initcli.backends.avx_mathfun`) and ``θ = 6.2831855f·b``; float64 the C
  library's ``log``/``sin``/``cos`` (:mod:`initcli.backends.libm64`: NumPy's own where
  they are the C library's, else a vectorized correctly rounded ``log`` that hands the
  elements near a rounding midpoint to the C library).  If ``n % 16 != 0`` the last 16 outputs are
  recomputed from 16 *fresh* uniforms (words ``n .. n+15``, float64 ``2n .. 2n+31``).
* ``n < 16``: serial double Box-Muller on word quadruples: ``u1``, ``u2`` float64
  uniforms, ``r = sqrt(-2·log1p(-u2))``, ``θ = 2π·u1``, elements ``r·cos θ``,
  ``r·sin θ`` in turn, each ``fma(z, std, mean)`` in double, then cast.

**Truncated normal.** Keras's own: ``x = normal(0, 1)`` of ``4n`` elements;
element ``i`` takes the first of ``x[4i .. 4i+3]`` with ``-2 < x < 2`` (``x[4i]``
if none is), then ``RN(RN(x·RN(std)) + RN(mean))``.

**Speed.** Tensors are drawn in chunks on all cores (:func:`counter_chunks`;
chunks of :data:`CHUNK` elements for large tensors), and the threads share one
pass of the mt19937 engine over the stream (:class:`~initcli.backends.mt19937.WordStreams`):
skipping words costs as much as drawing them.  float32 log/sincos skip the FMA
midpoint tests, which no input of the fill needs (``box_muller=True`` in
:mod:`~initcli.backends.avx_mathfun`).  The truncated normal computes a candidate
only while the earlier ones fell outside (see :func:`_first_inside`) and makes
uniforms only from the words it uses.  ``benchmarks/torch_streams.py`` measures
all of it against NumPy's normal sampler.

**float16, bfloat16.** torch computes no half arithmetic in these kernels: each value is
the float32 one rounded once (``RN16``).  ``torch.rand`` rounds the float32
uniform and turns a rounded ``1.0`` into ``0.0`` (its clamp to ``[from, to)``).
``torch.normal`` below 16 elements rounds the serial float32 values; from 16 on
it runs the float32 fill block by block, so the recomputed last block (when
``n % 16``) takes words ``16·(n // 16) ..`` rather than ``n ..``: element ``j``
is the float32 normal of ``m = 16·ceil(n / 16)`` elements at ``j`` (``j < n - 16``)
or at ``j + m - n``.  Keras's arithmetic on the half tensor is torch's:
``x · s`` in float32, rounded (``RN16(x·RN32(s))``); ``x + s`` with ``s`` cast to
float16 first (``RN16(x + RN16(s))``); its truncated normal chooses among float16
candidates.  See :func:`_half_uniforms`, :func:`_half_normals`.

What was verified: :data:`initcli.backends.VERIFIED`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator

import numpy as np

from ..dtypes import is_bfloat16
from ..errors import InvalidArgument
from . import avx_mathfun, libm64
from .chunking import counter_chunks
from .float32 import F32, F64, U32, U64, fma
from .mt19937 import WordStreams

BLOCK = 1 << 16
"""Elements per pass of the Box-Muller maths: a multiple of 16 whose float64 temporaries stay in cache."""

CHUNK = 1 << 18
"""Elements per chunk of tensors larger than this: small, so that the threads work on neighbouring
chunks and share one mt19937 engine (:class:`~initcli.backends.mt19937.WordStreams`)."""

SERIAL_BELOW = 16
"""torch.normal draws tensors smaller than this serially (double precision, word quadruples)."""

_TWO_PI_F32 = F32(2.0 * math.pi)
_TWO_PI = F64(2.0 * math.pi)
_LOG1P = np.frompyfunc(math.log1p, 1, 1)


def torch_seed(seed: int, draw: int = 0) -> int:
    """The torch seed of Keras's key ``[int32(seed), draw]``: ``(seed + draw) mod 2**32``."""
    s32 = ((int(seed) & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000
    return (s32 + int(draw)) & 0xFFFFFFFF


def is_half(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is one of the 16-bit dtypes torch draws as rounded float32 values (see the
    module docstring): float16, and bfloat16, which follows float16's rules with its own rounding
    (``c10::BFloat16`` rounds to nearest even, as ``ml_dtypes`` does)."""
    return dtype == np.float16 or is_bfloat16(dtype)


def _check_dtype(dtype: np.dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(F32), np.dtype(F64)) and not is_half(dtype):
        raise InvalidArgument(
            f"dtype {dtype.name} is not reproduced on the torch backend; use float16, bfloat16, float32 or float64"
        )
    return dtype


def _libm(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The C library's float64 ``name`` on arrays (:func:`initcli.backends.libm64.function`;
    ``log1p``, used below 16 elements only, through ``math``)."""
    if name == "log1p":
        return lambda x: _LOG1P(x).astype(F64)
    return libm64.function(name)


# ---- exact float64 fused multiply-add -----------------------------------------------------


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = a * F64(134217729.0)  # Veltkamp: 2**27 + 1
    high = t - (t - a)
    return high, a - high


def fma64(a: np.ndarray, b: float, c: float) -> np.ndarray:
    """``a·b + c`` rounded once in float64 (normal-range operands).

    Dekker's exact product ``a·b = p + e``, Knuth's exact sum ``c + p = h + t``,
    then ``h + RO(t + e)`` where ``RO`` rounds to odd: the final rounding then
    equals one rounding of the exact value (Boldo-Melquiond).  ``c = +0`` is
    ``RN(a·b) + 0`` (which turns ``-0`` into ``+0``, as the hardware does).
    """
    a = np.asarray(a, dtype=F64)
    b64, c64 = F64(b), F64(c)
    if c64 == 0 and not np.signbit(c64):
        return a * b64 + F64(0)
    p = a * b64
    ah, al = _split(a)
    bh, bl = _split(np.asarray(b64))
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    h, t = _two_sum(np.broadcast_to(c64, p.shape), p)
    s, err = _two_sum(t, e)
    odd = (err != 0) & ((s.view(np.int64) & 1) == 0) & np.isfinite(s)
    if odd.any():
        s = np.where(odd, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return h + s


# ---- uniforms --------------------------------------------------------------------------


def _unit_floats(words: np.ndarray) -> np.ndarray:
    """float32 ``[0, 1)`` values: ``(w & 0xFFFFFF)·2**-24`` (uint32 words, or uint64 holding them)."""
    out = (words & words.dtype.type(0xFFFFFF)).astype(F32)
    out *= F32(2.0**-24)
    return out


_LOW53 = U64((1 << 53) - 1)


def _unit_doubles(words: np.ndarray) -> np.ndarray:
    """float64 ``[0, 1)`` values from word pairs: ``((hi << 32 | lo) & (2**53 - 1))·2**-53``."""
    if sys.byteorder != "little":
        pairs = words.reshape(-1, 2).astype(U64)
        return (((pairs[:, 0] << U64(32)) | pairs[:, 1]) & _LOW53).astype(F64) * F64(2.0**-53)
    return _pair_doubles(np.ascontiguousarray(words, dtype=U32).view(U64))


def _pair_doubles(pairs: np.ndarray) -> np.ndarray:
    """:func:`_unit_doubles` of word pairs read as little-endian uint64 (``hi | lo << 32``)."""
    bits = pairs & U64(0x1FFFFF)
    bits <<= U64(32)
    bits |= pairs >> U64(32)
    out = bits.astype(F64)
    out *= F64(2.0**-53)
    return out


def _units(stream: WordStreams, dtype: np.dtype, first: int, count: int) -> np.ndarray:
    """Uniforms ``first .. first + count - 1`` of ``torch.rand`` in ``dtype``."""
    if dtype == F64:
        return _unit_doubles(stream.words(2 * first, 2 * count))
    return _unit_floats(stream.words(first, count))


# ---- normals ---------------------------------------------------------------------------


def _radius_f32(a: np.ndarray) -> np.ndarray:
    """``sqrt(-2·log256_ps(1 - a))`` in float32."""
    radius = avx_mathfun.log256_ps(F32(1) - a, box_muller=True)
    radius *= F32(-2)
    np.sqrt(radius, out=radius)
    return radius


def _radius_f64(a: np.ndarray) -> np.ndarray:
    """``sqrt(-2·log(1 - a))`` in float64, the C library's ``log``."""
    radius = _libm("log")(1.0 - a)
    radius *= -2.0
    np.sqrt(radius, out=radius)
    return radius


def _pair(a: np.ndarray, b: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """``(r·cos θ, r·sin θ)`` of the fill for radius uniforms ``a`` and angle uniforms ``b``."""
    if dtype == F64:
        radius = _radius_f64(a)
        theta = _TWO_PI * b
        cos, sin = _libm("cos")(theta), _libm("sin")(theta)
    else:
        radius = _radius_f32(a)
        sin, cos = avx_mathfun.sincos256_ps(_TWO_PI_F32 * b, box_muller=True)
    cos *= radius
    sin *= radius
    return cos, sin


def _blocks_f32(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Blocks of 16 float32 uniforms (rows) to normals, as torch's AVX2 fill does."""
    cos, sin = _pair(u[:, :8], u[:, 8:], np.dtype(F32))
    out = np.empty(u.shape, dtype=F32)
    if std == 1 and mean == 0:  # fma(x, 1, +0) is x, with -0 turned into +0
        np.add(cos, F32(0), out=out[:, :8])
        np.add(sin, F32(0), out=out[:, 8:])
    else:
        out[:, :8] = fma(cos, F32(std), F32(mean))
        out[:, 8:] = fma(sin, F32(std), F32(mean))
    return out


def _blocks_f64(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Blocks of 16 float64 uniforms (rows) to normals, as torch's float64 fill does."""
    cos, sin = _pair(u[:, :8], u[:, 8:], np.dtype(F64))
    out = np.empty(u.shape, dtype=F64)
    out[:, :8] = fma64(cos, std, mean)
    out[:, 8:] = fma64(sin, std, mean)
    return out


def _serial(stream: WordStreams, n: int, mean: float, std: float, dtype: np.dtype) -> np.ndarray:
    """``torch.normal`` of ``n < 16`` elements: serial double Box-Muller, then cast."""
    pairs = (n + 1) // 2
    u = _unit_doubles(stream.words(0, 4 * pairs)).reshape(pairs, 2)
    radius = np.sqrt(-2.0 * _libm("log1p")(-u[:, 1]))
    theta = (2.0 * math.pi) * u[:, 0]
    z = np.stack([radius * _libm("cos")(theta), radius * _libm("sin")(theta)], axis=1).reshape(-1)[:n]
    return fma64(z, std, mean).astype(dtype)


def _normals(
    stream: WordStreams, n: int, mean: float, std: float, dtype: np.dtype, start: int, out: np.ndarray
) -> None:
    """Elements ``start .. start + len(out) - 1`` of ``torch.normal(mean, std)`` of ``n`` elements into ``out``."""
    if n < SERIAL_BELOW:
        out[:] = _serial(stream, n, mean, std, dtype)[start : start + out.size]
        return
    blocks = _blocks_f64 if dtype == F64 else _blocks_f32
    end = start + out.size
    tail = n - 16 if n % 16 else n  # outputs from here on come from the recomputed last block
    if start < tail:
        first, last = start // 16, -(-min(end, tail) // 16)
        values = blocks(_units(stream, dtype, 16 * first, 16 * (last - first)).reshape(-1, 16), mean, std)
        head = min(end, tail) - start
        out[:head] = values.reshape(-1)[start - 16 * first : start - 16 * first + head]
    if end > tail:
        at = max(start, tail)
        values = blocks(_units(stream, dtype, n, 16).reshape(1, 16), mean, std).reshape(-1)
        out[at - start :] = values[at - tail : end - tail]


# ---- the three streams -----------------------------------------------------------------


def uniform_chunks(
    n: int, minval: float, maxval: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.uniform(minval, maxval)`` under torch (CPU), as flat chunks."""
    dtype = _check_dtype(dtype)
    stream = WordStreams(torch_seed(seed, draw))
    if is_half(dtype):
        return _half_uniform_chunks(n, minval, maxval, dtype, stream)
    span, low = dtype.type(maxval - minval), dtype.type(minval)

    def fill(start: int, out: np.ndarray) -> None:
        np.multiply(_units(stream, dtype, start, out.size), span, out=out)
        out += low

    return counter_chunks(n, dtype, fill, drawn=dtype, chunk=_chunk(n), block=BLOCK)


def _chunk(n: int) -> int | None:
    """:data:`CHUNK` for tensors larger than it, else the usual chunking."""
    return CHUNK if n > CHUNK else None


def normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.normal(mean, stddev)`` under torch (CPU), as flat chunks."""
    dtype = _check_dtype(dtype)
    stream = WordStreams(torch_seed(seed, draw))
    if is_half(dtype):

        def fill(start: int, out: np.ndarray) -> None:
            out[:] = _half_normals(stream, n, mean, stddev, start, out.size, dtype)

        return counter_chunks(n, dtype, fill, drawn=dtype, chunk=_chunk(n), block=BLOCK)

    def fill(start: int, out: np.ndarray) -> None:
        _normals(stream, n, mean, stddev, dtype, start, out)

    return counter_chunks(n, dtype, fill, drawn=dtype, chunk=_chunk(n), block=BLOCK)


def _first_inside(stream: WordStreams, dtype: np.dtype, start: int, out: np.ndarray) -> None:
    """Keras's choice among the 4 candidates for outputs ``start ..`` (all before the tail block).

    Output ``i`` sits in fill block ``i // 4``, slots ``4q .. 4q+3`` with ``q = i % 4``: candidate
    ``c`` is pair ``p = 4·(q mod 2) + c``'s cosine (``q < 2``) or sine (``q >= 2``), from radius
    uniform ``p`` and angle uniform ``p + 8`` of the block.  So the first candidates of a block's
    four outputs are the cosines and sines of its pairs 0 and 4 (a quarter of the fill's work,
    and only those uniforms are made from the words); later candidates are computed only for the
    ~4.5 % of outputs whose earlier ones all fell outside ``(-2, 2)``.  ``+ 0`` is the kernel's
    ``fma(x, 1, +0)``.
    """
    first = start // 4
    blocks = -(-(start + out.size) // 4) - first
    double = dtype == F64 and sys.byteorder == "little"
    if double:  # a uniform's two words as one uint64
        words = stream.words(32 * first, 32 * blocks).view(U64).reshape(blocks, 16)
        units: Callable[[np.ndarray], np.ndarray] = _pair_doubles
    elif dtype == F64:
        words = _units(stream, dtype, 16 * first, 16 * blocks).reshape(blocks, 16)
        units = np.asarray
    else:
        words = stream.words(16 * first, 16 * blocks).reshape(blocks, 16)
        units = _unit_floats

    cos, sin = _pair(units(words[:, 0:8:4]), units(words[:, 8:16:4]), dtype)  # pairs 0 and 4
    skip = start - 4 * first
    if skip == 0 and out.size == 4 * blocks:  # whole blocks: straight into the output
        rows4 = out.reshape(blocks, 4)
        np.add(cos, dtype.type(0), out=rows4[:, :2])
        np.add(sin, dtype.type(0), out=rows4[:, 2:])
    else:
        values = np.concatenate([cos, sin], axis=1).reshape(-1)
        values += dtype.type(0)
        out[:] = values[skip : skip + out.size]
    pending = np.flatnonzero(np.abs(out) >= 2)  # outside (-2, 2)
    if not pending.size:
        return
    index = pending + skip  # outputs counted from the first block's
    rows, q = index // 4, index % 4
    base, use_sin = 4 * (q % 2), q >= 2
    for later in ((1,), (2, 3)):  # candidates 2 and 3 together: few outputs need them
        shape = (pending.size, len(later))
        pairs = base[:, None] + np.array(later)
        cos, sin = _pair(units(words[rows[:, None], pairs]), units(words[rows[:, None], pairs + 8]), dtype)
        x = np.where(use_sin[:, None], sin, cos).reshape(shape)
        x += dtype.type(0)
        inside = (x > -2) & (x < 2)
        found = inside.any(axis=1)
        out[pending[found]] = x[found, np.argmax(inside[found], axis=1)]
        keep = ~found
        pending, rows, base, use_sin = pending[keep], rows[keep], base[keep], use_sin[keep]
        if not pending.size:
            return


def _truncated(stream: WordStreams, n: int, dtype: np.dtype, start: int, out: np.ndarray) -> None:
    """Standard truncated normals ``start .. start + len(out) - 1`` of ``n`` (before Keras's affine step)."""
    end = start + out.size
    tail = n - 4 if (4 * n) % 16 else n  # outputs whose candidates lie in the recomputed last block
    if 4 * n < SERIAL_BELOW:
        tail = 0
    if start < tail:
        _first_inside(stream, dtype, start, out[: min(end, tail) - start])
    if end > tail:
        at = max(start, tail)
        candidates = np.empty(4 * (end - at), dtype=dtype)
        _normals(stream, 4 * n, 0.0, 1.0, dtype, 4 * at, candidates)
        candidates = candidates.reshape(-1, 4)
        pick = np.argmax((candidates > -2) & (candidates < 2), axis=1)
        out[at - start :] = candidates[np.arange(end - at), pick]


def truncated_normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.truncated_normal(mean, stddev)`` under torch (CPU), as flat chunks."""
    dtype = _check_dtype(dtype)
    stream = WordStreams(torch_seed(seed, draw))
    if is_half(dtype):
        return _half_truncated_chunks(n, mean, stddev, dtype, stream)
    scale, shift = dtype.type(stddev), dtype.type(mean)

    def fill(start: int, out: np.ndarray) -> None:
        _truncated(stream, n, dtype, start, out)
        out *= scale
        out += shift

    block = 2 * BLOCK  # 2 of its 8 Box-Muller lanes per output
    return counter_chunks(n, dtype, fill, drawn=dtype, chunk=_chunk(n), block=block)


# ---- float16: rounded float32 values, torch's scalar arithmetic -----------------------------


def _half_mul(x: np.ndarray, scalar: float, dtype: np.dtype) -> np.ndarray:
    """torch's ``half_tensor * python_float``: the product in float32 (scalar as float32), rounded."""
    product = x.astype(F32)
    product *= F32(scalar)
    return product.astype(dtype)


def _half_add(x: np.ndarray, scalar: float, dtype: np.dtype) -> np.ndarray:
    """torch's ``half_tensor + python_float``: the scalar cast to the half type first."""
    return (x + dtype.type(scalar)).astype(dtype)


def _half_uniforms(stream: WordStreams, start: int, count: int, dtype: np.dtype) -> np.ndarray:
    """``torch.rand(dtype=half)`` elements ``start ..``: the float32 uniform rounded, ``1.0`` made ``0.0``."""
    u = _unit_floats(stream.words(start, count)).astype(dtype)
    u[u == 1] = 0
    return u


def _half_normals(
    stream: WordStreams, n: int, mean: float, std: float, start: int, count: int, dtype: np.dtype
) -> np.ndarray:
    """Elements ``start .. start + count - 1`` of ``torch.normal(mean, std, (n,), dtype=half)``.

    Below 16 elements: the serial float32 values rounded.  Otherwise the float32 fill of
    ``m = 16·ceil(n/16)`` elements (whole blocks, drawn block by block), element ``j`` taken
    from ``j`` before the last block's reach (``j < n - 16`` when ``n % 16``) and from
    ``j + m - n`` after it, each rounded once.
    """
    if n < SERIAL_BELOW:
        return _serial(stream, n, mean, std, F32)[start : start + count].astype(dtype)
    m = -(-n // 16) * 16
    tail = n - 16 if n % 16 else n
    end = start + count
    out = np.empty(count, dtype=dtype)
    if start < tail:
        head = np.empty(min(end, tail) - start, dtype=F32)
        _normals(stream, m, mean, std, F32, start, head)
        out[: head.size] = head
    if end > tail:
        at = max(start, tail)
        last = np.empty(end - at, dtype=F32)
        _normals(stream, m, mean, std, F32, at + m - n, last)
        out[at - start :] = last
    return out


def _half_uniform_chunks(
    n: int, minval: float, maxval: float, dtype: np.dtype, stream: WordStreams
) -> Iterator[np.ndarray]:
    """Keras's ``(maxval - minval) * torch.rand(dtype=half) + minval`` (span in double)."""

    def fill(start: int, out: np.ndarray) -> None:
        out[:] = _half_add(
            _half_mul(_half_uniforms(stream, start, out.size, dtype), maxval - minval, dtype), minval, dtype
        )

    return counter_chunks(n, dtype, fill, drawn=dtype, chunk=_chunk(n), block=BLOCK)


def _half_truncated_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, stream: WordStreams
) -> Iterator[np.ndarray]:
    """Keras's truncated normal in half: the first of the four float16 candidates ``4i .. 4i+3``
    of ``normal(0, 1)`` of ``4n`` elements inside ``(-2, 2)`` (else the first), then
    ``.mul_(stddev).add_(mean)`` with torch's scalar arithmetic."""

    def fill(start: int, out: np.ndarray) -> None:
        candidates = _half_normals(stream, 4 * n, 0.0, 1.0, 4 * start, 4 * out.size, dtype).reshape(-1, 4)
        pick = np.argmax((candidates > -2) & (candidates < 2), axis=1)
        chosen = candidates[np.arange(out.size), pick]
        out[:] = _half_add(_half_mul(chosen, stddev, dtype), mean, dtype)

    return counter_chunks(n, dtype, fill, drawn=dtype, chunk=_chunk(n), block=BLOCK // 4)
