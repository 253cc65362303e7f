"""``--backend torch``: Keras 3.15.1 on PyTorch (CPU) reproduced with NumPy alone.

``tests/golden/backend_torch.json`` holds 385 SHA-256 prefixes made by real
torch 2.13.0+cpu and keras 3.15.1 on an AVX2 CPU (see its ``about``): every one
is remade here.  Beside them: an independent scalar reference (Python ints,
``math`` and exact ``Fraction`` arithmetic over NumPy's own MT19937 seeded with
``init_genrand``) for the float64 paths and every uniform; the mt19937 engine
against NumPy's; chunk invariance; Keras's seed wrapping; 1,210 float16 and bfloat16 tensors from real Keras
on torch (``backend_torch_half.json``).
The live comparison with Keras on torch is in tests/test_backends_live.py.
"""

from __future__ import annotations

import hashlib
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import initcli
from initcli.backends import buffers, mt19937, torch_streams
from initcli.backends.buffers import collect
from initcli.errors import InvalidArgument

from .helpers import run_in_process, run_subprocess

GOLDEN = json.loads((Path(__file__).parent / "golden" / "backend_torch.json").read_text())
CASES = GOLDEN["cases"]
KINDS = {
    "uniform": torch_streams.uniform_chunks,
    "normal": torch_streams.normal_chunks,
    "truncated_normal": torch_streams.truncated_normal_chunks,
}


def _sha(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:16]


def _draw(kind: str, n: int, a: float, b: float, dtype: str, seed: int, draw: int = 0) -> np.ndarray:
    return collect(KINDS[kind](n, a, b, np.dtype(dtype), seed, draw), (n,), np.dtype(dtype))


