"""Work on a hostile file that a C library might never finish: done in another process with a
time limit.

Some damaged HDF5 files make the HDF5 library loop forever inside a single call (reading a
variable-length string attribute through a corrupted global heap, for one), where no Python
code runs and no signal handler can help.  :func:`in_child` runs such a call in another process
that hands its result back through a pipe; if that process has not answered within the limit it
is killed and the caller gets one line saying the file is damaged.  Errors initcli raises there
arrive in the caller as the same kind of error with the same message.

Which process:

- a **forked child**, one per call, where forking is cheap and safe: the command line, or any
  process with one Python thread that has loaded none of the multithreaded frameworks that
  declare ``fork`` unsafe (:data:`FORK_HOSTILE`: JAX warns on every fork that it may deadlock);
  a child forked while another thread holds a lock (the import lock, a logging handler's)
  could wait for it for ever, and its file would be reported as damaged;
- else a **reader process** started once with the same interpreter (running :func:`_serve`, with
  this package first on its path and the working directory not on it), which answers calls one
  after another; a call that runs out of time
  kills it and the next call starts a new one.  A process that has Keras and JAX loaded thus pays
  for one interpreter start, not for copying itself on every file it reads.

Where it is used: ``initcli model`` on a whole-model ``.h5`` (its ``model_config``), and before
initcli opens any HDF5 file in its own process -- ``inspect``/``verify`` of an HDF5 file or a
``.keras`` archive's weights, and an existing HDF5 file that ``--path`` adds to: the other process
goes through all the metadata the caller will read (:func:`initcli.readers.read_tensors` itself,
or :func:`initcli.reading.hdf5.walk_metadata`), so the caller only repeats calls that finished.
``INITCLI_HDF5_SECONDS`` sets that limit (default :data:`HDF5_SECONDS`).

The work is named, not passed as a closure: ``(module, function, arguments)`` with a function that
returns bytes, so that the reader process can import and call it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import InitcliError, InvalidArgument, ResourceError

_KINDS = {b"2": InvalidArgument, b"1": ResourceError}
HDF5_SECONDS = 30.0
"""How long going through an HDF5 file's metadata may take before the file counts as damaged."""
FORK_HOSTILE = ("jax", "jaxlib", "tensorflow", "torch")
"""Modules whose presence means this process has threads that a fork may deadlock on."""
_HEADER = struct.Struct("<Q")


def hdf5_seconds() -> float:
    """The time limit for an HDF5 file's metadata: ``INITCLI_HDF5_SECONDS`` if set (a positive
    number), else :data:`HDF5_SECONDS`."""
    given = os.environ.get("INITCLI_HDF5_SECONDS")
    try:
        value = float(given) if given else HDF5_SECONDS
    except ValueError:
        value = HDF5_SECONDS
    return value if value > 0 else HDF5_SECONDS


def in_child(module: str, function: str, arguments: tuple[Any, ...], seconds: float, what: str) -> bytes:
    """``module.function(*arguments)`` (bytes) computed in another process, its bytes returned;
    :class:`ResourceError` naming ``what`` if it takes longer than ``seconds``."""
    if hasattr(os, "fork") and threading.active_count() == 1 and not any(name in sys.modules for name in FORK_HOSTILE):
        return _forked(module, function, arguments, seconds, what)
    return _READER.call(module, function, arguments, seconds, what)


def _answer(module: str, function: str, arguments: tuple[Any, ...], what: str) -> bytes:
    """The work done here, as the message the waiting process decodes with :func:`_decoded`."""
    try:
        return b"ok" + getattr(importlib.import_module(module), function)(*arguments)
    except InitcliError as error:
        return b"E" + (b"2" if isinstance(error, InvalidArgument) else b"1") + str(error).encode()
    except BaseException as error:  # a damaged file: reported, never a traceback
        return b"E1" + f"{what} failed: {type(error).__name__}: {error}".encode()


def _decoded(payload: bytes, what: str) -> bytes:
    if payload.startswith(b"ok"):
        return payload[2:]
    if payload[:1] == b"E" and payload[1:2] in _KINDS:
        raise _KINDS[payload[1:2]](payload[2:].decode("utf-8", "replace"))
    raise ResourceError(f"{what} failed: the reading process ended without an answer")


