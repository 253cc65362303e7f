"""Provenance of ``initcli torch`` output: every tensor records the run it came from, and
``verify`` remakes the run and compares every byte.

The numbers themselves are checked against real torch in ``tests/test_torch_init.py``; here,
what is checked is that the record describes the run the command line asked for (written out
in each test from the command line, not taken from the product), that ``verify`` finds a file
unchanged identical, and that it finds every change -- to any element, to the record's seed,
arguments, index or shapes, a tensor removed -- and refuses malformed records in one line.
"""

from __future__ import annotations

import io
import json
import math
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest

from initcli.verify import verify_file

from .helpers import json_paths, run_in_process, run_subprocess

SQRT5 = math.sqrt(5)


def _run(tmp_path: Path, *args: str) -> None:
    result = run_in_process(["torch", *args], tmp_path)
    assert result.exit_code == 0, result.stderr


def _statuses(path: Path, manifest: Path | None = None) -> dict[str, str]:
    _, verdicts = verify_file(path, manifest)
    return {v.name: v.status for v in verdicts}


def _details(path: Path) -> dict[str, str]:
    _, verdicts = verify_file(path)
    return {v.name: v.detail for v in verdicts}


def _records(path: Path) -> tuple[dict, dict[str, dict]]:
    """The file record and each member's record of a ``.npz`` (zip comments)."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename.removesuffix(".npy"): json.loads(info.comment) for info in archive.infolist()}
        return json.loads(archive.comment), members


def _rewrite(path: Path, change) -> None:
    """Rewrite a ``.npz``: ``change(name, data, record)`` returns new (data, record) per member."""
    with zipfile.ZipFile(path) as archive:
        comment = archive.comment
        items = [(i.filename, archive.read(i), json.loads(i.comment)) for i in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for filename, data, record in items:
            data, record = change(filename.removesuffix(".npy"), data, record)
            if data is None:
                continue
            info = zipfile.ZipInfo(filename)
            info.comment = json.dumps(record).encode()
            archive.writestr(info, data)
        archive.comment = comment


FUNCTION_RUNS = [
    ("kaiming_normal_", ["-s", "64,784", "-s", "10,64", "-s", "3,5"], {"mode": "fan_out"}, 1),
    ("kaiming_uniform_", ["-s", "16,8,3,3", "-s", "16,1"], {"a": SQRT5}, 0),
    ("xavier_uniform_", ["-s", "7,5", "-s", "5,7"], {"gain": 2.0}, 2**40 + 3),
    ("normal_", ["-s", "5", "-s", "17", "-s", "3"], {"std": 0.5}, 7),  # serial path, odd: the cached sample
    ("uniform_", ["-s", "33,3"], {"a": -2}, -5),
    ("trunc_normal_", ["-s", "30,20", "-s", "4,4"], {"std": 0.02}, 3),
    ("orthogonal_", ["-s", "8,8", "-s", "4,6"], {"gain": 1.5}, 2),
    ("sparse_", ["-s", "20,10"], {"sparsity": 0.3}, 4),
    ("eye_", ["-s", "3,4"], {}, None),
    ("dirac_", ["-s", "4,2,3,3"], {"groups": 2}, None),
]


def _arguments(parameters: dict) -> list[str]:
    out = []
    for key, value in parameters.items():
        out += ["-p", f"{key}={'sqrt(5)' if value == SQRT5 else value}"]
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("function", "shapes", "parameters", "seed"), FUNCTION_RUNS, ids=[r[0] for r in FUNCTION_RUNS])
def test_a_function_run_records_its_calls_and_verifies(tmp_path, function, shapes, parameters, seed, dtype):
    seeded = [] if seed is None else ["--seed", str(seed)]
    _run(tmp_path, function, *shapes, *_arguments(parameters), *seeded, "--dtype", dtype, "-o", "w.npz")
    file_record, members = _records(tmp_path / "w.npz")
    dims = [[int(d) for d in shapes[i + 1].split(",")] for i in range(0, len(shapes), 2)]
    names = [f"arr_{i}" for i in range(len(dims))] if len(dims) > 1 else ["arr_0"]
    calls = [{"function": function, "shape": d, "arguments": parameters} for d in dims]
    assert file_record["stream"]["backend"] == "torch.nn.init"
    assert file_record["tensors"] == names
    for index, name in enumerate(names):
        assert members[name]["torch"] == {"seed": seed, "calls": calls, "index": index}
        assert members[name]["shape"] == dims[index] and members[name]["dtype"] == dtype
    assert _statuses(tmp_path / "w.npz") == dict.fromkeys(names, "identical")


def test_modules_record_their_specs_and_verify(tmp_path):
    specs = ["Linear(784,64)", "fc=Linear(64,10,bias=False)", "Conv2d(3,8,3,groups=1)", "Embedding(10,4,padding_idx=0)"]
    _run(tmp_path, "modules", *specs, "--seed", "5", "-o", "m.npz")
    _, members = _records(tmp_path / "m.npz")
    keys = ["0.weight", "0.bias", "fc.weight", "2.weight", "2.bias", "3.weight"]
    assert list(members) == keys
    shown = ["Linear(784, 64)", "fc=Linear(64, 10, bias=False)", "Conv2d(3, 8, 3, groups=1)",
             "Embedding(10, 4, padding_idx=0)"]  # fmt: skip
    for key in keys:
        assert members[key]["torch"] == {"seed": 5, "modules": shown, "parameter": key}
    assert _statuses(tmp_path / "m.npz") == dict.fromkeys(keys, "identical")


def test_npy_records_through_its_manifest_and_through_a_subprocess(tmp_path):
    result = run_subprocess(
        ["torch", "kaiming_uniform_", "-s", "64,32", "--seed", "9", "-o", "w.npy", "--manifest"], tmp_path
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "w.npy.json").read_text())
    assert document["output"] == "w.npy"
    assert document["tensors"][0]["torch"]["calls"] == [
        {"function": "kaiming_uniform_", "shape": [64, 32], "arguments": {}}
    ]
    result = run_subprocess(["verify", "w.npy"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.decode().split() == ["identical", "w.npy"]
    # without the manifest there is nothing to go by
    (tmp_path / "w.npy.json").unlink()
    assert _statuses(tmp_path / "w.npy") == {"w.npy": "unverifiable"}


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("function", ["kaiming_normal_", "trunc_normal_", "orthogonal_"])
def test_any_changed_element_is_different(tmp_path, where, function):
    """A lazily remade call (kaiming_normal_, over several chunks) and whole ones: one element
    changed anywhere, by one unit in the last place."""
    shape = "700,200" if function == "kaiming_normal_" else "40,30"
    _run(tmp_path, function, "-s", "3,3", "-s", shape, "--seed", "1", "-o", "w.npz")
    size = math.prod(int(d) for d in shape.split(","))
    flat = {"first": 0, "middle": size // 2 + 1, "last": size - 1}[where]

    def change(name, data, record):
        if name != "arr_1":
            return data, record
        array = np.load(io.BytesIO(data))
        array.reshape(-1)[flat] = np.nextafter(array.reshape(-1)[flat], np.float32(np.inf))
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue(), record

    _rewrite(tmp_path / "w.npz", change)
    assert _statuses(tmp_path / "w.npz") == {"arr_0": "identical", "arr_1": "different"}
    index = tuple(int(i) for i in np.unravel_index(flat, tuple(int(d) for d in shape.split(","))))
    assert _details(tmp_path / "w.npz")["arr_1"].startswith(f"first difference at index {index}:")


EDITS = {
    "seed": lambda t: {**t, "seed": t["seed"] + 1},
    "argument": lambda t: {**t, "calls": [{**c, "arguments": {"mode": "fan_in"}} for c in t["calls"]]},
    "earlier shape": lambda t: {**t, "calls": [{**t["calls"][0], "shape": [2, 4]}, *t["calls"][1:]]},
    "earlier call removed": lambda t: {**t, "calls": [t["calls"][0], t["calls"][0], *t["calls"][2:]][1:], "index": 0},
    "function": lambda t: {**t, "calls": [{**c, "function": "xavier_normal_", "arguments": {}} for c in t["calls"]]},
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_changed_record_is_different(tmp_path, edit):
    """The second tensor's record edited (the first's left alone): its numbers no longer come out."""
    _run(tmp_path, "kaiming_normal_", "-s", "3,4", "-s", "20,30", "-p", "mode=fan_out", "--seed", "1", "-o", "w.npz")

    def change(name, data, record):
        return data, ({**record, "torch": EDITS[edit](record["torch"])} if name == "arr_1" else record)

    _rewrite(tmp_path / "w.npz", change)
    assert _statuses(tmp_path / "w.npz") == {"arr_0": "identical", "arr_1": "different"}


def test_a_removed_tensor_and_a_swapped_index_are_different(tmp_path):
    _run(tmp_path, "xavier_normal_", "-s", "6,6", "-s", "6,6", "--seed", "1", "-o", "w.npz")
    (tmp_path / "swapped.npz").write_bytes((tmp_path / "w.npz").read_bytes())
    _rewrite(tmp_path / "w.npz", lambda name, data, record: (None if name == "arr_0" else data, record))
    assert _statuses(tmp_path / "w.npz") == {"arr_1": "identical", "arr_0 (missing)": "different"}

    def swap(name, data, record):  # same shapes: the index is what tells them apart
        torch = record["torch"]
        return data, {**record, "torch": {**torch, "index": 1 - torch["index"]}}

    _rewrite(tmp_path / "swapped.npz", swap)
    assert _statuses(tmp_path / "swapped.npz") == {"arr_0": "different", "arr_1": "different"}


MALFORMED = {
    "torch not an object": (lambda t: [1], "torch is [1], not an object"),
    "calls empty": (lambda t: {**t, "calls": []}, "calls is [], not a non-empty list"),
    "unknown function": (lambda t: {**t, "calls": [{**t["calls"][0], "function": "os.system"}]}, "not a torch.nn.init"),
    "generator argument": (
        lambda t: {**t, "calls": [{**t["calls"][0], "arguments": {"generator": 1}}]},
        "arguments 'generator', which torch's function has not",
    ),
    "index out of range": (lambda t: {**t, "index": 5}, "index is 5"),
    "index a bool": (lambda t: {**t, "index": True}, "index is True"),
    "seed too large": (lambda t: {**t, "seed": 2**64}, "out of range"),
    "shape not sizes": (lambda t: {**t, "calls": [{**t["calls"][0], "shape": [3, -1]}]}, "not a list of sizes"),
    "module spec code": (lambda t: {"seed": 1, "modules": ["__import__('os')"], "parameter": "x"}, "is not known"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_record_is_unverifiable_in_one_line(tmp_path, case):
    _run(tmp_path, "kaiming_normal_", "-s", "4,4", "--seed", "1", "-o", "w.npz")
    edit, expected = MALFORMED[case]

    def change(name, data, record):
        return data, {**record, "torch": edit(record["torch"])}

    _rewrite(tmp_path / "w.npz", change)
    _, verdicts = verify_file(tmp_path / "w.npz")
    assert [v.status for v in verdicts] == ["unverifiable"]
    assert expected in verdicts[0].detail and "\n" not in verdicts[0].detail, verdicts[0].detail


def test_a_record_of_too_many_calls_is_unverifiable(tmp_path):
    """More calls than a zip comment holds: through a ``.npy`` manifest (up to 64 MiB)."""
    _run(tmp_path, "kaiming_normal_", "-s", "4,4", "--seed", "1", "-o", "w.npy", "--manifest")
    document = json.loads((tmp_path / "w.npy.json").read_text())
    torch = document["tensors"][0]["torch"]
    torch["calls"] *= 5000
    (tmp_path / "w.npy.json").write_text(json.dumps(document))
    _, verdicts = verify_file(tmp_path / "w.npy")
    assert [v.status for v in verdicts] == ["unverifiable"]
    assert "5000 calls (at most 4096)" in verdicts[0].detail


@pytest.mark.parametrize("function", ["trunc_normal_", "kaiming_normal_", "orthogonal_", "modules"])
@pytest.mark.parametrize("claimed", [[2**12, 2**10 + 1], [2**30, 2**30]], ids=["just-over", "2**60"])
def test_a_run_larger_than_the_file_is_refused_before_any_work(tmp_path, function, claimed):
    """A record claiming an earlier call (or module) far larger than the file (32 elements: the
    limit is 16 x 32 + 2**22, written out here): refused at once, whether the call would be remade
    lazily or whole -- a 2**60-element claim must not make verify compute for ever.  Through a
    subprocess with a time limit."""
    if function == "modules":
        _run(tmp_path, "modules", "Linear(4,4,bias=False)", "Linear(4,4,bias=False)", "--seed", "1", "-o", "w.npz")
    else:
        _run(tmp_path, function, "-s", "4,4", "-s", "4,4", "--seed", "1", "-o", "w.npz")

    def change(name, data, record):
        torch = dict(record["torch"])
        if function == "modules":
            torch["modules"] = [f"Linear({claimed[0]},{claimed[1]},bias=False)", *torch["modules"][1:]]
        else:
            torch["calls"] = [{**torch["calls"][0], "shape": claimed}, *torch["calls"][1:]]
        return data, {**record, "torch": torch}

    _rewrite(tmp_path / "w.npz", change)
    result = run_subprocess(["verify", "--json", "w.npz"], tmp_path)
    assert result.exit_code == 1, result.stderr
    verdicts = json.loads(result.stdout)["tensors"]
    assert [v["status"] for v in verdicts] == ["unverifiable", "unverifiable"]
    total, limit = math.prod(claimed) + 16, 16 * 32 + 2**22
    assert total > limit
    message = f"its run makes {total} elements, more than the {limit} verify remakes for this file"
    assert all(message in v["detail"] for v in verdicts), verdicts


def test_fuzzed_records_give_a_verdict_never_an_error(tmp_path):
    """Random edits of any JSON value of a record (types, numbers, nesting): always a verdict with
    a one-line detail, and never ``identical`` after an edit that could change the tensor."""
    _run(tmp_path, "modules", "Linear(6,4)", "--seed", "2", "-o", "m.npz")
    _run(tmp_path, "normal_", "-s", "5", "-s", "20", "-p", "std=0.1", "--seed", "2", "-o", "n.npz")
    rng = random.Random(20261202)
    replacements = [None, True, -1, 0, 2**70, 1.5, "x", [], {}, [1, 2], {"a": 1}, "Linear(1,1)", float("nan")]
    for source in ("m.npz", "n.npz"):
        pristine = (tmp_path / source).read_bytes()
        for trial in range(60):
            target = tmp_path / f"fuzz_{trial}_{source}"
            target.write_bytes(pristine)
            changed = []

            def change(name, data, record, changed=changed):
                torch = json.loads(json.dumps(record["torch"]))
                paths = list(json_paths(torch))
                path = paths[rng.randrange(len(paths))]
                new = rng.choice(replacements)
                _set(torch, path, new)
                changed.append(torch != record["torch"] and _relevant(path, record["torch"]))
                return data, {**record, "torch": torch}

            _rewrite(target, change)
            _, verdicts = verify_file(target)
            for verdict, was_changed in zip(verdicts, changed, strict=False):
                assert verdict.status in ("identical", "different", "unverifiable")
                assert "\n" not in verdict.detail
                if verdict.status == "identical":
                    assert not was_changed, (source, trial, verdict)


def _relevant(path: tuple, torch: dict) -> bool:
    """Whether an edit at ``path`` can change the tensor: a later call of the run cannot."""
    return not (len(path) >= 2 and path[0] == "calls" and isinstance(path[1], int) and path[1] > torch.get("index", 0))


def _set(value, path, new):
    if not path:
        return
    for step in path[:-1]:
        value = value[step]
    value[path[-1]] = new


# ---- inspect: what each call predicts -------------------------------------------------------------


def _inspected(tmp_path: Path, *args: str) -> dict:
    _run(tmp_path, *args, "-o", "i.npz")
    result = run_in_process(["inspect", "--json", "i.npz"], tmp_path)
    assert result.exit_code == 0, result.stderr
    (tmp_path / "i.npz").unlink()
    return json.loads(result.stdout)["tensors"][0]


def _expected(function: str, shape: list[int], args: dict) -> tuple[float, float, float, float]:
    """(mean, std, min, max) of torch's documented distributions, written out here (scipy for
    the truncated normal)."""
    receptive = math.prod(shape[2:])
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    if function == "uniform_":
        a, b = args.get("a", 0.0), args.get("b", 1.0)
        return (a + b) / 2, (b - a) / math.sqrt(12), a, b
    if function == "normal_":
        return args.get("mean", 0.0), args.get("std", 1.0), -math.inf, math.inf
    if function == "trunc_normal_":
        from scipy.stats import truncnorm

        mean, std, a, b = (args.get(k, d) for k, d in (("mean", 0.0), ("std", 1.0), ("a", -2.0), ("b", 2.0)))
        dist = truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
        return float(dist.mean()), float(dist.std()), a, b
    if function.startswith("xavier"):
        std = args.get("gain", 1.0) * math.sqrt(2 / (fan_in + fan_out))
    else:
        slope = args.get("a", 0.0)
        gain = {"relu": math.sqrt(2), "leaky_relu": math.sqrt(2 / (1 + slope**2)), "tanh": 5 / 3}[
            args.get("nonlinearity", "leaky_relu")
        ]
        std = gain / math.sqrt(fan_out if args.get("mode") == "fan_out" else fan_in)
    if function.endswith("uniform_"):
        return 0.0, std, -math.sqrt(3) * std, math.sqrt(3) * std
    return 0.0, std, -math.inf, math.inf


PREDICTED = [
    ("uniform_", [200, 150], {"a": -0.5, "b": 2.0}),
    ("normal_", [200, 150], {"mean": 0.3, "std": 2.5}),
    ("trunc_normal_", [200, 150], {}),
    ("trunc_normal_", [200, 150], {"mean": 0.1, "std": 0.5, "a": -0.3, "b": 0.9}),
    ("trunc_normal_", [200, 150], {"std": 0.02}),
    ("xavier_uniform_", [64, 32, 3, 3], {"gain": 2.0}),
    ("xavier_normal_", [200, 150], {}),
    ("kaiming_uniform_", [200, 150], {"a": SQRT5}),
    ("kaiming_normal_", [64, 32, 3, 3], {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", [200, 150], {"nonlinearity": "tanh"}),
]


@pytest.mark.parametrize(("function", "shape", "args"), PREDICTED, ids=[f"{p[0]}{i}" for i, p in enumerate(PREDICTED)])
def test_inspect_predicts_each_call_and_finds_no_fault(tmp_path, function, shape, args):
    entry = _inspected(tmp_path, function, "-s", ",".join(map(str, shape)), *_arguments(args), "--seed", "3")
    mean, std, low, high = _expected(function, shape, args)
    predicted = entry["predicted"]
    assert predicted["mean"] == pytest.approx(mean, abs=1e-12)
    assert predicted["std"] == pytest.approx(std, rel=1e-9)
    for key, bound in (("min", low), ("max", high)):
        assert predicted[key] == (None if not math.isfinite(bound) else pytest.approx(bound, rel=1e-12, abs=1e-15))
    assert entry["flags"] == [], entry


def test_inspect_flags_a_torch_tensor_scaled_after_the_fact(tmp_path):
    _run(tmp_path, "kaiming_normal_", "-s", "200,150", "--seed", "3", "-o", "w.npz")

    def change(name, data, record):
        array = np.load(io.BytesIO(data)) * np.float32(1.5)
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue(), record

    _rewrite(tmp_path / "w.npz", change)
    result = run_in_process(["inspect", "--json", "w.npz"], tmp_path)
    assert "std" in json.loads(result.stdout)["tensors"][0]["flags"]
