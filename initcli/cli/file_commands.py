"""``initcli verify FILE`` and ``initcli inspect FILE``."""

from __future__ import annotations

import sys
from typing import Any

import click

from .jsonout import write_json
from .types import ByteSizeType

_FILE = click.argument("file", type=click.Path(dir_okay=False))
_MANIFEST = click.option(
    "--manifest", metavar="PATH", help="Provenance sidecar of a .npy (default: FILE.json when it exists)."
)
_JSON = click.option(
    "--json", "as_json", is_flag=True, help="Print the report as JSON on stdout (strict JSON: non-finite as null)."
)
_MAX_BYTES = click.option(
    "--max-bytes",
    type=ByteSizeType(),
    metavar="SIZE",
    help="Refuse, before reading any data, a file whose tensors hold more than SIZE bytes (e.g. 500M, 2GiB).",
)


@click.command("verify")
@_FILE
@_MANIFEST
@_JSON
@_MAX_BYTES
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; the exit code says it all.")
def verify_command(file: str, manifest: str | None, as_json: bool, max_bytes: int | None, quiet: bool) -> None:
    """Regenerate every tensor of FILE from its recorded provenance and compare, byte for byte.

    Works on .npy (with its --manifest sidecar), .npz, .weights.h5, legacy .h5
    and .keras files written by initcli. Exit code 0 when every tensor is
    identical, 1 when any differs or cannot be checked.

    \b
    Example:
      initcli batch sample_configs/mnist_mlp.yaml --seed 1 -o mlp.weights.h5
      initcli verify mlp.weights.h5
    """
    from ..verify import verify_file

    kind, verdicts = verify_file(file, manifest, max_bytes=max_bytes)
    counts = {
        status: sum(v.status == status for v in verdicts) for status in ("identical", "different", "unverifiable")
    }
    if as_json:
        write_json({"file": file, "kind": kind, "counts": counts, "tensors": [v.to_json() for v in verdicts]})
    elif not quiet:
        width = max((len(v.name) for v in verdicts), default=0)
        for verdict in verdicts:
            label = verdict.status if verdict.status == "identical" else verdict.status.upper()
            path = f"  {verdict.path}" if verdict.path and verdict.path != verdict.name else ""
            detail = f": {verdict.detail}" if verdict.detail else ""
            click.echo(f"{label:<12} {verdict.name:<{width}}{path}{detail}")
        summary = ", ".join(f"{n} {status}" for status, n in counts.items())
        click.echo(f"{file}: {summary}", err=True)
    if not verdicts or counts["identical"] != len(verdicts):
        sys.exit(1)


@click.command("inspect")
@_FILE
@_MANIFEST
@_JSON
@_MAX_BYTES
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 if any tensor is flagged: statistics that disagree with its initializer, NaN or infinities.",
)
def inspect_command(file: str, manifest: str | None, as_json: bool, max_bytes: int | None, strict: bool) -> None:
    """Show the tensors of FILE with their statistics and what their initializers predict.

    Reads .npy, .npz, .weights.h5, legacy .h5 and .keras, whoever wrote them;
    for files initcli wrote it also shows the recorded initializer, its
    predicted mean, std, range and fraction beyond 2 std, and flags tensors
    whose statistics disagree beyond what their size allows. In any file, NaN
    and infinities are counted and flagged (a NaN is never a valid initial
    weight); the statistics are those of the finite values.

    \b
    Example:
      initcli inspect mlp.weights.h5
      initcli inspect w.npy --json | python -m json.tool
    """
    from ..inspection import inspect_file

    report = inspect_file(file, manifest, max_bytes=max_bytes)
    flagged = [t for t in report["tensors"] if t.get("flags")]
    if as_json:
        write_json(report)
    else:
        _print_report(report)
    if strict and flagged:
        sys.exit(1)


def _print_report(report: dict[str, Any]) -> None:
    from ..inspection import non_finite_text, sparkline
    from ..memory import format_bytes

    tensors = report["tensors"]
    total = sum(t["bytes"] for t in tensors)
    origin = ""
    if report.get("provenance"):
        made = report["provenance"]
        inputs = made.get("inputs", {})
        seed = inputs.get("master_seed", inputs.get("seed"))
        backend = made.get("stream", {}).get("backend", "numpy")
        origin = (
            f"; written by initcli {made.get('initcli')} ({made.get('command')}"
            + (f", seed {seed}" if seed is not None else "")
            + (f", {backend} stream" if backend != "numpy" else "")
            + ")"
        )
    click.echo(f"{report['file']}: {report['kind']}, {len(tensors)} tensors, {format_bytes(total)}{origin}")
    for t in tensors:
        shape = "x".join(map(str, t["shape"])) or "()"
        head = f"{t['name']}  {shape}  {t['dtype']}  {format_bytes(t['bytes'])}"
        if t.get("path") and t["path"] != t["name"]:
            head += f"  {t['path']}"
        if t.get("initializer"):
            config = t["initializer"]["config"]
            seed = f" seed {config['seed']}" if config.get("seed") is not None else ""
            head += f"  {t['initializer']['class_name']}{seed}"
        if t.get("alias_of"):
            head += f"  (same as {t['alias_of']})"
        if t.get("provenance_error"):
            head += f"  (recorded initializer unusable: {t['provenance_error']})"
        click.echo(head)
        stats = t["stats"]
        if not stats.get("n"):
            click.echo("    (empty)")
            continue
        predicted = t.get("predicted") or {}
        if stats.get("finite", stats["n"]):
            parts = [
                _stat(stats, predicted, "mean", "mean"),
                _stat(stats, predicted, "std", "std"),
                _stat(stats, predicted, "min", "min"),
                _stat(stats, predicted, "max", "max"),
                _stat(stats, predicted, "beyond_2std", ">2σ", percent=True),
            ]
        else:
            parts = ["no finite values:"]
        if non_finite_text(stats):
            parts.append(
                non_finite_text(stats) + (f" (statistics of the {stats['finite']} finite values)" if parts[1:] else "")
            )
        verdict = ""
        if t.get("flags"):
            verdict = f"  {'DISAGREES' if 'predicted' in t else 'FLAGGED'}: {', '.join(t['flags'])}"
        elif "flags" in t:
            verdict = "  ok"
        click.echo("    " + "  ".join(parts) + verdict)
        if stats.get("finite", stats["n"]) and stats["max"] > stats["min"]:
            click.echo(f"    {stats['min']:<10.4g}{sparkline(stats['histogram'])}{stats['max']:>10.4g}")


def _stat(stats: dict[str, Any], predicted: dict[str, Any], key: str, label: str, percent: bool = False) -> str:
    """``label value (predicted)``."""
    text = f"{stats[key]:.3%}" if percent else f"{stats[key]:.4g}"
    if predicted.get(key) is not None:
        text += f" ({predicted[key]:.3%})" if percent else f" ({predicted[key]:.4g})"
    return f"{label} {text}"
