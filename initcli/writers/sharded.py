"""Keras 3's sharded weights: ``m.weights.json`` and the shards ``m_00000.weights.h5``, ``m_00001...``.

``model.save_weights("m.weights.json", max_shard_size=G)`` (Keras 3.15, ``ShardedH5IOStore``)
walks the model as for a single ``.weights.h5`` file -- the model's own ``vars`` group first,
then each layer: its own variables, then its sub-objects depth first, each level in attribute
name order with private (``_``) attributes last (:func:`save_order`) -- and keeps a running
byte count::

    size(v)  = elements(v) · bits(dtype) / 8
    current += size(v);  if current > limit: start the next shard, current = size(v)
    limit    = G · 1024**3 bytes      (a variable larger than the limit is an error)

A shard is an HDF5 file with the single-file layout of the variables it holds.  An object's
``vars`` group (with ``@name``) is created in the shard that is current when the walk reaches
the object, so empty objects live there; when its variables spill into the next shard, the
group is created again there, without ``@name``.  The index is::

    {"metadata": {"total_size": <sum of size(v), a float>},
     "weight_map": {"/layers/dense/vars": "m_00000.weights.h5",
                    "/layers/big/vars": ["m_00000.weights.h5", "m_00001.weights.h5"], ...}}

(``json.dumps(..., indent=4)``): one entry per group that holds a variable, a list when the
group spans shards.  Keras names shards ``<base>_<index:05>.weights.h5`` with ``base`` the
index's name without ``.weights.json``.

**The set is committed as one.** Every shard is written to an unnamed scratch file and
fsynced before any name changes; then, with signals held, the previous index (if replaced)
is removed first, the shards are linked into place, shards the previous index named and
this one does not are removed, and the new index is linked last.  A reader therefore never
sees an index naming a shard that is missing or half-written; an interruption before the
commit leaves the previous set as it was; one during the commit (a few renames) leaves no
index, never a wrong one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import InvalidArgument, ResourceError
from ..h5open import hdf5_file
from ..interrupts import held, raise_if_pending
from ..memory import format_bytes
from ..model.plan import ModelPlan, WeightPlan
from .atomic import Scratch, Target, _shown, _sync_directory, check_target, directory_lock
from .chunks import Progress, making, write_h5_dataset
from .keras_h5 import Notes, _note, check_h5_names
from .resume import identity_of

INDEX_SUFFIX = ".weights.json"
DEFAULT_SHARD_BYTES = 5 * 1024**3
"""Keras's ``ShardedH5IOStore`` default, ``max_shard_size=5`` (GiB)."""

SHARD_NAME = re.compile(r"[^/\\\x00]+\.(weights\.h5|safetensors)")
"""A shard name an index may give: a plain file name in the index's directory (Keras's
``.weights.h5`` shards, or safetensors shards)."""


def shard_base(index: str | os.PathLike[str]) -> str:
    """``m.weights.json`` -> ``m`` (Keras: the index's stem with ``.weights`` removed)."""
    return Path(index).stem.replace(".weights", "")


def shard_name(base: str, number: int) -> str:
    return f"{base}_{number:05}.weights.h5"


@dataclass
class Shard:
    """One shard: in order, groups to create (object path, ``@name`` or None) and weights to write."""

    name: str
    steps: list[tuple[str, str | None] | WeightPlan] = field(default_factory=list)
    groups: set[str] = field(default_factory=set)


@dataclass
class ShardedLayout:
    shards: list[Shard]
    weight_map: dict[str, str | list[str]]
    total_size: float

    def index_text(self) -> str:
        """The index as Keras writes it."""
        return json.dumps({"metadata": {"total_size": self.total_size}, "weight_map": self.weight_map}, indent=4)


def _name_key(component: str) -> str:
    """Keras's ``saving_lib._name_key``: attributes in name order, private (``_``) ones last."""
    return f"~{component}" if component.startswith("_") else component


