"""Shards a resumable run keeps between runs: ``--resume``.

With ``--resume`` a set's shards are made into ``.<index name>.initcli-resume/`` beside the
index, each as ``<i>.part`` (written unnamed, fsynced, then linked) followed by ``<i>.sha256``,
its digest.  A rerun with ``--resume`` of the same job keeps every part whose file still has
its recorded digest and makes only the others; then the set is committed as one (the parts
are renamed into place) and the directory removed.  "The same job" is the same index and the
same provenance record (command, config and its SHA-256, master seed, layout, stream): a run
of another job finds a different identity and starts over.  A part without a digest (the run
stopped between the two) or whose bytes no longer match is made again.

The directory is created without following links and must be a real directory owned by this
user; parts and digests are opened without following links, so a planted link cannot make a
run write or read elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
from pathlib import Path

from ..errors import ResourceError

IDENTITY = "run.sha256"


def _digest_of(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_text(path: Path, text: str) -> None:
    """``text`` as the file ``path``, atomically (temporary name, fsync, rename)."""
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _read_text(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "r", errors="replace") as handle:
        return handle.read(200)


class ResumeStore:
    """The kept parts of one resumable job (see the module docstring)."""

    def __init__(self, index: Path, identity: str) -> None:
        self.directory = index.parent / f".{index.name}.initcli-resume"
        self.identity = identity

    def open(self) -> int:
        """Make the directory ready for this job; the number of parts kept from an earlier run."""
        try:
            os.mkdir(self.directory, 0o700)
        except FileExistsError:
            info = os.lstat(self.directory)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                raise ResourceError(
                    f"{str(self.directory)!r} is not a directory of this user's; remove it to use --resume"
                ) from None
        if _read_text(self.directory / IDENTITY) != self.identity:
            self._empty()
            _write_text(self.directory / IDENTITY, self.identity)
        return sum(1 for name in os.listdir(self.directory) if name.endswith(".sha256") and name != IDENTITY)

    def _empty(self) -> None:
        for name in os.listdir(self.directory):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()

    def part(self, number: int) -> Path:
        return self.directory / f"{number:05}.part"

    def complete(self, number: int) -> bool:
        """Whether part ``number`` is there with the digest recorded when it was finished."""
        recorded = _read_text(self.directory / f"{number:05}.sha256")
        if recorded is None:
            return False
        try:
            return _digest_of(self.part(number)) == recorded
        except OSError:
            return False

    def record(self, number: int) -> None:
        """Part ``number`` is finished: record its digest."""
        _write_text(self.directory / f"{number:05}.sha256", _digest_of(self.part(number)))

    def forget(self, number: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.directory / f"{number:05}.sha256").unlink()

    def remove(self) -> None:
        """The set is committed: the kept parts are gone (renamed into place) and so is the directory."""
        shutil.rmtree(self.directory, ignore_errors=True)


def identity_of(index_bytes: bytes, note: str | None) -> str:
    """What makes two runs the same job: the index they write and their provenance record."""
    return hashlib.sha256(index_bytes + b"\0" + (note or "").encode()).hexdigest()
