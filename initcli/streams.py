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
``k + m`` draws, so the truncated stream does not depend on the batch sizes
used to fill it (Keras redraws full-size batches; we draw only what is
still missing, which keeps the same values).
"""

from __future__ import annotations

from math import prod

import numpy as np

from .errors import InvalidArgument

SEED_LIMIT = 2**32
"""Seeds are integers in ``[0, SEED_LIMIT)``: one uint32 word of Keras's key."""

_TRUNCATION_KEEP = 0.9544997361036416
"""P(|Z| <= 2) for a standard normal Z: the fraction of draws kept."""


def check_seed(seed: object, what: str = "seed") -> int:
    """Return ``seed`` as an int if it is an integer in ``[0, 2**32)``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InvalidArgument(f"{what} {seed!r} is not an integer; use an integer from 0 to {SEED_LIMIT - 1}")
    value = int(seed)
    if not 0 <= value < SEED_LIMIT:
        raise InvalidArgument(f"{what} {value} is out of range; use an integer from 0 to {SEED_LIMIT - 1}")
    return value


def generator(seed: int, draw: int = 0) -> np.random.Generator:
    """The generator Keras's numpy backend uses for key ``[seed, draw]``."""
    return np.random.default_rng(np.array([seed, draw], dtype=np.uint32))


def normal(shape: tuple[int, ...], mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0) -> np.ndarray:
    """``keras.random.normal`` on the numpy backend: N(mean, stddev²) draws cast to ``dtype``."""
    return generator(seed, draw).normal(size=shape, loc=mean, scale=stddev).astype(dtype)


def uniform(
    shape: tuple[int, ...], minval: float, maxval: float, dtype: np.dtype, seed: int, draw: int = 0
) -> np.ndarray:
    """``keras.random.uniform`` on the numpy backend: U[minval, maxval) draws cast to ``dtype``."""
    return generator(seed, draw).uniform(size=shape, low=minval, high=maxval).astype(dtype)


def truncated_normal(
    shape: tuple[int, ...], mean: float, stddev: float, dtype: np.dtype, seed: int, draw: int = 0
) -> np.ndarray:
    """``keras.random.truncated_normal`` on the numpy backend.

    Draws N(mean, stddev²) in float64 and keeps, in order, the values inside
    the closed interval ``[mean - 2*stddev, mean + 2*stddev]`` until
    ``prod(shape)`` are kept.  The kept values have standard deviation
    ``0.87962566103423978 * stddev``.
    """
    rng = generator(seed, draw)
    lower = mean - 2 * stddev
    upper = mean + 2 * stddev
    needed = prod(shape)
    kept: list[np.ndarray] = []
    have = 0
    batch = needed
    while have < needed:
        values = rng.normal(loc=mean, scale=stddev, size=batch)
        values = values[(values >= lower) & (values <= upper)]
        kept.append(values)
        have += values.shape[0]
        missing = needed - have
        # Ask for enough to finish in one more batch most of the time.
        batch = int(missing / _TRUNCATION_KEEP * 1.01) + 16
    flat = kept[0] if len(kept) == 1 else np.concatenate(kept or [np.empty(0)])
    return flat[:needed].astype(dtype).reshape(shape)
