"""Parameters whose values would overflow are refused with one line, never written as inf or NaN.

Each case runs through the real CLI (CliRunner; one large case in a subprocess) and through the
Python API (``initcli.sample`` and ``Initializer.sample``/``chunks``), with the same message; the
refusal leaves no file and keeps an existing one.  What Keras and NumPy do with the same values is
checked beside: NumPy and Keras refuse the uniform range, Keras writes infinities for the rest."""

from __future__ import annotations

import hashlib
import threading
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import initcli
from initcli.errors import InvalidArgument
from initcli.initializers import RandomNormal, RandomUniform, VarianceScaling
from initcli.provenance import Draw, Drawn
from tests.helpers import run_in_process, run_subprocess

F32 = "3.4028e+38"
OR_WIDER = "or a wider dtype (float32, float64)"

# (command-line arguments, Python API call (name, shape, params), the exact message)
CASES = [
    (
        "random_uniform --shape 3 --seed 1 --minval -1e308 --maxval 1e308",
        ("random_uniform", (3,), {"seed": 1, "minval": -1e308, "maxval": 1e308}),
        "minval -1e+308 and maxval 1e+308 are too far apart: maxval - minval overflows float64 "
        "(NumPy's uniform refuses it too); use maxval - minval <= 1.7976e+308",
    ),
    (
        "random_uniform --shape 3 --seed 1 --minval 0 --maxval 1e39",
        ("random_uniform", (3,), {"seed": 1, "minval": 0.0, "maxval": 1e39}),
        f"RandomUniform(minval=0.0, maxval=1e+39): values reach 1e+39, beyond float32's largest finite value {F32}; "
        f"use bounds within ±{F32} or a wider dtype (float64)",
    ),
    (
        "random_uniform --shape 3 --seed 1 --minval -1e5 --maxval 1e5 --dtype float16",
        ("random_uniform", (3,), {"seed": 1, "minval": -1e5, "maxval": 1e5, "dtype": "float16"}),
        "RandomUniform(minval=-100000.0, maxval=100000.0): values reach 100000, beyond float16's largest finite "
        f"value 65504; use bounds within ±65504 {OR_WIDER}",
    ),
    (
        "random_uniform --shape 3 --seed 1 --minval -6e4 --maxval 6e4 --dtype float16 --backend jax",
        ("random_uniform", (3,), {"seed": 1, "minval": -6e4, "maxval": 6e4, "dtype": "float16", "backend": "jax"}),
        "RandomUniform(minval=-60000.0, maxval=60000.0) with the jax stream: maxval - minval = 120000 is beyond "
        "float16's largest finite value 65504, in which Keras's jax backend computes it; use a narrower range "
        "or a wider dtype (float32)",
    ),
    (
        "random_uniform --shape 3 --seed 1 --minval 0 --maxval 1e39 --dtype float64 --backend jax",
        ("random_uniform", (3,), {"seed": 1, "minval": 0.0, "maxval": 1e39, "dtype": "float64", "backend": "jax"}),
        f"RandomUniform(minval=0.0, maxval=1e+39): values reach 1e+39, beyond float32's largest finite value {F32} "
        "(the jax stream computes float64 in float32, as Keras's jax backend does); use bounds within "
        f"±{F32}",
    ),
    (
        "random_uniform --shape 3 --seed 1 --minval 0 --maxval 1e39 --dtype float64 --backend tensorflow",
        (
            "random_uniform",
            (3,),
            {"seed": 1, "minval": 0.0, "maxval": 1e39, "dtype": "float64", "backend": "tensorflow"},
        ),
        f"RandomUniform(minval=0.0, maxval=1e+39): values reach 1e+39, beyond float32's largest finite value {F32} "
        "(the tensorflow stream takes the bounds as float32, as Keras's tensorflow backend does); use bounds "
        f"within ±{F32}",
    ),
    (
        "random_normal --shape 3 --seed 1 --stddev 1e39 --dtype float64 --backend jax",
        ("random_normal", (3,), {"seed": 1, "stddev": 1e39, "dtype": "float64", "backend": "jax"}),
        "RandomNormal(mean=0.0, stddev=1e+39) overflows float32 (the jax stream computes float64 in float32): 3 of "
        f"the first 3 values drawn are beyond its largest finite value {F32}; use a smaller mean and stddev",
    ),
    (
        "truncated_normal --shape 3 --seed 1 --stddev 2e38 --dtype float64 --backend jax",
        ("truncated_normal", (3,), {"seed": 1, "stddev": 2e38, "dtype": "float64", "backend": "jax"}),
        f"TruncatedNormal(mean=0.0, stddev=2e+38): values reach 4e+38, beyond float32's largest finite value {F32} "
        f"(the jax stream computes float64 in float32, as Keras's jax backend does); use |mean| + 2·stddev <= {F32}",
    ),
    (
        "random_normal --shape 3 --seed 1 --stddev 1e308",
        ("random_normal", (3,), {"seed": 1, "stddev": 1e308}),
        "mean 0.0 and stddev 1e+308 overflow float64, in which the draws are made (they reach mean ± 10·stddev); "
        "use |mean| + 10·stddev <= 1.7976e+308",
    ),
    (
        "random_normal --shape 3 --seed 1 --mean 1e308 --stddev 1e307",
        ("random_normal", (3,), {"seed": 1, "mean": 1e308, "stddev": 1e307}),
        "mean 1e+308 and stddev 1e+307 overflow float64, in which the draws are made (they reach mean ± 10·stddev); "
        "use |mean| + 10·stddev <= 1.7976e+308",
    ),
    (
        "random_normal --shape 3 --seed 1 --stddev 1e5 --dtype float16",
        ("random_normal", (3,), {"seed": 1, "stddev": 1e5, "dtype": "float16"}),
        "RandomNormal(mean=0.0, stddev=100000.0) overflows float16: 1 of the first 3 values drawn are beyond its "
        f"largest finite value 65504; use a smaller mean and stddev {OR_WIDER}",
    ),
    (
        "truncated_normal --shape 3 --seed 1 --stddev 1e308",
        ("truncated_normal", (3,), {"seed": 1, "stddev": 1e308}),
        "mean 0.0 and stddev 1e+308 overflow float64, in which the draws are made (they reach mean ± 10·stddev); "
        "use |mean| + 10·stddev <= 1.7976e+308",
    ),
    (
        "truncated_normal --shape 3 --seed 1 --stddev 1e5 --dtype float16",
        ("truncated_normal", (3,), {"seed": 1, "stddev": 1e5, "dtype": "float16"}),
        "TruncatedNormal(mean=0.0, stddev=100000.0): values reach 200000, beyond float16's largest finite value "
        f"65504; use |mean| + 2·stddev <= 65504 {OR_WIDER}",
    ),
    (
        "variance_scaling --shape 1,4 --seed 1 --scale 1e308 --distribution uniform",
        ("variance_scaling", (1, 4), {"seed": 1, "scale": 1e308, "distribution": "uniform"}),
        "VarianceScaling(scale=1e+308, mode='fan_in', distribution='uniform') of shape (1, 4): the uniform limit "
        "sqrt(3·scale/n) overflows float64 (n = 1); use scale <= 5.9923e+307",
    ),
    (
        "variance_scaling --shape 100,4 --seed 1 --scale 1e308 --distribution uniform",
        ("variance_scaling", (100, 4), {"seed": 1, "scale": 1e308, "distribution": "uniform"}),
        "VarianceScaling(scale=1e+308, mode='fan_in', distribution='uniform') of shape (100, 4): values reach "
        f"1.732e+153, beyond float32's largest finite value {F32}; use a smaller scale or a wider dtype (float64)",
    ),
    (
        "variance_scaling --shape 1,4 --seed 1 --scale 1e308",
        ("variance_scaling", (1, 4), {"seed": 1, "scale": 1e308}),
        "VarianceScaling(scale=1e+308, mode='fan_in', distribution='truncated_normal') of shape (1, 4): values "
        f"reach 2.2736e+154, beyond float32's largest finite value {F32}; use a smaller scale or a wider dtype "
        "(float64)",
    ),
    (
        "variance_scaling --shape 1,4 --seed 1 --scale 1e308 --distribution untruncated_normal",
        ("variance_scaling", (1, 4), {"seed": 1, "scale": 1e308, "distribution": "untruncated_normal"}),
        "VarianceScaling(scale=1e+308, mode='fan_in', distribution='untruncated_normal') of shape (1, 4) overflows "
        f"float32: 4 of the first 4 values drawn are beyond its largest finite value {F32}; use a smaller scale "
        "or a wider dtype (float64)",
    ),
    (
        "constant --shape 2 --value 1e5 --dtype float16",
        ("constant", (2,), {"value": 1e5, "dtype": "float16"}),
        "Constant value 100000.0 does not fit float16: beyond its largest finite value 65504; use values within "
        "±65504 or a wider dtype",
    ),
    (
        "constant --shape 2 --value [1,1e39]",
        ("constant", (2,), {"value": [1, 1e39]}),
        f"Constant value [1, 1e+39] does not fit float32: beyond its largest finite value {F32}; use values within "
        f"±{F32} or a wider dtype",
    ),
    (
        "identity --shape 2,2 --gain 1e5 --dtype float16",
        ("identity", (2, 2), {"gain": 1e5, "dtype": "float16"}),
        f"Identity(gain=100000.0): values reach 100000, beyond float16's largest finite value 65504; use |gain| <= "
        f"65504 {OR_WIDER}",
    ),
    (
        "orthogonal --shape 2,2 --seed 1 --gain 1e39",
        ("orthogonal", (2, 2), {"seed": 1, "gain": 1e39}),
        f"gain 1e+39 is beyond float32's largest finite value {F32}, and Orthogonal multiplies in float32 (as Keras "
        f"does) for every dtype; use |gain| <= {F32}",
    ),
    (
        "orthogonal --shape 2,2 --seed 1 --gain 1e5 --dtype float16",
        ("orthogonal", (2, 2), {"seed": 1, "gain": 1e5, "dtype": "float16"}),
        "Orthogonal(gain=100000.0): values reach 100000, beyond float16's largest finite value 65504; use |gain| "
        f"<= 65504 {OR_WIDER}",
    ),
    (
        "stft --shape 4,1,3 --window [0,0,0,0]",
        ("stft", (4, 1, 3), {"window": [0, 0, 0, 0]}),
        "STFT window [0, 0, 0, 0] with scaling 'density' has an L2 norm of 0 in float32, which cannot normalise it; "
        f"use a window that is not all zero and whose L2 norm is at most {F32}, or scaling none",
    ),
    (
        "stft --shape 4,1,3 --window [1e5,1,1,1] --dtype float16 --scaling none",
        ("stft", (4, 1, 3), {"window": [1e5, 1, 1, 1], "dtype": "float16", "scaling": "none"}),
        "STFT window [100000.0, 1, 1, 1] has values beyond float16's largest finite value 65504; use smaller values",
    ),
]


