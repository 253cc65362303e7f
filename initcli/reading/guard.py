"""The reader boundary: every low-level failure becomes one initcli error naming the file.

:func:`translated` is the single place where ``OSError``, ``ValueError``,
``zipfile.BadZipFile``, ``zlib.error`` and the rest raised while parsing or
reading a file are turned into :class:`~initcli.errors.InvalidArgument` (the
file is damaged or not of a kind initcli reads: exit 2) or
:class:`~initcli.errors.ResourceError` (the machine refuses: locked,
unreadable, changed while being read: exit 1).  While a file is opened and
its headers parsed, Python warnings are errors too, so none reaches the
terminal with internal paths.  :func:`guarded` applies the translation (not
the warning filter, which is process-wide and would reach the threads that
regenerate tensors meanwhile) to the lazy ``load``/``read`` callables that run
after :func:`~initcli.readers.read_tensors` has yielded.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..dtypes import bfloat16, is_bfloat16
from ..errors import InitcliError, InvalidArgument, ResourceError

T = TypeVar("T")

PROVENANCE_LIMIT = 64 * 2**20
"""Largest provenance text (attribute, comment, sidecar) that is parsed."""


def one_line(text: object) -> str:
    """``text`` with its whitespace runs (newlines too) folded to single spaces."""
    return " ".join(str(text).split())


@contextmanager
def translated(path: str | Path, *, strict_warnings: bool = True) -> Iterator[None]:
    """Run the body (with warnings as errors if ``strict_warnings``); re-raise anything but
    initcli's own errors as one initcli error that names ``path``."""
    name = repr(str(path))
    try:
        if strict_warnings:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                yield
        else:
            yield
    except InitcliError:
        raise
    except MemoryError:
        raise
    except FileNotFoundError:
        raise ResourceError(f"{name} does not exist") from None
    except PermissionError:
        raise ResourceError(f"cannot read {name}: permission denied") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, struct.error) as error:
        raise InvalidArgument(f"{name} is a damaged archive: {one_line(error) or type(error).__name__}") from None
    except OSError as error:
        text = one_line(error)
        if "lock" in text.lower() and ("unable to lock" in text.lower() or error.errno in (errno.EAGAIN, errno.EACCES)):
            raise ResourceError(
                f"{name} is locked by another process (HDF5 file locking): close the program writing it and retry"
            ) from None
        if error.errno is not None and error.strerror:
            raise ResourceError(f"cannot read {name}: {error.strerror}") from None
        raise InvalidArgument(f"{name} is damaged or not a file initcli can read: {text}") from None
    except RecursionError:
        raise InvalidArgument(f"{name} is nested too deeply to read") from None
    except (Warning, ValueError, KeyError, IndexError, UnicodeDecodeError, RuntimeError, TypeError) as error:
        raise InvalidArgument(
            f"{name} is damaged or not a file initcli can read: {one_line(error) or type(error).__name__}"
        ) from None
    except (OverflowError, AttributeError, NotImplementedError, AssertionError) as error:
        raise InvalidArgument(
            f"{name} is damaged or not a file initcli can read: {one_line(error) or type(error).__name__}"
        ) from None


