"""Independent tasks (the shards of a set) on local worker processes: ``--workers N``.

:func:`run_tasks` forks ``N`` children, each of which runs tasks ``w, w + N, w + 2N, ...``
(shards are of similar size, so a fixed assignment balances well) and reports each one done,
or its first error, on a pipe.  The tasks are closures over the caller's state (the plan,
the streams, the scratch files opened before the fork): nothing is pickled, and a child writes
into the very scratch files the parent later commits.  The results are byte for byte those of
``N = 1``, which runs the tasks in this process, in order (tested).

* A child's error is reported with the task it was running; the others are killed at once and
  the caller's cleanup runs (no scratch file is committed).
* Ctrl-C reaches the children too: they ignore it and the parent, which handles it, kills
  them; a child whose parent dies is killed by the kernel (``PR_SET_PDEATHSIG``).
* Forking needs a process with one thread (a fork copies locks held by others in whatever
  state they are); a process with more threads runs the tasks in process, in order, and so
  does a platform without ``fork``.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import struct
import threading
from collections.abc import Callable

from .errors import InitcliError, ResourceError

_DONE = struct.Struct("<cI")


def can_fork() -> bool:
    """Whether :func:`run_tasks` may fork here: ``fork`` exists and this process has one thread."""
    return hasattr(os, "fork") and threading.active_count() == 1


def run_tasks(
    count: int,
    task: Callable[[int], None],
    workers: int,
    *,
    describe: Callable[[int], str] = str,
    done: Callable[[int], None] | None = None,
) -> None:
    """Run ``task(0) .. task(count - 1)`` on ``workers`` processes (see the module docstring);
    ``done(i)`` runs in this process as each task completes; ``describe(i)`` names a task in errors."""
    workers = min(workers, count)
    if workers <= 1 or not can_fork():
        for index in range(count):
            task(index)
            if done is not None:
                done(index)
        return
    read_end, write_end = os.pipe()
    children: list[int] = []
    reaped: set[int] = set()
    try:
        for worker in range(workers):
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read_end)
                _child(worker, workers, count, task, describe, write_end)
            children.append(pid)
        os.close(write_end)
        write_end = -1
        _collect(read_end, count, children, reaped, done)
    finally:
        if write_end >= 0:
            os.close(write_end)
        os.close(read_end)
        waiting = [pid for pid in children if pid not in reaped]  # a reaped pid may be another process's now
        for pid in waiting:  # finished children exit by themselves; any other is stopped here
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in waiting:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _child(
    worker: int, workers: int, count: int, task: Callable[[int], None], describe: Callable[[int], str], out: int
) -> None:
    code = 0
    index = worker
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides
        from .reading.bounded import _die_with_parent

        _die_with_parent()
        for index in range(worker, count, workers):
            task(index)
            os.write(out, _DONE.pack(b"D", index))
    except BaseException as error:  # reported to the parent, never a traceback
        from .writers.chunks import being_made

        message = str(error) if isinstance(error, InitcliError) else f"{type(error).__name__}: {error}"
        tensor = f" (tensor {being_made()!r})" if being_made() else ""
        text = f"worker {worker} failed making {describe(index)}{tensor}: {message}".encode()[:60000]
        with contextlib.suppress(OSError):
            os.write(out, _DONE.pack(b"E", len(text)) + text)
        code = 1
    finally:
        os._exit(code)


def _collect(fd: int, count: int, children: list[int], reaped: set[int], done: Callable[[int], None] | None) -> None:
    """Wait for ``count`` completions; the first error (or a child that died) raises."""
    finished = 0
    buffer = b""
    while finished < count:
        ready = select.select([fd], [], [], 0.5)[0]
        if not ready:
            _check_alive(children, reaped)
            continue
        piece = os.read(fd, 65536)
        if not piece:  # every child has closed the pipe: all have ended
            _check_alive(children, reaped, wait=True)
            raise ResourceError(f"a worker ended without finishing its tasks ({finished} of {count} done)")
        buffer += piece
        while len(buffer) >= _DONE.size:
            kind, value = _DONE.unpack(buffer[: _DONE.size])
            if kind == b"E":
                if len(buffer) < _DONE.size + value:
                    break
                raise ResourceError(buffer[_DONE.size : _DONE.size + value].decode("utf-8", "replace"))
            buffer = buffer[_DONE.size :]
            finished += 1
            if done is not None:
                done(value)


def _check_alive(children: list[int], reaped: set[int], *, wait: bool = False) -> None:
    """A child killed from outside (SIGKILL, the OOM killer) reports nothing: notice it (``wait``:
    the children are known to have ended; wait for each)."""
    for pid in children:
        if pid in reaped:
            continue
        try:
            ended, status = os.waitpid(pid, 0 if wait else os.WNOHANG)
        except ChildProcessError:
            continue
        if ended:
            reaped.add(pid)
        if ended and (os.WIFSIGNALED(status) or os.WEXITSTATUS(status) != 0):
            reason = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
            raise ResourceError(f"a worker process died ({reason}) before finishing its tasks")
