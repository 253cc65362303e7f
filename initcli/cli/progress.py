"""A progress bar on stderr for long writes, only when a person is watching."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

import click

THRESHOLD = 256 * 1024 * 1024
"""Bytes above which a write takes about a second or more here."""


@contextlib.contextmanager
def progress(total: int, label: str, *, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """Yield a callback taking bytes written, drawing a bar when stderr is a terminal
    and the work is large; ``None`` (no bar) otherwise or with ``-q``."""
    if quiet or total < THRESHOLD or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_eta=True) as bar:
        yield bar.update