def guarded(path: str | Path, function: Callable[..., T]) -> Callable[..., T]:
    """``function`` run under :func:`translated` for ``path`` (warnings left alone)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> T:
        with translated(path, strict_warnings=False):
            return function(*args, **kwargs)

    return run


def open_regular(path: Path) -> int:
    """A read-only descriptor of ``path``, refused unless it is a non-empty regular file.

    Opened with ``O_NONBLOCK`` so that a FIFO without a writer cannot hang the open; the
    type is checked on the open descriptor (no race with a rename)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ResourceError(f"{str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise InvalidArgument(f"{str(path)!r} is a directory; give a .npy, .npz, HDF5 or .keras file") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise InvalidArgument(f"{str(path)!r} is a symbolic link loop") from None
        raise ResourceError(f"cannot read {str(path)!r}: {error.strerror or one_line(error)}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InvalidArgument(f"{str(path)!r} is a directory; give a .npy, .npz, HDF5 or .keras file")
        if not stat.S_ISREG(info.st_mode):
            raise InvalidArgument(f"{str(path)!r} is not a regular file (a FIFO, socket or device); give a file")
        if info.st_size == 0:
            raise InvalidArgument(f"{str(path)!r} is empty (0 bytes)")
    except BaseException:
        os.close(fd)
        raise
    return fd


def provenance_of(value: object) -> dict[str, Any] | None:
    """Stored provenance (an attribute, comment or sidecar entry) parsed, or ``None`` for
    anything that is not initcli's: only a string (or UTF-8 bytes) of JSON with our schema."""
    from ..provenance import loads

    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "OSU":
        value = value.item()
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str) or not value or len(value) > PROVENANCE_LIMIT:
        return None
    try:
        return loads(value)
    except (RecursionError, ValueError, TypeError):
        return None


READ_KINDS = "iuf"
"""Numpy dtype kinds whose tensors are read: signed, unsigned integers and floats (and bfloat16,
see :func:`as_bfloat16`)."""


def as_bfloat16(dtype: np.dtype) -> np.dtype:
    """``ml_dtypes.bfloat16`` for a 2-byte void dtype (``'<V2'``/``'|V2'``: how ``numpy.save`` and
    HDF5 store bfloat16, which neither knows), else ``dtype`` unchanged."""
    if dtype.kind == "V" and dtype.itemsize == 2 and dtype.fields is None and dtype.subdtype is None:
        return bfloat16()
    return dtype


def check_dtype(dtype: np.dtype, where: str) -> None:
    """Refuse every dtype but plain integers and floats (no objects, fields, subarrays,
    strings, booleans, complex numbers)."""
    if dtype.hasobject:
        raise InvalidArgument(f"{where} holds Python objects (pickled data), which initcli never loads")
    if is_bfloat16(dtype):
        return
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in READ_KINDS:
        raise InvalidArgument(
            f"{where} has dtype {dtype.str!r} ({dtype.name}); initcli reads integer and floating-point tensors only"
        )


def check_shape(shape: object, where: str) -> tuple[int, ...]:
    """A header's shape as a tuple of non-negative ints whose element count fits int64."""
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
        raise InvalidArgument(f"{where} declares shape {shape!r}; a shape is a tuple of integers")
    if any(n < 0 for n in shape):
        raise InvalidArgument(f"{where} declares the negative shape {shape}")
    count = 1
    for n in shape:
        count *= n
    if count >= 2**63:
        raise InvalidArgument(f"{where} declares shape {shape}: {count} elements, more than int64 can count")
    return shape


def vetted(record: dict[str, Any] | None, *, tensor: bool = True) -> tuple[dict[str, Any] | None, str | None]:
    """``(record, None)`` when the fields of a provenance record that readers of it index
    have the JSON types the schema gives them; ``(None, reason)`` otherwise, so that nothing
    downstream (inspect, verify, their output) meets a list where an object was written.

    Only types are checked here; whether a tensor record accounts for the stored tensor is
    :func:`initcli.verify.check_record`'s business."""
    if record is None:
        return None, None
    try:
        _vet(record, tensor)
    except _Unfit as error:
        return None, str(error)
    return record, None


class _Unfit(Exception):
    pass


def _of_type(record: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = record.get(key)
    if key in record and (not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind))):
        shown = repr(value)
        raise _Unfit(f"{key} is {shown if len(shown) <= 40 else shown[:37] + '...'}, not {what}")
    return value


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _vet_initializer(config: object, where: str) -> None:
    if not isinstance(config, dict):
        raise _Unfit(f"{where} is {type(config).__name__}, not an object")
    if not isinstance(config.get("class_name"), str) or not isinstance(config.get("config"), dict):
        raise _Unfit(f"{where} has no class_name string and config object")


def _vet_shape(shape: object, where: str) -> None:
    if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
        raise _Unfit(f"{where} is not a list of integers")


def _vet(record: dict[str, Any], tensor: bool) -> None:
    _of_type(record, "stream", dict, "an object")
    _of_type(record, "initcli", str, "a version string")
    if not tensor:
        _of_type(record, "command", str, "a command name")
        _of_type(record, "inputs", dict, "an object")
        return
    _of_type(record, "path", str, "a tensor path")
    _of_type(record, "dtype", str, "a dtype name")
    _of_type(record, "alias_of", str, "a tensor path")
    if "shape" in record:
        _vet_shape(record["shape"], "shape")
    if "initializer" in record:
        _vet_initializer(record["initializer"], "initializer")
    pieces = _of_type(record, "pieces", list, "a list")
    for index, piece in enumerate(pieces or []):
        if not isinstance(piece, dict):
            raise _Unfit(f"piece {index} is not an object")
        _vet_initializer(piece.get("initializer"), f"piece {index}'s initializer")
        _vet_shape(piece.get("shape"), f"piece {index}'s shape")
        _of_type(piece, "draw", int, "an integer")
        _of_type(piece, "seed", (int, type(None)), "an integer")
