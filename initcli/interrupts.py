"""Signals that end a run, delivered so that they cannot be lost.

Ctrl-C (SIGINT), SIGTERM, SIGHUP and SIGQUIT end a run after cleanup: the handler raises
:class:`KeyboardInterrupt` or :class:`Terminated`, which unwinds through the writers so that
scratch files are discarded.  Python runs a signal handler wherever the main thread happens to
be, and an exception raised while it is inside a finalizer or a weak-reference callback is
printed as "Exception ignored" and dropped: the run would go on and commit its output as if
no signal had come.  So every handled signal is also recorded (:func:`pending`), the writers
check the record just before they commit (:func:`raise_if_pending`), and such dropped
exceptions are not printed.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

ENDING = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up", signal.SIGQUIT: "quit"}
"""Signals that end a run after cleanup (exit 128 + number), with the word the error line says."""

_PENDING: list[int] = []


class Terminated(BaseException):
    """SIGTERM, SIGHUP or SIGQUIT arrived: unwind like Ctrl-C, so that scratch files are removed."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum


def _exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def on_signal(signum: int, frame: Any) -> None:
    """The handler: record the signal, then unwind."""
    _PENDING.append(signum)
    raise _exception(signum)


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