def _ours(op: str, seed: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    n = math.prod(shape)
    if op == "torch.rand":  # keras.random.uniform(shape, 0, 1): (1 - 0)·rand + 0 is rand exactly
        return _draw("uniform", n, 0.0, 1.0, dtype, seed).reshape(shape)
    if op == "torch.normal":  # keras.random.normal(shape, 0, 1)
        return _draw("normal", n, 0.0, 1.0, dtype, seed).reshape(shape)
    return initcli.sample(op.split(".")[1], shape, dtype=dtype, seed=seed, backend="torch")


@pytest.mark.parametrize(
    ("op", "seed", "shape", "dtype", "sha"),
    CASES,
    ids=[f"{c[0]}-seed{c[1]}-{'x'.join(map(str, c[2]))}-{c[3]}" for c in CASES],
)
def test_bit_identical_to_real_torch_and_keras(op, seed, shape, dtype, sha):
    assert _sha(_ours(op, seed, tuple(shape), dtype)) == sha


def test_golden_file_covers_the_grid():
    assert len(CASES) == 385 and GOLDEN["torch"] == "2.13.0+cpu" and GOLDEN["keras"] == "3.15.1"
    assert {c[1] for c in CASES} == {0, 1, 42, 2**31, 2**32 - 1}
    assert {tuple(c[2]) for c in CASES} == {(3,), (15,), (16,), (17,), (100,), (784, 64), (3, 3, 64, 128)}
    assert {(c[0], c[3]) for c in CASES if c[3] == "float64"} == {
        ("torch.rand", "float64"),
        ("torch.normal", "float64"),
    }
    assert len({c[0] for c in CASES}) == 9 and len({(c[0], c[3]) for c in CASES}) == 11


# ---- an independent scalar reference ------------------------------------------------------


def _words(torch_seed: int, count: int) -> list[int]:
    bits = np.random.MT19937(0)
    bits._legacy_seeding(torch_seed)  # init_genrand(seed), state used up: torch's manual_seed
    return [int(w) for w in bits.random_raw(count)]


def _double(w: list[int], i: int) -> float:
    return ((w[2 * i] << 32 | w[2 * i + 1]) & ((1 << 53) - 1)) / 2**53


def _fma(x: float, y: float, z: float) -> float:
    exact = Fraction(x) * Fraction(y) + Fraction(z)
    return float(exact) if exact else 0.0


def _reference_normal64(seed: int, n: int, mean: float, std: float) -> list[float]:
    """torch.normal in float64 (the z·std + mean fused), element by element."""
    if n < 16:
        w = _words(seed, 4 * n + 4)
        z = []
        for p in range((n + 1) // 2):
            u1, u2 = _double(w, 2 * p), _double(w, 2 * p + 1)
            r = math.sqrt(-2.0 * math.log1p(-u2))
            z += [r * math.cos(2.0 * math.pi * u1), r * math.sin(2.0 * math.pi * u1)]
        return [_fma(v, std, mean) for v in z[:n]]
    w = _words(seed, 2 * n + 32)
    u = [_double(w, i) for i in range(n + 16)]
    out = [0.0] * n

    def block(first: int, source: int) -> None:
        for j in range(8):
            r = math.sqrt(-2.0 * math.log(1.0 - u[source + j]))
            theta = 2.0 * math.pi * u[source + 8 + j]
            out[first + j] = _fma(r * math.cos(theta), std, mean)
            out[first + 8 + j] = _fma(r * math.sin(theta), std, mean)

    for b in range(n // 16):
        block(16 * b, 16 * b)
    if n % 16:
        block(n - 16, n)  # the last 16 outputs from 16 fresh uniforms
    return out


SIZES = [1, 2, 15, 16, 17, 31, 32, 33, 100]
SEEDS = [0, 1, 42, 2**31, 2**32 - 1, -1, -(2**31)]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("seed", SEEDS)
def test_float64_normal_and_truncated_normal_equal_the_scalar_reference(n, seed):
    torch_seed = seed % 2**32
    expected = np.array(_reference_normal64(torch_seed, n, 0.3, 2.5))
    assert _draw("normal", n, 0.3, 2.5, "float64", seed).tobytes() == expected.tobytes()
    candidates = np.array(_reference_normal64(torch_seed, 4 * n, 0.0, 1.0)).reshape(n, 4)
    first = [next((x for x in row if -2 < x < 2), row[0]) for row in candidates]
    expected = np.array(first) * 0.05 + -0.7
    assert _draw("truncated_normal", n, -0.7, 0.05, "float64", seed).tobytes() == expected.tobytes()


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_equals_the_scalar_reference(n, seed, dtype):
    w = _words(seed % 2**32, 2 * n)
    t = np.dtype(dtype).type
    if dtype == "float32":
        units = np.array([(x & 0xFFFFFF) / 2**24 for x in w[:n]], dtype=np.float32)
    else:
        units = np.array([_double(w, i) for i in range(n)])
    expected = units * t(0.25 - -0.75) + t(-0.75)  # Keras: RN(RN(span)·x) + RN(minval)
    assert _draw("uniform", n, -0.75, 0.25, dtype, seed).tobytes() == expected.tobytes()


def test_float32_tail_block_is_recomputed_from_fresh_words():
    """n % 16 != 0: the first full blocks are those of a longer tensor, the last 16 are not."""
    long = _draw("normal", 48, 0.0, 1.0, "float32", 7)
    for n in (17, 40):
        short = _draw("normal", n, 0.0, 1.0, "float32", 7)
        assert short[: n - 16].tobytes() == long[: n - 16].tobytes()
        assert short[n - 16 :].tobytes() != long[n - 16 : n].tobytes()
    assert _draw("normal", 32, 0.0, 1.0, "float32", 7).tobytes() == long[:32].tobytes()


def test_exact_float64_fma_on_hard_cases():
    rng = np.random.default_rng(5)
    a = rng.standard_normal(4000)
    a[:2000] = np.nextafter(1.0, 2.0) + rng.integers(0, 2**20, 2000) * 2.0**-52  # products near halfway cases
    for b, c in ((2.5, 0.3), (1.0 + 2**-30, -1.0), (0.01, -1.7), (3.0, -3.0)):
        ours = torch_streams.fma64(a, b, c)
        assert ours.tolist() == [_fma(float(x), b, c) for x in a]


# ---- the engine ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31, 2**32 - 1, 2**32 + 5])
def test_mt19937_state_and_words_equal_numpy_mt19937(seed):
    bits = np.random.MT19937(0)
    bits._legacy_seeding(seed & 0xFFFFFFFF)
    assert np.array_equal(mt19937.initial_state(seed), bits.state["state"]["key"])
    assert bits.state["state"]["pos"] == mt19937.N
    expected = bits.random_raw(3000)
    assert np.array_equal(mt19937.reference_words(seed, 3000), expected)
    streams = mt19937.WordStreams(seed)
    for start, count in ((1000, 700), (0, 10), (2999, 1), (624, 1248), (5, 2990)):  # out of order
        assert np.array_equal(streams.words(start, count), expected[start : start + count])


# ---- chunks, seeds, dtypes -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("n", [17, 10_007])
def test_chunks_and_blocks_do_not_change_the_numbers(monkeypatch, kind, dtype, n):
    whole = _draw(kind, n, -0.5, 1.5, dtype, 12345, 2)
    monkeypatch.setattr(torch_streams, "BLOCK", 4 * 37)
    monkeypatch.setattr(buffers, "CHUNK", 1_000 if n > 1000 else 5)
    chunks = [c.copy() for c in KINDS[kind](n, -0.5, 1.5, np.dtype(dtype), 12345, 2)]
    assert len(chunks) == -(-n // (1_000 if n > 1000 else 5))
    assert np.concatenate(chunks).tobytes() == whole.tobytes()


@pytest.mark.parametrize("kind", list(KINDS))
def test_seeds_wrap_as_keras_int32_and_draws_add(kind):
    """Keras's torch seed is (int32(seed) + draw) mod 2**32."""

    def values(seed, draw=0):
        return _draw(kind, 40, 0.0, 1.0, "float32", seed, draw).tobytes()

    assert values(-1) == values(2**32 - 1) == values(2**32 - 2, 1)
    assert values(42, 1) == values(43) and values(42, 1) != values(42)
    assert values(2**32 - 1, 1) == values(0) == values(2**32)
    assert values(-(2**31)) == values(2**31)
    assert [torch_streams.torch_seed(s, d) for s, d in ((5, 0), (-5, 0), (2**31, 3), (2**40 + 5, 0))] == [
        5,
        2**32 - 5,
        2**31 + 3,
        5,
    ]


HALF = json.loads((Path(__file__).parent / "golden" / "backend_torch_half.json").read_text())


@pytest.mark.parametrize(
    ("name", "config", "shape", "seed", "draw", "dtype", "sha"),
    HALF["cases"],
    ids=[
        f"{c[0]}{json.dumps(c[1], sort_keys=True)}-{'x'.join(map(str, c[2]))}-s{c[3]}-d{c[4]}-{c[5]}"
        for c in HALF["cases"]
    ],
)
def test_half_bit_identical_to_real_keras_on_torch(name, config, shape, seed, draw, dtype, sha):
    """1,210 float16 and bfloat16 tensors made by Keras 3.15.1 on torch 2.13.0+cpu
    (tests/golden/make_backend_torch_half.py)."""
    ours = initcli.sample(name, tuple(shape), dtype=dtype, seed=seed, draw=draw, backend="torch", **config)
    assert ours.dtype.name == dtype and _sha(ours) == sha


def test_half_golden_file_covers_the_grid():
    cases = HALF["cases"]
    assert len(cases) == 1210 and HALF["torch"] == "2.13.0+cpu" and HALF["keras"] == "3.15.1"
    assert {c[5] for c in cases} == {"float16", "bfloat16"}
    sizes = {math.prod(c[2]) for c in cases}
    assert {1, 3, 5, 15, 16, 17, 31, 33, 63, 180, 2049} <= sizes  # serial, block and 4-candidate tails
    assert {c[0] for c in cases} >= {"RandomUniform", "RandomNormal", "TruncatedNormal", "GlorotNormal"}


def test_float16_is_float32_rounded_except_torchs_tail_block_and_scalar_steps():
    """float16 normals of 17 elements: the first is float32's rounded; the last 16 are the float32
    fill of 32 elements at 16..31 rounded (torch's half fill takes the tail block's words from 16)."""
    f32 = _draw("normal", 32, 0.0, 1.0, "float32", 7)
    half = _draw("normal", 17, 0.0, 1.0, "float16", 7)
    assert half[0] == f32[0].astype(np.float16)
    assert half[1:].tobytes() == f32[16:32].astype(np.float16).tobytes()
    uniform = _draw("uniform", 1 << 16, 0.0, 1.0, "float16", 3)  # (1 - 0)·u + 0: u itself
    assert uniform.max() < 1 and (uniform == 0).sum() > 1  # float32 u >= 1 - 2**-12 rounds to 1, made 0


@pytest.mark.parametrize("kind", list(KINDS))
def test_other_dtypes_are_refused_not_guessed(kind):
    with pytest.raises(InvalidArgument, match="int32 is not reproduced on the torch backend"):
        KINDS[kind](10, 0.0, 1.0, np.dtype("int32"), 1, 0)


@pytest.mark.parametrize("runner", [run_in_process, run_subprocess], ids=["clirunner", "subprocess"])
def test_cli_backend_torch_gives_keras_bytes_and_verifies(tmp_path, runner):
    sha = next(c[4] for c in CASES if c[:3] == ["keras.GlorotNormal", 1, [784, 64]])
    result = runner(
        ["glorot_normal", "--shape", "784,64", "--seed", "1", "--backend", "torch", "-o", "w.npz"], tmp_path
    )
    assert result.exit_code == 0, result.stderr
    assert "(torch stream)" in result.stderr
    assert _sha(np.load(tmp_path / "w.npz")["arr_0"]) == sha
    checked = runner(["verify", "w.npz"], tmp_path)
    assert checked.exit_code == 0 and "1 identical" in checked.stdout.decode() + checked.stderr


@pytest.mark.parametrize("runner", [run_in_process, run_subprocess], ids=["clirunner", "subprocess"])
def test_cli_float16_on_torch_gives_keras_bytes(tmp_path, runner):
    sha = next(c[6] for c in HALF["cases"] if c[:6] == ["HeNormal", {}, [7, 9], 1, 0, "float16"])
    result = runner(
        ["he_normal", "--shape", "7,9", "--seed", "1", "--backend", "torch", "--dtype", "float16", "-o", "w.npy"],
        tmp_path,
    )
    assert result.exit_code == 0, result.stderr
    assert _sha(np.load(tmp_path / "w.npy")) == sha


def test_a_zero_radius_is_plus_zero_as_the_fused_multiply_add_gives():
    """u = 0 gives r = sqrt(-2·(+0)) = -0; torch's fma(-0·cos θ, 1, +0) is +0, never -0."""
    for mean, std in ((0.0, 1.0), (0.0, 0.05)):
        out = torch_streams._blocks_f32(np.zeros((1, 16), dtype=np.float32), mean, std)
        assert out[0, 0] == 0 and not np.signbit(out[0, :8]).any()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_truncated_normal_is_keras_choice_among_four_normals_even_when_none_is_inside(dtype):
    """Output i is the first of normal(4n)[4i .. 4i+3] inside (-2, 2), else the first one; n = 2**20 + 3
    has groups with no candidate inside (p = 0.0455**4 each) and a recomputed last block."""
    n = 2**20 + 3
    candidates = _draw("normal", 4 * n, 0.0, 1.0, dtype, 11).reshape(n, 4)
    inside = (candidates > -2) & (candidates < 2)
    assert (~inside.any(axis=1)).sum() >= 1
    expected = candidates[np.arange(n), np.argmax(inside, axis=1)]
    assert _draw("truncated_normal", n, 0.0, 1.0, dtype, 11).tobytes() == expected.tobytes()