def save_order(root: str, objects: list[str]) -> list[str]:
    """``objects`` (a layer's object paths, ``root`` among them) in the order Keras's
    ``_save_state`` reaches them: an object, then its children depth first, each level by
    :func:`_name_key` of the path component (an attribute name), so ``key_dense`` comes before
    ``query_dense`` and ``_softmax`` after both."""
    known = set(objects)

    def parent(obj: str) -> str | None:
        head = obj.rsplit("/", 1)[0] if "/" in obj else ""
        while head and head not in known:
            head = head.rsplit("/", 1)[0] if "/" in head else ""
        return head if head in known else None

    children: dict[str | None, list[str]] = {}
    for obj in objects:
        children.setdefault(None if obj == root else parent(obj), []).append(obj)
    ordered: list[str] = []

    def visit(obj: str) -> None:
        ordered.append(obj)
        for child in sorted(children.get(obj, []), key=lambda path: [_name_key(c) for c in path.split("/")]):
            visit(child)

    for top in sorted(children.get(None, []), key=lambda path: path != root):
        visit(top)
    return ordered


def keras_shards(plan: ModelPlan, limit: int, base: str) -> ShardedLayout:
    """Which shard every group and weight of ``plan`` goes to, as Keras's sharded store decides
    (see the module docstring); ``limit`` in bytes."""
    shards = [Shard(shard_name(base, 0))]
    weight_map: dict[str, str | list[str]] = {}
    total = 0.0
    current = 0.0

    def make(obj: str, name: str | None) -> None:
        shards[-1].steps.append((obj, name))
        shards[-1].groups.add(obj)

    make("", plan.name)
    for layer in plan.layers:
        for obj in save_order(layer.h5_object, list(layer.h5_names)):
            make(obj, layer.h5_names[obj])
            for weight in (w for w in layer.weights if w.h5_object == obj):
                size = float(weight.nbytes)  # Keras: elements · bits / 8, a float
                total += size
                if size > limit:
                    raise InvalidArgument(
                        f"weight {weight.path!r} is {format_bytes(weight.nbytes)}, more than --max-shard-size "
                        f"{format_bytes(limit)}; one weight must fit in one shard: raise --max-shard-size"
                    )
                current += size
                if current > limit:
                    shards.append(Shard(shard_name(base, len(shards))))
                    current = size
                if obj not in shards[-1].groups:
                    make(obj, None)
                shards[-1].steps.append(weight)
                key = "/" + "/".join(part for part in (obj, "vars") if part)
                where = shards[-1].name
                if key not in weight_map:
                    weight_map[key] = where
                else:
                    listed = weight_map[key]
                    listed = listed if isinstance(listed, list) else [listed]
                    if where not in listed:
                        listed.append(where)
                    weight_map[key] = listed
    return ShardedLayout(shards, weight_map, total)


def _write_shard(
    file: Any, shard: Shard, arrays: Mapping[str, Any], notes: Notes | None, note: str | None, progress: Progress | None
) -> None:
    with hdf5_file(file, "w", track_order=True) as handle:
        if note is not None:
            handle.attrs["initcli"] = note
        for step in shard.steps:
            if isinstance(step, WeightPlan):
                source = arrays[step.alias_of or step.path]
                with making(step.path):
                    dataset = write_h5_dataset(handle, f"{step.h5_object}/vars/{step.h5_index}", source, progress)
                _note(dataset, notes, step.path)
            else:
                obj, name = step
                group = handle.create_group(f"{obj}/vars" if obj else "vars")
                if name is not None:
                    group.attrs["name"] = name
    file.flush()


@dataclass
class KerasShardJob:
    """What making one Keras shard needs besides the arrays (picklable: it may go to a cluster)."""

    shard: Shard
    notes: Notes | None
    note: str | None

    def write(self, handle: Any, arrays: Mapping[str, Any], progress: Progress | None) -> None:
        _write_shard(handle, self.shard, arrays, self.notes, self.note, progress)


def shard_note(file_note: str | None, number: int, count: int) -> str | None:
    """The set's provenance for shard ``number`` of ``count``: the file record plus ``shard``."""
    if file_note is None:
        return None
    return json.dumps({**json.loads(file_note), "shard": [number, count]}, sort_keys=True)


