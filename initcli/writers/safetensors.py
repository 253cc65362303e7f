"""safetensors files: one file, or shards with a ``.safetensors.index.json``, streamed.

The format (as the ``safetensors`` library reads and writes it)::

    8 bytes   N, little-endian unsigned
    N bytes   JSON: {"<name>": {"dtype": "F32", "shape": [784, 64], "data_offsets": [begin, end]}, ...,
                     "__metadata__": {"<key>": "<string>", ...}}, padded with spaces to a multiple of 8
    ...       the tensors' bytes, little-endian, C order, back to back: offsets count from here

Every offset follows from the shapes and dtypes alone, so the header is written first and
each tensor is then streamed chunk by chunk: memory stays at a chunk, whatever the size.
initcli's provenance goes in ``__metadata__`` (strings only): ``initcli`` holds the file's
record, ``initcli:<name>`` each tensor's.

**Shards** follow the ecosystem's rule (``huggingface_hub``'s ``split_state_dict_into_shards``):
tensors in order; a tensor larger than the limit gets a shard of its own; otherwise a new shard
starts when the tensor would take the current one past the limit.  Shards are named
``<base>-00001-of-0000N.safetensors``; the index ``<base>.safetensors.index.json`` is
``{"metadata": {"total_size": <bytes>}, "weight_map": {"<name>": "<shard>", ...}}``
(``indent=2``, sorted keys, as ``save_pretrained`` writes it).  When everything fits in one
shard there is no index: the one file has the name asked for, as ``save_pretrained`` does.
A set is committed as one (:func:`initcli.writers.sharded.write_set`).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..dtypes import is_bfloat16
from ..errors import InvalidArgument
from ..memory import format_bytes
from ..safetensors_format import DTYPES, HEADER_LIMIT
from .atomic import Committed, _shown, atomic_write, check_target
from .chunks import Progress, as_chunked, making, nbytes
from .resume import identity_of
from .sharded import Remote, shard_note, write_set

SUFFIX = ".safetensors"


def dtype_code(dtype: np.dtype) -> str:
    """The safetensors code of ``dtype``."""
    if is_bfloat16(dtype):
        return "BF16"
    try:
        return DTYPES[np.dtype(dtype).name]
    except KeyError:
        raise InvalidArgument(
            f"dtype {np.dtype(dtype).name} has no safetensors code; use one of {', '.join(DTYPES)} or bfloat16"
        ) from None


def header(arrays: Mapping[str, Any], metadata: Mapping[str, str] | None) -> bytes:
    """The 8-byte length and the padded JSON header for ``arrays`` (name -> array or chunked source)."""
    entries: dict[str, Any] = {}
    if metadata:
        entries["__metadata__"] = dict(metadata)
    at = 0
    for name, value in arrays.items():
        if name == "__metadata__":
            raise InvalidArgument("a tensor cannot be named __metadata__ in a safetensors file")
        source = as_chunked(value)
        size = nbytes(source)
        entries[name] = {
            "dtype": dtype_code(np.dtype(source.dtype)),
            "shape": list(source.shape),
            "data_offsets": [at, at + size],
        }
        at += size
    text = json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    if len(text) > HEADER_LIMIT:
        raise InvalidArgument(
            f"the safetensors header would be {format_bytes(len(text))}, more than the {format_bytes(HEADER_LIMIT)} "
            "readers accept; write fewer tensors per file (--max-shard-size)"
        )
    return struct.pack("<Q", len(text)) + text


def write_stream(
    stream: BinaryIO, arrays: Mapping[str, Any], metadata: Mapping[str, str] | None, progress: Progress | None
) -> None:
    """The header, then every tensor's bytes, chunk by chunk."""
    stream.write(header(arrays, metadata))
    for name, value in arrays.items():
        with making(name):
            _write_tensor(stream, as_chunked(value), progress)


def _write_tensor(stream: BinaryIO, source: Any, progress: Progress | None) -> None:
    """One tensor's bytes, little-endian, chunk by chunk (bfloat16 as its raw 2-byte bits)."""
    for chunk in source.chunks():
        data = np.ascontiguousarray(chunk).reshape(-1)
        if data.dtype.kind == "V":
            data = data.view(np.uint8)
        elif data.dtype.byteorder == ">":
            data = data.astype(data.dtype.newbyteorder("<"))
        stream.write(memoryview(data).cast("B"))
        if progress:
            progress(chunk.nbytes)