@pytest.mark.parametrize(
    ("argv", "api", "message"), CASES, ids=[c[0].split(" --shape")[0] + str(i) for i, c in enumerate(CASES)]
)
@pytest.mark.parametrize("output", ["w.npy", "w.npz", "--json"])
def test_refused_by_the_cli_with_one_line_and_no_file(tmp_path, argv, api, message, output):
    target = [] if output == "--json" else ["-o", output]
    result = run_in_process([*argv.split(), *(target or ["--json"])], tmp_path)
    assert result.exit_code == 2 and result.stdout == b"", result.stdout[:200]
    assert result.stderr == f"initcli: error: {message}\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "api", "message"), CASES, ids=[c[0].split(" --shape")[0] + str(i) for i, c in enumerate(CASES)]
)
def test_refused_by_the_python_api_with_the_same_message(argv, api, message):
    name, shape, params = api
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warning on the way to the error
        with pytest.raises(InvalidArgument) as refused:
            initcli.sample(name, shape, **params)
    assert str(refused.value) == message


def test_an_existing_file_is_kept_when_forced(tmp_path):
    assert run_in_process(["random_normal", "-s", "4,4", "--seed", "1", "-o", "w.npz"], tmp_path).exit_code == 0
    before = hashlib.sha256((tmp_path / "w.npz").read_bytes()).hexdigest()
    args = ["random_normal", "-s", "4,4", "--seed", "1", "--stddev", "1e5", "--dtype", "float16", "-o", "w.npz", "-f"]
    result = run_in_process(args, tmp_path)
    assert result.exit_code == 2 and "overflows float16" in result.stderr
    assert hashlib.sha256((tmp_path / "w.npz").read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]


