"""What ``initcli NAME ...`` does once its options are parsed: sample, then write."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import InvalidArgument
from ..shapes import format_shape


def run_sample(
    cls: type,
    init_params: dict[str, Any],
    *,
    shape: tuple[tuple[int, ...], ...],
    name: tuple[str, ...],
    dtype: str,
    backend: str,
    output: str | None,
    format: str | None,
    h5_path: str | None,
    force: bool,
    append: bool,
    compress: bool,
    as_json: bool,
    quiet: bool,
    manifest: str | None,
    max_bytes: int | None,
) -> None:
    """Build the initializer, check the output, sample every tensor, write them."""
    from ..api import Tensor, plan_many
    from ..provenance import Draw, Drawn
    from ..writers import format_for_path
    from ..writers.atomic import check_disk, check_target
    from .progress import progress
    from .types import check_max_bytes

    initializer = cls(**init_params)
    if name and len(name) != len(shape):
        raise InvalidArgument(f"{len(name)} --name for {len(shape)} --shape; give one name per shape")
    shapes, names, resolved = plan_many(initializer, shape, list(name) if name else None, dtype)
    source = None if not initializer.is_random else "given" if init_params.get("seed") is not None else "drawn"
    drawn = [Drawn([Draw(initializer, s, i, source)], s, resolved, backend) for i, s in enumerate(shapes)]
    for tensor in drawn:
        tensor.check(in_memory=as_json)
    if output is None and not as_json:
        raise click.UsageError("nothing to write: give -o FILE (.npy or .npz, - for stdout) or --json")
    if output == "-" and as_json:
        raise click.UsageError("-o - and --json both write to stdout; choose one")
    fmt = format_for_path(output, format) if output is not None else None
    if fmt == "npy" and len(shape) > 1:
        raise InvalidArgument(f"a .npy file holds one tensor, but {len(shape)} shapes were given; write .npz")
    if fmt != "npz" and (append or compress):
        raise InvalidArgument(f"--{'append' if append else 'compress'} works with .npz output only")
    if fmt == "hdf5":
        if output == "-":
            raise InvalidArgument("HDF5 output cannot go to stdout; give -o FILE.h5")
        if h5_path is None:
            raise InvalidArgument("HDF5 output needs --path DATASET, e.g. --path layers/dense/vars/0")
        if len(shape) > 1 or name:
            raise InvalidArgument("HDF5 output writes one tensor at --path; give one --shape and no --name")
        from ..writers.hdf5 import check_dataset_path

        check_dataset_path(h5_path)
    elif h5_path is not None:
        raise InvalidArgument("--path names a dataset in an HDF5 file; use it with .h5 or .weights.h5 output")
    if output == "-" and append:
        raise InvalidArgument("--append adds to a file; it cannot be used with -o -")
    if fmt == "npy" and name:
        raise InvalidArgument(
            "--name names tensors inside a .npz or .safetensors; a .npy file holds one unnamed tensor"
        )
    if fmt == "safetensors":
        from ..writers.safetensors import header

        header(dict(zip(names, drawn, strict=True)), None)  # names and dtypes refused before any work
    if output == "-" and sys.stdout.isatty():
        raise click.UsageError(f"refusing to write binary .{fmt} data to a terminal; redirect stdout or use -o FILE")

    if fmt in ("npy", "npz"):
        from ..writers.npy import check_rank

        for tensor_name, tensor in zip(names, drawn, strict=True):
            check_rank(tuple(tensor.shape), tensor_name if fmt == "npz" else None)
    total = sum(t.nbytes for t in drawn)
    check_max_bytes(total, max_bytes)
    if output not in (None, "-"):
        check_target(output, force=force, exists_ok=append or fmt == "hdf5")
        check_disk(output, total)
    manifest = settle_manifest(manifest, output, force=force, as_json=as_json)
    if fmt == "npz":
        from ..writers.npy import check_member_name

        for tensor_name in name:
            check_member_name(tensor_name)
    if not initializer.streams and total >= 64 * 2**20 and not quiet:
        from ..memory import format_bytes

        click.echo(f"note: {cls.__name__} builds the whole {format_bytes(total)} in memory before writing it", err=True)
    if getattr(initializer, "_init_seed", 0) is None and not quiet:
        click.echo(f"seed: {initializer.seed}", err=True)

    named = dict(zip(names, drawn, strict=True))
    label = h5_path or (Path(output).name if fmt == "npy" and output not in (None, "-") else None)
    notes = tensor_notes(cls, init_params, named, label)
    facts, committed = manifest_hooks(manifest, output, force)

    with progress(total if output not in (None, "-") else 0, f"writing {output}", quiet=quiet) as advance:
        _write(
            fmt,
            output,
            named,
            notes,
            force=force,
            append=append,
            compress=compress,
            h5_path=h5_path,
            advance=advance,
            committed=committed,
        )
    if manifest is not None:
        output_name = Path(output).name if output not in (None, "-") else None
        write_manifest(manifest, notes, force=force, output=output_name, facts=facts)
    if as_json:
        write_json_tensors([Tensor(n, t.array(), initializer, i, backend) for i, (n, t) in enumerate(named.items())])
    if not quiet and output not in (None, "-"):
        described = ", ".join(
            f"{n} {format_shape(t.shape)}" if fmt in ("npz", "safetensors") else format_shape(t.shape)
            for n, t in named.items()
        )
        if fmt == "hdf5":
            described = f"{h5_path} {described}"
        seed = f" seed {initializer.seed}" if cls.is_random else ""
        if cls.is_random and backend != "numpy":
            seed += f" ({backend} stream)"
        click.echo(f"wrote {output}: {described} {dtype}{seed}", err=True)


def settle_manifest(manifest: str | None, output: str | None, *, force: bool, as_json: bool = False) -> str | None:
    """The sidecar manifest's path for ``--manifest`` (``""``: ``OUTPUT.json``; ``None``: none),
    checked before any work: not the output itself, not standard output when data goes there,
    and an existing file only with ``force``."""
    from ..writers.atomic import check_target, same_file

    if manifest == "":
        if output in (None, "-"):
            raise InvalidArgument("--manifest needs a file name when the output is not a file: --manifest=PATH")
        manifest = f"{output}.json"
    if manifest is not None:
        if output not in (None, "-") and same_file(manifest, output):
            raise InvalidArgument(
                f"--manifest {manifest!r} is the output file {output!r} itself; give the manifest another name"
            )
        if (output == "-" or as_json) and same_file(manifest, "/proc/self/fd/1"):
            raise InvalidArgument(
                f"--manifest {manifest!r} is standard output, where the {'tensor' if output == '-' else 'JSON'} "
                "goes; give the manifest a file name"
            )
        check_target(manifest, force=force)
    return manifest


def manifest_hooks(manifest: str | None, output: str | None, force: bool) -> tuple[dict[str, Any], Any]:
    """The facts the manifest records and the ``committed`` hook of the output's writer that
    gathers them: under the directory lock, right after the output's commit, its size and
    SHA-256 for the new manifest, or (no manifest) the sidecar that described the file this
    run replaced removed."""
    facts: dict[str, Any] = {}

    def committed(path: Path, replaced: bool) -> None:
        if manifest is not None:
            facts.update(file_facts(path))
        elif force and replaced and output is not None:
            remove_stale_manifest(Path(f"{output}.json"), Path(output).name)

    return facts, committed


def _write(
    fmt: str | None,
    output: str | None,
    named: dict[str, Any],
    notes: dict[str, str],
    *,
    force: bool,
    append: bool,
    compress: bool,
    h5_path: str | None,
    advance: Any,
    committed: Any = None,
) -> None:
    """Stream the tensors into the output (nothing for --json alone); ``committed`` runs under
    the output directory's lock right after the commit."""
    first = next(iter(named.values()))
    if fmt == "npy":
        from ..writers.npy import write_npy, write_npy_stream

        if output == "-":
            write_npy_stream(sys.stdout.buffer, first, advance)
            sys.stdout.buffer.flush()
        else:
            assert output is not None
            write_npy(output, first, force=force, progress=advance, committed=committed)
    elif fmt == "npz":
        from ..writers.npy import write_npz, write_npz_stream

        assert output is not None
        if output == "-":
            write_npz_stream(sys.stdout.buffer, named, compress=compress, notes=notes, progress=advance)
            sys.stdout.buffer.flush()
        else:
            write_npz(
                output,
                named,
                force=force,
                append=append,
                compress=compress,
                notes={**notes, "": _merging(notes[""])} if append else notes,
                progress=advance,
                committed=committed,
            )
    elif fmt == "safetensors":
        from ..writers.safetensors import metadata_for, write_safetensors, write_stream

        assert output is not None
        if output == "-":
            write_stream(sys.stdout.buffer, named, metadata_for(list(named), notes, notes.get("")), advance)
            sys.stdout.buffer.flush()
        else:
            write_safetensors(output, named, force=force, notes=notes, progress=advance, committed=committed)
    elif fmt == "hdf5":
        from ..writers.hdf5 import write_dataset

        assert output is not None and h5_path is not None
        name = next(iter(named))
        write_dataset(
            output,
            h5_path,
            first,
            force=force,
            note=notes[name],
            file_note=_merging(notes[""]),
            progress=advance,
            committed=committed,
        )


