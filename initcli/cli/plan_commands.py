"""``initcli batch CONFIG`` and ``initcli model MODEL``: a whole model's weights in one file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import InvalidArgument
from .types import OUTPUT_PATH, ByteSizeType, SeedType, backend_option_kwargs, check_max_bytes

_COMMON = [
    click.option(
        "-o",
        "--output",
        type=OUTPUT_PATH,
        metavar="PATH",
        help="Output: .weights.h5 (Keras 3), .h5 (legacy), .keras, .npz, .weights.json (sharded), .safetensors.",
    ),
    click.option(
        "--layout",
        type=click.Choice(["keras3", "legacy", "keras", "npz", "sharded", "safetensors"]),
        help="File layout, overriding the suffix.",
    ),
    click.option(
        "--max-shard-size",
        type=ByteSizeType(),
        metavar="SIZE",
        help="Shards of at most SIZE: with -o NAME.weights.json (Keras's max_shard_size=5 is 5GiB, the default) "
        "or -o NAME.safetensors (shards and NAME.safetensors.index.json).",
    ),
    click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=1,
        metavar="N",
        help="Make the shards of a sharded output on N processes (byte for byte the same files).",
    ),
    click.option(
        "--resume",
        is_flag=True,
        help="Keep the shards made so far between runs: a rerun of the same job after a crash makes only the rest.",
    ),
    click.option(
        "--dask",
        metavar="ADDRESS",
        help="Make the shards of a sharded output on the Dask cluster at ADDRESS (its workers must see the "
        "output directory); needs initcli[dask].",
    ),
    click.option(
        "--seed", type=SeedType(), help="Master seed: each weight's seed derives from it and the weight's path."
    ),
    click.option("--backend", **backend_option_kwargs()),
    click.option("-f", "--force", is_flag=True, help="Replace an existing output file."),
    click.option("--dry-run", is_flag=True, help="Print the plan (paths, shapes, initializers, bytes); write nothing."),
    click.option("--json", "as_json", is_flag=True, help="With --dry-run: print the plan as JSON on stdout."),
    click.option(
        "--max-bytes", type=ByteSizeType(), metavar="SIZE", help="Refuse to write more than SIZE bytes of weights."
    ),
    click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr."),
]


def _common(function: Any) -> Any:
    for option in reversed(_COMMON):
        function = option(function)
    return function


def run_plan(
    plan: Any,
    config_seed: int | None,
    inputs: dict[str, Any],
    *,
    output: str | None,
    layout: str | None,
    seed: int | None,
    backend: str,
    force: bool,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
    max_bytes: int | None,
    max_shard_size: int | None = None,
    workers: int = 1,
    dask: str | None = None,
    resume: bool = False,
) -> None:
    """Check the output, settle the master seed, then print the plan or sample and write it.

    ``inputs`` describe the run in the file's provenance; a value that is a
    :class:`Digest` is computed only when a file is written (a dry run never
    reads a whole ``.keras`` archive to hash it).
    """
    import random

    from ..api import prepare_plan, write_plan
    from ..memory import format_bytes
    from ..model.plan import describe
    from ..provenance import file_record
    from ..writers.atomic import check_disk, check_target
    from ..writers.keras_h5 import layout_for_path
    from .progress import progress

    if as_json and not dry_run:
        raise click.UsageError("--json prints the plan; use it with --dry-run")
    if dry_run:
        master = seed if seed is not None else config_seed
        records = [describe(w, master) for w in plan.weights()]
        total = sum(r["bytes"] for r in records)
        if as_json:
            document = {"model": plan.name, "master_seed": master, "backend": backend, "weights": records}
            from .jsonout import write_json

            write_json({**document, "total_bytes": total})
            return
        rows = [_plan_row(record) for record in records]
        widths = [max(len(row[i]) for row in rows) for i in range(4)] if rows else []
        for row in rows:
            click.echo(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() + "  " + row[4]
            )
        click.echo(f"total: {len(records)} weights, {format_bytes(total)}, {backend} stream")
        return
    if output is None:
        raise click.UsageError(
            "give -o FILE (.weights.h5, .h5, .keras, .npz, .weights.json or .safetensors), or --dry-run"
        )
    chosen = layout_for_path(output, layout)
    if max_shard_size is not None and chosen not in ("sharded", "safetensors"):
        raise click.UsageError(
            f"--max-shard-size writes a sharded set; name the output NAME.weights.json or NAME.safetensors, "
            f"not {output}"
        )
    sharded_output = chosen == "sharded" or (chosen == "safetensors" and max_shard_size is not None)
    if dask is not None and workers > 1:
        raise click.UsageError("--dask and --workers both choose where the shards are made; give one")
    if dask is not None and not sharded_output:
        raise click.UsageError(
            "--dask splits the work by shard; write a sharded set (-o NAME.weights.json, or "
            "-o NAME.safetensors with --max-shard-size)"
        )
    if resume and not sharded_output:
        raise click.UsageError(
            "--resume keeps finished shards; write a sharded set (-o NAME.weights.json, or -o NAME.safetensors "
            "with --max-shard-size)"
        )
    if workers > 1 and not sharded_output:
        raise click.UsageError(
            f"--workers {workers} splits the work by shard; write a sharded set (-o NAME.weights.json, or "
            "-o NAME.safetensors with --max-shard-size)"
        )
    if max_shard_size is not None and max_shard_size <= 0:
        raise click.UsageError(f"--max-shard-size {max_shard_size} is not a size; give a positive size such as 5GiB")
    if chosen == "keras" and plan.keras_config is None:
        raise InvalidArgument("a .keras archive needs a Keras model config; use 'initcli model', or .weights.h5")
    check_target(output, force=force)
    master = seed if seed is not None else config_seed
    if master is None:
        master = random.randint(1, 10**9)
        if not quiet:
            click.echo(f"seed: {master}", err=True)
    prepared = prepare_plan(plan, master, backend)
    total = sum(d.nbytes for d in prepared.values())
    check_max_bytes(total, max_bytes)
    check_disk(output, total)
    settled = {key: value.hexdigest() if isinstance(value, Digest) else value for key, value in inputs.items()}
    record = file_record(settled.pop("command"), {**settled, "master_seed": master, "layout": chosen}, backend)
    remote = None
    if dask is not None:
        from ..distributed import dask_remote

        remote = dask_remote(dask, plan, master, backend)
    with progress(total, f"writing {output}", quiet=quiet) as advance:
        written = write_plan(
            output,
            plan,
            prepared,
            chosen,
            force=force,
            file_record=record,
            progress=advance,
            max_shard_bytes=max_shard_size,
            workers=workers,
            remote=remote,
            resume=resume,
        )
    if not quiet:
        files = f" and {len(written) - 1} shards" if len(written) > 1 else ""
        named = written[-1] if len(written) > 1 and written[-1] != Path(output).name else output
        click.echo(
            f"wrote {named}{files}: {len(prepared)} weights, {format_bytes(total)} ({chosen}), seed {master}"
            + ("" if backend == "numpy" else f" ({backend} stream)"),
            err=True,
        )


class Digest:
    """The SHA-256 of a file, computed when (and only if) it is needed."""

    def __init__(self, path: str) -> None:
        self.path = path

    def hexdigest(self) -> str:
        from ..provenance import digest

        return digest(self.path)


def _plan_row(record: dict[str, Any]) -> list[str]:
    """One --dry-run line: path, h5 dataset, shape, dtype, then initializer details."""
    from ..memory import format_bytes

    shape = "x".join(map(str, record["shape"])) or "()"
    details = [record["initializer"]["class_name"]]
    if "fans" in record:
        details.append(f"fans={tuple(record['fans'])}")
    details += [f"{k}={record[k]:.4g}" for k in ("std", "limit") if record.get(k) is not None]
    if record.get("seed_source"):
        seed = record["seed"] if record["seed"] is not None else "?"
        details.append(f"seed={seed} ({record['seed_source']})")
    details.append(format_bytes(record["bytes"]))
    return [record["path"], record["h5"], shape, record["dtype"], " ".join(details)]


@click.command("batch")
@click.argument("config", type=click.Path(dir_okay=False))
@_common
def batch_command(config: str, **options: Any) -> None:
    """Sample every weight listed in a batch config (JSON, TOML or YAML) into one file.

    The config lists layers (name, Keras class) and their weights (shape,
    initializer, optional seed and dtype). A layer class Keras has (Dense,
    Conv2D, LSTM, MultiHeadAttention, ...) fixes the order of its weights, so
    the file loads with model.load_weights(). Sample configs ship with
    initcli: 'initcli examples' lists them, 'initcli examples NAME -o FILE'
    copies one out.

    \b
    Example:
      initcli examples mnist_mlp.yaml -o mlp.yaml
      initcli batch mlp.yaml --seed 1 -o mlp.weights.h5
    """
    from ..model.batch_config import load_batch_config

    plan, config_seed = load_batch_config(config)
    inputs = {"command": "batch", "config": Path(config).name, "config_sha256": Digest(config)}
    run_plan(plan, config_seed, inputs, **options)


@click.command("model")
@click.argument("model", type=click.Path(dir_okay=False))
@_common
def model_command(model: str, **options: Any) -> None:
    """Initialize every weight of a Keras model config, as Keras would, into one file.

    MODEL is the JSON of model.to_json() (Keras 3, 2 or 1), a tfjs model.json,
    a .keras archive (only its config.json is read) or an .h5 saved by
    model.save(). Shapes come from each layer's config; initializers
    from its *_initializer fields. Seeded initializers give exactly Keras's
    numbers; unseeded ones get seeds derived from --seed and the weight's path.
    A .keras output is a complete archive that keras.models.load_model() reads.

    \b
    Example:
      initcli model model.json --seed 1 -o model.weights.h5
      initcli model old.keras --seed 1 -o fresh.keras
    """
    from ..model.keras_config import load_model_config, plan_from_keras_config

    plan = plan_from_keras_config(load_model_config(model))
    inputs = {"command": "model", "model": Path(model).name, "model_sha256": Digest(model)}
    run_plan(plan, None, inputs, **options)
