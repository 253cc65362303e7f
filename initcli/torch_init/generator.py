"""A stand-in for PyTorch's global CPU generator after ``torch.manual_seed(s)``.

``torch.nn.init`` draws from the global generator, so its numbers depend on
everything drawn since the last ``torch.manual_seed``.  :class:`TorchGenerator`
keeps what that generator keeps between calls and nothing else:

* the **word position** in the mt19937 stream of ``s mod 2**32``
  (:mod:`initcli.backends.mt19937`; ``manual_seed`` keeps all 64 bits for
  ``initial_seed()`` but seeds the engine from the low 32);
* the cached **double normal sample** (``next_double_normal_sample_``) that the
  serial Box-Muller path leaves behind after an odd number of elements.

What each draw consumes (torch 2.13, CPU, measured against real torch):

========================  ==============================================================
``uniform_`` float32      1 word per element: ``x = (w & 0xFFFFFF)·2**-24``
``uniform_`` float64      2 words per element: ``x = ((w1 << 32 | w2) & (2**53-1))·2**-53``
                          value ``fma(x, RN(b) - RN(a), RN(a))`` in the dtype
``normal_`` ``n >= 16``   the fill: ``n`` uniforms (float32 1 word, float64 2 words each),
                          Box-Muller per block of 16; if ``n % 16``, 16 more uniforms for the
                          recomputed last block; the cache is neither read nor written
``normal_`` ``n < 16``    serial double Box-Muller: the cached sample first (if any), then
                          4 words per pair ``(r·cos θ, r·sin θ)``; an unused ``r·sin θ`` is
                          cached; each value ``fma(z, std, mean)`` in double, then cast
``randperm(n)``           ``n - 1`` words (:meth:`TorchGenerator.randperm`)
========================  ==============================================================

The maths is :mod:`initcli.backends.torch_streams`'s (imported, not copied).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from .. import backends
from ..backends.float32 import F32, F64, fma
from ..backends.mt19937 import WordStreams
from ..dtypes import resolve_dtype
from ..errors import InvalidArgument

ts = backends.streams("torch")
"""torch's stream maths (:mod:`initcli.backends.torch_streams`), through the backend registry."""

CHUNK = 1 << 16
"""Elements computed per pass (a multiple of 16): the float64 temporaries stay small."""