def _merging(note: str) -> Any:
    """The file note of a run that adds to a file: the file's previous list of tensors kept."""
    import json

    from ..provenance import merged_file_note

    return merged_file_note(json.loads(note))


def tensor_notes(cls: type, init_params: dict[str, Any], named: dict[str, Any], label: str | None) -> dict[str, str]:
    """Provenance JSON of each tensor, by name, and of the run (key ``""``)."""
    from ..provenance import dumps, file_record, tensor_record
    from ..shapes import format_shape as _fmt

    first_tensor = next(iter(named.values()))
    first = first_tensor.draws[0]
    notes = {
        "": dumps(
            file_record(
                "sample",
                {
                    "initializer": cls.__name__,
                    "arguments": init_params,
                    "seed": getattr(first.initializer, "seed", None),
                    "shapes": [_fmt(t.shape) for t in named.values()],
                },
                first_tensor.backend,
                tensors=[label or name for name in named],
            )
        )
    }
    for name, tensor in named.items():
        notes[name] = dumps(
            tensor_record(label or name, tensor.shape, tensor.dtype, tensor.draws, backend=tensor.backend)
        )
    return notes


MANIFEST_OUTPUT = "output"
"""Manifest key: the output file's name (no directory)."""
MANIFEST_BYTES = "file_bytes"
"""Manifest key: the output file's size in bytes when the manifest was written."""
MANIFEST_SHA256 = "file_sha256"
"""Manifest key: the output file's SHA-256 (hex) when the manifest was written."""


