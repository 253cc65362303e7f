"""The jax and tensorflow streams against golden vectors from the real backends.

``tests/golden/backend_jax.json`` and ``backend_tensorflow.json`` were made by
``tests/golden/make_backend_golden.py`` with Keras 3.15.1 on jax/jaxlib 0.10.2
and tensorflow-cpu 2.21 (CPU, x86-64, glibc 2.36): the SHA-256 of every
tensor's bytes, its first and last 16 values and, for small tensors, all of
them.  Every case is remade here with NumPy alone and must be bit-identical,
except Orthogonal, whose QR is NumPy's (checked to a tolerance).  The live
suite (``test_backends_live.py``) compares with the backends themselves when
they are installed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import initcli
from initcli.backends import buffers, chunking, jax_native_half, jax_streams, tables, tf_streams
from initcli.errors import InvalidArgument, ResourceError

from .helpers import run_in_process, run_subprocess

GOLDEN = Path(__file__).parent / "golden"
BACKENDS = ("jax", "tensorflow")


def _cases(backend: str) -> list[dict]:
    return json.loads((GOLDEN / f"backend_{backend}.json").read_text())["cases"]


def _case_id(case: dict) -> str:
    config = ",".join(f"{k}={v}" for k, v in sorted(case["config"].items()))
    shape = "x".join(map(str, case["shape"])) or "scalar"
    return f"{case['class_name']}({config})-{shape}-{case['dtype']}-seed{case['seed']}-draw{case['draw']}"


def _ours(backend: str, case: dict) -> np.ndarray:
    return initcli.sample(
        case["class_name"],
        tuple(case["shape"]),
        dtype=case["dtype"],
        draw=case["draw"],
        backend=backend,
        seed=case["seed"],
        **case["config"],
    )


def _as_returned(ours: np.ndarray, case: dict) -> np.ndarray:
    """Our tensor in the dtype Keras returned (under JAX a float64 request returns float32;
    ours is float64 holding exactly those values)."""
    returned = np.dtype(case["returned_dtype"])
    assert ours.dtype == np.dtype(case["dtype"])
    if returned != ours.dtype:
        narrowed = ours.astype(returned)
        assert np.array_equal(narrowed.astype(ours.dtype), ours, equal_nan=True), "values are not exactly representable"
        return narrowed.copy(order="C")
    return ours.copy(order="C")


EXACT = [
    pytest.param(backend, case, id=f"{backend}-{_case_id(case)}")
    for backend in BACKENDS
    for case in _cases(backend)
    if case["class_name"] != "Orthogonal" and "error" not in case
]
ORTHOGONAL = [
    pytest.param(backend, case, id=f"{backend}-{_case_id(case)}")
    for backend in BACKENDS
    for case in _cases(backend)
    if case["class_name"] == "Orthogonal" and "error" not in case
]


@pytest.mark.parametrize(("backend", "case"), EXACT)
def test_bit_identical_to_keras(backend, case):
    ours = _as_returned(_ours(backend, case), case)
    assert ours.shape == tuple(case["shape"])
    if hashlib.sha256(ours.tobytes()).hexdigest() != case["sha256"]:
        n = min(ours.size, 16)
        head = ours.reshape(-1)[:n].tobytes().hex()
        pytest.fail(f"bytes differ from Keras; first values ours {head} vs Keras {case['head']}")


def _golden_values(case: dict) -> tuple[np.ndarray, np.ndarray]:
    dtype = np.dtype(case["returned_dtype"])
    if "values" in case:
        values = np.frombuffer(bytes.fromhex(case["values"]), dtype=dtype)
        return values, values
    return np.frombuffer(bytes.fromhex(case["head"]), dtype=dtype), np.frombuffer(
        bytes.fromhex(case["tail"]), dtype=dtype
    )


@pytest.mark.parametrize(("backend", "case"), ORTHOGONAL)
def test_orthogonal_close_to_keras(backend, case):
    """Orthogonal draws Keras's normal matrix exactly, but its QR is NumPy's (float64 LAPACK),
    not XLA's or Eigen's float32 one: values agree to about 1e-5, not bit for bit."""
    ours = _as_returned(_ours(backend, case), case).reshape(-1)
    head, tail = _golden_values(case)
    if ours.size:
        np.testing.assert_allclose(ours[: head.size], head, rtol=0, atol=2e-5)
        np.testing.assert_allclose(ours[-tail.size :], tail, rtol=0, atol=2e-5)
        shape = tuple(case["shape"])
        flat = ours.reshape(-1, shape[-1]).astype(np.float64)
        gain = case["config"].get("gain", 1.0)
        gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
        np.testing.assert_allclose(gram, gain**2 * np.eye(gram.shape[0]), atol=1e-5)


def test_golden_files_cover_the_grid():
    """The golden files hold what the issue asks for: every random initializer, ranks 0-5,
    sizes off the block sizes, the edge seeds, three dtypes and SeedGenerator draws."""
    for backend in BACKENDS:
        cases = _cases(backend)
        assert not [c for c in cases if "error" in c]
        classes = {c["class_name"] for c in cases}
        assert classes >= {
            "RandomUniform", "RandomNormal", "TruncatedNormal", "VarianceScaling", "Orthogonal",
            "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
        }  # fmt: skip
        modes = {(c["config"].get("mode"), c["config"].get("distribution")) for c in cases if c["config"].get("mode")}
        assert len(modes) == 9
        assert {len(c["shape"]) for c in cases} == {0, 1, 2, 3, 4, 5}
        assert {0, 1, 2**31, 2**32 - 1} <= {c["seed"] for c in cases}
        assert {"float16", "float32", "float64"} == {c["dtype"] for c in cases}
        assert {c["draw"] for c in cases} >= {0, 1, 2, 5}
        assert any(int(np.prod(c["shape"])) % 4 for c in cases)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("kind", ["uniform", "normal", "truncated_normal"])
def test_chunks_and_blocks_do_not_change_the_numbers(monkeypatch, backend, dtype, kind):
    """Counter-based streams: any cut into chunks (threads) and blocks gives the same bytes."""
    module = {"jax": jax_streams, "tensorflow": tf_streams}[backend]
    draw = getattr(module, f"{kind}_chunks")
    n = 10_007
    whole = np.concatenate([c.copy() for c in draw(n, -0.5, 1.5, np.dtype(dtype), 12345, 2)])
    monkeypatch.setattr(chunking, "BLOCK", 97)
    monkeypatch.setattr(buffers, "CHUNK", 1_000)
    chunks = [c.copy() for c in draw(n, -0.5, 1.5, np.dtype(dtype), 12345, 2)]
    assert len(chunks) == 11
    assert np.concatenate(chunks).tobytes() == whole.tobytes()


@pytest.mark.parametrize(
    "table",
    [jax_streams.NORMAL_TABLE, jax_streams.TRUNCATED_NORMAL_TABLE],
    ids=lambda t: t.name,
)
def test_tables_hold_what_direct_evaluation_gives(table):
    """Large tensors look their values up in a table of every 23-bit input; it holds exactly
    what the direct evaluation gives (checked on a spread of entries and the extremes)."""
    picks = np.unique(np.concatenate([np.arange(0, 1 << 23, 8191), [0, 1, 2, (1 << 23) - 2, (1 << 23) - 1]]))
    assert table.values()[picks].tobytes() == table.function(picks.astype(np.uint32)).tobytes()


def test_tensorflow_seeds_wrap_as_keras_does_and_jax_seeds_do_not():
    """Keras's TensorFlow backend reduces seeds modulo 2**31 - 2 (seed 2**31 is seed 2):
    we reproduce that; under JAX every seed is distinct."""
    tf_a = initcli.sample("he_normal", (13, 5), seed=2, backend="tensorflow")
    tf_b = initcli.sample("he_normal", (13, 5), seed=2**31, backend="tensorflow")
    assert tf_a.tobytes() == tf_b.tobytes()
    jax_a = initcli.sample("he_normal", (13, 5), seed=2, backend="jax")
    jax_b = initcli.sample("he_normal", (13, 5), seed=2**31, backend="jax")
    assert jax_a.tobytes() != jax_b.tobytes()


def test_backends_give_different_numbers_and_deterministic_ones_ignore_backend():
    numbers = {b: initcli.sample("glorot_uniform", (64, 32), seed=7, backend=b).tobytes() for b in initcli.BACKENDS}
    assert len(set(numbers.values())) == len(initcli.BACKENDS)
    ones = {b: initcli.sample("ones", (3, 4), backend=b).tobytes() for b in initcli.BACKENDS}
    assert len(set(ones.values())) == 1


def test_bad_backend_is_a_usage_error():
    with pytest.raises(InvalidArgument, match="backend 'mxnet' is not known; use one of numpy, jax, tensorflow"):
        initcli.sample("he_normal", (3, 3), seed=1, backend="mxnet")


# ---- through the real command line ---------------------------------------------------------


def _golden(backend: str, class_name: str, shape: list[int], seed: int, dtype: str = "float32") -> dict:
    for case in _cases(backend):
        if (case["class_name"], case["shape"], case["seed"], case["dtype"], case["config"], case["draw"]) == (
            class_name, shape, seed, dtype, {}, 0,
        ):  # fmt: skip
            return case
    raise LookupError((backend, class_name, shape, seed))


@pytest.mark.parametrize("runner", [run_in_process, run_subprocess], ids=["clirunner", "subprocess"])
@pytest.mark.parametrize(("option", "backend"), [("jax", "jax"), ("tf", "tensorflow"), ("TensorFlow", "tensorflow")])
def test_cli_backend_option_gives_keras_bytes(tmp_path, runner, option, backend):
    case = _golden(backend, "HeNormal", [13, 5], 1)
    result = runner(["he_normal", "--shape", "13,5", "--seed", "1", "--backend", option, "-o", "w.npy"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert f"({backend} stream)" in result.stderr
    stored = np.load(tmp_path / "w.npy")
    assert hashlib.sha256(stored.tobytes()).hexdigest() == case["sha256"]


def test_cli_backend_from_environment(tmp_path, monkeypatch):
    case = _golden("jax", "HeNormal", [13, 5], 1)
    monkeypatch.setenv("INITCLI_BACKEND", "jax")
    result = run_subprocess(["he_normal", "--shape", "13,5", "--seed", "1", "-o", "-"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert hashlib.sha256(np.load(__import__("io").BytesIO(result.stdout)).tobytes()).hexdigest() == case["sha256"]


@pytest.mark.parametrize("runner", [run_in_process, run_subprocess], ids=["clirunner", "subprocess"])
def test_cli_bad_backend_is_one_line_exit_2_and_no_file(tmp_path, runner):
    result = runner(["he_normal", "--shape", "13,5", "--backend", "pytorch", "-o", "w.npy"], tmp_path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'pytorch'" in lines[0] and "numpy, jax, tensorflow" in lines[0]
    assert not (tmp_path / "w.npy").exists()


@pytest.mark.parametrize("backend", BACKENDS)
def test_provenance_records_the_backend_and_verify_uses_it(tmp_path, backend):
    import h5py

    out = tmp_path / "m.weights.h5"
    config = Path(__file__).parent.parent / "sample_configs" / "mnist_mlp.yaml"
    result = run_in_process(["batch", str(config), "--seed", "3", "--backend", backend, "-o", str(out)], tmp_path)
    assert result.exit_code == 0, result.stderr
    with h5py.File(out) as handle:
        root = json.loads(handle.attrs["initcli"])
        assert root["stream"]["backend"] == backend
        kernel_path = "layers/dense/vars/0"
        record = json.loads(handle[kernel_path].attrs["initcli"])
        assert record["stream"]["backend"] == backend
        kernel = handle[kernel_path][()]
    piece = record["pieces"][0]
    expected = initcli.sample(piece["initializer"], tuple(piece["shape"]), backend=backend)
    assert kernel.tobytes() == expected.tobytes()
    numpy_kernel = initcli.sample(piece["initializer"], tuple(piece["shape"]))
    assert kernel.tobytes() != numpy_kernel.tobytes()
    verified = run_in_process(["verify", str(out)], tmp_path)
    assert verified.exit_code == 0, verified.stdout
    inspected = run_in_process(["inspect", str(out), "--strict"], tmp_path)
    assert inspected.exit_code == 0 and f"{backend} stream".encode() in inspected.stdout
    with h5py.File(out, "r+") as handle:  # a tensor made by another backend's stream is caught
        handle[kernel_path][...] = numpy_kernel
    verified = run_in_process(["verify", str(out)], tmp_path)
    assert verified.exit_code == 1 and b"DIFFERENT" in verified.stdout


def test_verify_refuses_an_unknown_stream(tmp_path):
    result = run_in_process(["he_normal", "--shape", "4,4", "--seed", "1", "-o", "w.npy", "--manifest"], tmp_path)
    assert result.exit_code == 0
    manifest = tmp_path / "w.npy.json"
    document = json.loads(manifest.read_text())
    document["tensors"][0]["stream"]["backend"] = "mxnet"
    manifest.write_text(json.dumps(document))
    verified = run_in_process(["verify", "w.npy", "--manifest", str(manifest)], tmp_path)
    assert verified.exit_code == 1
    assert b"UNVERIFIABLE" in verified.stdout and b"mxnet" in verified.stdout


def test_tables_are_cached_on_disk_checked_and_rebuilt_when_corrupt(tmp_path, monkeypatch):
    monkeypatch.setenv("INITCLI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(tables, "_TABLES", {})
    table = jax_streams.NORMAL_TABLE
    assert table.values(build=False) is None  # nothing cached yet
    built = table.values()
    cached = tmp_path / "cache" / "jax-normal-stream1.f32"
    assert cached.stat().st_size == 4 * 2**23
    tables.forget()
    assert table.values(build=False).tobytes() == built.tobytes()
    with cached.open("r+b") as handle:  # one flipped bit: the cached table is refused
        handle.seek(12345)
        byte = handle.read(1)[0]
        handle.seek(12345)
        handle.write(bytes([byte ^ 1]))
    tables.forget()
    assert table.values(build=False) is None
    assert table.values().tobytes() == built.tobytes()  # rebuilt and re-cached
    assert cached.read_bytes() == built.tobytes()


def _crc_preserving_corruption(data: bytes) -> bytes:
    """``data`` with one bit flipped near its end and its last 4 bytes patched so that its
    CRC-32 stays the same (CRC-32 is linear over GF(2): solve for the 4-byte patch)."""
    import zlib

    tail = 64

    def linear(delta: bytes) -> int:  # the CRC of a change, independent of the bytes it changes
        return zlib.crc32(delta) ^ zlib.crc32(bytes(len(delta)))

    flip = bytearray(tail)
    flip[20] = 0x10
    pivots: dict[int, tuple[int, int]] = {}
    for bit in range(32):
        column = bytearray(tail)
        column[tail - 4 + bit // 8] = 1 << (bit % 8)
        vector, combination = linear(bytes(column)), 1 << bit
        while vector:
            top = vector.bit_length() - 1
            if top not in pivots:
                pivots[top] = (vector, combination)
                break
            vector, combination = vector ^ pivots[top][0], combination ^ pivots[top][1]
    vector, patch = linear(bytes(flip)), 0
    while vector:
        pivot_vector, pivot_combination = pivots[vector.bit_length() - 1]
        vector, patch = vector ^ pivot_vector, patch ^ pivot_combination
    delta = bytes(flip[: tail - 4]) + patch.to_bytes(4, "little")
    corrupted = data[:-tail] + bytes(a ^ b for a, b in zip(data[-tail:], delta, strict=True))
    assert corrupted != data and zlib.crc32(corrupted) == zlib.crc32(data)
    return corrupted


def test_a_cached_table_tampered_with_its_crc32_kept_is_rebuilt_not_used(tmp_path, monkeypatch):
    """The cache is checked with SHA-256: a change crafted to keep the CRC-32 is still refused."""
    monkeypatch.setenv("INITCLI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(tables, "_TABLES", {})
    table = jax_streams.TRUNCATED_NORMAL_TABLE
    built = table.values().tobytes()
    cached = tmp_path / "cache" / "jax-truncated-normal-stream1.f32"
    cached.write_bytes(_crc_preserving_corruption(cached.read_bytes()))
    tables.forget()
    assert table.values(build=False) is None  # refused, though its CRC-32 is the real table's
    assert table.values().tobytes() == built  # rebuilt from the function and checked
    assert cached.read_bytes() == built  # and the cache repaired


def test_table_digests_are_sha256():
    for table in (jax_streams.NORMAL_TABLE, jax_streams.TRUNCATED_NORMAL_TABLE):
        assert len(table.sha256) == 64 and int(table.sha256, 16) >= 0
    with pytest.raises(ValueError, match="SHA-256"):
        tables.Table("t", jax_streams.normal_of, "23e0f146")


def test_a_table_that_does_not_match_its_checksum_is_never_used(monkeypatch):
    monkeypatch.setattr(tables, "_TABLES", {})
    wrong = tables.Table("jax-normal", jax_streams.normal_of, sha256="0" * 64)
    monkeypatch.setenv("INITCLI_CACHE_DIR", "")
    with pytest.raises(ResourceError, match="does not match its checksum"):
        wrong.values()


def test_table_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("INITCLI_CACHE_DIR", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(tables, "_TABLES", {})
    assert tables.cache_directory() is None
    jax_streams.TRUNCATED_NORMAL_TABLE.values()
    assert not list(tmp_path.rglob("*.f32"))


def test_tensorflow_float64_gives_the_same_bytes_through_the_c_library_directly(monkeypatch):
    """float64 normals use NumPy's log/sin/cos only where they equal the C library's; the
    per-element C library path (used elsewhere) gives the same golden bytes."""
    assert tf_streams.numpy_matches_the_c_library() in (True, False)
    monkeypatch.setattr(tf_streams, "numpy_matches_the_c_library", lambda: False)
    cases = [c for c in _cases("tensorflow") if c["dtype"] == "float64" and c["class_name"] != "RandomUniform"]
    assert len(cases) >= 20
    for case in cases[:20]:
        ours = _as_returned(_ours("tensorflow", case), case)
        assert hashlib.sha256(ours.tobytes()).hexdigest() == case["sha256"], _case_id(case)


def test_model_command_with_a_backend_loads_in_keras_and_verifies(keras, tmp_path):
    """``initcli model --backend jax`` writes a .keras archive Keras loads; each kernel is the
    jax stream's tensor for its recorded seed, and verify remakes it."""
    model = keras.Sequential(
        [keras.Input((12,)), keras.layers.Dense(7), keras.layers.Dense(3, kernel_initializer="he_normal")]
    )
    (tmp_path / "model.json").write_text(model.to_json())
    dry = run_subprocess(["model", "model.json", "--seed", "4", "--backend", "jax", "--dry-run", "--json"], tmp_path)
    assert dry.exit_code == 0 and json.loads(dry.stdout)["backend"] == "jax"
    result = run_subprocess(["model", "model.json", "--seed", "4", "--backend", "jax", "-o", "m.keras"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "(jax stream)" in result.stderr
    loaded = keras.models.load_model(tmp_path / "m.keras")
    import zipfile

    import h5py

    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        archive.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5") as handle:
        for index, layer in enumerate(loaded.layers):
            record = json.loads(handle[f"layers/{layer.name}/vars/0"].attrs["initcli"])
            piece = record["pieces"][0]
            expected = initcli.sample(piece["initializer"], tuple(piece["shape"]), backend="jax")
            assert np.asarray(layer.kernel).tobytes() == expected.tobytes(), index
    assert run_subprocess(["verify", "m.keras"], tmp_path).exit_code == 0


def _glibc_version() -> tuple[int, ...] | None:
    import os

    try:
        name, version = os.confstr("CS_GNU_LIBC_VERSION").split()
    except (AttributeError, ValueError, OSError):
        return None
    return tuple(int(part) for part in version.split(".")[:2]) if name == "glibc" else None


@pytest.mark.skipif(
    not (_glibc_version() and (2, 28) <= _glibc_version() <= (2, 40)),
    reason="the port reproduces glibc 2.28-2.40; this host's C library is another",
)
def test_glibc_ports_equal_the_host_c_library_on_every_box_muller_input():
    """TensorFlow calls the C library's logf and sincosf; our ports must give its results for
    all 2**23 inputs Box-Muller can produce (u1 = max(u, 1e-7); v = float(2π·u))."""
    import ctypes
    import ctypes.util

    from initcli.backends import glibc_math

    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    functions = {}
    for name in ("logf", "sinf", "cosf"):
        function = getattr(libm, name)
        function.restype, function.argtypes = ctypes.c_float, [ctypes.c_float]
        functions[name] = np.frompyfunc(function, 1, 1)
    units = tf_streams.unit_floats(np.arange(1 << 23, dtype=np.uint32))
    radii = np.maximum(units, np.float32(1e-7))
    angles = (units.astype(np.float64) * (2 * np.pi)).astype(np.float32)
    assert np.array_equal(glibc_math.logf(radii), functions["logf"](radii).astype(np.float32))
    sine, cosine = glibc_math.sincosf(angles)
    assert np.array_equal(sine, functions["sinf"](angles).astype(np.float32))
    assert np.array_equal(cosine, functions["cosf"](angles).astype(np.float32))


# ---- JAX float16 where XLA:CPU computes it natively (AVX512-FP16) ---------------------------

NATIVE_HALF = "jax_native_half"
"""``backend_jax_native_half.json``: Keras 3.15.1 on jax 0.10.2 on a CPU with AVX512-FP16
(``tests/golden/make_native_half_golden.py``)."""


def _native_half_ours(case: dict, monkeypatch) -> np.ndarray:
    """Our tensor for ``case`` from :mod:`initcli.backends.jax_native_half`."""
    monkeypatch.setitem(initcli.backends._MODULES, "jax", "initcli.backends.jax_native_half")
    return _as_returned(_ours("jax", case), case)


NATIVE_HALF_EXACT = [pytest.param(case, id=_case_id(case)) for case in _cases(NATIVE_HALF)]


@pytest.mark.parametrize("case", NATIVE_HALF_EXACT)
def test_native_half_variant_is_bit_identical_to_keras_there(monkeypatch, case):
    ours = _native_half_ours(case, monkeypatch)
    if hashlib.sha256(ours.tobytes()).hexdigest() != case["sha256"]:
        head = ours.reshape(-1)[: min(ours.size, 16)].tobytes().hex()
        pytest.fail(f"bytes differ from Keras (native float16); first values ours {head} vs Keras {case['head']}")


def test_native_half_golden_file_was_made_where_xla_computes_float16_natively():
    """The file records a CPU with AVX512-FP16 and no ISA limit; it covers every random
    initializer but Orthogonal in float16 at ranks 0-5, draws and 2.25M-element tensors."""
    document = json.loads((GOLDEN / f"backend_{NATIVE_HALF}.json").read_text())
    assert (document["keras"], document["backend"], document["backend_version"]) == ("3.15.1", "jax", "0.10.2")
    assert jax_native_half.xla_float16_is_native(frozenset(document["cpu_flags"]), document["xla_flags"])
    cases = document["cases"]
    assert not [c for c in cases if "error" in c]
    half = [c for c in cases if c["dtype"] == "float16"]
    assert {c["class_name"] for c in half} == {
        "RandomUniform", "RandomNormal", "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal",
        "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    }  # fmt: skip
    assert {len(c["shape"]) for c in half} == {0, 1, 2, 3, 4, 5}
    assert {c["draw"] for c in half} >= {0, 1, 2}
    assert max(int(np.prod(c["shape"])) for c in half) == 2_250_000
    assert {c["dtype"] for c in cases} == {"float16", "float32"}


def test_the_jax_stream_keeps_the_widened_float16_where_the_native_one_differs():
    """``--backend jax`` is the same on every machine: its float16 is the golden one of CPUs
    without AVX512-FP16, which differs from the native variant on most float16 cases (all but
    those whose arithmetic is exact either way, e.g. RandomNormal's uniform on [-1, 1))."""
    widened = {_case_id(c): c["sha256"] for c in _cases("jax") if c["dtype"] == "float16"}
    native = {_case_id(c): c["sha256"] for c in _cases(NATIVE_HALF) if c["dtype"] == "float16"}
    shared = widened.keys() & native.keys()
    assert len(shared) == 57
    differing = {key for key in shared if widened[key] != native[key]}
    assert len(differing) >= 30
    assert all(key.startswith(("RandomNormal", "VarianceScaling")) for key in shared - differing)
    for case in _cases("jax"):
        if _case_id(case) in differing:
            ours = _as_returned(_ours("jax", case), case)
            assert hashlib.sha256(ours.tobytes()).hexdigest() == case["sha256"] != native[_case_id(case)]


def test_native_half_variant_changes_only_float16():
    """float32 and float64 draws of the variant are the jax stream's (checked on 3 kinds x 2 dtypes)."""
    for kind in ("uniform", "normal", "truncated_normal"):
        for dtype in (np.float32, np.float64):
            args = (10_007, -0.5, 1.5, np.dtype(dtype), 12345, 2)
            plain = np.concatenate([c.copy() for c in getattr(jax_streams, f"{kind}_chunks")(*args)])
            native = np.concatenate([c.copy() for c in getattr(jax_native_half, f"{kind}_chunks")(*args)])
            assert plain.tobytes() == native.tobytes(), (kind, dtype)


def test_native_half_uniform_is_rounded_once():
    """``max(low, f·(high - low) + low)`` rounded once (native) or after each operation (widened),
    on all 1024 float16 unit floats: the native one is the exact value's nearest float16."""
    f = jax_streams.half_unit_floats(np.arange(1 << 10, dtype=np.uint32))
    low, high = np.float16(-0.05), np.float16(0.05)
    exact = [float(x) * float(high - low) + float(low) for x in f]  # exact in float64 (at most 51 bits)
    nearest = np.array([max(float(low), float(np.float16(v))) for v in exact], dtype=np.float16)
    native = jax_streams.half_uniform_of(f, low, high, fused_half=True)
    widened = jax_streams.half_uniform_of(f, low, high)
    assert native.tobytes() == nearest.tobytes()
    assert np.count_nonzero(native != widened) == 463


CPUINFO = (
    "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 fma f16c avx512f {extra}\n\nprocessor\t: 1\n"
)


@pytest.mark.parametrize(
    ("extra", "xla_flags", "native"),
    [
        ("avx512_fp16 avx512bw", "", True),
        ("avx512bw avx512_bf16", "", False),  # AVX-512 without FP16: widened
        ("avx512_fp16", "--xla_cpu_max_isa=AVX2", False),
        ("avx512_fp16", "--xla_cpu_max_isa=avx", False),  # XLA reads the value case-insensitively
        ("avx512_fp16", "--xla_cpu_max_isa=SSE4_2", False),
        ("avx512_fp16", "--xla_cpu_max_isa=AVX512", True),  # AVX512 keeps FP16 (measured)
        ("avx512_fp16", "--xla_cpu_max_isa=AVX512_BF16", True),
        ("avx512_fp16", "--xla_cpu_max_isa=AMX_FP16", True),
        ("avx512_fp16", "--xla_cpu_max_isa=NONSENSE", True),  # ignored by XLA with a warning
        ("avx512_fp16", "--xla_cpu_max_isa=AVX2 --xla_cpu_max_isa=AVX512", True),  # the last one counts
        ("avx512_fp16", "--xla_cpu_max_isa=AVX512 --xla_cpu_max_isa=AVX2", False),
        ("avx512_fp16", "--xla_dump_to=/tmp/x --xla_cpu_max_isa=AVX2", False),
        ("avx512_fp16", "--not_xla_cpu_max_isa=AVX2", True),
        ("", "", False),
    ],
)
def test_xla_float16_is_native_follows_the_cpu_flags_and_max_isa(tmp_path, monkeypatch, extra, xla_flags, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO.format(extra=extra))
    flags = jax_native_half.cpu_flags(cpuinfo.read_text())
    assert ("avx512_fp16" in flags) == ("avx512_fp16" in extra) and "avx2" in flags
    assert jax_native_half.xla_float16_is_native(flags, xla_flags) is native
    monkeypatch.setenv("XLA_FLAGS", xla_flags)
    assert jax_native_half.this_machine_is_native(cpuinfo) is native


def test_no_cpuinfo_means_not_native(tmp_path):
    assert jax_native_half.cpu_flags("") == frozenset()
    assert jax_native_half.this_machine_is_native(tmp_path / "missing") is False
