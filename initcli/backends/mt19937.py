"""The mt19937 engine of PyTorch's CPU generator, word for word.

``torch.Generator(device="cpu").manual_seed(s)`` keeps only ``t = s mod 2**32``
for the engine and seeds it with Knuth's ``init_genrand``::

    state[0] = t
    state[j] = 1812433253 · (state[j-1] ^ (state[j-1] >> 30)) + j   (mod 2**32), j = 1 .. 623

and marks the state used up, so the first word drawn follows a full twist.
A twist regenerates the 624 words (``A = 0x9908b0df``, ``M = 397``)::

    y        = (state[k] & 0x80000000) | (state[k+1 mod 624] & 0x7fffffff)
    state[k] = state[k+397 mod 624] ^ (y >> 1) ^ (A if y odd else 0)

and each word is tempered before use: ``y ^= y >> 11; y ^= (y << 7) & 0x9d2c5680;
y ^= (y << 15) & 0xefc60000; y ^= y >> 18``.

The twist depends on words already regenerated only through ``state[k+397]``
for ``k >= 227``, so it runs as three dependency-free vector steps
(``[0, 227)``, ``[227, 454)``, ``[454, 623)``) and word 623: :func:`twist`.

The engine is not counter-based, but where each tensor element's words lie in
the stream is known in closed form (see :mod:`initcli.backends.torch_streams`),
so a chunk at word offset ``k`` starts from the seeded state advanced by ``k``
words.  :class:`WordStreams` draws them with NumPy's own MT19937 (the same
recurrence, at a few ns per word; faster than any NumPy-vectorized twist, whose
three steps per 624 words cost more in call overhead) started from
:func:`initial_state`; the tests
check :func:`initial_state`, :func:`twist` and :func:`temper` against it.
"""

from __future__ import annotations

import functools
import threading
from collections import deque

import numpy as np

from .float32 import U32

N = 624
"""Words in the state."""

_UPPER, _LOWER, _MATRIX_A = U32(0x80000000), U32(0x7FFFFFFF), U32(0x9908B0DF)


@functools.lru_cache(maxsize=64)
def _initial_key(seed32: int) -> bytes:
    state = [seed32]
    for j in range(1, N):
        previous = state[-1]
        state.append((1812433253 * (previous ^ (previous >> 30)) + j) & 0xFFFFFFFF)
    return np.array(state, dtype=U32).tobytes()


def initial_state(seed: int) -> np.ndarray:
    """The 624-word state ``manual_seed(seed)`` sets: ``init_genrand(seed mod 2**32)``."""
    return np.frombuffer(_initial_key(int(seed) & 0xFFFFFFFF), dtype=U32).copy()


def _mix(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """``(y >> 1) ^ (A if y odd)`` for ``y = (upper & 0x80000000) | (lower & 0x7fffffff)``."""
    y = (upper & _UPPER) | (lower & _LOWER)
    return (y >> U32(1)) ^ np.where((lower & U32(1)) != 0, _MATRIX_A, U32(0))


def twist(state: np.ndarray) -> np.ndarray:
    """The next 624 untempered words after ``state`` (a new array)."""
    new = np.empty_like(state)
    new[0:227] = state[397:624] ^ _mix(state[0:227], state[1:228])
    new[227:454] = new[0:227] ^ _mix(state[227:454], state[228:455])
    new[454:623] = new[227:396] ^ _mix(state[454:623], state[455:624])
    new[623] = new[396] ^ _mix(state[623:624], new[0:1])[0]
    return new


def temper(words: np.ndarray) -> np.ndarray:
    """mt19937's output tempering of uint32 ``words`` (a new array)."""
    y = words ^ (words >> U32(11))
    y ^= (y << U32(7)) & U32(0x9D2C5680)
    y ^= (y << U32(15)) & U32(0xEFC60000)
    y ^= y >> U32(18)
    return y


def reference_words(seed: int, count: int) -> np.ndarray:
    """The first ``count`` words after ``manual_seed(seed)``, from :func:`twist` and :func:`temper` alone."""
    out = np.empty(count, dtype=U32)
    state = initial_state(seed)
    for at in range(0, count, N):
        state = twist(state)
        out[at : at + N] = temper(state)[: count - at]
    return out


REUSE_WITHIN = 1 << 18
"""How far behind a request an idle engine may be and still serve it (rather than a new one)."""


class _Stream:
    """One engine and how many words it has given."""

    def __init__(self, seed: int) -> None:
        self.bits = np.random.MT19937(0)
        self.bits.state = {"bit_generator": "MT19937", "state": {"key": initial_state(seed), "pos": N}}
        self.generator = np.random.Generator(self.bits)
        self.position = 0


HISTORY = 1 << 22
"""Words the shared engine keeps behind the furthest request (16 MiB), for requests that come late."""


def _draw(stream: _Stream, count: int) -> np.ndarray:
    """``count`` words of ``stream`` as uint32: ``Generator.integers(0, 2**32, dtype=uint32)`` takes
    exactly one word of the engine per value (the full range needs no rejection) and writes 4 bytes
    per word (``random_raw`` writes 8)."""
    out = stream.generator.integers(0, 1 << 32, count, dtype=U32)
    stream.position += count
    return out


class WordStreams:
    """Words of one seed's stream at any offset, for several threads.

    :meth:`words` hands out ``count`` words from word ``start`` on.  One shared
    engine draws the stream in order, once: a request past its position draws
    the words in between too and keeps them (up to :data:`HISTORY` words behind
    the furthest request), so threads working on neighbouring chunks share the
    engine instead of each passing over the whole stream (skipping words costs
    as much as drawing them).  A request older than the kept words gets an
    engine of its own: the idle one closest below ``start`` if it is at most
    :data:`REUSE_WITHIN` words behind, else a new one.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.idle: list[_Stream] = []
        self.lock = threading.Lock()
        self.shared = _Stream(seed)
        self.kept: deque[tuple[int, np.ndarray]] = deque()  # contiguous: kept[0] starts at self.base
        self.base = 0

    def words(self, start: int, count: int) -> np.ndarray:
        """Tempered words ``start .. start + count - 1`` as uint32."""
        with self.lock:
            if start >= self.base and start + count - self.shared.position <= HISTORY:
                return self._from_shared(start, count)
        return self._private(start, count)

    def _from_shared(self, start: int, count: int) -> np.ndarray:
        end = start + count
        if end > self.shared.position:
            at = self.shared.position
            self.kept.append((at, _draw(self.shared, end - at)))
        while self.kept and self.kept[0][0] + self.kept[0][1].size <= min(start, end - HISTORY):
            first, words = self.kept.popleft()
            self.base = first + words.size
        pieces = []
        for first, words in self.kept:
            last = first + words.size
            if last <= start:
                continue
            if first >= end:
                break
            pieces.append(words[max(start, first) - first : min(end, last) - first])
        return pieces[0].copy() if len(pieces) == 1 else np.concatenate(pieces)

    def _private(self, start: int, count: int) -> np.ndarray:
        with self.lock:
            usable = [s for s in self.idle if start - REUSE_WITHIN <= s.position <= start]
            stream = max(usable, key=lambda s: s.position) if usable else _Stream(self.seed)
            if usable:
                self.idle.remove(stream)
        if start > stream.position:
            stream.bits.random_raw(start - stream.position, output=False)
            stream.position = start
        out = _draw(stream, count)
        with self.lock:
            self.idle.append(stream)
            del self.idle[:-8]
        return out
