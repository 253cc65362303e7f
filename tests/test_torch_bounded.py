"""``initcli torch`` with bounded memory: ``trunc_normal_``'s rejection loop and module
resets (an Embedding's padding row included) computed chunk by chunk.

torch 2.13 draws a full-size round, then another while any element is rejected, each element
taken from the first round that accepts it.  initcli settles the number of rounds in one pass
over chunks and computes the values in a second (or keeps them from the first).  Here the result
is compared, over several chunks and many rounds, with that loop written out in the test on
whole arrays (the draws from the generator, the loop the test's); the generator's position
afterwards too, since the number of rounds decides what later draws get.  Real torch on these
sizes: ``tests/test_torch_init.py`` (multi-chunk cases among its live ones).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from initcli.torch_init import TorchGenerator, trunc_normal_
from initcli.torch_init.generator import CHUNK

from .helpers import peak_mib


def _phi(x: float) -> float:
    return (1 + math.erf(x / math.sqrt(2))) / 2


def _textbook(gen: TorchGenerator, n: int, mean: float, std: float, a: float, b: float, dtype: str) -> np.ndarray:
    """torch 2.13's ``trunc_normal_`` as its Python source reads, on whole arrays."""
    kind = np.dtype(dtype)
    p = _phi((b - mean) / std) - _phi((a - mean) / std)
    if p > 0.3:
        result = np.asarray(gen.normal(n, mean, std, kind))
        while True:
            mask = (result < kind.type(a)) | (result > kind.type(b))
            if not mask.any():
                return result
            result = np.where(mask, gen.normal(n, mean, std, kind), result)
    peak = kind.type(-0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2)

    def c(x):
        z = (x - kind.type(mean)) / kind.type(std)
        return (z * z) * kind.type(-0.5) - peak

    def log(u):
        with np.errstate(divide="ignore"):
            return np.log(u.astype(np.float64)).astype(np.float32) if kind == np.float32 else np.log(u)

    result = gen.uniform(n, a, b, kind)
    rejected = log(gen.uniform(n, 0.0, 1.0, kind)) > c(result)
    while rejected.any():
        candidates = gen.uniform(n, a, b, kind)
        result = np.where(rejected, candidates, result)
        rejected = np.where(rejected, log(gen.uniform(n, 0.0, 1.0, kind)) > c(candidates), rejected)
    return result


CASES = [
    ({}, 3 * CHUNK + 5),  # p = 0.95: 4.6 % rejected per round, about 5 rounds
    ({"mean": 0.5, "std": 1.0, "a": -0.5, "b": 1.5}, 2 * CHUNK + 17),  # p = 0.68
    ({"a": -0.2, "b": 0.2}, CHUNK + 33),  # p = 0.16: uniform proposals, dozens of rounds
    ({"std": 0.02}, 2 * CHUNK),  # nothing rejected: one round
    ({}, 16),  # the smallest size drawn by the fill
]


@pytest.mark.parametrize("lazy", [False, True], ids=["whole", "chunks"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("kwargs", "n"), CASES)
def test_equals_torchs_loop_and_leaves_the_generator_where_torch_does(kwargs, n, dtype, lazy):
    args = {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0, **kwargs}
    expected_gen = TorchGenerator(7)
    expected = _textbook(expected_gen, n, args["mean"], args["std"], args["a"], args["b"], dtype)
    position = expected_gen.position
    after = expected_gen.normal(5, 0.0, 1.0, np.dtype(dtype))
    gen = TorchGenerator(7)
    gen.lazy = lazy
    got = trunc_normal_((n,), **kwargs, generator=gen, dtype=dtype)
    assert gen.position == position
    if lazy:
        assert not isinstance(got, np.ndarray)
        chunks = list(got.chunks())
        assert all(chunk.size <= CHUNK for chunk in chunks)
        got = np.concatenate(chunks)
    gen.lazy = False
    assert got.dtype == np.dtype(dtype) and got.tobytes() == expected.tobytes()
    assert gen.normal(5, 0.0, 1.0, np.dtype(dtype)).tobytes() == after.tobytes()


def test_a_lazy_result_reads_the_same_twice():
    """Read twice (as a writer and then verify would): the same bytes, the rounds unchanged."""
    gen = TorchGenerator(3)
    gen.lazy = True
    draw = trunc_normal_((2 * CHUNK + 1,), generator=gen)
    first = np.concatenate(list(draw.chunks()))
    assert np.concatenate(list(draw.chunks())).tobytes() == first.tobytes()
    assert draw.array().tobytes() == first.tobytes()


def test_an_eighth_of_a_gibibyte_is_written_and_verified_with_bounded_memory(tmp_path):
    """128 MiB of float32 ``trunc_normal_`` (std 1: several rejection rounds) written, then
    verified, each with a peak resident size under 100 MiB (the whole tensor would be 128 MiB,
    torch's loop on whole arrays several times that: 470 MiB before)."""
    peaks = [
        peak_mib(args, tmp_path)
        for args in (
            ["torch", "trunc_normal_", "-s", "4096,8192", "--seed", "0", "-q", "-o", "big.npy", "--manifest"],
            ["verify", "-q", "big.npy"],
        )
    ]
    assert (tmp_path / "big.npy").stat().st_size >= 128 * 2**20
    assert max(peaks) < 100, f"peak resident memory {peaks} MiB"
    stored = np.load(tmp_path / "big.npy", mmap_mode="r")
    assert float(np.abs(stored).max()) <= 2.0


def test_modules_are_written_and_verified_with_bounded_memory(tmp_path):
    """A 64 MiB Linear, a 32 MiB Embedding with a padding row and a Conv2d: written and verified
    with a peak under 100 MiB (the whole state_dict is 96 MiB), equal to the parameters made
    whole in memory, the padding row zero."""
    from initcli.torch_init import reset_modules

    specs = ["Linear(4096,4096)", "Embedding(8192,1024,padding_idx=-2)", "Conv2d(16,32,3)"]
    peaks = [
        peak_mib(args, tmp_path)
        for args in (["torch", "modules", *specs, "--seed", "4", "-q", "-o", "m.npz"], ["verify", "-q", "m.npz"])
    ]
    assert max(peaks) < 100, f"peak resident memory {peaks} MiB"
    whole = reset_modules(specs, seed=4)
    with np.load(tmp_path / "m.npz") as stored:
        assert sorted(stored.files) == sorted(whole)
        for key, value in whole.items():
            assert stored[key].tobytes() == value.tobytes(), key
        assert not stored["1.weight"][8190].any() and stored["1.weight"][8189].all()
