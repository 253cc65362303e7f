"""JSON on stdout that every parser accepts.

Python's :mod:`json` writes ``NaN``, ``Infinity`` and ``-Infinity`` for
non-finite floats, which are not JSON (RFC 8259): ``jq``, JavaScript and
most other parsers refuse the whole document.  Every ``--json`` output of
the command line goes through :func:`write_json`, which turns each
non-finite float -- Python or NumPy, at any depth -- into ``null`` and then
serializes with ``allow_nan=False``, so an invalid token cannot get out.
Where a value can be non-finite the report says why beside it (``inspect``
gives counts of NaN, +inf and -inf).
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, TextIO


def finite_or_none(value: Any) -> Any:
    """``value`` with every non-finite float (at any depth of dicts, lists and tuples) replaced by ``None``;
    NumPy scalars and arrays become Python numbers and lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    np = sys.modules.get("numpy")  # not imported here: ``initcli --version`` stays light; no NumPy, no arrays
    if np is None:
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return finite_or_none(value.tolist())
        return value.tolist()
    if isinstance(value, np.generic):
        return finite_or_none(value.item())
    return value


def dumps(document: Any, **options: Any) -> str:
    """``document`` as strict JSON text (non-finite floats as ``null``)."""
    return json.dumps(finite_or_none(document), allow_nan=False, **options)


def write_json(document: Any, stream: TextIO | None = None, **options: Any) -> None:
    """Print ``document`` as one strict JSON document and a newline on ``stream`` (default stdout)."""
    out = sys.stdout if stream is None else stream
    out.write(dumps(document, **options))
    out.write("\n")
