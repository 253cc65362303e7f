"""Signals that end a run, delivered so that they cannot be lost.

Ctrl-C (SIGINT), SIGTERM, SIGHUP and SIGQUIT end a run after cleanup: the handler raises
:class:`KeyboardInterrupt` or :class:`Terminated`, which unwinds through the writers so that
scratch files are discarded.  Python runs a signal handler wherever the main thread happens to
be, and an exception raised while it is inside a finalizer or a weak-reference callback is
printed as "Exception ignored" and dropped: the run would go on and commit its output as if
no signal had come.  So every handled signal is also recorded (:func:`pending`), the writers
check the record just before they commit (:func:`raise_if_pending`), and such dropped
exceptions are not printed.

An exception raised inside the Python code of a lock, a condition or a queue (``threading``,
``queue``, ``concurrent.futures``) can leave a lock held or a waiter registered: a queue
whose mutex was never released, an executor whose shutdown waits for ever.  So while the
main thread is inside such code it runs under :func:`held`: a signal that arrives then is
recorded, and raised as soon as the main thread leaves the outermost ``held`` block.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading
from types import ModuleType, TracebackType
from typing import Any

ENDING = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up", signal.SIGQUIT: "quit"}
"""Signals that end a run after cleanup (exit 128 + number), with the word the error line says."""

_PENDING: list[int] = []
_HELD: list[int] = []
"""Signals that arrived inside a :func:`held` block and have not been raised yet."""
_DEPTH = [0]
"""How deep the main thread is in :func:`held` blocks."""


class Terminated(BaseException):
    """SIGTERM, SIGHUP or SIGQUIT arrived: unwind like Ctrl-C, so that scratch files are removed."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum


def _exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def on_signal(signum: int, frame: Any) -> None:
    """The handler: record the signal, then unwind (at once, or on leaving a :func:`held` block)."""
    _PENDING.append(signum)
    if _DEPTH[0]:
        _HELD.append(signum)
        return
    _HELD.clear()
    raise _exception(signum)


class _Held:
    """The context manager :func:`held` returns (a class, not a generator: it runs per chunk)."""

    __slots__ = ("main",)

    def __enter__(self) -> None:
        self.main = threading.current_thread() is threading.main_thread()
        if self.main:
            _DEPTH[0] += 1

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if not self.main:
            return
        _DEPTH[0] -= 1
        if not _DEPTH[0] and _HELD:
            signum = _HELD[0]
            _HELD.clear()
            raise _exception(signum)


def held() -> _Held:
    """Hold ending signals while the main thread runs synchronisation code; raise on leaving.

    Other threads never run signal handlers, so there the block does nothing.  A signal held
    in a block that is left by another exception is still raised (it replaces that one)."""
    return _Held()


def import_whole(name: str) -> ModuleType:
    """``import name`` with ending signals held until the import is done (then raised).

    A library's import can set up process-wide state in steps that must not be parted: h5py
    registers its HDF5 type converters, then the exit hook that unregisters them.  A Ctrl-C
    between the two leaves converters that HDF5's own C exit handler calls after the interpreter
    is gone, and the process dies of SIGSEGV after printing its error line.  Every import of
    h5py in initcli goes through here."""
    with held():
        return importlib.import_module(name)


def pending() -> int | None:
    """The first ending signal that arrived in this process, if any."""
    return _PENDING[0] if _PENDING else None


def raise_if_pending() -> None:
    """Unwind now if an ending signal arrived, even one whose exception was dropped."""
    if _PENDING:
        raise _exception(_PENDING[0])


def install() -> None:
    """Handle the ending signals (and SIGINT where Python's own handler is in place, so that a
    process started with SIGINT ignored keeps ignoring it); keep dropped exceptions quiet."""
    for signum in ENDING:
        signal.signal(signum, on_signal)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_signal)
    if getattr(sys.unraisablehook, "__name__", "") != "_quiet_dropped_signal":
        previous = sys.unraisablehook

        def _quiet_dropped_signal(unraisable: Any) -> None:
            if isinstance(unraisable.exc_value, (Terminated, KeyboardInterrupt)) and _PENDING:
                return
            previous(unraisable)

        sys.unraisablehook = _quiet_dropped_signal
