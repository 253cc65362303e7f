"""HDF5 files opened and closed whole, whatever signal arrives.

``h5py.File(...)`` makes the HDF5 file id, then wraps it in Python code; ``close()`` closes the
file's open objects, then the file, in Python code too.  A Ctrl-C between those steps leaves an
HDF5 id that no ``with`` block owns.  It is closed only when the garbage collector finds it,
after initcli has printed its error line and closed the files it wrote into.  For a file
object (h5py's file-object driver: initcli's scratch files), that late close flushes HDF5's
buffers into the closed Python file, and the process ends with a ``ValueError: truncate of
closed file`` traceback below ``initcli: error: interrupted``.  :func:`hdf5_file` opens and
closes with the ending signals held (:func:`~initcli.interrupts.held`), so that a signal
is raised only once the handle is owned, or once it is closed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .interrupts import held, import_whole


@contextmanager
def hdf5_file(name: Any, mode: str = "r", **options: Any) -> Iterator[Any]:
    """``with h5py.File(name, mode, **options) as handle``, opened and closed with ending
    signals held.  ``name`` is a path or a binary file object; a signal that arrives while the
    file opens is raised inside the block, where the handle is already closed on the way out."""
    h5py = import_whole("h5py")

    handle = None
    try:
        with held():
            handle = h5py.File(name, mode, **options)
        yield handle
    finally:
        if handle is not None:
            with held():
                handle.close()