def write_sharded(
    path: str | os.PathLike[str],
    plan: ModelPlan,
    arrays: Mapping[str, Any],
    *,
    max_shard_bytes: int = DEFAULT_SHARD_BYTES,
    force: bool = False,
    notes: Notes | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    remote: Remote | None = None,
    resume: bool = False,
) -> ShardedLayout:
    """Write ``plan``'s weights as Keras's sharded ``.weights.json`` set, committed as one; with
    ``workers`` > 1 the shards are made by that many processes (:mod:`initcli.workers`)."""
    if not os.fspath(path).endswith(INDEX_SUFFIX):
        raise InvalidArgument(f"sharded weights need an index named *{INDEX_SUFFIX}; got {os.fspath(path)!r}")
    check_h5_names(plan, "keras3")
    index_target = check_target(path, force=force, exists_ok=force)
    if index_target.kind == "stream":
        raise InvalidArgument(f"sharded weights are several files; {_shown(index_target.given)} is not a file name")
    directory = index_target.directory
    layout = keras_shards(plan, max_shard_bytes, shard_base(index_target.path))
    targets = [directory / shard.name for shard in layout.shards]
    for target in targets:
        check_target(target, force=force, exists_ok=force)
    file_note = notes.get("") if notes else None
    count = len(layout.shards)
    jobs = [KerasShardJob(shard, notes, shard_note(file_note, n, count)) for n, shard in enumerate(layout.shards)]
    sizes = [sum(step.nbytes for step in shard.steps if isinstance(step, WeightPlan)) for shard in layout.shards]
    write_set(
        index_target,
        targets,
        jobs,
        arrays,
        layout.index_text().encode(),
        sizes,
        force=force,
        workers=workers,
        progress=progress,
        remote=remote,
        resume=identity_of(layout.index_text().encode(), file_note) if resume else None,
    )
    return layout


class ShardJob(Protocol):
    """One shard's making: ``write(handle, arrays, progress)`` into an open binary file."""

    def write(self, handle: Any, arrays: Mapping[str, Any], progress: Progress | None) -> None: ...


Remote = Callable[[list[ShardJob], list[Path], list[str], Callable[[int], None]], None]
"""``remote(jobs, parts, names, done)`` makes every job's shard as the named file ``parts[i]``
elsewhere (a cluster whose workers see the same storage), calling ``done(i)`` as each is
complete; on a failure it raises, naming the shard (``names[i]``)."""


def write_set(
    index: Target,
    targets: list[Path],
    jobs: list[ShardJob],
    arrays: Mapping[str, Any],
    index_bytes: bytes,
    sizes: list[int],
    *,
    force: bool,
    workers: int = 1,
    progress: Progress | None = None,
    remote: Remote | None = None,
    resume: str | None = None,
) -> None:
    """A set of shards and its index, committed as one (:func:`commit_set`).

    ``resume`` (the job's identity, :func:`initcli.writers.resume.identity_of`): make the shards
    as parts kept between runs and keep those an earlier run of the same job finished
    (:mod:`initcli.writers.resume`).

    Shard ``i`` is ``jobs[i]`` written into a scratch file for ``targets[i]``: here, or by
    ``workers`` forked processes (every scratch file is opened before the fork, so they write
    into the very files this process commits), or by ``remote`` into named scratch files
    ``.initcli-<run>-<i>.part`` beside the targets (a retried task rewrites its own part; parts
    left by a run are removed whatever happens).  With workers or a remote, the progress moves by
    ``sizes[i]`` bytes as each shard is done rather than chunk by chunk."""
    from ..workers import run_tasks

    scratches: list[Scratch] = []
    parts: list[Path] = []
    parallel = (workers > 1 and len(targets) > 1) or remote is not None

    def done(number: int) -> None:
        if parallel and progress:
            progress(sizes[number])

    try:
        if resume is not None:
            _make_resumable(index, targets, jobs, arrays, resume, workers, progress, sizes, scratches, remote)
        elif remote is not None:
            run = secrets.token_hex(6)
            parts = [index.directory / f".initcli-{run}-{number:05}.part" for number in range(len(targets))]
            remote(jobs, parts, [target.name for target in targets], done)
            scratches += [Scratch.adopt(part, target) for part, target in zip(parts, targets, strict=True)]
        else:
            scratches += [Scratch(target) for target in targets]

            def task(number: int) -> None:
                jobs[number].write(scratches[number].handle, arrays, None if parallel else progress)
                scratches[number].finish()

            run_tasks(len(targets), task, workers, describe=lambda number: targets[number].name, done=done)
        index_scratch = Scratch(index.path, label=index.given)
        scratches.append(index_scratch)
        index_scratch.handle.write(index_bytes)
        index_scratch.finish()
        commit_set(index.path, index_scratch, list(zip(targets, scratches[:-1], strict=True)), force=force)
        if resume is not None:
            from .resume import ResumeStore

            ResumeStore(index.path, resume).remove()
    except OSError as error:
        if isinstance(error, ResourceError):
            raise
        raise ResourceError(f"cannot write {_shown(index.given)}: {error.strerror or error}") from None
    finally:
        for scratch in scratches:
            scratch.close()
        for part in parts:
            with contextlib.suppress(OSError):
                part.unlink()


