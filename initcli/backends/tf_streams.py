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
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from . import glibc_math, philox
from .chunking import affine, counter_chunks
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


def box_muller(w0: np.ndarray, w1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow's ``BoxMullerFloat``: two standard normals from two uint32 words."""
    u1 = np.maximum(unit_floats(w0), _EPSILON)
    v = (unit_floats(w1).astype(np.float64) * (2.0 * math.pi)).astype(F32)
    radius = np.sqrt(glibc_math.logf(u1) * F32(-2))
    sine, cosine = glibc_math.sincosf(v)
    sine *= radius
    cosine *= radius
    return sine, cosine


def _words(key: tuple[int, int], counter: tuple[int, int, int, int], start: int, count: int) -> np.ndarray:
    """The uint32 words of elements ``start .. start + count - 1`` (element j: block j//4, word j%4)."""
    first = start // 4
    last = (start + count + 3) // 4
    words = philox.blocks(key, counter, np.arange(first, last, dtype=np.uint64)).reshape(-1)
    return words[start - 4 * first : start - 4 * first + count]


def uniform_chunks(
    n: int, minval: float, maxval: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.uniform(minval, maxval)`` under TensorFlow, as flat chunks."""
    key, counter = key_counter(seed, draw)
    low = F32(minval)
    span = F32(maxval) - low

    def fill(start: int, out: np.ndarray) -> None:
        np.multiply(unit_floats(_words(key, counter, start, out.size)), span, out=out)
        out += low

    return counter_chunks(n, dtype, fill)


def normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.normal(mean, stddev)`` under TensorFlow, as flat chunks."""
    key, counter = key_counter(seed, draw)
    scale, shift = F32(stddev), F32(mean)

    def fill(start: int, out: np.ndarray) -> None:
        first = start // 4
        blocks = philox.blocks(key, counter, np.arange(first, (start + out.size + 3) // 4, dtype=np.uint64))
        values = np.empty_like(blocks, dtype=F32)
        values[:, 0], values[:, 1] = box_muller(blocks[:, 0], blocks[:, 1])
        values[:, 2], values[:, 3] = box_muller(blocks[:, 2], blocks[:, 3])
        skip = start - 4 * first
        out[:] = values.reshape(-1)[skip : skip + out.size]
        affine(out, scale, shift)

    return counter_chunks(n, dtype, fill)


def _truncated_groups(key: tuple[int, int], counter: tuple[int, int, int, int], first: int, count: int) -> np.ndarray:
    """Groups ``first .. first + count - 1`` of four standard truncated normals: ``(count, 4)`` float32."""
    groups = np.arange(first, first + count, dtype=np.uint64) * np.uint64(_GROUP_STRIDE)
    out = np.empty((count, 4), dtype=F32)
    pending = np.arange(count)
    pool = np.empty((count, 0), dtype=F32)  # candidates so far of the groups still pending
    for step in range(_GROUP_STRIDE):
        blocks = philox.blocks(key, counter, groups[pending] + np.uint64(step))
        drawn = np.empty(blocks.shape, dtype=F32)
        drawn[:, 0], drawn[:, 1] = box_muller(blocks[:, 0], blocks[:, 1])
        drawn[:, 2], drawn[:, 3] = box_muller(blocks[:, 2], blocks[:, 3])
        pool = np.concatenate((pool, drawn), axis=1)
        keep = np.abs(pool) < F32(2)
        done = np.count_nonzero(keep, axis=1) >= 4
        rows = np.nonzero(done)[0]
        first_four = np.argsort(~keep[rows], axis=1, kind="stable")[:, :4]
        out[pending[rows]] = np.take_along_axis(pool[rows], first_four, axis=1)
        pending, pool = pending[~done], pool[~done]
        if not pending.size:
            return out
    raise RuntimeError("a truncated normal group used up its reserved Philox blocks")  # p < 1e-1000


def truncated_normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0
) -> Iterator[np.ndarray]:
    """``n`` draws of ``keras.random.truncated_normal(mean, stddev)`` under TensorFlow, as flat chunks."""
    key, counter = key_counter(seed, draw)
    scale, shift = F32(stddev), F32(mean)

    def fill(start: int, out: np.ndarray) -> None:
        first = start // 4
        groups = _truncated_groups(key, counter, first, (start + out.size + 3) // 4 - first)
        skip = start - 4 * first
        out[:] = groups.reshape(-1)[skip : skip + out.size]
        affine(out, scale, shift)

    return counter_chunks(n, dtype, fill)
