"""``trunc_normal_``, ``orthogonal_`` and ``sparse_`` (torch 2.13.0, CPU): draws plus a second step.

**trunc_normal_(mean, std, a, b)** is torch 2.13's rejection scheme, chosen by
``p = Φ((b - mean)/std) - Φ((a - mean)/std)`` (``Φ`` from ``math.erf``):

* ``p > 0.3``: ``x = normal_(mean, std)``; while some ``x < RN(a)`` or ``x > RN(b)``,
  draw a *full-size* ``normal_(mean, std)`` and take it where rejected.  Exact.
* ``p <= 0.3``: proposals ``x = uniform_(a, b)``, log-density
  ``c = RN(RN(RN(RN(x - mean) / std)²) · -0.5) - log_peak`` in the dtype
  (``log_peak = -½((clamp(mean, a, b) - mean)/std)²`` in double), and
  ``pending = log(uniform_()) > c``; while anything is pending, a full-size
  ``uniform_(a, b)`` and ``uniform_()`` are drawn and taken where pending.  The
  word stream and the arithmetic are torch's; only ``log`` is not: torch calls
  SLEEF's vector ``log`` (``Tensor.log_``), which is not NumPy's.  float32 uses
  ``log`` in double rounded to float32 (correctly rounded; SLEEF's is within
  1 ulp of it and differs on about 0.1 % of inputs), float64 NumPy's ``log``.
  An element can only differ where its test ``log(u) > c`` is decided by that
  last bit, so mismatches are rare and stay in their element (the
  draws do not depend on them): see the report in the tests.

**orthogonal_(gain)**: ``normal_(0, 1)`` of ``(rows, numel / rows)`` (exact), transposed
if ``rows < cols``, then ``Q`` of the reduced QR with its columns' signs set by
``sign(diag R)``, transposed back, times ``gain``.  The QR is NumPy's (LAPACK in
double), not torch's (MKL in the dtype), so values differ in the last bits
(about 1e-7 for float32); torch's own QR changes with its thread count.

**sparse_(sparsity, std)** (2-D): ``normal_(0, std)``, then for each column
``torch.randperm(rows)`` on the *global* generator (torch does not pass
``generator`` on) and the first ``ceil(sparsity·rows)`` rows of it set to 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidArgument
from .functions import check_shape, resolve_generator
from .generator import CHUNK, LazyDraw, TorchGenerator, check_dtype, ts

Shape = Sequence[int]

SPARSE_COLUMNS = 256
"""Columns whose permutations are built at once in ``sparse_`` (their int64 rows bound the memory)."""


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_probability(mean: float, std: float, a: float, b: float) -> float:
    """``p``, the share of ``N(mean, std²)`` inside ``[a, b]``, as torch computes it to pick the branch."""
    if not std > 0:
        raise InvalidArgument(f"trunc_normal_ needs std > 0 (torch divides by it), got std {std}")
    return _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)


def _log(u: np.ndarray) -> np.ndarray:
    """Natural log in ``u``'s dtype (see the module docstring for how it relates to torch's)."""
    with np.errstate(divide="ignore"):
        if u.dtype == np.float32:
            return np.log(u.astype(np.float64)).astype(np.float32)
        return np.log(u)


def trunc_normal_(
    shape: Shape,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    *,
    generator: TorchGenerator | None = None,
    seed: int | None = None,
    dtype: object = "float32",
) -> np.ndarray:
    """``trunc_normal_``: ``N(mean, std²)`` restricted to ``[a, b]`` by torch 2.13's rejection.

    ``p = Φ((b - mean)/std) - Φ((a - mean)/std)``.  If ``p > 0.3``: ``normal_(mean, std)``, and
    while some value is outside ``[a, b]`` a full-size ``normal_`` taken where it is (exact).
    Else uniform proposals on ``[a, b]`` accepted where ``log(u) > -½((x - mean)/std)² - log_peak``,
    again full-size draws until all are accepted (exact but for rare last-bit ``log`` decisions).
    """
    gen = resolve_generator(generator, seed)
    dims = check_shape(shape)
    kind = check_dtype(dtype)
    n = math.prod(dims)
    p = trunc_probability(mean, std, a, b)
    if n < ts.SERIAL_BELOW:  # normal_ is serial there, with its cached sample
        return _trunc_normal_small(gen, n, mean, std, a, b, p, kind).reshape(dims)
    if p > 0.3:
        lo, hi = kind.type(a), kind.type(b)

        def normal_round() -> tuple[LazyDraw, ...]:
            return (_lazy(gen, lambda: gen.normal(n, mean, std, kind)),)

        def inside(draws: tuple[LazyDraw, ...], start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
            x = draws[0].part(start, size)
            return x, ~((x < lo) | (x > hi))

        return _first_accepted(gen, n, kind, normal_round, inside).reshape(dims)
    log_density = _log_density(mean, std, a, b, kind)

    def uniform_round() -> tuple[LazyDraw, ...]:
        return _lazy(gen, lambda: gen.uniform(n, a, b, kind)), _lazy(gen, lambda: gen.uniform(n, 0.0, 1.0, kind))

    def accepted(draws: tuple[LazyDraw, ...], start: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        x = draws[0].part(start, size)
        return x, ~(_log(draws[1].part(start, size)) > log_density(x))

    return _first_accepted(gen, n, kind, uniform_round, accepted).reshape(dims)


def _log_density(mean: float, std: float, a: float, b: float, kind: np.dtype) -> Any:
    """``c(x) = RN(RN(RN(RN(x - mean) / std)²) · -0.5) - log_peak`` in the dtype (see the module)."""
    mode = max(a, min(mean, b))
    log_peak = kind.type(-0.5 * ((mode - mean) / std) ** 2)
    t_mean, t_std, half = kind.type(mean), kind.type(std), kind.type(-0.5)

    def log_density(x: np.ndarray) -> np.ndarray:
        c = (x - t_mean) / t_std
        return (c * c) * half - log_peak

    return log_density


def _trunc_normal_small(
    gen: TorchGenerator, n: int, mean: float, std: float, a: float, b: float, p: float, kind: np.dtype
) -> np.ndarray:
    """Fewer than 16 elements (``normal_`` is serial there, with its cached sample): torch's loop as written."""
    if p > 0.3:
        lo, hi = kind.type(a), kind.type(b)
        result = gen.normal(n, mean, std, kind)
        while True:
            mask = (result < lo) | (result > hi)
            if not mask.any():
                return result
            result = np.where(mask, gen.normal(n, mean, std, kind), result)
    log_density = _log_density(mean, std, a, b, kind)
    result = _array(gen.uniform(n, a, b, kind))
    pending = _log(_array(gen.uniform(n, 0.0, 1.0, kind))) > log_density(result)
    while pending.any():
        candidates = _array(gen.uniform(n, a, b, kind))
        result = np.where(pending, candidates, result)
        rejected = _log(_array(gen.uniform(n, 0.0, 1.0, kind))) > log_density(candidates)
        pending = np.where(pending, rejected, pending)
    return result


