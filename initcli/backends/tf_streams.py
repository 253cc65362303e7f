"""Keras 3's random streams under its TensorFlow backend, in NumPy.

Keras's TensorFlow backend turns an integer seed ``s`` into the int64 pair
``[s, 0]`` (the ``i``-th draw of ``keras.random.SeedGenerator(s)`` uses
``[s, i]``), reduces it with ``floormod(·, 2**31 - 2)`` to int32 -- so seeds
``s`` and ``s + 2**31 - 2`` give the same numbers -- and calls the stateless
ops, which on CPU draw with Philox-4x32-10 (:mod:`initcli.backends.philox`).
Element ``j`` of a float32 tensor comes from Philox block ``j // 4``:

* ``uniform(minval, maxval)``: ``u = bitcast(0x3F800000 | (w & 0x7FFFFF)) - 1``
  from word ``j % 4``, then ``u · (maxval - minval) + minval`` (two float32
  roundings);
* ``normal``: Box-Muller on the word pairs ``(w0, w1)`` and ``(w2, w3)``:
  ``u1 = max(u(w0), 1e-7)``, ``v = float(2π · u(w1))`` (π in double),
  ``r = sqrtf(-2 · logf(u1))``, outputs ``sin(v)·r`` and ``cos(v)·r`` with the
  C library's ``sincosf``/``logf`` (:mod:`initcli.backends.glibc_math`);
  then Keras's ``x · stddev + mean``;
* ``truncated_normal``: outputs come in groups of four; group ``g`` reads
  Philox blocks from counter ``+ 256·g`` on, Box-Muller pairs in order, and
  keeps the values with ``|x| < 2`` until it has four.

float16: uniform values come from the low 10 bits of each word
(``Uint16ToHalf``), normal ones are the float32 values rounded, and every
float16 operation rounds; a Python float becomes float16 through float32.
bfloat16 is float16's story with 7 bits: uniform values come from the low 7
bits of each word (``Uint16ToGfloat16``), normal ones are the float32 values
rounded to nearest even, every bfloat16 operation rounds, and a Python float
becomes bfloat16 through float32.
float64: a value takes two words (52 bits), a Box-Muller pair takes a whole
block (two outputs), truncated groups hold two values 128 blocks apart, and
``log``/``sin``/``cos`` are the C library's double functions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator

import numpy as np

from ..dtypes import bfloat16, is_bfloat16
from . import glibc_math, philox
from .chunking import affine, counter_chunks, half
from .float32 import F32, U32

SEED_MODULUS = 2**31 - 2
"""Keras's TensorFlow backend reduces seeds modulo ``int32.max - 1``."""

_GROUP_STRIDE = 256
"""Philox blocks reserved for each group of four truncated normals."""

_EPSILON = F32(1e-7)


def key_counter(seed: int, draw: int) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """Philox key and counter for Keras's seed ``[seed, draw]``."""
    return philox.key_counter(seed % SEED_MODULUS, draw % SEED_MODULUS)


def unit_floats(words: np.ndarray) -> np.ndarray:
    """``[0, 1)`` float32 values from the low 23 bits of uint32 ``words``."""
    return ((words & U32(0x7FFFFF)) | U32(0x3F800000)).view(F32) - F32(1)


def radius_of(words: np.ndarray) -> np.ndarray:
    """Box-Muller's ``sqrtf(-2·logf(max(u, 1e-7)))`` for the low 23 bits of ``words``."""
    log = glibc_math.logf(np.maximum(unit_floats(words), _EPSILON))
    log *= F32(-2)
    return np.sqrt(log, out=log)


