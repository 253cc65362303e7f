"""Reading sharded weights: Keras's ``.weights.json`` or a ``.safetensors.index.json`` and the shards it names.

The index is read from its open descriptor (at most :data:`INDEX_LIMIT` bytes, strict JSON).
Its ``weight_map`` values must be plain file names of ``.weights.h5`` shards (no directory
part), so a crafted index cannot make initcli open any file outside the index's directory;
each shard is then read like any HDF5 weights file (regular files only, gone through in a
process with a time limit first).  The set is consistent or refused in one line:

* every shard the index names exists and is an HDF5 file;
* every dataset ``<object>/vars/<i>`` of a shard has its group listed for that shard in the
  index (Keras looks a group up in the shards the index gives, and nowhere else);
* shards written by initcli carry the set's file record and ``shard: [i, n]``: the records
  of all shards agree apart from ``shard``, the numbers run 0 .. n-1 in the shards' name order,
  and there are n of them; so a shard from another run, a missing one or a shuffled one is
  found, and ``verify`` checks that every tensor the record lists is in the set.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument
from ..writers.sharded import SHARD_NAME
from .stored import StoredFile

INDEX_LIMIT = 64 << 20
"""Bytes of index read at most (Keras's index for a 400B-parameter model is a few MiB)."""


def shard_names(path: Path, fd: int) -> tuple[list[str], dict[str, set[str]]]:
    """The shard names in order, and for each the groups (Keras) or tensors (safetensors) the
    index puts there."""
    from ..model.config_files import decode_text, loads_json

    size = os.fstat(fd).st_size
    if size > INDEX_LIMIT:
        raise InvalidArgument(f"{str(path)!r} is {size} bytes, too large for a sharded weights index")
    document = loads_json(decode_text(os.pread(fd, INDEX_LIMIT + 1, 0), str(path)), str(path))
    weight_map = document.get("weight_map") if isinstance(document, dict) else None
    if not isinstance(weight_map, dict):
        raise InvalidArgument(f"{str(path)!r} is not a sharded weights index: no 'weight_map' object")
    order: list[str] = []
    groups: dict[str, set[str]] = {}
    for group, listed in weight_map.items():
        names = listed if isinstance(listed, list) else [listed]
        for name in names:
            if not isinstance(name, str) or not SHARD_NAME.fullmatch(name):
                raise InvalidArgument(
                    f"{str(path)!r} names shard {name!r} for {group!r}; a shard is a plain file name "
                    "ending in .weights.h5 or .safetensors, in the index's directory"
                )
            if name not in groups:
                order.append(name)
                groups[name] = set()
            groups[name].add(group)
    if not order:
        raise InvalidArgument(f"{str(path)!r} names no shards")
    return sorted(order), groups  # both conventions number shards in zero-padded names


def read_set(
    path: Path,
    fd: int,
    stack: ExitStack,
    open_shard: Callable[[Path], AbstractContextManager[StoredFile]],
) -> StoredFile:
    """Every tensor of the set the index at ``path`` describes, as one file."""
    order, groups = shard_names(path, fd)
    kinds = {"hdf5" if name.endswith(".weights.h5") else "safetensors" for name in order}
    if len(kinds) != 1:
        raise InvalidArgument(f"{str(path)!r} mixes .weights.h5 and .safetensors shards")
    kind = kinds.pop()
    tensors = []
    records: list[dict[str, Any] | None] = []
    for name in order:
        shard = stack.enter_context(open_shard(path.parent / name))
        if shard.kind != kind:
            raise InvalidArgument(f"shard {name!r} of {str(path)!r} is a {shard.kind} file, not {kind}")
        found = set()
        for tensor in shard.tensors:
            # Keras's index maps object groups to shards, safetensors' maps tensor names
            key = "/" + tensor.name.rsplit("/", 1)[0].lstrip("/") if kind == "hdf5" else tensor.name
            if key not in groups[name]:
                raise InvalidArgument(
                    f"shard {name!r} holds {tensor.name!r}, but {str(path)!r} does not list {key!r} in that shard"
                )
            found.add(key)
        if kind == "safetensors" and groups[name] - found:
            missing = sorted(groups[name] - found)[0]
            raise InvalidArgument(f"{str(path)!r} puts tensor {missing!r} in shard {name!r}, which does not hold it")
        tensors += shard.tensors
        records.append(shard.provenance)
    return StoredFile(
        "sharded" if kind == "hdf5" else "sharded safetensors", tensors, _set_record(path, order, records)
    )


def _set_record(path: Path, order: list[str], records: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The set's file record: the shards' records without ``shard`` (all equal), numbered in order."""
    if all(record is None for record in records):
        return None
    common = None
    for number, (name, record) in enumerate(zip(order, records, strict=True)):
        if record is None:
            raise InvalidArgument(f"shard {name!r} of {str(path)!r} carries no initcli record, the others do")
        rest = {key: value for key, value in record.items() if key != "shard"}
        if record.get("shard") != [number, len(order)]:
            raise InvalidArgument(
                f"shard {name!r} is shard {record.get('shard')!r} of its set, but {str(path)!r} lists it as "
                f"[{number}, {len(order)}]: shards of different sets, or a shard missing from the index"
            )
        if common is None:
            common = rest
        elif rest != common:
            raise InvalidArgument(f"shard {name!r} of {str(path)!r} comes from another run than {order[0]!r}")
    return common
