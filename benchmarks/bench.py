"""Side-by-side benchmark: initcli, a direct NumPy program, Keras's numpy backend (and torch.nn.init
when installed), each run as a whole process, in one run on this machine.

For each case and size every contender runs ``--repeat`` times (default 3); the table shows the
median wall time, the ratios against the direct NumPy program and against Keras measured in the
same run, the peak resident memory (``wait4``), and whether the bytes equal Keras's.  Nothing here
asserts a time: the machine is shared and noisy; read the ratios.

    python benchmarks/bench.py            # full run, sizes up to 16384^2 (several minutes)
    python benchmarks/bench.py --quick    # sizes up to 2048^2, one repeat

Run it in an environment with the test extras (``pip install '.[test]'``: Keras with its numpy
backend).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
INITCLI = [PY, "-m", "initcli"]

NUMPY_PROGRAMS = {
    # the direct program a NumPy user writes for the same bits: chunked draws, scale, (filter), cast, save
    "glorot_uniform": """
import numpy as np, sys, math
n = int(sys.argv[1]); out = sys.argv[2]
limit = math.sqrt(3.0 * (1.0 / max(1.0, (n + n) / 2.0)))
rng = np.random.default_rng(np.array([1, 0], dtype=np.uint32))
a = np.empty(n * n, dtype=np.float32); chunk = 1 << 22
for at in range(0, n * n, chunk):
    r = rng.random(min(chunk, n * n - at)); r *= 2 * limit; r -= limit; a[at:at + r.size] = r
np.save(out, a.reshape(n, n))
""",
    "glorot_normal": """
import numpy as np, sys, math
n = int(sys.argv[1]); out = sys.argv[2]
sd = math.sqrt(1.0 / max(1.0, (n + n) / 2.0)) / 0.87962566103423978
rng = np.random.default_rng(np.array([1, 0], dtype=np.uint32))
a = np.empty(n * n, dtype=np.float32); at = 0; chunk = 1 << 22
while at < n * n:
    z = rng.standard_normal(chunk); z *= sd; z = z[(z >= -2 * sd) & (z <= 2 * sd)]
    k = min(z.size, n * n - at); a[at:at + k] = z[:k]; at += k
np.save(out, a.reshape(n, n))
""",
    "orthogonal": """
import numpy as np, sys, time
n = int(sys.argv[1]); out = sys.argv[2]
a = np.random.default_rng(np.array([1, 0], dtype=np.uint32)).normal(size=(n, n)).astype(np.float32)
t = time.perf_counter(); q, r = np.linalg.qr(a); qr_seconds = time.perf_counter() - t
q *= np.sign(np.diag(r))
np.save(out, q)
print(qr_seconds, file=sys.stderr)
""",
}

KERAS_PROGRAM = """
import os, sys
os.environ["KERAS_BACKEND"] = "numpy"
import keras, numpy as np
name, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cls = {"glorot_uniform": keras.initializers.GlorotUniform, "glorot_normal": keras.initializers.GlorotNormal,
       "orthogonal": keras.initializers.Orthogonal}[name]
np.save(out, np.asarray(cls(seed=1)((n, n))))
"""

TORCH_PROGRAM = """
import sys, torch, numpy as np
name, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(1)
t = torch.empty(n, n)
{"glorot_uniform": torch.nn.init.xavier_uniform_, "glorot_normal": torch.nn.init.trunc_normal_,
 "orthogonal": torch.nn.init.orthogonal_}[name](t)
np.save(out, t.numpy())
"""


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak resident MiB and stderr of one whole-process run.

    Dirty pages left by the previous run (programs that do not fsync leave their output to the
    kernel) are flushed first, outside the timing, so every run starts from the same state."""
    os.sync()
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    stderr = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[:4]} failed: {stderr.decode()[-500:]}")
    return seconds, usage.ru_maxrss / 1024, stderr.decode()


def has(module: str, env: dict[str, str] | None = None) -> bool:
    return subprocess.run([PY, "-c", f"import {module}"], capture_output=True, env=env).returncode == 0


