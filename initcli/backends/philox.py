"""Philox-4x32-10 random bits, as TensorFlow's stateless random ops draw them on CPU.

Philox (Salmon et al., 2011) encrypts a 128-bit counter ``(c0, c1, c2, c3)``
under a 64-bit key ``(k0, k1)`` in ten rounds of two 32x32->64-bit multiplies
(``0xD2511F53``, ``0xCD9E8D57``), with the key bumped by the Weyl constants
``(0x9E3779B9, 0xBB67AE85)`` between rounds.  One block gives four uint32
words; consecutive blocks use consecutive 128-bit counters.

``tf.random.stateless_*(seed=[s0, s1])`` first turns its int32 seed pair into
a key and counter (``StatelessRandomGetKeyCounter``): the seed words, sign
extended to 64 bits, form the counter ``(lo(s0), hi(s0), lo(s1), hi(s1))``,
which is encrypted once under the fixed key ``(0x3EC8F720, 0x02461E29)``;
the result's first two words are the key and its last two the upper half of
the counter (the lower half starts at zero).
"""

from __future__ import annotations

import numpy as np

U32 = np.uint32
U64 = np.uint64

_MULTIPLIERS = (U64(0xD2511F53), U64(0xCD9E8D57))
_WEYL = (0x9E3779B9, 0xBB67AE85)
_SEED_KEY = (0x3EC8F720, 0x02461E29)
_ROUNDS = 10


def rounds(c0: np.ndarray, c1: np.ndarray, c2: np.ndarray, c3: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    """Encrypt counters (four uint32 arrays); returns an ``(n, 4)`` uint32 array of outputs.

    A round maps ``(c0, c1, c2, c3)`` to ``(hi(M1·c2) ^ c1 ^ k0, lo(M1·c2), hi(M0·c0) ^ c3 ^ k1,
    lo(M0·c0))``; the key words are folded into ``c1`` and ``c3`` as they are made, one
    pass each instead of two.
    """
    k0, k1 = int(key[0]), int(key[1])
    n = c0.size
    p0 = np.empty(n, dtype=U64)
    p1 = np.empty(n, dtype=U64)
    words0 = p0.view(U32).reshape(n, 2)  # (lo, hi) of each product, little-endian
    words1 = p1.view(U32).reshape(n, 2)
    c1 = c1 ^ U32(k0)
    c3 = c3 ^ U32(k1)
    for round_ in range(_ROUNDS):
        np.multiply(c0, _MULTIPLIERS[0], out=p0, dtype=U64)
        np.multiply(c2, _MULTIPLIERS[1], out=p1, dtype=U64)
        c0 = np.bitwise_xor(words1[:, 1], c1)
        c2 = np.bitwise_xor(words0[:, 1], c3)
        if round_ != _ROUNDS - 1:
            k0 = (k0 + _WEYL[0]) & 0xFFFFFFFF
            k1 = (k1 + _WEYL[1]) & 0xFFFFFFFF
        else:
            k0 = k1 = 0
        c1 = np.bitwise_xor(words1[:, 0], U32(k0))
        c3 = np.bitwise_xor(words0[:, 0], U32(k1))
    return np.stack((c0, c1, c2, c3), axis=-1)


def counters(base: tuple[int, int, int, int], offsets: np.ndarray) -> tuple[np.ndarray, ...]:
    """The 128-bit counters ``base + offsets`` as four uint32 arrays (``offsets`` uint64)."""
    low = np.uint64(base[0] | (base[1] << 32))
    high = base[2] | (base[3] << 32)
    with np.errstate(over="ignore"):
        words = offsets + low
    carry = words < offsets  # the low 64 bits wrapped
    upper = np.where(carry, U64((high + 1) & 0xFFFFFFFFFFFFFFFF), U64(high))
    return words.astype(U32), (words >> U64(32)).astype(U32), upper.astype(U32), (upper >> U64(32)).astype(U32)


def key_counter(s0: int, s1: int) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """``StatelessRandomGetKeyCounter`` for the int32 seed pair ``[s0, s1]``."""
    w0 = s0 & 0xFFFFFFFFFFFFFFFF
    w1 = s1 & 0xFFFFFFFFFFFFFFFF
    words = [np.array([w & 0xFFFFFFFF], dtype=U32) for w in (w0, w0 >> 32, w1, w1 >> 32)]
    mixed = rounds(*words, _SEED_KEY)[0]
    return (int(mixed[0]), int(mixed[1])), (0, 0, int(mixed[2]), int(mixed[3]))


def blocks(key: tuple[int, int], counter: tuple[int, int, int, int], offsets: np.ndarray) -> np.ndarray:
    """Philox outputs of the blocks at ``counter + offsets``: an ``(n, 4)`` uint32 array."""
    return rounds(*counters(counter, offsets), key)
