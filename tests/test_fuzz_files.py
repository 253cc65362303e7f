"""A fuzzer over byte-mutated files that initcli wrote: every kind of file (.npy with its
manifest, .npz, compressed .npz, .weights.h5, legacy .h5, .keras), mutated with a fixed seed
and a fixed budget (bit flips, interesting values, random bytes, truncations, duplicated and
deleted ranges), then ``inspect``, ``inspect --json`` and ``verify`` through the real CLI.

Every run must end in exit code 0, 1 or 2 with at most one ``initcli: error:`` line and no
internal error, traceback or warning; and ``verify`` may say "all identical" only if the
tensors read back from the mutant are exactly the original ones (a mutant whose tensor bytes
changed while the file still parses is never passed; a dataset renamed by the mutation keeps
its values, and a tensor the mutation made unreachable is counted, not failed: the file
records no list of its tensors to check against).

``INITCLI_FUZZ_MUTANTS`` sets the mutants per kind (default 150), ``INITCLI_FUZZ_SEED`` the
seed; ``INITCLI_FUZZ_REPORT=1`` prints the outcome counts and records failures instead of
asserting (to measure a version).
"""

from __future__ import annotations

import collections
import os
import random
import shutil
import signal
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from .helpers import run_in_process

MUTANTS = int(os.environ.get("INITCLI_FUZZ_MUTANTS", "150"))
REPORT = os.environ.get("INITCLI_FUZZ_REPORT") == "1"
SEED = int(os.environ.get("INITCLI_FUZZ_SEED", "20261201"))
COMMANDS = (["inspect"], ["inspect", "--json"], ["verify"])
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 2**63 - 1, 2**64 - 1]

TINY_BATCH = """\
name: tiny
layers:
  - name: d1
    class: Dense
    weights:
      kernel: {shape: [4, 3], initializer: he_normal}
      bias: {shape: [3], initializer: zeros}
  - name: d2
    class: Dense
    weights:
      kernel: {shape: [3, 2], initializer: glorot_uniform}
      bias: {shape: [2], initializer: random_normal}
"""

KINDS = {
    "npy": (["random_normal", "-s", "8,4", "--seed", "1", "--manifest", "-o"], "a.npy"),
    "npz": (["he_normal", "-s", "8,4", "-s", "4", "-n", "k", "-n", "b", "--seed", "1", "-o"], "a.npz"),
    "npz-compressed": (
        ["he_normal", "-s", "8,4", "-s", "4", "-n", "k", "-n", "b", "--seed", "1", "--compress", "-o"],
        "a.npz",
    ),
    "weights.h5": (["batch", "tiny.yaml", "--seed", "1", "-o"], "m.weights.h5"),
    "legacy.h5": (["batch", "tiny.yaml", "--seed", "1", "-o"], "m.h5"),
    "keras": (["model", "tiny.json", "--seed", "1", "-o"], "m.keras"),
}


