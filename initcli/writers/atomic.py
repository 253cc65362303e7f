"""Atomic file output: a target is either untouched or complete, never partial.

Data goes to a temporary file in the target's directory (same file system),
is flushed and fsynced, and is then moved into place:

* without ``force``, with ``os.link`` (fails if the target appeared in the
  meantime, so an existing file is never replaced), then the temporary name
  is removed;
* with ``force``, with ``os.replace`` (atomic on POSIX).

On any error -- or ``KeyboardInterrupt`` -- the temporary file is removed and
the target is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import ResourceError


def check_target(path: str | os.PathLike[str], *, force: bool, exists_ok: bool = False) -> Path:
    """Fail early, before any work, if ``path`` cannot be written.

    Checks that the directory exists and is writable, that ``path`` is not a
    directory, and that it does not exist unless ``force`` (or ``exists_ok``,
    for outputs that add to a file).
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise ResourceError(f"cannot write {str(target)!r}: directory {str(parent)!r} does not exist; create it first")
    if not parent.is_dir():
        raise ResourceError(f"cannot write {str(target)!r}: {str(parent)!r} is not a directory")
    if target.is_dir():
        raise ResourceError(f"cannot write {str(target)!r}: it is a directory; give a file name")
    if target.exists() and not (force or exists_ok):
        raise ResourceError(f"{str(target)!r} already exists; use --force to replace it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ResourceError(f"cannot write {str(target)!r}: directory {str(parent)!r} is not writable")
    return target


def check_disk(path: str | os.PathLike[str], needed: int) -> None:
    """Fail before writing if the file system of ``path`` has less than ``needed`` bytes free."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        free = shutil.disk_usage(parent).free
    except OSError:
        return
    if needed > free:
        from ..memory import format_bytes

        raise ResourceError(
            f"writing {str(target)!r} needs about {format_bytes(needed)} of disk space but only "
            f"{format_bytes(free)} is free there"
        )


def _default_mode() -> int:
    """``0o666`` less the process umask: the mode ``open()`` would give a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


HINT_EVERY = 64 * 2**20
"""Bytes between write-back hints."""


class _WritebackHints:
    """A file proxy that asks the kernel to start writing data back as it goes.

    Every 64 MiB it hints ``POSIX_FADV_DONTNEED`` for what was written since the last hint:
    Linux starts the write-back then (and later drops the clean pages), so the final fsync
    has little left to wait for and the page cache is not flooded.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._since = 0
        self._hinted = 0

    def write(self, data: Any) -> int:
        written = self._handle.write(data)
        self._since += len(memoryview(data).cast("B"))
        if self._since >= HINT_EVERY and hasattr(os, "posix_fadvise"):
            self._handle.flush()
            position = self._handle.tell()
            if position > self._hinted:
                with contextlib.suppress(OSError):
                    os.posix_fadvise(
                        self._handle.fileno(), self._hinted, position - self._hinted, os.POSIX_FADV_DONTNEED
                    )
                self._hinted = position
            self._since = 0
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, force: bool) -> Iterator[BinaryIO]:
    """Open a temporary file for writing; on success move it to ``path``."""
    target = check_target(path, force=force, exists_ok=force)
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 -- closed below on every path
            mode="wb", dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
        )
    except OSError as error:
        raise ResourceError(f"cannot write {str(target)!r}: {error.strerror}") from None
    temporary = Path(handle.name)
    try:
        try:
            yield _WritebackHints(handle)  # type: ignore[misc]
            if not handle.closed:
                handle.flush()
            with open(temporary, "rb+") as synced:
                os.fsync(synced.fileno())
        finally:
            handle.close()
        os.chmod(temporary, _default_mode())
        _commit(temporary, target, force=force)
    except OSError as error:
        _remove_quietly(temporary)
        if isinstance(error, ResourceError):
            raise
        raise ResourceError(f"cannot write {str(target)!r}: {error.strerror or error}") from None
    except BaseException:
        _remove_quietly(temporary)
        raise


def _commit(temporary: Path, target: Path, *, force: bool) -> None:
    if force:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise ResourceError(f"{str(target)!r} already exists; use --force to replace it") from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # File systems without hard links: check, then rename (a small race remains).
        if target.exists():
            raise ResourceError(f"{str(target)!r} already exists; use --force to replace it") from None
        os.rename(temporary, target)
        return
    temporary.unlink()


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
