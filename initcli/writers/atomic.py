"""Atomic file output: a target is either untouched or complete, never partial.

Data goes to a scratch file in the target's directory (same file system), is
flushed and fsynced, and is then linked into place:

* where the file system allows it (Linux, ``O_TMPFILE``), the scratch file has
  no name at all until it is complete, so even ``kill -9`` leaves nothing
  behind: the kernel frees an unnamed file when its process dies;
* elsewhere it is a hidden ``.NAME.*.part`` file, removed on every exit path
  that can run code;
* without ``force``, the commit is ``link`` (fails if the target appeared in
  the meantime, so an existing file is never replaced);
* with ``force``, it is ``rename`` over the target (atomic on POSIX).

On any error -- or ``KeyboardInterrupt`` -- the scratch file is discarded and
the target is left as it was.  Changes to an existing file (adding an HDF5
dataset, appending to an ``.npz``) copy it into the scratch file, change the
copy and swap it in, under :func:`directory_lock` so that concurrent adders
wait for each other instead of losing each other's work.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
import uuid
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

    def __init__(self, scratch: Scratch) -> None:
        self._handle = scratch.handle
        self._scratch = scratch
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

    @property
    def name(self) -> str:
        return self._scratch.name

    @property
    def file(self) -> BinaryIO:
        """The underlying file object (for libraries that do their own I/O, such as h5py)."""
        return self._handle

    @property
    def directory(self) -> Path:
        return self._scratch.directory

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


class Scratch:
    """The file being written: ``handle`` (read/write), ``name`` (a path that opens the same
    file, for libraries that want a path) and ``directory``."""

    def __init__(self, target: Path) -> None:
        self.directory = target.parent if str(target.parent) else Path(".")
        self.target = target
        self.path: Path | None = None
        fd = None
        if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                fd = os.open(self.directory, os.O_TMPFILE | os.O_RDWR, _default_mode())
        if fd is None:
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 -- closed by close()
                mode="w+b", dir=self.directory, prefix=f".{target.name}.", suffix=".part", delete=False
            )
            self.path = Path(handle.name)
            self.handle: BinaryIO = handle  # type: ignore[assignment]
            self.name = handle.name
        else:
            self.handle = os.fdopen(fd, "w+b")
            self.name = f"/proc/self/fd/{fd}"

    def finish(self) -> None:
        """Flush and fsync what was written (through the handle or through ``name``)."""
        if not self.handle.closed:
            self.handle.flush()
            os.fsync(self.handle.fileno())
        elif self.path is not None:
            with open(self.path, "rb+") as synced:
                os.fsync(synced.fileno())

    def commit(self, *, force: bool) -> None:
        """Give the finished file the target's name."""
        if self.path is None:
            try:
                self._link(self.target)
                return
            except FileExistsError:
                if not force:
                    raise ResourceError(f"{str(self.target)!r} already exists; use --force to replace it") from None
            staged = self.directory / f".{self.target.name}.{uuid.uuid4().hex}.part"
            self._link(staged)
            try:
                os.replace(staged, self.target)
            except BaseException:
                with contextlib.suppress(OSError):
                    staged.unlink()
                raise
            return
        self.handle.close()
        os.chmod(self.path, _default_mode())
        _commit(self.path, self.target, force=force)

    def _link(self, destination: Path) -> None:
        """Give the unnamed file a name: ``linkat`` through ``/proc/self/fd`` with
        ``AT_SYMLINK_FOLLOW`` (``os.link`` uses it only when given a directory fd)."""
        procfd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.link(str(self.handle.fileno()), destination, src_dir_fd=procfd, follow_symlinks=True)
        finally:
            os.close(procfd)

    def close(self) -> None:
        """Release the scratch file; an unnamed one vanishes, a named one is removed if left."""
        with contextlib.suppress(OSError):
            self.handle.close()
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, force: bool) -> Iterator[Any]:
    """Yield a scratch file to write (``.write`` and friends, ``.name``, ``.directory``); on
    success it becomes ``path``."""
    target = check_target(path, force=force, exists_ok=force)
    try:
        scratch = Scratch(target)
    except OSError as error:
        raise ResourceError(f"cannot write {str(target)!r}: {error.strerror}") from None
    try:
        yield _WritebackHints(scratch)
        scratch.finish()
        scratch.commit(force=force)
    except OSError as error:
        if isinstance(error, ResourceError):
            raise
        raise ResourceError(f"cannot write {str(target)!r}: {error.strerror or error}") from None
    finally:
        scratch.close()


@contextlib.contextmanager
def directory_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on the directory of ``path`` (``flock``), so that read-modify-write
    changes to files in it by concurrent initcli processes happen one after the other."""
    directory = Path(path).parent if str(Path(path).parent) else Path(".")
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


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
