"""Atomic file output: a target is either untouched or complete, never partial.

Data goes to a scratch file in the target's directory (same file system), is
flushed and fsynced, and is then linked into place; the directory is fsynced
after the final link or rename (:func:`_sync_directory`), so the new name
survives a power cut too:

* where the file system allows it (Linux, ``O_TMPFILE``), the scratch file has
  no name at all until it is complete, so even ``kill -9`` leaves nothing
  behind: the kernel frees an unnamed file when its process dies;
* elsewhere (or with ``INITCLI_NO_TMPFILE=1`` in the environment) it is a
  hidden ``.initcli-XXXXXXXXXXXX.part`` file, a short fixed-length name (so
  any target name up to ``NAME_MAX`` works), removed on every exit path that
  can run code;
* without ``force``, the commit is ``link`` (fails if the target appeared in
  the meantime, so an existing file is never replaced);
* with ``force``, it is ``rename`` over the target (atomic on POSIX).

What the target is decides what happens (:func:`resolve_target`):

* a missing name or a regular file: the scheme above.  Symbolic links are
  followed: the file they point to is written (created, added to or
  replaced), the link itself stays.  A dangling link, a link loop, a
  directory, a block device and a socket are refused;
* a FIFO (a named pipe, or a pipe behind ``/dev/stdout``, ``/dev/fd/N``,
  ``/proc/self/fd/N``) and the null-like devices ``/dev/null``, ``/dev/zero``,
  ``/dev/full`` are written *into*: opened for writing, nothing renamed,
  nothing replaced, so no ``--force`` is needed; formats that seek are built in
  an unnamed scratch file in the temporary directory and copied in.  Other
  character devices (terminals, disks, memory) are refused;
* a regular file reached through a file-descriptor link (``/dev/stdout`` when
  the shell redirected it to a file) is refused: "use -o - instead".

Replacing or changing an existing file keeps its mode, owner and group.
Every commit takes :func:`directory_lock`, which is re-entrant within a
thread, so read-modify-write changes (adding an HDF5 dataset, appending to an
``.npz``: they hold the lock from the read to the swap) and forced
replacements of the same file happen one after the other and never lose one
another's work.  A directory that is append-only (``chattr +a``), where a
scratch name could neither be renamed nor removed, is refused before
anything is named.

On any error -- or ``KeyboardInterrupt`` and the signals the command line
turns into exceptions -- the scratch file is discarded and the target is left
as it was.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import stat
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import ResourceError
from ..interrupts import raise_if_pending

NO_TMPFILE_ENV = "INITCLI_NO_TMPFILE"
"""Set to ``1`` to use named ``.part`` scratch files even where ``O_TMPFILE`` works (for tests)."""

MAX_LINKS = 40
"""Symbolic links followed before a chain counts as a loop (Linux's own limit)."""

_FD_DIRECTORY = re.compile(r"/proc/(?:self|thread-self|\d+)(?:/task/\d+)?/fd")
"""Where file-descriptor "magic" links live (``/dev/fd`` and ``/dev/std*`` lead here)."""

_NULL_LIKE = {(1, 3), (1, 5), (1, 7)}
"""``(major, minor)`` of ``/dev/null``, ``/dev/zero`` and ``/dev/full``: character devices written into."""

STREAM_DEVICES = "FIFOs (named pipes, pipes) and /dev/null, /dev/zero, /dev/full"


@dataclass(frozen=True)
class Target:
    """Where output goes: ``given`` (as named), ``path`` (the file itself, symbolic links
    followed; for a stream, ``given``), ``kind`` (``"new"``, ``"file"`` or ``"stream"``)."""

    given: Path
    path: Path
    kind: str

    @property
    def directory(self) -> Path:
        """The directory the file's name lives in (the one that is locked and synced)."""
        return _parent(self.path)

    @property
    def exists(self) -> bool:
        return self.kind != "new"

    def __fspath__(self) -> str:
        return os.fspath(self.path)


def _parent(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _shown(path: str | os.PathLike[str]) -> str:
    return repr(os.fspath(path))


def _follow(path: Path) -> tuple[Path, int, bool]:
    """Follow symbolic links at the last component of ``path`` (directories above are resolved
    by ``realpath``).  Returns ``(final path, links followed, through a file-descriptor link)``."""
    current = os.path.join(os.getcwd(), os.fspath(path))
    for followed in range(MAX_LINKS + 1):
        parent, name = os.path.split(current)
        parent = os.path.realpath(parent)
        if _FD_DIRECTORY.fullmatch(parent):
            return Path(parent, name), followed, True
        candidate = os.path.join(parent, name)
        if name in ("", ".", ".."):
            return Path(os.path.realpath(candidate)), followed, False
        try:
            link = os.readlink(candidate)
        except OSError:
            return Path(candidate), followed, False
        current = os.path.join(parent, link)
    raise ResourceError(f"cannot write {_shown(path)}: it is a symbolic link loop; give a file name")


def resolve_target(path: str | os.PathLike[str]) -> Target:
    """What ``path`` is, for writing; refuse, with one line, what must not be written.

    See the module documentation for the rules."""
    given = Path(path)
    final, followed, through_fd = _follow(given)
    try:
        info = os.stat(given if through_fd else final)
    except FileNotFoundError:
        if followed:
            raise ResourceError(
                f"cannot write {_shown(given)}: it is a symbolic link to {_shown(final)}, which does not exist; "
                "give the file's own name"
            ) from None
        return Target(given, final, "new")
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ResourceError(f"cannot write {_shown(given)}: it is a symbolic link loop; give a file name") from None
        if error.errno == errno.ENOTDIR:
            raise ResourceError(f"cannot write {_shown(given)}: {_not_a_directory(given)} is not a directory") from None
        raise ResourceError(f"cannot write {_shown(given)}: {error.strerror}") from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise ResourceError(f"cannot write {_shown(given)}: it is a directory; give a file name")
    if stat.S_ISREG(mode):
        if through_fd:
            raise ResourceError(
                f"cannot write {_shown(given)}: it is a file descriptor of this process open on a regular file; "
                "use -o - instead, or give the file's own name"
            )
        return Target(given, final, "file")
    if stat.S_ISFIFO(mode):
        return Target(given, given, "stream")
    if stat.S_ISCHR(mode):
        if (os.major(info.st_rdev), os.minor(info.st_rdev)) in _NULL_LIKE:
            return Target(given, given, "stream")
        raise ResourceError(
            f"cannot write {_shown(given)}: it is a character device (a terminal or hardware); "
            f"initcli writes into {STREAM_DEVICES} only; redirect or give a file name"
        )
    what = "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
    raise ResourceError(f"cannot write {_shown(given)}: it is {what}; give a file name")


def _parent_as_given(target: Target) -> Path:
    """The target's directory as the user wrote it, unless a symbolic link led elsewhere."""
    written = _parent(target.given)
    return written if os.path.realpath(written) == os.path.realpath(target.directory) else target.directory


def _not_a_directory(path: Path) -> str:
    """The first leading component of ``path`` that exists but is not a directory (quoted)."""
    for ancestor in reversed(path.parents):
        if str(ancestor) not in ("", ".") and os.path.exists(ancestor) and not os.path.isdir(ancestor):
            return _shown(ancestor)
    return "a component of it"


def check_target(path: str | os.PathLike[str], *, force: bool, exists_ok: bool = False) -> Target:
    """Fail early, before any work, if ``path`` cannot be written; return what it is.

    Checks what the target is (:func:`resolve_target`), that its directory exists and is
    writable, that an existing file is replaced only with ``force`` (or changed with
    ``exists_ok``, for outputs that add to a file), and that the directory can take a
    scratch file and lose it again (not append-only where that would need a name)."""
    target = resolve_target(path)
    if target.kind == "stream":
        return target
    given, parent = target.given, _parent_as_given(target)
    if not parent.exists():
        raise ResourceError(f"cannot write {_shown(given)}: directory {_shown(parent)} does not exist; create it first")
    if not parent.is_dir():
        raise ResourceError(f"cannot write {_shown(given)}: {_shown(parent)} is not a directory")
    if target.exists and not (force or exists_ok):
        raise ResourceError(f"{_shown(given)} already exists; use --force to replace it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ResourceError(f"cannot write {_shown(given)}: directory {_shown(parent)} is not writable")
    if append_only(parent) and (target.exists or not _tmpfile_works(parent)):
        raise ResourceError(
            f"cannot write {_shown(given)}: directory {_shown(parent)} is append-only (chattr +a), where "
            "initcli can add a new file but cannot replace one or remove a scratch file; write elsewhere"
        )
    return target


FS_APPEND_FL = 0x20
"""``FS_APPEND_FL`` from ``linux/fs.h``."""

_FS_IOC_GETFLAGS = (2 << 30) | (struct.calcsize("l") << 16) | (ord("f") << 8) | 1


def append_only(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` has the append-only attribute (``chattr +a``; Linux, else ``False``)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return False
    try:
        flags = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, bytes(8))
    except OSError:
        return False
    finally:
        os.close(fd)
    return bool(struct.unpack("i", flags[:4])[0] & FS_APPEND_FL)


def _tmpfile_wanted() -> bool:
    return (
        hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd") and os.environ.get(NO_TMPFILE_ENV, "") in ("", "0")
    )


def _tmpfile_works(directory: Path) -> bool:
    """Whether an unnamed scratch file can be made in ``directory`` (tried, and let go)."""
    if not _tmpfile_wanted():
        return False
    try:
        os.close(os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600))
    except OSError:
        return False
    return True


def check_disk(path: str | os.PathLike[str], needed: int) -> None:
    """Fail before writing if the file system of ``path`` has less than ``needed`` bytes free
    (FIFOs and null devices take any amount)."""
    target = Path(path)
    with contextlib.suppress(ResourceError):
        if resolve_target(target).kind == "stream":
            return
    parent = _parent(target)
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


class _Into:
    """Output written straight into a FIFO or null device (``.write``, ``.file``, ``.directory``:
    the temporary directory, for scratch files a writer needs on the side)."""

    def __init__(self, handle: BinaryIO, name: str) -> None:
        self._handle = handle
        self.name = name
        self.directory = Path(tempfile.gettempdir())

    @property
    def file(self) -> BinaryIO:
        return self._handle

    def write(self, data: Any) -> int:
        return self._handle.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def scratch_name() -> str:
    """A fresh scratch file name: short and of fixed length, whatever the target's name."""
    return f".initcli-{secrets.token_hex(6)}.part"


class Scratch:
    """The file being written: ``handle`` (read/write), ``name`` (a path that opens the same
    file, for libraries that want a path) and ``directory``.

    Unnamed (``O_TMPFILE``) where possible, else a named ``.initcli-*.part`` file that
    :meth:`close` removes (also when the constructor itself is interrupted)."""

    def __init__(self, target: Path, directory: Path | None = None, *, label: Path | None = None) -> None:
        self.directory = directory if directory is not None else _parent(target)
        self.target = target
        self.label = label if label is not None else target
        """The name messages show (the target as the user gave it)."""
        self.path: Path | None = None
        self.handle: BinaryIO
        fd = None
        if _tmpfile_wanted():
            with contextlib.suppress(OSError):
                fd = os.open(self.directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, _default_mode())
        if fd is not None:
            self.handle = os.fdopen(fd, "w+b")
            self.name = f"/proc/self/fd/{fd}"
            return
        if append_only(self.directory):
            raise ResourceError(
                f"cannot write {_shown(self.label)}: directory {_shown(self.directory)} is append-only (chattr +a) "
                "and a scratch file there could not be removed; write elsewhere"
            )
        try:
            for _ in range(100):
                self.path = self.directory / scratch_name()
                try:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                    break
                except FileExistsError:
                    self.path = None
            else:
                raise FileExistsError(errno.EEXIST, "no free scratch name")
            self.handle = os.fdopen(fd, "w+b")
            self.name = os.fspath(self.path)
        except BaseException:
            self.close()
            raise

    @classmethod
    def adopt(cls, path: Path, target: Path) -> Scratch:
        """A finished named scratch file that another process wrote (a worker on another machine,
        into storage both see) as the scratch file for ``target``: :meth:`commit` links or renames
        it, :meth:`close` removes it if it is still there."""
        scratch = cls.__new__(cls)
        scratch.directory, scratch.target, scratch.label, scratch.path = path.parent, target, target, path
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ResourceError(f"{_shown(path)} is not a regular file")
        scratch.handle = os.fdopen(fd, "r+b")
        scratch.name = os.fspath(path)
        return scratch

    def finish(self) -> None:
        """Flush and fsync what was written (through the handle or through ``name``)."""
        if not self.handle.closed:
            self.handle.flush()
            os.fsync(self.handle.fileno())
        elif self.path is not None:
            with open(self.path, "rb+") as synced:
                os.fsync(synced.fileno())

    def commit(self, *, force: bool) -> bool:
        """Give the finished file the target's name; ``True`` if it replaced a file.

        The caller holds :func:`directory_lock`.  An existing target's mode, owner and group
        carry over to the new file."""
        existing = _existing(self.target)
        self._carry_over(existing)
        exists = f"{_shown(self.label)} already exists; use --force to replace it"
        if existing is not None and not force:
            raise ResourceError(exists)
        if self.path is None:
            try:
                self._link(self.target)
                return False
            except FileExistsError:
                if not force:
                    raise ResourceError(exists) from None
            staged = self.directory / scratch_name()
            self._link(staged)
            try:
                os.replace(staged, self.target)
            except BaseException:
                with contextlib.suppress(OSError):
                    staged.unlink()
                raise
            return True
        self.handle.close()
        _commit(self.path, self.target, force=force, label=self.label)
        return existing is not None

    def _carry_over(self, existing: os.stat_result | None) -> None:
        """The new file's mode (and, replacing a file, its owner and group) before it gets its name."""
        fd = self.handle.fileno()
        if existing is None:
            os.fchmod(fd, _default_mode())
            return
        if (existing.st_uid, existing.st_gid) != _owner(fd):
            with contextlib.suppress(PermissionError):  # not ours to give away: keep the mode at least
                os.fchown(fd, existing.st_uid, existing.st_gid)
        os.fchmod(fd, stat.S_IMODE(existing.st_mode))

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
        with contextlib.suppress(OSError, AttributeError):
            self.handle.close()
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()


def _owner(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_uid, info.st_gid


def _existing(path: Path) -> os.stat_result | None:
    """The status of the regular file at ``path``, ``None`` if there is none."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


Committed = Callable[[Path, bool], None]
"""Called under the directory lock right after a commit, with the file's path and whether
it replaced an existing file."""


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, force: bool, committed: Committed | None = None) -> Iterator[Any]:
    """Yield a scratch file to write (``.write`` and friends, ``.file``, ``.name``,
    ``.directory``); on success it becomes ``path`` (see the module documentation for FIFOs
    and null devices, which are written into).  ``committed`` runs under the lock after the
    commit."""
    target = check_target(path, force=force, exists_ok=force)
    if target.kind == "stream":
        with _write_into(target) as stream:
            yield stream
        return
    try:
        scratch = Scratch(target.path, label=target.given)
    except ResourceError:
        raise
    except OSError as error:
        raise ResourceError(f"cannot write {_shown(target.given)}: {error.strerror}") from None
    try:
        yield _WritebackHints(scratch)
        scratch.finish()
        with directory_lock(target.path):
            raise_if_pending()  # a signal whose exception Python dropped still stops the commit
            replaced = scratch.commit(force=force)
            _sync_directory(target.directory)
            if committed is not None:
                committed(target.path, replaced)
    except OSError as error:
        if isinstance(error, ResourceError):
            raise
        raise ResourceError(f"cannot write {_shown(target.given)}: {error.strerror or error}") from None
    finally:
        scratch.close()


@contextlib.contextmanager
def _write_into(target: Target) -> Iterator[Any]:
    """Open a FIFO or null device for writing and yield it; nothing is created or renamed."""
    try:
        fd = os.open(target.given, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as error:
        raise ResourceError(f"cannot write {_shown(target.given)}: {error.strerror}") from None
    handle = os.fdopen(fd, "wb")
    try:
        yield _Into(handle, os.fspath(target.given))
        handle.flush()
    except OSError as error:
        if isinstance(error, ResourceError):
            raise
        raise ResourceError(f"cannot write {_shown(target.given)}: {error.strerror or error}") from None
    finally:
        with contextlib.suppress(OSError):
            handle.close()


@contextlib.contextmanager
def seekable_into(stream: Any) -> Iterator[BinaryIO]:
    """A seekable file for formats that seek (HDF5): ``stream.file`` itself when it is a scratch
    file, else an unnamed scratch file in the temporary directory whose bytes are copied into
    ``stream`` at the end."""
    if not isinstance(stream, _Into):
        yield stream.file
        return
    with tempfile.TemporaryFile(dir=stream.directory) as side:
        yield side
        side.flush()
        side.seek(0)
        shutil.copyfileobj(side, stream.file, 1 << 20)


class _Held(threading.local):
    def __init__(self) -> None:
        self.locks: dict[tuple[int, int], list[int]] = {}


_HELD = _Held()
"""Directory locks this thread holds: ``(st_dev, st_ino)`` -> ``[fd, depth]``."""


@contextlib.contextmanager
def directory_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on the directory of ``path`` (``flock``), so that changes to files
    in it by concurrent initcli processes (and threads) happen one after the other.

    Re-entrant within a thread: the directory is identified by ``(st_dev, st_ino)``, and a
    thread that holds its lock takes it again at once (adders hold it while they commit)."""
    target = Path(path)
    directory = _parent(Path(_follow(target)[0])) if not isinstance(path, Target) else path.directory
    fd = os.open(directory, os.O_RDONLY)
    info = os.fstat(fd)
    key = (info.st_dev, info.st_ino)
    held = _HELD.locks.get(key)
    if held is not None:
        os.close(fd)
        held[1] += 1
        try:
            yield
        finally:
            held[1] -= 1
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD.locks[key] = [fd, 1]
        try:
            yield
        finally:
            del _HELD.locks[key]
    finally:
        os.close(fd)


def _sync_directory(directory: str | os.PathLike[str]) -> None:
    """fsync ``directory``, so that a name just linked or renamed in it is on disk (best effort:
    some file systems do not sync directories)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _commit(temporary: Path, target: Path, *, force: bool, label: Path) -> None:
    if force:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise ResourceError(f"{_shown(label)} already exists; use --force to replace it") from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # File systems without hard links: check, then rename (a small race remains).
        if target.exists():
            raise ResourceError(f"{_shown(label)} already exists; use --force to replace it") from None
        os.rename(temporary, target)
        return
    temporary.unlink()


def same_file(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """Whether two names lead to the same file: the same path once symbolic links are followed,
    or the same inode (hard links, FIFOs and devices reached two ways)."""
    with contextlib.suppress(ResourceError):
        if _follow(Path(first))[0] == _follow(Path(second))[0]:
            return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False