def test_a_large_overflowing_tensor_is_refused_in_a_real_process(tmp_path):
    """4096x4096 float16 with stddev 1e5: the chunks are cast in worker threads; one line, no warning, no file."""
    for backend in ("numpy", "jax"):
        args = ["random_normal", "-s", "4096,4096", "--seed", "1", "--stddev", "1e5", "--dtype", "float16"]
        result = run_subprocess([*args, "--backend", backend, "-o", "w.weights.h5", "--path", "k"], tmp_path)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith("initcli: error: RandomNormal(mean=0.0, stddev=100000.0) overflows float16: ")
        assert result.stderr.count("\n") == 1 and "Warning" not in result.stderr
        assert "largest finite value 65504; use a smaller mean and stddev" in result.stderr
        assert list(tmp_path.iterdir()) == []


def test_initializer_sample_chunks_and_drawn_refuse_the_same():
    normal = RandomNormal(stddev=1e5, seed=1)
    f16 = np.dtype(np.float16)
    for make in (
        lambda: normal.sample((3000,), "float16"),
        lambda: list(normal.chunks((3000,), "float16")),
        lambda: Drawn([Draw(normal, (3000,))], (3000,), f16).array(),
        lambda: list(Drawn([Draw(normal, (3000,))], (3000,), f16).chunks()),
        lambda: RandomUniform(-1e5, 1e5, seed=1).sample((3,), "float16"),
        lambda: list(VarianceScaling(1e308, distribution="untruncated_normal", seed=1).chunks((1, 5))),
    ):
        with pytest.raises(InvalidArgument, match="largest finite value"):
            make()
    with pytest.raises(InvalidArgument, match=r"mean 1e\+400|beyond float64.s range"):
        RandomNormal(mean=10**400)
    with pytest.raises(InvalidArgument, match="Constant value 1000 does not fit int8; use values from -128 to 127"):
        initcli.sample("constant", (2,), value=1000, dtype="int8")
    with pytest.raises(InvalidArgument, match="Constant value -129 does not fit int8"):
        initcli.sample("constant", (2,), value=-129, dtype="int8")


