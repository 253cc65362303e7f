"""Shards made on an existing Dask cluster: ``--dask ADDRESS``.

Each shard of a set is one Dask task, :func:`make_part`: on a worker it prepares the plan's
weights from the plan, the master seed and the backend (nothing is drawn before the writer
asks; the plan goes to the cluster once, scattered), writes its shard into a named scratch
file beside the target, on storage every worker and this process share, and fsyncs it.  This
process then commits the set as one (:func:`initcli.writers.sharded.write_set`): the files are
byte for byte those one process writes.  A task whose worker dies is run again by Dask on
another worker, rewriting the same scratch file; a task that fails is reported with its shard
and the others are cancelled.  A task already running when the run is stopped cannot be
stopped from here: it finds the run's marker file gone when it is done, and removes its part.
With ``--resume`` the parts go to the job's resume directory and each one's digest is recorded
as soon as it is finished, so a rerun after the client itself was lost makes only the rest.

``dask.distributed`` is an optional dependency: ``pip install 'initcli[dask]'``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import InitcliError, InvalidArgument, ResourceError

CONNECT_SECONDS = 20
"""How long connecting to the scheduler may take (``INITCLI_DASK_CONNECT_SECONDS`` overrides it)."""

RETRIES = 2
"""Times a failed task is tried again (a task whose worker died is rescheduled by Dask itself)."""


def _connect_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("INITCLI_DASK_CONNECT_SECONDS", CONNECT_SECONDS)))
    except ValueError:
        return CONNECT_SECONDS


def live_marker(parts: list[Path]) -> Path:
    """The file whose presence says the run that wants ``parts`` is still waiting for them."""
    first = parts[0]
    return first.with_name(f".{first.name}.live" if not first.name.startswith(".") else f"{first.name}.live")


def make_part(job: Any, plan: Any, master: int, backend: str, part: str, marker: str) -> str:
    """On a Dask worker: shard ``job`` of ``plan``'s weights as the file ``part``, fsynced.

    The shard is written into an unnamed file in ``part``'s directory (a worker killed half-way
    leaves nothing) and linked as ``part`` only when complete; then, if the run's ``marker``
    (:func:`live_marker`) is gone (the run ended: failed, or stopped), the part is removed again.
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
    except Exception as error:
        from .writers.chunks import being_made

        tensor = being_made()
        if tensor is None:
            raise
        message = str(error) if isinstance(error, InitcliError) else f"{type(error).__name__}: {error}"
        raise ResourceError(f"tensor {tensor!r}: {message}") from None
    finally:
        scratch.close()
    if not Path(marker).exists():
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
        marker = live_marker(parts)
        finished: set[int] = set()
        try:
            marker.touch()  # a resumed job's marker may be left by a run that was killed
            shared = client.scatter(plan, broadcast=True)
            futures = {
                client.submit(
                    make_part, job, shared, master, backend, str(part), str(marker), pure=False, retries=RETRIES
                ): number
                for number, (job, part) in enumerate(zip(jobs, parts, strict=True))
            }
            try:
                for future in as_completed(futures):
                    number = futures[future]
                    try:
                        future.result()
                    except Exception as error:  # the task's own error, raised again here
                        raise ResourceError(f"the Dask cluster failed making {names[number]}: {error}") from None
                    finished.add(number)
                    done(number)
            finally:
                client.cancel(list(futures))
        finally:
            with contextlib.suppress(FileNotFoundError):
                marker.unlink()  # first: a task still running removes its own part once this is gone
            for number, part in enumerate(parts):  # the finished parts are the caller's (kept, or committed)
                if number not in finished:
                    with contextlib.suppress(FileNotFoundError):
                        part.unlink()
            client.close()

    return remote
