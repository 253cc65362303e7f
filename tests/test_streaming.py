"""Streaming: chunked generation equals Keras at any size, writers stay within bounded memory,
start-up imports only what it needs."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import initcli
from initcli.backends import buffers, jax_streams, numpy_streams, tf_streams
from initcli.writers.chunks import flat_blocks

from .helpers import peak_mib, run_in_process

SIZES = (1, 999, 1000, 1001, 2999, 12345)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_small_chunks_reproduce_keras_streams(keras, dtype):
    """The multi-chunk paths (background draws, buffer rings, split uniform streams) with a
    1000-element chunk give Keras's bytes for sizes around and across chunk boundaries."""
    from keras.src.backend.numpy import random as keras_random

    dt = np.dtype(dtype)
    for seed in (0, 7, 2**32 - 1):
        for n in SIZES:
            cases = [
                (
                    keras_random.normal((n,), 0.5, 2.0, dtype, seed),
                    numpy_streams.normal_chunks(n, 0.5, 2.0, dt, seed, 0, 1000),
                ),
                (
                    keras_random.uniform((n,), -1.5, 3.0, dtype, seed),
                    numpy_streams.uniform_chunks(n, -1.5, 3.0, dt, seed, 0, 1000),
                ),
                (
                    keras_random.truncated_normal((n,), 0.1, 0.7, dtype, seed),
                    numpy_streams.truncated_normal_chunks(n, 0.1, 0.7, dt, seed, 0, 1000),
                ),
            ]
            for theirs, chunks in cases:
                mine = buffers.collect(chunks, (n,), dt)
                assert mine.tobytes() == np.asarray(theirs).tobytes(), (seed, n, dtype)


@pytest.mark.parametrize("kind", ["uniform", "normal", "truncated_normal"])
def test_the_numpy_stream_reads_the_chunk_size_at_call_time(monkeypatch, kind):
    """``initcli.backends.buffers.CHUNK`` set after import cuts the numpy stream as it cuts the other
    backends' streams (chunks of at most 1000 elements, at least ceil(10007 / 1000) of them), same bytes."""
    draw = getattr(numpy_streams, f"{kind}_chunks")
    n = 10_007
    whole = np.concatenate([c.copy() for c in draw(n, -0.5, 1.5, np.dtype("float32"), 12345, 2)])
    monkeypatch.setattr(buffers, "CHUNK", 1_000)
    chunks = [c.copy() for c in draw(n, -0.5, 1.5, np.dtype("float32"), 12345, 2)]
    assert max(c.size for c in chunks) <= 1_000
    assert len(chunks) >= 11
    assert np.concatenate(chunks).tobytes() == whole.tobytes()


def test_closing_a_stream_early_stops_its_threads():
    import threading

    before = threading.active_count()
    for make in (numpy_streams.normal_chunks, numpy_streams.truncated_normal_chunks, numpy_streams.uniform_chunks):
        chunks = make(10_000_000, 0.0, 1.0, np.dtype(np.float32), 1)
        next(chunks)
        chunks.close()
    assert threading.active_count() == before


@pytest.mark.parametrize(
    "name,args",
    [
        ("glorot_normal", ["--dtype", "float32"]),
        ("glorot_uniform", ["--dtype", "float64"]),
        ("random_normal", ["--stddev", "0.3", "--dtype", "float16"]),
        ("truncated_normal", ["--mean", "1.0", "--stddev", "2.0"]),
    ],
)
def test_tensors_larger_than_a_chunk_match_keras_in_every_format(keras, tmp_path, name, args):
    shape = (1500, 1500)  # 2.25M elements: more than one 2M-element chunk
    assert shape[0] * shape[1] > buffers.CHUNK
    dtype = args[args.index("--dtype") + 1] if "--dtype" in args else "float32"
    kwargs = (
        {"stddev": 0.3}
        if name == "random_normal"
        else {"mean": 1.0, "stddev": 2.0}
        if name == "truncated_normal"
        else {}
    )
    from keras.src.initializers import ALL_OBJECTS_DICT

    expected = np.asarray(ALL_OBJECTS_DICT[name](seed=3, **kwargs)(shape, dtype=dtype)).tobytes()
    common = [name, *args, "--shape", "1500,1500", "--seed", "3", "-q"]
    assert run_in_process([*common, "-o", "a.npy"], tmp_path).exit_code == 0
    assert run_in_process([*common, "-o", "b.npz", "-n", "w"], tmp_path).exit_code == 0
    assert run_in_process([*common, "-o", "c.weights.h5", "--path", "layers/dense/vars/0"], tmp_path).exit_code == 0
    assert np.load(tmp_path / "a.npy").tobytes() == expected
    assert np.load(tmp_path / "b.npz")["w"].tobytes() == expected
    with h5py.File(tmp_path / "c.weights.h5") as handle:
        assert handle["layers/dense/vars/0"][()].tobytes() == expected
    assert (tmp_path / "a.npy").read_bytes() == _np_save_bytes(tmp_path, np.load(tmp_path / "a.npy"))


def _np_save_bytes(tmp_path, array):
    np.save(tmp_path / "reference.npy", array)
    return (tmp_path / "reference.npy").read_bytes()


