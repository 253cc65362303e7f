"""``verify``: regenerate every tensor of a file from its provenance and compare, byte for byte."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .provenance import Drawn, drawn_from_record
from .readers import StoredTensor, read_tensors


@dataclass
class Verdict:
    """The outcome for one tensor."""

    name: str
    path: str | None
    status: str
    """``identical``, ``different`` or ``unverifiable`` (no provenance, or it cannot be replayed)."""
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "status": self.status, "detail": self.detail}


def compare(stored: np.ndarray, fresh: np.ndarray) -> str:
    """Empty if identical; else where and how much they differ."""
    if stored.shape != fresh.shape:
        return f"shape {stored.shape} in the file, {fresh.shape} regenerated"
    if stored.dtype != fresh.dtype:
        return f"dtype {stored.dtype} in the file, {fresh.dtype} regenerated"
    if stored.tobytes() == fresh.tobytes():
        return ""
    a = stored.reshape(-1).view(np.uint8).reshape(stored.size, -1) if stored.size else stored
    b = fresh.reshape(-1).view(np.uint8).reshape(fresh.size, -1) if fresh.size else fresh
    flat = int(np.flatnonzero((a != b).any(axis=1))[0])
    index = np.unravel_index(flat, stored.shape) if stored.shape else ()
    with np.errstate(invalid="ignore", over="ignore"):
        max_diff = float(np.nanmax(np.abs(stored.astype(np.float64) - fresh.astype(np.float64))))
    where = tuple(int(i) for i in index)
    return (
        f"first difference at index {where}: {stored.reshape(-1)[flat].item()!r} in the file, "
        f"{fresh.reshape(-1)[flat].item()!r} regenerated; max |difference| {max_diff:.6g}"
    )


def verify_file(
    path: str | Path, manifest: str | Path | None = None, *, max_bytes: int | None = None
) -> tuple[str, list[Verdict]]:
    """Verdicts for every tensor of ``path`` (kind of file, verdicts).

    ``max_bytes``: refuse a file whose tensors declare more bytes than that, before reading any.
    """
    verdicts: list[Verdict] = []
    with read_tensors(path, manifest, max_bytes=max_bytes) as stored:
        by_path = {t.provenance["path"]: t for t in stored.tensors if t.provenance}
        for tensor in stored.tensors:
            verdicts.append(_verdict(tensor, by_path))
        return stored.kind, verdicts


def _verdict(tensor: StoredTensor, by_path: dict[str, StoredTensor]) -> Verdict:
    record = tensor.provenance
    if record is None:
        return Verdict(tensor.name, None, "unverifiable", "no initcli provenance")
    try:
        if "alias_of" in record:
            original = by_path.get(record["alias_of"])
            if original is None:
                return Verdict(tensor.name, record["path"], "unverifiable", f"{record['alias_of']} is missing")
            detail = compare(np.asarray(tensor.load()), np.asarray(original.load()))
        else:
            detail = compare_streamed(tensor, drawn_from_record(record))
    except (KeyError, TypeError, ValueError) as error:
        return Verdict(tensor.name, record.get("path"), "unverifiable", f"cannot replay: {error}")
    return Verdict(tensor.name, record.get("path"), "different" if detail else "identical", detail)


def compare_streamed(stored: StoredTensor, fresh: Drawn) -> str:
    """Like :func:`compare`, chunk by chunk: the stored tensor is read in step with the
    regenerated one, so neither is ever whole in memory."""
    if stored.shape != fresh.shape:
        return f"shape {stored.shape} in the file, {fresh.shape} regenerated"
    if stored.dtype != fresh.dtype:
        return f"dtype {stored.dtype} in the file, {fresh.dtype} regenerated"
    read = stored.flat_reader()
    at = 0
    first: tuple[int, object, object] | None = None
    max_diff = 0.0
    for chunk in fresh.chunks():
        part = np.asarray(read(chunk.size))
        if part.tobytes() != chunk.tobytes():
            a = part.view(np.uint8).reshape(part.size, -1)
            b = np.ascontiguousarray(chunk).view(np.uint8).reshape(chunk.size, -1)
            offset = int(np.flatnonzero((a != b).any(axis=1))[0])
            if first is None:
                first = (at + offset, part[offset].item(), chunk[offset].item())
            with np.errstate(invalid="ignore", over="ignore"):
                max_diff = max(max_diff, float(np.nanmax(np.abs(part.astype(np.float64) - chunk.astype(np.float64)))))
        at += chunk.size
    if first is None:
        return ""
    flat, in_file, regenerated = first
    where = tuple(int(i) for i in np.unravel_index(flat, stored.shape)) if stored.shape else ()
    return (
        f"first difference at index {where}: {in_file!r} in the file, {regenerated!r} regenerated; "
        f"max |difference| {max_diff:.6g}"
    )