def test_the_largest_values_that_fit_are_accepted_and_finite():
    cases = [
        ("random_uniform", (1000,), {"seed": 1, "minval": -65504.0, "maxval": 65504.0, "dtype": "float16"}),
        ("random_uniform", (1000,), {"seed": 1, "minval": -3e4, "maxval": 3e4, "dtype": "float16", "backend": "jax"}),
        ("truncated_normal", (1000,), {"seed": 1, "stddev": 32752.0, "dtype": "float16"}),
        ("random_normal", (1000,), {"seed": 1, "stddev": 1.7e307, "dtype": "float64"}),
        ("random_normal", (1000,), {"seed": 1, "stddev": 1000.0, "dtype": "float16"}),
        ("variance_scaling", (1, 4), {"seed": 1, "scale": 5e307, "distribution": "uniform", "dtype": "float64"}),
        ("constant", (2,), {"value": 65504.0, "dtype": "float16"}),
        ("constant", (2,), {"value": [-128, 127]}),
        ("identity", (3, 3), {"gain": 65504.0, "dtype": "float16"}),
        ("orthogonal", (3, 3), {"seed": 1, "gain": 60000.0, "dtype": "float16"}),
    ]
    for name, shape, params in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            values = initcli.sample(name, shape, **params)
        assert np.isfinite(values).all(), (name, params)
    assert initcli.sample("constant", (2,), value=127, dtype="int8").tolist() == [127, 127]