@settings(max_examples=300, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple),
    data=st.data(),
)
def test_flat_blocks_cover_a_range_exactly_in_order(shape, data):
    n = int(np.prod(shape))
    start = data.draw(st.integers(0, n))
    stop = data.draw(st.integers(start, n))
    grid = np.arange(n).reshape(shape)
    covered = []
    for index, count in flat_blocks(shape, start, stop):
        block = grid[index]
        assert block.size == count
        covered.extend(block.reshape(-1).tolist())
    assert covered == list(range(start, stop))


@pytest.mark.parametrize(
    "output",
    [["-o", "big.npy"], ["-o", "big.weights.h5", "--path", "layers/dense/vars/0"], ["-o", "big.safetensors"]],
)
def test_half_a_gibibyte_is_written_with_bounded_memory(tmp_path, output):
    """512 MiB of float32 written with a peak resident size under 300 MiB (memory, not time)."""
    peak = peak_mib(["glorot_normal", "--shape", "16384,8192", "--seed", "1", "-q", *output], tmp_path)
    size = (tmp_path / output[1]).stat().st_size
    assert size >= 512 * 1024 * 1024
    assert peak < 300, f"peak resident memory {peak:.0f} MiB"


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_backend_streams_write_half_a_gibibyte_with_bounded_memory(tmp_path, backend):
    """The jax and tensorflow streams stream too: 512 MiB (128M truncated normals, more than
    the JAX table threshold) with a peak resident size under 300 MiB, and the values are the
    ones the same stream gives for a slice computed on its own."""
    args = ["glorot_normal", "--shape", "16384,8192", "--seed", "1", "--backend", backend, "-q", "-o", "big.npy"]
    peak = peak_mib(args, tmp_path)
    assert peak < 300, f"peak resident memory {peak:.0f} MiB"
    stored = np.load(tmp_path / "big.npy", mmap_mode="r")
    assert stored.shape == (16384, 8192)
    module = {"jax": jax_streams, "tensorflow": tf_streams}[backend]
    stddev = initcli.GlorotNormal(seed=1).spread((16384, 8192))["stddev"]
    head = np.concatenate([c.copy() for c in module.truncated_normal_chunks(5000, 0.0, stddev, np.dtype("float32"), 1)])
    assert stored.reshape(-1)[:5000].tobytes() == head.tobytes()


def test_start_up_imports_only_what_it_needs(tmp_path):
    probe = (
        "import runpy, sys, json\n"
        "sys.argv = ['initcli', *json.loads(sys.argv[1])]\n"
        "try:\n    runpy.run_module('initcli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = ['h5py', 'yaml', 'scipy', 'keras', 'jax', 'tomllib', 'numpy']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)\n"
    )
    cases = {
        "--version": [],
        "--help": ["numpy"],
        "list": ["numpy"],
        "glorot_uniform --shape 64,64 --seed 1 -o w.npy -q": ["numpy"],
        "batch CONFIG -o w.npz -q": ["numpy"],
    }
    (tmp_path / "c.json").write_text(
        json.dumps(
            {
                "layers": [
                    {"name": "d", "class": "Dense", "weights": {"kernel": {"shape": [2, 2], "initializer": "ones"}}}
                ]
            }
        )
    )
    for command, allowed in cases.items():
        args = command.replace("CONFIG", "c.json").split()
        result = subprocess.run(
            [sys.executable, "-c", probe, json.dumps(args)], cwd=tmp_path, capture_output=True, text=True
        )
        loaded = json.loads(result.stderr.strip().splitlines()[-1])
        assert set(loaded) <= set(allowed), (command, loaded)


def _stderr_through_a_terminal(args, cwd):
    """Run ``initcli ARGS`` with stderr on a pseudo-terminal; return what it printed there."""
    import os
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "initcli", *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=follower
    )
    os.close(follower)
    output = b""
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the other side closed
            break
        if not data:
            break
        output += data
    os.close(leader)
    assert process.wait() == 0
    return output.decode(errors="replace")


def test_progress_bar_on_a_terminal_for_long_writes_only(tmp_path):
    big = ["glorot_uniform", "--shape", "8200,8192", "--seed", "1", "--force"]
    shown = _stderr_through_a_terminal([*big, "-o", "big.npy"], tmp_path)
    assert "writing big.npy" in shown and "100%" in shown
    assert "writing" not in _stderr_through_a_terminal([*big, "-o", "big.npy", "-q"], tmp_path)
    small = _stderr_through_a_terminal(["glorot_uniform", "--shape", "64,64", "--seed", "1", "-o", "s.npy"], tmp_path)
    assert "%" not in small and "wrote s.npy" in small


@pytest.mark.parametrize(
    "output", [["-o", "big.npz"], ["-o", "big.weights.h5", "--path", "w"], ["-o", "big.safetensors"]]
)
def test_verify_and_inspect_half_a_gibibyte_with_bounded_memory(tmp_path, output):
    """verify reads the stored tensor in step with the regenerated one, inspect in chunks:
    neither holds the tensor whole in memory."""
    peak_mib(["glorot_uniform", "--shape", "16384,8192", "--seed", "1", "-q", *output], tmp_path)
    for command in (["verify", output[1], "-q"], ["inspect", output[1], "--strict"]):
        peak = peak_mib(command, tmp_path)
        assert peak < 300, f"{command[0]}: peak resident memory {peak:.0f} MiB"
