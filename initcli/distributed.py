"""Shards made on an existing Dask cluster: ``--dask ADDRESS``.

Each shard of a set is one Dask task, :func:`make_part`: on a worker it prepares the plan's
weights from the plan, the master seed and the backend (nothing is drawn before the writer
asks; the plan goes to the cluster once, scattered), writes its shard into a named scratch
file beside the target, on storage every worker and this process share, and fsyncs it.  This
process then commits the set as one (:func:`initcli.writers.sharded.write_set`): the files are
byte for byte those one process writes.  A task whose worker dies is run again by Dask on
another worker, rewriting the same scratch file; a task that fails is reported with its shard
and the others are cancelled.  A task already running when the run is stopped cannot be
stopped from here; its ``.initcli-*.part`` file may be left behind.

``dask.distributed`` is an optional dependency: ``pip install 'initcli[dask]'``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import InvalidArgument, ResourceError

CONNECT_SECONDS = 20
"""How long connecting to the scheduler may take (``INITCLI_DASK_CONNECT_SECONDS`` overrides it)."""

RETRIES = 2
"""Times a failed task is tried again (a task whose worker died is rescheduled by Dask itself)."""


def _connect_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("INITCLI_DASK_CONNECT_SECONDS", CONNECT_SECONDS)))
    except ValueError:
        return CONNECT_SECONDS


def live_marker(part: Path) -> Path:
    """The file whose presence says the run that wants ``part`` is still waiting for it."""
    return part.with_name(part.name.rsplit("-", 1)[0] + ".live")


def make_part(job: Any, plan: Any, master: int, backend: str, part: str) -> str:
    """On a Dask worker: shard ``job`` of ``plan``'s weights as the file ``part``, fsynced.

    The shard is written into an unnamed file in ``part``'s directory (a worker killed half-way
    leaves nothing) and linked as ``part`` only when complete; then, if the run's
    :func:`live_marker` is gone (the run ended: failed, or stopped), the part is removed again.
    The run removes its marker before its parts, so no part outlives it, whichever comes first."""
    from .api import prepare_plan
    from .writers.atomic import Scratch

    target = Path(part)
    arrays = prepare_plan(plan, master, backend)
    scratch = Scratch(target, label=target)
    try:
        job.write(scratch.handle, arrays, None)
        scratch.finish()
        scratch.commit(force=True)
    finally:
        scratch.close()
    if not live_marker(target).exists():
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
    return part


def dask_remote(address: str, plan: Any, master: int, backend: str) -> Callable[..., None]:
    """A :data:`~initcli.writers.sharded.Remote` that makes the shards on the cluster at ``address``."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise InvalidArgument("--dask needs dask.distributed; install it with: pip install 'initcli[dask]'") from None

    def remote(jobs: list[Any], parts: list[Path], names: list[str], done: Callable[[int], None]) -> None:
        try:
            client = Client(address, timeout=_connect_seconds())
        except (OSError, TimeoutError) as error:
            raise ResourceError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        marker = live_marker(parts[0])
        complete = False
        try:
            marker.touch(exist_ok=False)
            shared = client.scatter(plan, broadcast=True)
            futures = {
                client.submit(make_part, job, shared, master, backend, str(part), pure=False, retries=RETRIES): number
                for number, (job, part) in enumerate(zip(jobs, parts, strict=True))
            }
            try:
                for future in as_completed(futures):
                    number = futures[future]
                    try:
                        future.result()
                    except Exception as error:  # the task's own error, raised again here
                        raise ResourceError(f"the Dask cluster failed making {names[number]}: {error}") from None
                    done(number)
                complete = True
            finally:
                client.cancel(list(futures))
        finally:
            with contextlib.suppress(FileNotFoundError):
                marker.unlink()  # first: a task still running removes its own part once this is gone
            for part in [] if complete else parts:
                with contextlib.suppress(FileNotFoundError):
                    part.unlink()
            client.close()

    return remote