@pytest.fixture(scope="module")
def originals(tmp_path_factory, keras) -> dict[str, Path]:
    """One small file of each kind, written by the real CLI."""
    work = tmp_path_factory.mktemp("fuzz-originals")
    (work / "tiny.yaml").write_text(TINY_BATCH)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)])
    (work / "tiny.json").write_text(model.to_json())
    made = {}
    for kind, (args, name) in KINDS.items():
        folder = work / kind
        folder.mkdir()
        for extra in ("tiny.yaml", "tiny.json"):
            shutil.copy(work / extra, folder / extra)
        result = run_in_process([*args, name, "-q"], folder)
        assert result.exit_code == 0, result.stderr
        made[kind] = folder / name
    return made


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One mutation of ``data`` and its description."""
    size = len(data)
    buffer = bytearray(data)
    choice = rng.randrange(7)
    at = rng.randrange(size)
    if choice == 0:
        bit = rng.randrange(8)
        buffer[at] ^= 1 << bit
        return bytes(buffer), f"flip bit {bit} of byte {at}"
    if choice == 1:
        value = rng.choice([0x00, 0x01, 0x7F, 0x80, 0xFF])
        buffer[at] = value
        return bytes(buffer), f"byte {at} = {value:#x}"
    if choice == 2:
        value = rng.choice(INTERESTING)
        width = 8 if value >= 2**32 else rng.choice([2, 4]) if value < 2**16 else 4
        packed = struct.pack("<Q" if width == 8 else "<I" if width == 4 else "<H", value)
        buffer[at : at + width] = packed
        return bytes(buffer[:size]) if len(buffer) > size else bytes(buffer), f"{width} bytes at {at} = {value:#x}"
    if choice == 3:
        count = rng.randint(1, 32)
        buffer[at : at + count] = bytes(rng.randrange(256) for _ in range(min(count, size - at)))
        return bytes(buffer), f"{count} random bytes at {at}"
    if choice == 4:
        return bytes(buffer[:at]), f"truncated to {at} bytes"
    if choice == 5:
        count = rng.randint(1, 256)
        return bytes(buffer[:at] + buffer[at : at + count] + buffer[at:]), f"bytes {at}+{count} duplicated"
    count = rng.randint(1, 256)
    return bytes(buffer[:at] + buffer[at + count :]), f"bytes {at}+{count} deleted"


def _tensors(path: Path) -> dict[str, bytes] | None:
    """Name -> (shape, dtype, bytes) of every tensor as initcli reads it; ``None`` if unreadable."""
    from initcli.errors import InitcliError
    from initcli.readers import read_tensors

    try:
        with read_tensors(path) as stored:
            return {t.name: (t.shape, t.dtype.str, np.ascontiguousarray(t.load()).tobytes()) for t in stored.tensors}
    except InitcliError:
        return None


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


def _run(args: list[str], cwd: Path) -> tuple[int, str, str, list[str]]:
    """The CLI in-process, warnings recorded, with a 20 s alarm (a hang is a failure)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_in_process(args, cwd)
        return result.exit_code, result.stdout.decode(errors="replace"), result.stderr, [str(w.message) for w in caught]
    except _Hang:
        return -1, "", "hang", []
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def problems(code: int, stderr: str, caught: list[str]) -> list[str]:
    """What is wrong with one run's outcome (empty when clean)."""
    found = []
    if code not in (0, 1, 2):
        found.append(f"exit code {code}")
    if "internal error" in stderr:
        found.append("internal error")
    if "Traceback" in stderr:
        found.append("traceback")
    if "Warning" in stderr or caught:
        found.append("warning")
    if stderr.count("initcli: error:") > 1:
        found.append("several error lines")
    return found


OUTCOMES: dict[str, collections.Counter] = {}


@pytest.mark.parametrize("kind", list(KINDS))
def test_mutated_files(originals, tmp_path, kind):
    original = originals[kind]
    data = original.read_bytes()
    expected = _tensors(original)
    assert expected, kind
    rng = random.Random(f"{SEED}-{kind}")
    outcomes = OUTCOMES.setdefault(kind, collections.Counter())
    failures = []
    for number in range(MUTANTS):
        mutant, what = mutate(data, rng)
        folder = tmp_path / str(number)
        folder.mkdir()
        target = folder / original.name
        target.write_bytes(mutant)
        if kind == "npy":
            shutil.copy(original.with_name(original.name + ".json"), folder / (original.name + ".json"))
        for command in COMMANDS:
            code, _, stderr, caught = _run([*command, str(target)], folder)
            found = problems(code, stderr, caught)
            if command == ["verify"] and code == 0:
                outcomes["verified identical"] += 1
                read = _tensors(target) or {}
                remaining = list(expected.values())  # a renamed dataset keeps its values
                for tensor in read.values():
                    if tensor not in remaining:
                        found.append("verify passed a mutant whose tensors differ")
                        break
                    remaining.remove(tensor)
                if not read:
                    found.append("verify passed a file with no tensors")
                if remaining:
                    outcomes["verified identical with tensors lost"] += 1
                elif read.keys() != expected.keys():
                    outcomes["verified identical with tensors renamed"] += 1
            outcomes["internal error" if "internal error" in stderr else f"exit {code}"] += 1
            if found:
                outcomes["runs with problems"] += 1
                failures.append(
                    f"{kind} mutant {number} ({what}), {' '.join(command)}: {found}: {stderr.strip()[:300]}"
                )
        shutil.rmtree(folder)
    outcomes["runs"] += MUTANTS * len(COMMANDS)
    if REPORT:
        print(f"\n{kind}: {dict(outcomes)}")
        for failure in failures[:5]:
            print("  ", failure)
        return
    assert not failures, "\n".join(failures[:20])