def test_what_numpy_and_keras_do_with_the_same_values(keras):
    """NumPy and Keras refuse the uniform range (so does initcli); Keras writes infinities where initcli refuses."""
    with pytest.raises(OverflowError, match="high - low range exceeds valid bounds"):
        np.random.default_rng(1).uniform(-1e308, 1e308, 3)
    with pytest.raises(OverflowError, match="high - low range exceeds valid bounds"):
        keras.initializers.RandomUniform(-1e308, 1e308, seed=1)((3,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for made in (
            keras.initializers.RandomNormal(0.0, 1e308, seed=1)((4,)),
            keras.initializers.TruncatedNormal(0.0, 1e308, seed=1)((4,)),
            keras.initializers.VarianceScaling(1e308, seed=1)((1, 4)),
            keras.initializers.Constant(1e6)((2,), dtype="float16"),
        ):
            assert not np.isfinite(np.asarray(made)).all()


@pytest.mark.parametrize("output", ["b.weights.h5", "b.h5", "b.npz"])
def test_a_batch_config_that_overflows_leaves_no_file(tmp_path, output):
    (tmp_path / "b.yaml").write_text(
        "name: b\nlayers:\n  - name: d\n    class: Dense\n    weights:\n"
        "      kernel: {shape: [40, 30], initializer: he_normal}\n"
        "      bias: {shape: [30], initializer: {class_name: Constant, config: {value: 1.0e+39}}}\n"
    )
    result = run_in_process(["batch", "b.yaml", "--seed", "1", "-o", output], tmp_path)
    assert result.exit_code == 2 and result.stderr == (
        f"initcli: error: Constant value 1e+39 does not fit float32: beyond its largest finite value {F32}; "
        f"use values within ±{F32} or a wider dtype\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.yaml"]


def test_a_keras_style_subclass_that_returns_infinities_is_refused():
    class Exploding(initcli.Initializer):
        def __call__(self, shape, dtype=None):
            return np.full(shape, np.float32(3e38)) * np.float32(10)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the subclass's own overflow
        with pytest.raises(InvalidArgument) as refused:
            Exploding().sample((2, 3))
    assert str(refused.value) == (
        f"Exploding gives 6 values that are NaN or beyond float32's largest finite value {F32}; "
        "fix its parameters or its __call__"
    )


_MAGNITUDES = st.one_of(
    st.floats(0, 10),
    st.builds(lambda m, e: m * 10.0**e, st.floats(0.1, 1.79), st.integers(-5, 307)),
)
_SIGNED = st.builds(lambda x, negative: -x if negative else x, _MAGNITUDES, st.booleans())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(
        [
            "random_normal",
            "truncated_normal",
            "random_uniform",
            "vs_uniform",
            "vs_normal",
            "vs_untruncated",
            "constant",
            "identity",
            "orthogonal",
        ]
    ),
    a=_SIGNED,
    b=_MAGNITUDES,
    dtype=st.sampled_from(["float16", "float32", "float64"]),
    backend=st.sampled_from(["numpy", "jax", "tensorflow"]),
)
def test_any_parameters_give_finite_values_or_one_clear_refusal(family, a, b, dtype, backend):
    """Random magnitudes up to 1.79e308: the result is finite, or InvalidArgument; never inf, NaN or a warning."""
    calls = {
        "random_normal": ("random_normal", (64,), {"mean": a, "stddev": b}),
        "truncated_normal": ("truncated_normal", (64,), {"mean": a, "stddev": b}),
        "random_uniform": ("random_uniform", (64,), {"minval": min(a, b), "maxval": max(a, b)}),
        "vs_uniform": ("variance_scaling", (2, 32), {"scale": b or 1.0, "distribution": "uniform"}),
        "vs_normal": ("variance_scaling", (2, 32), {"scale": b or 1.0}),
        "vs_untruncated": ("variance_scaling", (2, 32), {"scale": b or 1.0, "distribution": "untruncated_normal"}),
        "constant": ("constant", (64,), {"value": a}),
        "identity": ("identity", (8, 8), {"gain": a}),
        "orthogonal": ("orthogonal", (8, 8), {"gain": a}),
    }
    name, shape, params = calls[family]
    if name not in ("constant", "identity"):
        params = {**params, "seed": 1, "backend": backend}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = initcli.sample(name, shape, dtype=dtype, **params)
        except InvalidArgument as refused:
            assert "\n" not in str(refused)
            return
    assert np.isfinite(values).all(), (name, params, dtype)


def test_a_refused_stream_stops_its_worker_threads():
    """4M float16 values are drawn in worker threads; the refusal stops them before it is raised."""
    before = threading.active_count()
    with pytest.raises(InvalidArgument, match="overflows float16") as refused:
        list(RandomNormal(stddev=1e5, seed=1).chunks((4096, 1024), "float16"))
    assert refused.value is not None and threading.active_count() == before
    chunks = RandomNormal(seed=1).chunks((4096, 1024))
    next(chunks)
    chunks.close()
    assert threading.active_count() == before


def test_the_exact_line_in_a_real_process(tmp_path):
    argv, _, message = CASES[0]
    result = run_subprocess([*argv.split(), "-o", "w.npy"], tmp_path)
    assert (result.exit_code, result.stdout, result.stderr) == (2, b"", f"initcli: error: {message}\n")
    assert list(tmp_path.iterdir()) == []
