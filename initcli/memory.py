"""How much memory this machine can give, checked before any large allocation.

Initializers that build a tensor in memory ask :func:`check_fits` first, so a
request that cannot fit fails with a clear message (the numbers included)
instead of a ``MemoryError`` or the kernel's OOM killer half-way through.
"""

from __future__ import annotations

import os

from .errors import ResourceError


def available_memory() -> int | None:
    """Bytes the kernel says can be allocated without swapping, or ``None`` if unknown.

    Reads ``MemAvailable`` from ``/proc/meminfo`` (Linux); elsewhere falls back
    to free physical pages from ``sysconf``.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(count: int) -> str:
    """Human-readable byte count: ``1536`` -> ``'1.5 KiB'``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def check_fits(needed: int, what: str) -> None:
    """Raise :class:`ResourceError` if ``needed`` bytes exceed the memory available now."""
    available = available_memory()
    if available is not None and needed > available:
        raise ResourceError(
            f"{what} needs about {format_bytes(needed)} of memory but only "
            f"{format_bytes(available)} is available; use a smaller shape or a smaller dtype"
        )
