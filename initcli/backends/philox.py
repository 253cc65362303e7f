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


def _product(c: np.ndarray | int, multiplier: np.uint64, out: np.ndarray) -> tuple[np.ndarray | int, ...]:
    """``(hi, lo)`` 32-bit halves of ``multiplier · c`` (ints for a lane that is the same everywhere)."""
    if isinstance(c, int):
        product = c * int(multiplier)
        return product >> 32, product & 0xFFFFFFFF
    np.multiply(c, multiplier, out=out, dtype=U64)
    words = out.view(U32).reshape(-1, 2)  # (lo, hi), little-endian
    return words[:, 1], words[:, 0]


def _xor(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray | int:
    if isinstance(a, int) and isinstance(b, int):
        return a ^ b
    if isinstance(a, int):
        a, b = b, a
    return np.bitwise_xor(a, U32(b) if isinstance(b, int) else b)


def rounds(
    c0: np.ndarray | int, c1: np.ndarray | int, c2: np.ndarray | int, c3: np.ndarray | int, key: tuple[int, int]
) -> np.ndarray:
    """Encrypt counters (four uint32 lanes); returns an ``(n, 4)`` uint32 array of outputs.

    A round maps ``(c0, c1, c2, c3)`` to ``(hi(M1·c2) ^ c1 ^ k0, lo(M1·c2), hi(M0·c0) ^ c3 ^ k1,
    lo(M0·c0))``; the key words are folded into ``c1`` and ``c3`` as they are made.  A lane
    given as an int is the same for every counter (the upper counter words usually are), and
    stays a Python int until the rounds mix it with a varying lane: the first two rounds cost
    a fraction of the others.
    """
    k0, k1 = int(key[0]), int(key[1])
    n = max(np.size(c) for c in (c0, c1, c2, c3))
    p0 = np.empty(n, dtype=U64)
    p1 = np.empty(n, dtype=U64)
    c1 = _xor(c1, k0)
    c3 = _xor(c3, k1)
    for round_ in range(_ROUNDS):
        hi0, lo0 = _product(c0, _MULTIPLIERS[0], p0)
        hi1, lo1 = _product(c2, _MULTIPLIERS[1], p1)
        c0 = _xor(hi1, c1)
        c2 = _xor(hi0, c3)
        if round_ != _ROUNDS - 1:
            k0 = (k0 + _WEYL[0]) & 0xFFFFFFFF
            k1 = (k1 + _WEYL[1]) & 0xFFFFFFFF
        else:
            k0 = k1 = 0
        c1 = _xor(lo1, k0)
        c3 = _xor(lo0, k1)
    return np.stack([np.broadcast_to(np.asarray(c, dtype=U32), (n,)) for c in (c0, c1, c2, c3)], axis=-1)


def counters(base: tuple[int, int, int, int], offsets: np.ndarray) -> tuple[np.ndarray | int, ...]:
    """The 128-bit counters ``base + offsets`` as four uint32 lanes (``offsets`` uint64): arrays,
    or ints for the lanes that are the same for every offset."""
    low = base[0] | (base[1] << 32)
    high = base[2] | (base[3] << 32)
    if offsets.size and low + int(offsets.max()) < 1 << 64:  # no carry into the upper half
        words = offsets + np.uint64(low)
        first, last = low + int(offsets.min()), low + int(offsets.max())
        second: np.ndarray | int = first >> 32 if first >> 32 == last >> 32 else (words >> np.uint64(32)).astype(U32)
        return words.astype(U32), second, high & 0xFFFFFFFF, high >> 32
    with np.errstate(over="ignore"):
        words = offsets + np.uint64(low)
    carry = words < offsets  # the low 64 bits wrapped
    upper = np.where(carry, U64((high + 1) & 0xFFFFFFFFFFFFFFFF), U64(high))
    return words.astype(U32), (words >> U64(32)).astype(U32), upper.astype(U32), (upper >> U64(32)).astype(U32)


def key_counter(s0: int, s1: int) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """``StatelessRandomGetKeyCounter`` for the int32 seed pair ``[s0, s1]``."""
    w0 = s0 & 0xFFFFFFFFFFFFFFFF
    w1 = s1 & 0xFFFFFFFFFFFFFFFF
    mixed = rounds(w0 & 0xFFFFFFFF, w0 >> 32, w1 & 0xFFFFFFFF, w1 >> 32, _SEED_KEY)[0]
    return (int(mixed[0]), int(mixed[1])), (0, 0, int(mixed[2]), int(mixed[3]))


def blocks(key: tuple[int, int], counter: tuple[int, int, int, int], offsets: np.ndarray) -> np.ndarray:
    """Philox outputs of the blocks at ``counter + offsets``: an ``(n, 4)`` uint32 array."""
    return rounds(*counters(counter, offsets), key)
