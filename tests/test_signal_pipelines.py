"""A signal that lands inside the main thread's lock, queue or future code ends the run cleanly.

Python runs a signal handler between two bytecodes of the main thread, wherever it is; the
handler raises (``KeyboardInterrupt``, :class:`initcli.interrupts.Terminated`).  Landing inside
``threading``/``queue``/``concurrent.futures`` code, that exception can leave a lock held: a
queue whose mutex is never released, an executor whose shutdown waits for ever (a CI run hung
for 120 s that way on a SIGHUP), or a ``RuntimeError: release unlocked lock`` instead of the
signal.  ``tests/signal_pipeline_worker.py`` sends SIGTERM at every line event the main thread
runs in that code (every ``stride``-th for the longer pipelines) and checks each run ends with
``Terminated`` and no thread left behind; a hang is cut after 20 s by faulthandler.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("signal_pipeline_worker.py")


@pytest.mark.parametrize(("pipeline", "stride"), [("ordered_map", 2), ("prefetch", 1), ("normal_chunks", 6)])
def test_a_signal_anywhere_in_the_synchronisation_code_ends_the_run(pipeline, stride):
    done = subprocess.run(
        [sys.executable, str(WORKER), pipeline, str(stride)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["events"] > 100, summary  # the pipeline did run its threads
    assert summary["bad"] == [], summary
    assert summary["outcomes"].get("terminated", 0) > 0.8 * (summary["events"] / stride), summary