LAZY_SAFE = frozenset(
    {"uniform_", "normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "trunc_normal_"}
)
"""The functions whose result may be a :class:`LazyDraw`: their one draw reshaped, or
(``trunc_normal_``) element-wise rounds of draws."""

SEED_RANGE = (-(2**63), 2**64)
"""What ``torch.manual_seed`` accepts: a negative seed is read as its 64-bit two's complement."""


def check_torch_seed(seed: object) -> int:
    """``seed`` as ``torch.manual_seed`` takes it: an integer in ``[-2**63, 2**64)``; returns it as uint64."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InvalidArgument(f"seed {seed!r} is not an integer; use an integer from -2**63 to 2**64-1")
    value = int(seed)
    if not SEED_RANGE[0] <= value < SEED_RANGE[1]:
        raise InvalidArgument(
            f"seed {value} is out of range (torch.manual_seed: Overflow when unpacking long long); "
            "use an integer from -2**63 to 2**64-1"
        )
    return value & 0xFFFFFFFFFFFFFFFF


def check_dtype(dtype: object) -> np.dtype:
    """float32 or float64 (torch's half-precision kernels are not reproduced)."""
    resolved = resolve_dtype(dtype)
    if resolved not in (np.dtype(F32), np.dtype(F64)):
        raise InvalidArgument(f"dtype {resolved.name} is not reproduced for torch.nn.init; use float32 or float64")
    return resolved


class _From:
    """A word stream seen from word ``offset`` on (what ``torch_streams``' helpers read from word 0)."""

    def __init__(self, streams: WordStreams, offset: int) -> None:
        self.streams, self.offset = streams, offset

    def words(self, start: int, count: int) -> np.ndarray:
        if count == 0:  # nothing to draw (a cached normal alone, an empty tensor)
            return np.empty(0, dtype=np.uint32)
        return self.streams.words(self.offset + start, count)


class _Engine:
    """An mt19937 engine of its own at a known word position."""

    def __init__(self, state: dict, position: int) -> None:
        self.bits = np.random.MT19937(0)
        self.bits.state = state
        self.generator = np.random.Generator(self.bits)
        self.position = position

    def skip_to(self, position: int) -> None:
        self.bits.random_raw(position - self.position, output=False)
        self.position = position

    def draw(self, count: int) -> np.ndarray:
        """The next ``count`` words (``integers`` over the full range takes one word per value)."""
        out = self.generator.integers(0, 1 << 32, count, dtype=np.uint32)
        self.position += count
        return out


class _Sequential:
    """A draw's words for reads whose starts only increase -- a rejection round of
    ``trunc_normal_``, read chunk by chunk, once to settle the rounds and again to write --
    through an engine of its own that skips forward between reads, restarted from the engine
    state at the draw's first word when a read goes back.  The shared :class:`WordStreams`
    would instead start an engine from word 0 for every round it is asked to go back to."""

    def __init__(self, state: dict, offset: int) -> None:
        self.state, self.offset = state, offset
        self.engine = _Engine(state, offset)

    def words(self, start: int, count: int) -> np.ndarray:
        if count == 0:
            return np.empty(0, dtype=np.uint32)
        at = self.offset + start
        if at < self.engine.position:
            self.engine = _Engine(self.state, self.offset)
        self.engine.skip_to(at)
        return self.engine.draw(count)


class LazyDraw:
    """A draw whose words are already taken from the stream but whose values are computed
    :data:`CHUNK` elements at a time when they are read (:meth:`chunks`, which the writers
    take, or :meth:`array`): what makes a 16384 x 16384 tensor cost only its output file."""

    def __init__(self, n: int, dtype: np.dtype, fill: Callable[[int, np.ndarray], None]) -> None:
        self.n, self.dtype, self._fill = n, dtype, fill
        self.shape: tuple[int, ...] = (n,)

    def reshape(self, shape: tuple[int, ...]) -> LazyDraw:
        """The same draw seen with ``shape`` (C order), as ``ndarray.reshape``."""
        dims = tuple(shape)
        if math.prod(dims) != self.n:
            raise ValueError(f"cannot reshape {self.n} elements into {dims}")
        view = LazyDraw(self.n, self.dtype, self._fill)
        view.shape = dims
        return view

    def zeroed(self, start: int, stop: int) -> LazyDraw:
        """The same draw with flat elements ``start .. stop - 1`` set to 0 (an Embedding's
        padding row), still computed chunk by chunk."""
        fill = self._fill

        def zeroing(first: int, out: np.ndarray) -> None:
            fill(first, out)
            lo, hi = max(start, first), min(stop, first + out.size)
            if lo < hi:
                out[lo - first : hi - first] = 0

        view = LazyDraw(self.n, self.dtype, zeroing)
        view.shape = self.shape
        return view

    @property
    def nbytes(self) -> int:
        return self.n * self.dtype.itemsize

    def part(self, start: int, size: int) -> np.ndarray:
        """Flat elements ``start .. start + size`` (C order), computed now."""
        out = np.empty(size, dtype=self.dtype)
        self._fill(start, out)
        return out

    def chunks(self) -> Iterator[np.ndarray]:
        """The values as flat chunks in C order."""
        for start in range(0, self.n, CHUNK):
            out = np.empty(min(CHUNK, self.n - start), dtype=self.dtype)
            self._fill(start, out)
            yield out

    def array(self) -> np.ndarray:
        """All values as one array of :attr:`shape`."""
        out = np.empty(self.n, dtype=self.dtype)
        for start in range(0, self.n, CHUNK):
            self._fill(start, out[start : start + CHUNK])
        return out.reshape(self.shape)


class TorchGenerator:
    """torch's global CPU generator right after ``torch.manual_seed(seed)``.

    Successive calls continue the stream exactly as successive torch calls do.
    ``position`` is the number of mt19937 words used so far and ``cached`` the
    pending double normal sample (``None`` when there is none).  With ``lazy`` set,
    :meth:`uniform` and :meth:`normal` (from 16 elements) return a :class:`LazyDraw`
    instead of an array; the functions that only reshape their draw (``uniform_``,
    ``normal_``, ``xavier_*``, ``kaiming_*``: :data:`LAZY_SAFE`) then return it too.
    """

    def __init__(self, seed: int) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> TorchGenerator:
        """Reseed: ``initial_seed`` keeps the 64-bit value; the engine uses ``seed mod 2**32``; the cache is cleared."""
        self.initial_seed = check_torch_seed(seed)
        self._streams = WordStreams(self.initial_seed & 0xFFFFFFFF)
        self.position = 0
        self.cached: float | None = None
        self.lazy = False
        self.sequential = False
        self._checkpoint: tuple[int, dict] | None = None
        return self

    def _take(self, count: int) -> _From | _Sequential:
        """The next ``count`` words' stream, and move past them (with :attr:`sequential`, one
        read in increasing order through an engine of its own: see :class:`_Sequential`)."""
        view = self._sequential_at(self.position) if self.sequential else _From(self._streams, self.position)
        self.position += count
        return view

    def _sequential_at(self, offset: int) -> _Sequential:
        """An engine state at word ``offset``, from the last one made (draws only move forward)."""
        from ..backends.mt19937 import N, initial_state

        if self._checkpoint is not None and self._checkpoint[0] <= offset:
            at, state = self._checkpoint
        else:
            key = initial_state(self.initial_seed & 0xFFFFFFFF)
            at, state = 0, {"bit_generator": "MT19937", "state": {"key": key, "pos": N}}
        engine = _Engine(state, at)
        engine.skip_to(offset)
        self._checkpoint = (offset, engine.bits.state)
        return _Sequential(engine.bits.state, offset)

    def words(self, count: int) -> np.ndarray:
        """The next ``count`` tempered words (``generator->random()``), as uint32."""
        return self._take(count).words(0, count)

    def uniform(self, n: int, a: float, b: float, dtype: np.dtype) -> np.ndarray:
        """``Tensor.uniform_(a, b)`` of ``n`` elements: ``fma(x, RN(b) - RN(a), RN(a))`` in ``dtype``
        (the fused form GCC compiles torch's ``x·(to - from) + from`` to in the x86-64 wheels)."""
        dtype = check_dtype(dtype)
        stream = self._take(n * (2 if dtype == F64 else 1))
        low = dtype.type(a)
        span = dtype.type(b) - low

        def fill(start: int, out: np.ndarray) -> None:
            x = ts._units(stream, dtype, start, out.size)
            out[:] = ts.fma64(x, float(span), float(low)) if dtype == F64 else fma(x, span, low)

        return self._result(LazyDraw(n, dtype, fill))

    def normal(self, n: int, mean: float, std: float, dtype: np.dtype) -> np.ndarray:
        """``Tensor.normal_(mean, std)`` of ``n`` contiguous elements (fill for ``n >= 16``, else serial)."""
        dtype = check_dtype(dtype)
        if n < ts.SERIAL_BELOW:
            return self._serial(n, mean, std, dtype)
        per = 2 if dtype == F64 else 1
        stream = self._take(per * (n + (16 if n % 16 else 0)))

        def fill(start: int, out: np.ndarray) -> None:
            ts._normals(stream, n, mean, std, dtype, start, out)

        return self._result(LazyDraw(n, dtype, fill))

    def _result(self, draw: LazyDraw) -> np.ndarray:
        """The draw's values now, or (with :attr:`lazy`) the draw itself, to be computed when written."""
        return draw if self.lazy else draw.array()  # type: ignore[return-value]

    def _serial(self, n: int, mean: float, std: float, dtype: np.dtype) -> np.ndarray:
        """``cpu_serial_kernel`` with ``normal_distribution<double>``: the cache first, then new pairs."""
        if n == 0:
            return np.empty(0, dtype=dtype)
        head = [] if self.cached is None else [self.cached]
        self.cached = None
        fresh = n - len(head)
        pairs = (fresh + 1) // 2
        z = ts._serial(self._take(4 * pairs), 2 * pairs, 0.0, 1.0, np.dtype(F64))  # raw r·cos θ, r·sin θ
        if fresh % 2:
            self.cached = float(z[-1])
        values = np.concatenate([np.array(head, dtype=F64), z[:fresh]])
        return ts.fma64(values, std, mean).astype(dtype)

    def randperm(self, n: int) -> np.ndarray:
        """``torch.randperm(n)`` (int64, CPU, ``n < 2**32 / 20``): the identity, then for
        ``i = 0 .. n-2`` swap ``r[i]`` with ``r[i + w_i mod (n - i)]``, one word ``w_i`` each."""
        if n >= 0xFFFFFFFF // 20:
            raise InvalidArgument(f"randperm({n}) is not reproduced; torch uses another algorithm from 2**32/20 on")
        out = np.arange(n, dtype=np.int64)
        if n < 2:
            return out
        words = self.words(n - 1).astype(np.int64)
        for i, z in enumerate((words % np.arange(n, 1, -1, dtype=np.int64)).tolist()):
            j = i + z
            out[i], out[j] = out[j], out[i]
        return out

    def __repr__(self) -> str:
        return f"TorchGenerator(seed={self.initial_seed}, position={self.position}, cached={self.cached!r})"
