"""Work on a hostile file that a C library might never finish: done in a child process with a
time limit.

Some damaged HDF5 files make the HDF5 library loop forever inside a single call (reading a
variable-length string attribute through a corrupted global heap, for one), where no Python
code runs and no signal handler can help.  :func:`in_child` runs such a call in a forked child
that hands its result back through a pipe; if the child has not answered within the limit it
is killed and the caller gets one line saying the file is damaged.  Errors initcli raises in
the child arrive in the parent as the same kind of error with the same message.

Where it is used: ``initcli model`` on a whole-model ``.h5`` (its ``model_config``), and before
initcli opens any HDF5 file in its own process -- ``inspect``/``verify`` of an HDF5 file or a
``.keras`` archive's weights, and an existing HDF5 file that ``--path`` adds to: the child goes
through all the metadata the parent will read (:func:`initcli.readers.read_tensors` itself, or
:func:`initcli.reading.hdf5.walk_metadata`), so the parent only repeats calls that finished.
``INITCLI_HDF5_SECONDS`` sets that limit (default :data:`HDF5_SECONDS`).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Callable

from ..errors import InitcliError, InvalidArgument, ResourceError

_KINDS = {b"2": InvalidArgument, b"1": ResourceError}
HDF5_SECONDS = 30.0
"""How long going through an HDF5 file's metadata may take before the file counts as damaged."""


def hdf5_seconds() -> float:
    """The time limit for an HDF5 file's metadata: ``INITCLI_HDF5_SECONDS`` if set (a positive
    number), else :data:`HDF5_SECONDS`."""
    given = os.environ.get("INITCLI_HDF5_SECONDS")
    try:
        value = float(given) if given else HDF5_SECONDS
    except ValueError:
        value = HDF5_SECONDS
    return value if value > 0 else HDF5_SECONDS


def in_child(work: Callable[[], bytes], seconds: float, what: str) -> bytes:
    """``work()`` run in a forked child, its bytes returned; :class:`ResourceError` naming
    ``what`` if it takes longer than ``seconds``.  Where ``fork`` is missing, ``work()`` runs here."""
    if not hasattr(os, "fork"):
        return work()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_end)
            try:
                payload = b"ok" + work()
            except InitcliError as error:
                payload = b"E" + (b"2" if isinstance(error, InvalidArgument) else b"1") + str(error).encode()
            except BaseException as error:  # a damaged file: reported, never a traceback
                payload = b"E1" + f"{what} failed: {type(error).__name__}: {error}".encode()
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view) :]
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    answered = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                raise ResourceError(
                    f"{what} did not finish in {seconds:g} s: the file is damaged (the HDF5 library loops on it)"
                )
            piece = os.read(read_end, 1 << 20)
            if not piece:
                break
            chunks.append(piece)
        answered = True
    finally:  # also on a signal while waiting: a looping child must not outlive us, nor we wait on it
        if not answered:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.close(read_end)
        os.waitpid(pid, 0)
    payload = b"".join(chunks)
    if payload.startswith(b"ok"):
        return payload[2:]
    if payload[:1] == b"E" and payload[1:2] in _KINDS:
        raise _KINDS[payload[1:2]](payload[2:].decode("utf-8", "replace"))
    raise ResourceError(f"{what} failed: the reading process ended without an answer")