def median_run(command: list[str], repeat: int, env: dict[str, str] | None = None) -> dict[str, float | str]:
    results = [run(command, env) for _ in range(repeat)]
    return {
        "seconds": statistics.median(r[0] for r in results),
        "peak_mib": max(r[1] for r in results),
        "stderr": results[-1][2],
    }


def digest(path: Path) -> str:
    """SHA-256 of a file, read in blocks: this process must stay small, because a child's peak
    resident size as the kernel reports it starts from its parent's size at fork."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            hasher.update(block)
    return hasher.hexdigest()


def same_bytes(a: Path, b: Path) -> bool:
    return a.exists() and b.exists() and digest(a) == digest(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 2048^2, one repeat")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", dest="json_out", help="also write the results as JSON here")
    parser.add_argument("--only", nargs="*", metavar="CASE:SIZE", help="run only these rows, e.g. glorot_normal:16384")
    parser.add_argument("--no-extras", action="store_true", help="skip the start-up, batch and memory rows")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    sizes = {
        "glorot_uniform": [1024, 2048] if args.quick else [1024, 4096, 8192, 16384],
        "glorot_normal": [1024, 2048] if args.quick else [1024, 4096, 8192, 16384],
        "orthogonal": [512, 1024] if args.quick else [1024, 2048, 4096],
    }
    if args.only:
        wanted = [item.split(":") for item in args.only]
        sizes = {name: [int(n) for case, n in wanted if case == name] for name in sizes}
    keras_env = dict(os.environ, KERAS_BACKEND="numpy")
    with_keras, with_torch = has("keras", keras_env), has("torch")
    work = Path(tempfile.mkdtemp(prefix="initcli-bench-"))
    rows = []
    try:
        for name, ns in sizes.items():
            for n in ns:
                outs = {tool: work / f"{tool}.npy" for tool in ("initcli", "numpy", "keras", "torch")}
                row: dict[str, object] = {"case": name, "size": f"{n}x{n}", "MiB": n * n * 4 / 2**20}
                row["initcli"] = median_run(
                    [*INITCLI, name, "--shape", f"{n},{n}", "--seed", "1", "-o", str(outs["initcli"]), "-q", "--force"],
                    repeat,
                )
                row["numpy"] = median_run([PY, "-c", NUMPY_PROGRAMS[name], str(n), str(outs["numpy"])], repeat)
                if name == "orthogonal":
                    row["qr_seconds"] = float(row["numpy"]["stderr"].strip() or "nan")  # type: ignore[index]
                if with_keras:
                    row["keras"] = median_run(
                        [PY, "-c", KERAS_PROGRAM, name, str(n), str(outs["keras"])], repeat, keras_env
                    )
                    row["same_as_keras"] = same_bytes(outs["initcli"], outs["keras"])
                if with_torch:
                    row["torch"] = median_run([PY, "-c", TORCH_PROGRAM, name, str(n), str(outs["torch"])], repeat)
                row["same_as_numpy_program"] = same_bytes(outs["initcli"], outs["numpy"])
                rows.append(row)
                print(format_row(row), flush=True, file=sys.stderr)
                for path in outs.values():
                    path.unlink(missing_ok=True)
        extras = {} if args.no_extras else other_measurements(work, repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(render(rows, extras, with_keras, with_torch))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"rows": rows, "extras": extras}, indent=1, default=str))


def other_measurements(work: Path, repeat: int) -> dict[str, float]:
    """Start-up, small invocations, batch of 1,000 tensors, peak memory for 1 GiB to .weights.h5."""
    out: dict[str, float] = {}
    times = max(5, repeat * 3)
    out["python -c pass"] = median_run([PY, "-c", "pass"], times)["seconds"]  # type: ignore[assignment]
    out["python -c 'import numpy'"] = median_run([PY, "-c", "import numpy"], times)["seconds"]  # type: ignore[assignment]
    out["initcli --version"] = median_run([*INITCLI, "--version"], times)["seconds"]  # type: ignore[assignment]
    small = [*INITCLI, "glorot_uniform", "--shape", "64,64", "--seed", "1", "-o", str(work / "s.npy"), "-q", "--force"]
    out["initcli 64x64 to .npy"] = median_run(small, times)["seconds"]  # type: ignore[assignment]
    config = work / "k1000.json"
    layers = [
        {"name": f"l{i}", "class": "Dense", "weights": {"kernel": {"shape": [64, 64], "initializer": "glorot_uniform"}}}
        for i in range(1000)
    ]
    config.write_text(json.dumps({"layers": layers}))
    batch = [*INITCLI, "batch", str(config), "--seed", "1", "-o", str(work / "k.weights.h5"), "-q", "--force"]
    out["initcli batch: 1,000 tensors of 64x64 to .weights.h5"] = median_run(batch, repeat)["seconds"]  # type: ignore[assignment]
    big = [*INITCLI, "glorot_normal", "--shape", "16384,16384", "--seed", "1", "-q", "--force"]
    h5 = median_run([*big, "-o", str(work / "big.weights.h5"), "--path", "layers/dense/vars/0"], 1)
    out["peak MiB, 1 GiB glorot_normal to .weights.h5"] = h5["peak_mib"]  # type: ignore[assignment]
    out["seconds, 1 GiB glorot_normal to .weights.h5"] = h5["seconds"]  # type: ignore[assignment]
    (work / "big.weights.h5").unlink(missing_ok=True)
    return out


def format_row(row: dict[str, object]) -> str:
    parts = [f"{row['case']} {row['size']}"]
    for tool in ("initcli", "numpy", "keras", "torch"):
        if tool in row:
            result = row[tool]
            parts.append(f"{tool} {result['seconds']:.2f}s {result['peak_mib']:.0f}MiB")  # type: ignore[index]
    return "  ".join(parts)


def render(rows: list[dict[str, object]], extras: dict[str, float], with_keras: bool, with_torch: bool) -> str:
    head = ["case", "size", "initcli s", "NumPy program s", "initcli / NumPy"]
    if with_keras:
        head += ["Keras s", "Keras / initcli", "same bytes as Keras"]
    if with_torch:
        head += ["torch s"]
    head += ["peak MiB initcli", "peak MiB NumPy"] + (["peak MiB Keras"] if with_keras else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        mine, numpy_ = row["initcli"], row["numpy"]  # type: ignore[index]
        cells = [
            str(row["case"]),
            str(row["size"]),
            f"{mine['seconds']:.2f}",
            f"{numpy_['seconds']:.2f}",
            f"{mine['seconds'] / numpy_['seconds']:.2f}",
        ]
        if with_keras:
            theirs = row["keras"]  # type: ignore[index]
            cells += [
                f"{theirs['seconds']:.2f}",
                f"{theirs['seconds'] / mine['seconds']:.1f}",
                "yes" if row["same_as_keras"] else "NO",
            ]
        if with_torch:
            cells += [f"{row['torch']['seconds']:.2f}"]  # type: ignore[index]
        cells += [f"{mine['peak_mib']:.0f}", f"{numpy_['peak_mib']:.0f}"]
        if with_keras:
            cells += [f"{row['keras']['peak_mib']:.0f}"]  # type: ignore[index]
        lines.append("| " + " | ".join(cells) + " |")
    ortho = [r for r in rows if r["case"] == "orthogonal" and "qr_seconds" in r]
    lines.append("")
    for row in ortho:
        ratio = row["initcli"]["seconds"] / row["qr_seconds"]  # type: ignore[index, operator]
        qr = row["qr_seconds"]
        lines.append(f"- orthogonal {row['size']}: np.linalg.qr alone {qr:.2f} s; initcli / np.linalg.qr = {ratio:.2f}")
    for key, value in extras.items():
        unit = "" if "MiB" in key else " s"
        lines.append(f"- {key}: {value:.3f}{unit}" if unit else f"- {key}: {value:.0f}")
    if extras:
        version, numpy_start = extras["initcli --version"], extras["python -c 'import numpy'"]
        lines.append(f"- initcli --version / python -c 'import numpy' = {version / numpy_start:.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