def _late(what: str, seconds: float) -> ResourceError:
    return ResourceError(f"{what} did not finish in {seconds:g} s: the file is damaged (the HDF5 library loops on it)")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_until(fd: int, deadline: float, wanted: int | None) -> bytes | None:
    """Bytes from ``fd``: ``wanted`` of them, or all until end of file when ``wanted`` is None;
    None if the deadline passes first.  Fewer than ``wanted`` when the writer is gone."""
    chunks: list[bytes] = []
    got = 0
    while wanted is None or got < wanted:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        piece = os.read(fd, 1 << 20 if wanted is None else min(1 << 20, wanted - got))
        if not piece:
            break
        chunks.append(piece)
        got += len(piece)
    return b"".join(chunks)


def _die_with_parent() -> None:
    """Have the kernel kill this process when the one that started it ends (Linux), so that a
    process looping inside HDF5 cannot outlive a caller that was killed outright."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _forked(module: str, function: str, arguments: tuple[Any, ...], seconds: float, what: str) -> bytes:
    """The work in a child forked for it alone, killed if it has not answered in time."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the caller too: it decides
            os.close(read_end)
            _die_with_parent()
            _write_all(write_end, _answer(module, function, arguments, what))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    payload = None
    try:
        payload = _read_until(read_end, time.monotonic() + seconds, None)
    finally:  # also on a signal while waiting: a looping child must not outlive us, nor we wait on it
        if payload is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.close(read_end)
        os.waitpid(pid, 0)
    if payload is None:
        raise _late(what, seconds)
    return _decoded(payload, what)


class _Reader:
    """The reader process: started on first use, fed ``(directory, module, function, arguments)``
    requests on its stdin, answering each with a length-prefixed message on its stdout."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        package_root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        }
        # not ``-m``: that puts the working directory first on sys.path, where a directory named
        # initcli would be imported in place of this package
        serve = "import sys; del sys.path[0]; from initcli.reading.bounded import _serve; _serve()"
        return subprocess.Popen(
            [sys.executable, "-c", serve],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )

    def stop(self) -> None:
        """Kill the reader process (it may be looping) and forget it."""
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    assert stream is not None
                    stream.close()
            process.wait()

    def call(self, module: str, function: str, arguments: tuple[Any, ...], seconds: float, what: str) -> bytes:
        """The work done by the reader process; a reader that was already running and ends without
        answering (it is killed with the thread that started it) is replaced once."""
        try:
            directory: str | None = os.getcwd()
        except OSError:  # a working directory that is gone: absolute paths still work
            directory = None
        request = pickle.dumps((directory, module, function, arguments, what))
        with self._lock:
            for _ in range(2):
                fresh = self._process is None or self._process.poll() is not None
                if fresh:
                    self.stop()
                    self._process = self._start()
                payload = self._ask(request, seconds)
                if payload != b"" or fresh:
                    break
        if payload is None:
            raise _late(what, seconds)
        return _decoded(payload, what)

    def _ask(self, request: bytes, seconds: float) -> bytes | None:
        """The reader's answer to ``request``: None if it is late, ``b""`` if it ended without one
        (either way it is stopped: no reader may go on looping, nor a signal leave one waiting)."""
        process = self._process
        assert process is not None and process.stdin is not None and process.stdout is not None
        payload: bytes | None = None
        try:
            process.stdin.write(_HEADER.pack(len(request)) + request)
            process.stdin.flush()
            deadline = time.monotonic() + seconds
            header = _read_until(process.stdout.fileno(), deadline, _HEADER.size)
            if header is not None and len(header) == _HEADER.size:
                size = _HEADER.unpack(header)[0]
                payload = _read_until(process.stdout.fileno(), deadline, size)
                if payload is not None and len(payload) != size:
                    payload = b""  # cut short: the reader ended while answering
            elif header is not None:
                payload = b""  # the reader ended without answering
        except BrokenPipeError:
            payload = b""
        finally:
            if payload is None or payload == b"":
                self.stop()
        return payload


_READER = _Reader()


def _serve() -> None:
    """The reader process's loop (see :meth:`_Reader._start`): requests from the
    process that started it, one at a time, until its stdin closes."""
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the caller ended before the line above
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller decides when this ends
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = source.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        directory, module, function, arguments, what = pickle.loads(source.read(_HEADER.unpack(header)[0]))
        try:
            if directory is not None:
                os.chdir(directory)
            answer = _answer(module, function, arguments, what)
        except OSError as error:
            answer = b"E1" + f"{what} failed: {error}".encode()
        sink.write(_HEADER.pack(len(answer)) + answer)
        sink.flush()


if __name__ == "__main__":
    _serve()
