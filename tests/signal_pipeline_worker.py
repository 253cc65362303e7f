"""Worker for tests/test_signal_pipelines.py: deliver SIGTERM at every point of the main
thread's synchronisation code while it consumes a pipeline, and report what happened.

``python signal_pipeline_worker.py PIPELINE STRIDE`` first counts the line events the main
thread runs inside ``threading``, ``queue`` and ``concurrent.futures`` during one whole run,
then reruns the pipeline once per ``k`` in ``1, 1 + STRIDE, ...`` with ``os.kill(SIGTERM)``
sent to itself at event ``k``.  Every rerun must end with ``Terminated`` (or finish, when the
signal came after the last chunk was handed over) and leave no thread behind.  A rerun
that hangs is cut by faulthandler after 20 s, which exits the process with status 1 and
a traceback of every thread.  The last line of output is a JSON summary.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import threading
import time

import numpy as np

from initcli import interrupts
from initcli.parallel import ordered_map, prefetch


def pipeline(name: str):
    if name == "ordered_map":
        return ordered_map(lambda i: np.full(1000, i), range(40), 2)
    if name == "prefetch":
        return prefetch(iter([np.ones(1000)] * 40), 2)
    if name == "normal_chunks":  # a prefetch consuming a prefetch, as the numpy normal stream runs
        from initcli.backends import streams

        return streams("numpy").normal_chunks(40 * 1000, 0.0, 1.0, np.dtype("float32"), 1, chunk=1000)
    raise SystemExit(f"unknown pipeline {name}")


SYNC = ("threading.py", "queue.py", "concurrent/futures")


def run(name: str, kill_at: int | None) -> tuple[str, int]:
    """One pass; returns (outcome, line events seen in synchronisation code)."""
    count = [0]

    def local(frame, event, arg):
        if event == "line":
            count[0] += 1
            if count[0] == kill_at:
                os.kill(os.getpid(), signal.SIGTERM)
        return local

    def tracer(frame, event, arg):
        if event == "call" and any(part in frame.f_code.co_filename for part in SYNC):
            return local
        return None

    interrupts._PENDING.clear()
    source = pipeline(name)
    try:
        sys.settrace(tracer)
        for _ in source:
            pass
        sys.settrace(None)
        outcome = "finished"
    except interrupts.Terminated:
        sys.settrace(None)
        outcome = "terminated"
    except BaseException as error:  # reported: the test fails on it
        sys.settrace(None)
        outcome = f"{type(error).__name__}: {error}"
    finally:
        sys.settrace(None)
    source.close()
    return outcome, count[0]


def main() -> None:
    name, stride = sys.argv[1], int(sys.argv[2])
    interrupts.install()
    _, events = run(name, None)
    outcomes: dict[str, int] = {}
    bad: list[list[object]] = []
    for k in range(1, events + 1, stride):
        faulthandler.dump_traceback_later(20, exit=True)
        outcome, _ = run(name, k)
        faulthandler.cancel_dump_traceback_later()
        deadline = time.monotonic() + 5
        while threading.active_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        left = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if left or outcome not in ("terminated", "finished"):
            bad.append([k, outcome, left])
    print(json.dumps({"events": events, "outcomes": outcomes, "bad": bad[:10]}))


if __name__ == "__main__":
    main()