def _array(value: Any) -> np.ndarray:
    return value.array() if isinstance(value, LazyDraw) else value


def _lazy(gen: TorchGenerator, draw: Callable[[], Any]) -> LazyDraw:
    """``draw()`` made with the generator lazy (its words taken now, its values computed when
    read) and sequential (read through an engine of its own, see ``generator._Sequential``)."""
    saved = gen.lazy, gen.sequential
    gen.lazy = gen.sequential = True
    try:
        return draw()
    finally:
        gen.lazy, gen.sequential = saved


def _first_accepted(
    gen: TorchGenerator,
    n: int,
    kind: np.dtype,
    new_round: Callable[[], tuple[LazyDraw, ...]],
    accepted: Callable[[tuple[LazyDraw, ...], int, int], tuple[np.ndarray, np.ndarray]],
) -> Any:
    """torch's rejection loop -- a full-size round of draws, then another while any element is
    rejected, each element taken from the first round that accepts it -- with bounded memory.

    An element's value depends only on its own position in each round, so it is computed
    :data:`CHUNK` elements at a time.  The number of rounds is global: torch draws round
    ``k + 1`` when some element is still rejected after round ``k``, so a first pass over the
    chunks draws (takes the words of) a new round the first time a chunk needs it, in the same
    order torch does.  The values are then computed a second time when read (the generator's
    :attr:`~TorchGenerator.lazy`), or kept from the first pass in an array."""
    rounds = [new_round()]

    def fill(start: int, out: np.ndarray, grow: bool = False) -> None:
        pending = np.ones(out.size, dtype=bool)
        k = 0
        while True:
            if k == len(rounds):
                if not grow:
                    raise AssertionError("a round was needed after the rounds were settled")
                rounds.append(new_round())
            values, ok = accepted(rounds[k], start, out.size)
            take = pending & ok
            out[take] = values[take]
            pending &= ~ok
            if not pending.any():
                return
            k += 1

    if gen.lazy:
        scratch = np.empty(min(CHUNK, n), dtype=kind)
        for start in range(0, n, CHUNK):
            fill(start, scratch[: min(CHUNK, n - start)], grow=True)
        return LazyDraw(n, kind, fill)
    out = np.empty(n, dtype=kind)
    for start in range(0, n, CHUNK):
        fill(start, out[start : start + CHUNK], grow=True)
    return out