def _make_resumable(
    index: Target,
    targets: list[Path],
    jobs: list[ShardJob],
    arrays: Mapping[str, Any],
    identity: str,
    workers: int,
    progress: Progress | None,
    sizes: list[int],
    scratches: list[Scratch],
    remote: Remote | None = None,
) -> None:
    """Make the parts an earlier run of this job did not finish (here, on ``workers`` processes
    or by ``remote``), then adopt every part as the scratch file of its shard (appended to
    ``scratches``).  Each part's digest is recorded as soon as it is finished."""
    from ..workers import run_tasks
    from .resume import ResumeStore

    store = ResumeStore(index.path, identity)
    store.open()
    todo = [number for number in range(len(targets)) if not store.complete(number)]
    parallel = workers > 1 and len(todo) > 1
    for number in set(range(len(targets))) - set(todo):
        if progress:
            progress(sizes[number])  # kept from the earlier run

    def task(position: int) -> None:
        number = todo[position]
        store.forget(number)
        part = store.part(number)
        scratch = Scratch(part, label=targets[number])
        try:
            jobs[number].write(scratch.handle, arrays, None if parallel else progress)
            scratch.finish()
            scratch.commit(force=True)
        finally:
            scratch.close()
        store.record(number)

    def done(position: int) -> None:
        if parallel and progress:
            progress(sizes[todo[position]])

    if remote is not None:

        def finished(position: int) -> None:
            store.record(todo[position])
            if progress:
                progress(sizes[todo[position]])

        for number in todo:
            store.forget(number)
        if todo:
            remote([jobs[n] for n in todo], [store.part(n) for n in todo], [targets[n].name for n in todo], finished)
    else:
        run_tasks(len(todo), task, workers, describe=lambda position: targets[todo[position]].name, done=done)
    scratches += [Scratch.adopt(store.part(number), target) for number, target in enumerate(targets)]


def _previous_shards(index: Path) -> set[str]:
    """The shard names an existing index lists (none if it is unreadable: nothing is removed)."""
    try:
        with open(index, "rb") as handle:
            document = json.loads(handle.read(64 << 20))
        listed = document["weight_map"].values()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()
    names: set[str] = set()
    for value in listed:
        for name in value if isinstance(value, list) else [value]:
            if isinstance(name, str) and SHARD_NAME.fullmatch(name) and name not in (".", ".."):
                names.add(name)
    return names


def commit_set(index: Path, index_scratch: Scratch, shards: list[tuple[Path, Scratch]], *, force: bool) -> None:
    """Give a set's finished, fsynced files their names: the old index out, the shards in, shards
    the old index named and this set does not out, the index in (see the module docstring)."""
    with directory_lock(index), held():
        raise_if_pending()
        previous = _previous_shards(index) if force and index.exists() else set()
        if force and index.exists():
            index.unlink()
            _sync_directory(index.parent)
        for _, scratch in shards:
            scratch.commit(force=force)
        for stale in previous - {target.name for target, _ in shards}:
            with contextlib.suppress(FileNotFoundError):
                (index.parent / stale).unlink()
        index_scratch.commit(force=force)
        _sync_directory(index.parent)