def angle_of(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box-Muller's ``sincosf(float(2π·u))`` for the low 23 bits of ``words``."""
    v = unit_floats(words).astype(np.float64)
    v *= 2.0 * math.pi
    return glibc_math.sincosf(v.astype(F32))


def box_muller(w0: np.ndarray, w1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow's ``BoxMullerFloat``: two standard normals from two uint32 words
    (``sin(v)·r``, ``cos(v)·r``)."""
    radius = radius_of(w0)
    sine, cosine = angle_of(w1)
    sine *= radius
    cosine *= radius
    return sine, cosine


def _words(key: tuple[int, int], counter: tuple[int, int, int, int], start: int, count: int) -> np.ndarray:
    """Words ``start .. start + count - 1`` of the flat Philox stream (word j: block j//4, position j%4)."""
    first = start // 4
    last = (start + count + 3) // 4
    words = philox.blocks(key, counter, np.arange(first, last, dtype=np.uint64)).reshape(-1)
    return words[start - 4 * first : start - 4 * first + count]


def half_unit_floats(words: np.ndarray) -> np.ndarray:
    """TensorFlow's ``Uint16ToHalf``: ``[0, 1)`` float16 values from the low 10 bits of ``words``."""
    return ((words & U32(0x3FF)) | U32(0x3C00)).astype(np.uint16).view(np.float16) - np.float16(1)


def bfloat16_unit_floats(words: np.ndarray) -> np.ndarray:
    """TensorFlow's ``Uint16ToGfloat16``: ``[0, 1)`` bfloat16 values from the low 7 bits of ``words``."""
    return ((words & U32(0x7F)) | U32(0x3F80)).astype(np.uint16).view(bfloat16()) - bfloat16().type(1)


def double_unit_floats(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """TensorFlow's ``Uint64ToDouble``: ``[0, 1)`` float64 values from 52 bits, the low 20 bits
    of ``high`` above the 32 of ``low``."""
    mantissa = ((high & U32(0xFFFFF)).astype(np.uint64) << np.uint64(32)) | low.astype(np.uint64)
    return (mantissa | np.uint64(0x3FF0000000000000)).view(np.float64) - 1.0


_LOG = np.frompyfunc(math.log, 1, 1)
_SIN = np.frompyfunc(math.sin, 1, 1)
_COS = np.frompyfunc(math.cos, 1, 1)


@functools.cache
def numpy_matches_the_c_library() -> bool:
    """Whether NumPy's float64 ``log``, ``sin`` and ``cos`` give the C library's results here.

    TensorFlow's float64 Box-Muller calls the C library.  NumPy calls it too unless it
    was built with its own vector versions for this CPU (AVX-512 builds may be); those
    differ from the C library's in the last bit for a sizeable share of inputs, so
    comparing 8,192 inputs of each range tells the two apart.
    """
    rng = np.random.default_rng(20260101)
    radii = rng.uniform(1e-7, 1.0, 8192)
    angles = rng.uniform(0.0, 2.0 * math.pi, 8192)
    return (
        np.array_equal(np.log(radii), _LOG(radii).astype(np.float64))
        and np.array_equal(np.sin(angles), _SIN(angles).astype(np.float64))
        and np.array_equal(np.cos(angles), _COS(angles).astype(np.float64))
    )


def box_muller_double(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow's ``BoxMullerDouble``: two float64 standard normals from each row of four words.

    ``log``, ``sin`` and ``cos`` are the C library's: NumPy's vectorized ones when they
    agree with it (:func:`numpy_matches_the_c_library`), else the C library's own,
    called element by element through Python's ``math`` module (exact, and slow).
    """
    u1 = np.maximum(double_unit_floats(w[:, 0], w[:, 1]), 1e-7)
    v = (2.0 * math.pi) * double_unit_floats(w[:, 2], w[:, 3])
    if numpy_matches_the_c_library():
        radius = np.sqrt(-2.0 * np.log(u1))
        return np.sin(v) * radius, np.cos(v) * radius
    radius = np.sqrt(-2.0 * _LOG(u1).astype(np.float64))
    return _SIN(v).astype(np.float64) * radius, _COS(v).astype(np.float64) * radius


def _scalars(dtype: np.dtype, *values: float) -> tuple[np.floating, ...]:
    """Python floats as tensors of ``dtype`` get them (float16 through float32)."""
    if dtype == np.float16:
        return tuple(half(v) for v in values)
    if is_bfloat16(dtype):
        return tuple(bfloat16().type(F32(v)) for v in values)
    return tuple(dtype.type(v) for v in values)


def uniform_chunks(
    n: int, minval: float, maxval: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.uniform(minval, maxval)`` under TensorFlow, as flat chunks.

    float16 uses the low 10 bits of each word; float64 two words per value (word
    pairs in order) and bounds that went through float32."""
    key, counter = key_counter(seed, draw)
    if dtype == np.float64:
        low, high = np.float64(F32(minval)), np.float64(F32(maxval))
    else:
        low, high = _scalars(dtype, minval, maxval)
    span = high - low

    def fill(start: int, out: np.ndarray) -> None:
        if dtype == np.float64:
            words = _words(key, counter, 2 * start, 2 * out.size)
            np.multiply(double_unit_floats(words[0::2], words[1::2]), span, out=out)
        elif dtype == np.float16:
            np.multiply(half_unit_floats(_words(key, counter, start, out.size)), span, out=out)
        elif is_bfloat16(dtype):
            np.multiply(bfloat16_unit_floats(_words(key, counter, start, out.size)), span, out=out)
        else:
            np.multiply(unit_floats(_words(key, counter, start, out.size)), span, out=out)
        out += low

    return counter_chunks(n, dtype, fill, drawn=dtype)


def _float_normals(blocks: np.ndarray) -> np.ndarray:
    """Four float32 normals per Philox block: Box-Muller on word pairs (0, 1) and (2, 3)."""
    values = np.empty(blocks.shape, dtype=F32)
    values[:, 0], values[:, 1] = box_muller(blocks[:, 0], blocks[:, 1])
    values[:, 2], values[:, 3] = box_muller(blocks[:, 2], blocks[:, 3])
    return values


def _double_normals(blocks: np.ndarray) -> np.ndarray:
    """Two float64 normals per Philox block."""
    return np.stack(box_muller_double(blocks), axis=-1)


def normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.normal(mean, stddev)`` under TensorFlow, as flat chunks.

    float16 values are the float32 ones rounded; float64 ones come two per block."""
    key, counter = key_counter(seed, draw)
    per_block, normals = (2, _double_normals) if dtype == np.float64 else (4, _float_normals)
    scale, shift = _scalars(dtype, stddev, mean)

    def fill(start: int, out: np.ndarray) -> None:
        first = start // per_block
        blocks = philox.blocks(key, counter, np.arange(first, -(-(start + out.size) // per_block), dtype=np.uint64))
        skip = start - per_block * first
        out[:] = normals(blocks).reshape(-1)[skip : skip + out.size]
        affine(out, scale, shift)

    return counter_chunks(n, dtype, fill, drawn=dtype)


def _truncated_groups(
    key: tuple[int, int],
    counter: tuple[int, int, int, int],
    first: int,
    count: int,
    double: bool,
) -> np.ndarray:
    """Groups ``first .. first + count - 1`` of standard truncated normals, ``(count, size)``:
    four float32 values per group, or two float64 values (groups 128 blocks apart).

    Group ``g`` reads Philox blocks from ``counter + stride·g`` on and keeps the
    Box-Muller values with ``|x| < 2``, in order, until it has ``size``.  Most
    groups (83 % for float32) keep every value of their first block.  Most of the
    others (15 % of all) drop exactly one and take the next kept value of the
    first pair of their second block; the rest continue pair by pair.
    """
    size, stride = (2, _GROUP_STRIDE // 2) if double else (4, _GROUP_STRIDE)
    normals = _double_normals if double else _float_normals
    groups = np.arange(first, first + count, dtype=np.uint64) * np.uint64(stride)
    out = normals(philox.blocks(key, counter, groups))
    rejected = np.abs(out) >= 2
    # one machine word per group (its 4 or 2 one-byte flags): nonzero where a value was rejected
    flags = rejected.view(np.uint32 if size == 4 else np.uint16).reshape(-1)
    rows = np.flatnonzero(flags)
    if not rows.size:
        return out
    firsts = out[rows]
    if double:
        return _complete(out, rows, firsts, ~rejected[rows], key, counter, groups, stride, size, double)
    # float32 groups that dropped exactly one value (its flag is the word's only nonzero byte)
    word = flags[rows]
    single = np.flatnonzero((word & (word - np.uint32(1))) == 0)  # a power of two: one byte set
    dropped = np.log2(word[single]).astype(np.intp) // 8
    one = rows[single]
    flat = out.reshape(-1)
    starts = one * 4
    kept = firsts[single]
    for slot in range(3):  # the values after the dropped one move up a slot
        flat[starts + slot] = np.where(dropped > slot, kept[:, slot], kept[:, slot + 1])
    blocks = philox.blocks(key, counter, groups[one] + np.uint64(1))
    d0, d1 = box_muller(blocks[:, 0], blocks[:, 1])
    kept0 = np.abs(d0) < 2
    found = kept0 | (np.abs(d1) < 2)
    flat[starts[found] + 3] = np.where(kept0, d0, d1)[found]
    rest = np.ones(rows.size, dtype=bool)
    rest[single[found]] = False
    rest = np.flatnonzero(rest)
    if rest.size:
        firsts = firsts[rest]
        _complete(out, rows[rest], firsts, np.abs(firsts) < 2, key, counter, groups, stride, size, double)
    return out


def _complete(
    out: np.ndarray,
    rows: np.ndarray,
    firsts: np.ndarray,
    kept_first: np.ndarray,
    key: tuple[int, int],
    counter: tuple[int, int, int, int],
    groups: np.ndarray,
    stride: int,
    size: int,
    double: bool,
) -> np.ndarray:
    """Fill ``out[rows]`` in general: the kept values of each group's first block
    (``firsts``), then values from its next blocks, pair by pair, until it has ``size``."""
    filled = np.zeros(rows.size, dtype=np.intp)
    for j in range(size):  # the kept values of the first block, moved to the front
        take = np.flatnonzero(kept_first[:, j])
        out[rows[take], filled[take]] = firsts[take, j]
        filled[take] += 1
    short = np.arange(rows.size)
    pairs = (None,) if double else ((0, 1), (2, 3))
    for step in range(1, stride):
        blocks = philox.blocks(key, counter, groups[rows[short]] + np.uint64(step))
        for pair in pairs:
            if pair is None:
                candidates = box_muller_double(blocks)
            else:
                candidates = box_muller(blocks[:, pair[0]], blocks[:, pair[1]])
            for value in candidates:
                take = np.flatnonzero((np.abs(value) < 2) & (filled[short] < size))
                out[rows[short[take]], filled[short[take]]] = value[take]
                filled[short[take]] += 1
            still = np.flatnonzero(filled[short] < size)
            short, blocks = short[still], blocks[still]
            if not short.size:
                return out
    raise RuntimeError("a truncated normal group used up its reserved Philox blocks")  # p < 1e-1000


def truncated_normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.truncated_normal(mean, stddev)`` under TensorFlow, as flat chunks.

    float16 values are the float32 ones (selected in float32) rounded."""
    key, counter = key_counter(seed, draw)
    double = dtype == np.float64
    size = 2 if double else 4
    scale, shift = _scalars(dtype, stddev, mean)

    def fill(start: int, out: np.ndarray) -> None:
        first = start // size
        groups = _truncated_groups(key, counter, first, -(-(start + out.size) // size) - first, double)
        skip = start - size * first
        out[:] = groups.reshape(-1)[skip : skip + out.size]
        affine(out, scale, shift)

    return counter_chunks(n, dtype, fill, drawn=dtype)
