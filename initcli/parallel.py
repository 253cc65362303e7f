"""Overlapping work on both cores while keeping results in order and memory bounded.

NumPy releases the GIL while it fills random arrays, does arithmetic on large
arrays, casts and writes files, so plain threads give real parallelism here.

The main thread touches locks, queues and futures only inside
:func:`initcli.interrupts.held` blocks, and waits in short slices: a Ctrl-C or SIGTERM
is raised between two slices (within :data:`SLICE` seconds), never inside the
synchronisation code, which an exception there can leave locked for ever.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from .interrupts import held

T = TypeVar("T")
R = TypeVar("R")

SLICE = 0.05
"""Seconds the main thread waits at a time for a worker, a queue or a thread."""


def workers() -> int:
    """Threads to use: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def ordered_map(function: Callable[[T], R], items: Iterable[T], threads: int | None = None) -> Iterator[R]:
    """``map(function, items)`` on a thread pool, results in order, at most ``threads + 1`` in flight."""
    threads = threads or workers()
    if threads == 1:
        yield from map(function, items)
        return
    pending: deque[Future[R]] = deque()
    with held():
        pool = ThreadPoolExecutor(threads)
    try:
        for item in items:
            with held():
                pending.append(pool.submit(function, item))
            if len(pending) > threads:
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())
    finally:
        with held():
            for future in pending:
                future.cancel()
        while True:
            with held():
                if all(future.done() for future in pending):
                    pool.shutdown(wait=True)
                    break
            _pause()


def _result(future: Future[R]) -> R:
    """The future's result, waited for in slices (a signal is raised between them)."""
    while True:
        with held():
            try:
                return future.result(timeout=SLICE)
            except FutureTimeout:
                continue


def _pause() -> None:
    with held():
        threading.Event().wait(SLICE)


def prefetch(source: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run ``source`` in a background thread, ``depth`` items ahead of the consumer.

    Closing the returned iterator stops the producer after its current item.
    """
    items: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                while not stop.is_set():
                    try:
                        items.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(("end", None))
        except BaseException as error:  # handed to the consumer
            items.put(("error", error))

    thread = threading.Thread(target=produce, name="initcli-prefetch", daemon=True)
    try:
        with held():
            thread.start()
        while True:
            kind, value = _get(items)
            if kind == "end":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while True:
            with held():
                if not thread.is_alive():
                    if thread.ident is not None:  # started (a signal may have come before it was)
                        thread.join()
                    break
                with contextlib.suppress(queue.Empty):
                    items.get(timeout=SLICE)


def _get(items: queue.Queue[tuple[str, object]]) -> tuple[str, object]:
    """The next item of the queue, waited for in slices (a signal is raised between them)."""
    while True:
        with held():
            try:
                return items.get(timeout=SLICE)
            except queue.Empty:
                continue