def metadata_for(names: list[str], notes: Mapping[str, str] | None, file_note: str | None) -> dict[str, str] | None:
    """``__metadata__``: the file's record under ``initcli``, each tensor's under ``initcli:<name>``."""
    if not notes and file_note is None:
        return None
    out = {} if file_note is None else {"initcli": file_note}
    for name in names:
        if notes and name in notes:
            out[f"initcli:{name}"] = notes[name]
    return out


@dataclass
class SafetensorsShardJob:
    """What making one safetensors shard needs besides the arrays (picklable)."""

    members: list[str]
    notes: Mapping[str, str] | None
    note: str | None

    def write(self, handle: Any, arrays: Mapping[str, Any], progress: Progress | None) -> None:
        part = {name: arrays[name] for name in self.members}
        write_stream(handle, part, metadata_for(self.members, self.notes, self.note), progress)


def write_safetensors(
    path: str | os.PathLike[str],
    arrays: Mapping[str, Any],
    *,
    force: bool = False,
    notes: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    committed: Committed | None = None,
) -> None:
    """One safetensors file, atomically (``notes``: provenance by name, ``""`` for the file;
    ``committed`` runs under the directory lock after the commit)."""
    header(arrays, None)  # names and dtypes refused before anything is created
    metadata = metadata_for(list(arrays), notes, (notes or {}).get(""))
    with atomic_write(path, force=force, committed=committed) as stream:
        write_stream(stream, arrays, metadata, progress)


def plan_shards(sizes: Mapping[str, int], limit: int) -> list[list[str]]:
    """Names per shard, by ``huggingface_hub``'s rule (see the module docstring)."""
    shards: list[list[str]] = []
    current: list[str] = []
    used = 0
    for name, size in sizes.items():
        if size > limit:
            shards.append([name])
            continue
        if used + size > limit and current:
            shards.append(current)
            current, used = [], 0
        current.append(name)
        used += size
    if current:
        shards.append(current)
    return shards


def index_path(path: str | os.PathLike[str]) -> Path:
    """``m.safetensors`` -> ``m.safetensors.index.json``."""
    return Path(os.fspath(path) + ".index.json")


def shard_file(path: str | os.PathLike[str], number: int, count: int) -> str:
    """``m.safetensors`` -> ``m-00001-of-00003.safetensors`` (``number`` from 0)."""
    base = Path(path).name.removesuffix(SUFFIX)
    return f"{base}-{number + 1:05d}-of-{count:05d}{SUFFIX}"


def write_safetensors_sharded(
    path: str | os.PathLike[str],
    arrays: Mapping[str, Any],
    *,
    max_shard_bytes: int,
    force: bool = False,
    notes: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    remote: Remote | None = None,
    resume: bool = False,
) -> list[str]:
    """Shards of at most ``max_shard_bytes`` (a larger tensor alone) and their index; one shard
    is the single file ``path``.  Returns the files written."""
    if not os.fspath(path).endswith(SUFFIX):
        raise InvalidArgument(f"safetensors output must end in {SUFFIX}; got {os.fspath(path)!r}")
    header(arrays, None)
    sizes = {name: nbytes(as_chunked(value)) for name, value in arrays.items()}
    groups = plan_shards(sizes, max_shard_bytes)
    if len(groups) <= 1:
        write_safetensors(path, arrays, force=force, notes=notes, progress=progress)
        return [Path(path).name]
    index_target = check_target(index_path(path), force=force, exists_ok=force)
    if index_target.kind == "stream":
        raise InvalidArgument(f"sharded safetensors are several files; {_shown(index_target.given)} is not a file name")
    directory = index_target.directory
    names = [shard_file(index_target.path.name.removesuffix(".index.json"), i, len(groups)) for i in range(len(groups))]
    targets = [directory / name for name in names]
    for target in targets:
        check_target(target, force=force, exists_ok=force)
    file_note = (notes or {}).get("")
    jobs = [
        SafetensorsShardJob(members, notes, shard_note(file_note, n, len(groups))) for n, members in enumerate(groups)
    ]

    index = {
        "metadata": {"total_size": sum(sizes.values())},
        "weight_map": {name: names[number] for number, members in enumerate(groups) for name in members},
    }
    shard_sizes = [sum(sizes[name] for name in members) for members in groups]
    text = (json.dumps(index, indent=2, sort_keys=True) + "\n").encode()
    write_set(
        index_target,
        targets,
        jobs,
        arrays,
        text,
        shard_sizes,
        force=force,
        workers=workers,
        progress=progress,
        remote=remote,
        resume=identity_of(text, file_note) if resume else None,
    )
    return [*names, index_target.path.name]
