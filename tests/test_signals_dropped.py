"""A signal whose exception Python drops (it arrived inside a finalizer) still stops the run
before its output is committed, and no "Exception ignored" traceback is printed."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent(
    """
    import os, signal, sys
    from initcli.interrupts import Terminated, install
    from initcli.writers.npy import write_npy
    import numpy as np

    install()

    class SignalsWhenCollected:
        def __del__(self):
            os.kill(os.getpid(), signal.{name})  # the handler runs here, inside a finalizer

    SignalsWhenCollected()  # collected at once: the exception is dropped by Python
    print("still running", flush=True)
    try:
        write_npy(sys.argv[1], np.zeros(4, dtype=np.float32))
    except (Terminated, KeyboardInterrupt) as stopped:
        print("stopped by", type(stopped).__name__, flush=True)
        sys.exit(3)
    print("committed", flush=True)
    """
)


def _default_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_DFL)


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGQUIT", "SIGINT"])
def test_a_dropped_signal_still_stops_the_commit(tmp_path, name):
    target = tmp_path / "w.npy"
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM.replace("{name}", name), str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_default_signals,  # an in-process run earlier may have left SIGINT ignored
    )
    assert result.stdout.splitlines()[0] == "still running"
    assert result.returncode == 3, result.stdout + result.stderr
    assert "stopped by" in result.stdout
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert "Exception ignored" not in result.stderr and "Traceback" not in result.stderr, result.stderr