def orthogonal_(
    shape: Shape,
    gain: float = 1,
    *,
    generator: TorchGenerator | None = None,
    seed: int | None = None,
    dtype: object = "float32",
) -> np.ndarray:
    """``orthogonal_``: a (semi-)orthogonal ``(rows, numel / rows)`` matrix (QR of a normal draw), times ``gain``."""
    gen = resolve_generator(generator, seed)
    dims = check_shape(shape)
    kind = check_dtype(dtype)
    if len(dims) < 2:
        raise InvalidArgument(f"Only tensors with 2 or more dimensions are supported by orthogonal_ (shape {dims})")
    n = math.prod(dims)
    if n == 0:
        return np.empty(dims, dtype=kind)
    rows = dims[0]
    cols = n // rows
    flat = gen.normal(n, 0.0, 1.0, kind).reshape(rows, cols)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat.astype(np.float64))
    q = (q * np.sign(np.diag(r))).astype(kind)
    if rows < cols:
        q = q.T
    return np.ascontiguousarray(q).reshape(dims) * kind.type(gain)


def sparse_(
    shape: Shape,
    sparsity: float,
    std: float = 0.01,
    *,
    generator: TorchGenerator | None = None,
    seed: int | None = None,
    dtype: object = "float32",
) -> np.ndarray:
    """``sparse_``: ``normal_(0, std)``, then in each column rows ``randperm(rows)[:ceil(sparsity·rows)]`` zeroed."""
    gen = resolve_generator(generator, seed)
    dims = check_shape(shape)
    if len(dims) != 2:
        raise InvalidArgument(f"Only tensors with 2 dimensions are supported by sparse_ (shape {dims})")
    rows, cols = dims
    num_zeros = math.ceil(sparsity * rows)
    if not std >= 0:
        raise InvalidArgument(f"normal expects std >= 0.0, but found std {std}")
    out = gen.normal(rows * cols, 0.0, std, check_dtype(dtype)).reshape(dims)
    # Python slice semantics of row_indices[:num_zeros], negative counts included
    zeroed = len(range(rows)[:num_zeros])
    if zeroed == rows:
        gen.position += cols * max(rows - 1, 0)  # every row goes, whatever the permutation
        out[:, :] = 0
        return out
    for first in range(0, cols, SPARSE_COLUMNS):
        count = min(SPARSE_COLUMNS, cols - first)
        out_rows = _first_of_permutations(gen, rows, count, num_zeros)
        columns = np.broadcast_to(np.arange(first, first + count)[:, None], out_rows.shape)
        out[out_rows.reshape(-1), columns.reshape(-1)] = 0
    return out


def _first_of_permutations(gen: TorchGenerator, n: int, count: int, keep: int) -> np.ndarray:
    """``randperm(n)[:keep]`` for ``count`` successive calls (rows of the result).

    torch's CPU ``randperm`` (``n < 2**32 / 20``) is the forward Fisher-Yates shuffle
    ``swap(r[i], r[i + w_i mod (n - i)])``, ``i = 0 .. n-2``, one word each; position ``i`` is
    final after step ``i``, so the first ``keep`` positions need only the first ``keep`` steps
    (all ``n - 1`` words are still consumed).  The calls run side by side, one step at a time.
    """
    if n >= 0xFFFFFFFF // 20:
        raise InvalidArgument(f"randperm({n}) is not reproduced; torch uses another algorithm from 2**32/20 on")
    perms = np.tile(np.arange(n, dtype=np.int64), (count, 1))
    steps = n - 1
    if steps <= 0:
        return perms[:, :keep]
    words = gen.words(count * steps).reshape(count, steps).astype(np.int64)
    every = np.arange(count)
    for i in range(min(len(range(n)[:keep]), steps)):
        j = i + words[:, i] % (n - i)
        held = perms[every, i].copy()
        perms[every, i] = perms[every, j]
        perms[every, j] = held
    return perms[:, :keep]
