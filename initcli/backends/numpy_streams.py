"""Random streams of Keras 3's numpy backend, reproduced exactly.

Keras's numpy backend turns an integer seed ``s`` into the key
``np.array([s, i], dtype="uint32")`` (``i = 0`` for an integer seed; the
``i``-th call of a ``keras.random.SeedGenerator(s)`` uses ``[s, i]``) and
draws with ``np.random.default_rng(key)``:

* ``normal``: ``rng.normal(loc=mean, scale=stddev, size=n)`` in float64;
* ``uniform``: ``rng.uniform(low=minval, high=maxval, size=n)`` in float64;
* ``truncated_normal``: normals as above, keeping, in order, the values with
  ``mean - 2*stddev <= x <= mean + 2*stddev`` until ``n`` are kept.

Every result is cast from float64 to the requested dtype once, at the end.
All three streams are sequential: ``k`` draws followed by ``m`` draws equal
``k + m`` draws, so they can be generated in chunks of any size with the
same bytes, and the truncated stream does not depend on the batch sizes
used to fill it (Keras redraws full-size batches; we draw only what is
still missing, which keeps the same values).  The fast paths --
``standard_normal() * stddev + mean`` for ``normal(mean, stddev)`` and
``random() * (high - low) + low`` for ``uniform(low, high)`` -- are the
same float operations NumPy performs, and are checked against Keras.
Chunks hold :data:`initcli.backends.buffers.CHUNK` elements unless a call
says otherwise (read at call time, as the other backends' streams do).
"""

from __future__ import annotations

from collections.abc import Iterator
from math import prod

import numpy as np

from ..parallel import prefetch
from . import buffers
from .buffers import DEPTH, Ring, collect
from .chunking import counter_chunks

_TRUNCATION_KEEP = 0.9544997361036416
"""P(|Z| <= 2) for a standard normal Z: the fraction of draws kept."""


def generator(seed: int, draw: int = 0) -> np.random.Generator:
    """The generator Keras's numpy backend uses for key ``[seed, draw]``."""
    return np.random.default_rng(np.array([seed, draw], dtype=np.uint32))


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return values if values.dtype == dtype else values.astype(dtype)


def uniform_chunks(
    n: int, minval: float, maxval: float, dtype: np.dtype, seed: int, draw: int = 0, chunk: int | None = None
) -> Iterator[np.ndarray]:
    """``n`` draws of U[minval, maxval) as flat chunks, bit-identical to ``rng.uniform``.

    ``Generator.uniform`` computes ``low + (high - low) * next_double()`` and each
    double consumes exactly one 64-bit PCG64 output, so any block of the stream can
    start from a generator advanced by its offset (``PCG64.advance``): the stream is
    counter-based, drawn in chunks on all cores like the jax and tensorflow streams
    (:func:`initcli.backends.chunking.counter_chunks`).  Each chunk is valid until
    the next one is requested.
    """
    span = maxval - minval
    key = np.array([seed, draw], dtype=np.uint32)

    def fill(start: int, out: np.ndarray) -> None:
        bits = np.random.PCG64(key)
        if start:
            bits.advance(start)
        np.random.Generator(bits).random(out=out)
        out *= span
        out += minval

    return counter_chunks(n, dtype, fill, drawn=np.float64, chunk=chunk)


def _draw_stage(rng: np.random.Generator, sizes: Iterator[int], ring: Ring) -> Iterator[np.ndarray]:
    """Standard normal draws into the ring's buffers, one chunk per size."""
    for size in sizes:
        buffer = ring.next(size)
        rng.standard_normal(out=buffer)
        yield buffer


def normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0, chunk: int | None = None
) -> Iterator[np.ndarray]:
    """``n`` draws of N(mean, stddev²) as flat chunks, bit-identical to ``rng.normal``.

    ``Generator.normal`` computes ``loc + scale * standard_normal()``; the ziggurat
    consumes a variable number of outputs, so the draws stay sequential, in one
    thread, while another scales and casts and the caller writes.  Each chunk is
    valid until the next one is requested.
    """
    chunk = chunk or buffers.CHUNK
    rng = generator(seed, draw)
    if n <= chunk:
        values = rng.standard_normal(n)
        values *= stddev
        values += mean
        yield _cast(values, dtype)
        return
    sizes = (min(chunk, n - offset) for offset in range(0, n, chunk))
    raw = prefetch(_draw_stage(rng, sizes, Ring(DEPTH + 2, chunk, np.dtype(np.float64))), DEPTH)
    out = Ring(DEPTH + 2, chunk, dtype)

    def scaled() -> Iterator[np.ndarray]:
        try:
            for values in raw:
                values *= stddev
                values += mean
                target = out.next(values.size)
                np.copyto(target, values, casting="same_kind")
                yield target
        finally:
            raw.close()

    yield from prefetch(scaled(), DEPTH)


def truncated_normal_chunks(
    n: int, mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0, chunk: int | None = None
) -> Iterator[np.ndarray]:
    """The first ``n`` draws of N(mean, stddev²) inside ``[mean - 2 stddev, mean + 2 stddev]``,
    as flat chunks: Keras's truncated normal, bit for bit, without its full-size redraws.

    For large tensors one thread draws, another scales, filters and casts, and the
    caller writes; each chunk is valid until the next one is requested."""
    chunk = chunk or buffers.CHUNK
    rng = generator(seed, draw)
    lower = mean - 2 * stddev
    upper = mean + 2 * stddev
    if n == 0:
        return
    if n <= chunk:
        remaining = n
        for values in _small_batches(rng, n):
            values *= stddev
            values += mean
            inside = values[(values >= lower) & (values <= upper)][:remaining]
            remaining -= inside.size
            yield _cast(inside, dtype)
            if remaining == 0:
                return
    raw = prefetch(_draw_stage(rng, iter(lambda: chunk, None), Ring(DEPTH + 2, chunk, np.dtype(np.float64))), DEPTH)
    out = Ring(DEPTH + 2, chunk, dtype)
    keep = np.empty(chunk, dtype=bool)
    upper_ok = np.empty(chunk, dtype=bool)
    scratch = np.empty(chunk, dtype=np.float64)

    def kept() -> Iterator[np.ndarray]:
        remaining = n
        try:
            for values in raw:
                values *= stddev
                values += mean
                np.greater_equal(values, lower, out=keep)
                np.less_equal(values, upper, out=upper_ok)
                np.logical_and(keep, upper_ok, out=keep)
                count = int(np.count_nonzero(keep))
                inside = np.compress(keep, values, out=scratch[:count])
                target = out.next(min(count, remaining))
                np.copyto(target, inside[: target.size], casting="same_kind")
                remaining -= target.size
                yield target
                if remaining == 0:
                    return
        finally:
            raw.close()

    yield from prefetch(kept(), DEPTH)


def _small_batches(rng: np.random.Generator, n: int) -> Iterator[np.ndarray]:
    """Batches sized to finish a small tensor in one draw most of the time."""
    batch = n
    while True:
        yield rng.standard_normal(batch)
        batch = int(n / _TRUNCATION_KEEP * 0.1) + 16


def normal(shape: tuple[int, ...], mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0) -> np.ndarray:
    """``keras.random.normal`` on the numpy backend: N(mean, stddev²) draws cast to ``dtype``."""
    return collect(normal_chunks(prod(shape), mean, stddev, dtype, seed, draw), shape, dtype)


def uniform(
    shape: tuple[int, ...], minval: float, maxval: float, dtype: np.dtype, seed: int, draw: int = 0
) -> np.ndarray:
    """``keras.random.uniform`` on the numpy backend: U[minval, maxval) draws cast to ``dtype``."""
    return collect(uniform_chunks(prod(shape), minval, maxval, dtype, seed, draw), shape, dtype)


def truncated_normal(
    shape: tuple[int, ...], mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0
) -> np.ndarray:
    """``keras.random.truncated_normal`` on the numpy backend.

    Draws N(mean, stddev²) in float64 and keeps, in order, the values inside
    the closed interval ``[mean - 2*stddev, mean + 2*stddev]`` until
    ``prod(shape)`` are kept.  The kept values have standard deviation
    ``0.87962566103423978 * stddev``.
    """
    return collect(truncated_normal_chunks(prod(shape), mean, stddev, dtype, seed, draw), shape, dtype)