def file_facts(path: Path) -> dict[str, Any]:
    """``file_bytes`` and ``file_sha256`` of the file at ``path``."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return {MANIFEST_BYTES: size, MANIFEST_SHA256: digest.hexdigest()}


def write_manifest(
    path: str,
    notes: dict[str, str],
    *,
    force: bool,
    output: str | None = None,
    facts: dict[str, Any] | None = None,
) -> None:
    """The sidecar manifest, written atomically: ``{"file": ..., "tensors": [...]}`` as JSON,
    with ``output`` (the output's file name) and ``file_bytes``/``file_sha256`` (its size and
    SHA-256 at the commit) when the output is a file, so that a reader can tell a manifest
    that no longer describes the file."""
    import json

    from ..writers.atomic import atomic_write

    document: dict[str, Any] = {
        "file": json.loads(notes[""]),
        "tensors": [json.loads(v) for k, v in notes.items() if k],
    }
    if output is not None:
        document[MANIFEST_OUTPUT] = output
    document.update(facts or {})
    with atomic_write(path, force=force) as stream:
        stream.write((json.dumps(document, indent=1, sort_keys=True) + "\n").encode())


def remove_stale_manifest(sidecar: Path, output_name: str) -> None:
    """Remove ``sidecar`` (``OUTPUT.json``) if and only if it is an initcli manifest describing
    ``output_name``: a regular file of JSON with ``"file"`` of schema ``initcli/provenance/1`` and
    ``"output"`` equal to the name (older manifests, without ``"output"``: a tensor whose
    ``"path"`` is the name).  Anything else is left alone."""
    import json
    import os
    import stat

    from ..provenance import SCHEMA

    try:
        if not stat.S_ISREG(os.lstat(sidecar).st_mode) or os.path.getsize(sidecar) > 64 * 2**20:
            return
        document = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return
    if not isinstance(document, dict) or not isinstance(document.get("file"), dict):
        return
    if document["file"].get("schema") != SCHEMA or not isinstance(document.get("tensors"), list):
        return
    if MANIFEST_OUTPUT in document:
        describes = document[MANIFEST_OUTPUT] == output_name
    else:
        describes = any(isinstance(t, dict) and t.get("path") == output_name for t in document["tensors"])
    if describes:
        with contextlib.suppress(FileNotFoundError):
            sidecar.unlink()


def write_json_tensors(tensors: list[Any]) -> None:
    """Print tensors as one strict JSON document on stdout (values as exact decimal floats;
    a non-finite value, which the initializers refuse to produce, would be ``null``)."""
    from ..initializers import serialize
    from .jsonout import write_json as write_strict_json

    document = {
        "tensors": [
            {
                "name": t.name,
                "shape": list(t.array.shape),
                "dtype": t.array.dtype.name,
                "seed": t.seed,
                "draw": t.draw,
                "backend": t.backend,
                "initializer": serialize(t.initializer),
                "values": t.array,
            }
            for t in tensors
        ]
    }
    write_strict_json(document)
