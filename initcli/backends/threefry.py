"""Threefry-2x32 random bits, as JAX draws them.

JAX's default generator is Threefry-2x32 with 20 rounds (Salmon et al.'s
counter-based cipher): a 64-bit key ``(k0, k1)`` encrypts a 64-bit counter
``(x0, x1)``.  With ``jax_threefry_partitionable`` (the default since JAX
0.5), ``jax.random.bits(key, shape)`` gives flat element ``i`` the counter
``(hi32(i), lo32(i))`` and the 32-bit word ``y0 ^ y1`` of its cipher text.
Every element is independent of every other, so any range of a tensor can be
generated on its own: that is what lets initcli split tensors into chunks and
draw them on all cores.

The rounds below are plain NumPy uint32 arithmetic (wrapping addition, rotate,
xor) applied to whole blocks in place.
"""

from __future__ import annotations

import numpy as np

U32 = np.uint32

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA


def bits(key: tuple[int, int], start: int, count: int, out: np.ndarray | None = None) -> np.ndarray:
    """The 32-bit words of flat elements ``start .. start + count - 1``
    of ``jax.random.bits(key, shape, dtype=uint32)`` (partitionable layout)."""
    k0, k1 = int(key[0]), int(key[1])
    schedule = (k0, k1, k0 ^ k1 ^ _PARITY)
    index = np.arange(start, start + count, dtype=np.uint64)
    x0 = (index >> np.uint64(32)).astype(U32)
    x1 = index.astype(U32)
    spare = np.empty(count, dtype=U32)
    with np.errstate(over="ignore"):
        x0 += U32(schedule[0])
        x1 += U32(schedule[1])
        for block in range(5):
            for rotation in _ROTATIONS[block % 2]:
                x0 += x1
                np.left_shift(x1, U32(rotation), out=spare)
                x1 >>= U32(32 - rotation)
                x1 |= spare
                x1 ^= x0
            x0 += U32(schedule[(block + 1) % 3])
            x1 += U32((schedule[(block + 2) % 3] + block + 1) & 0xFFFFFFFF)
    if out is None:
        return np.bitwise_xor(x0, x1)
    return np.bitwise_xor(x0, x1, out=out)
