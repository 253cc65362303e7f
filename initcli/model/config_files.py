"""Reading JSON, TOML and YAML documents with errors that give the line and column.

YAML goes through ``yaml.safe_load`` (no Python objects, no code); PyYAML
and, on Python 3.10, tomli are imported only when such a file is read.

What is refused, each with one line naming the file: text that is not UTF-8
(a UTF-8 byte-order mark is allowed; UTF-16/32 and Latin-1 are not); JSON's
non-standard ``NaN``/``Infinity`` tokens; integers of more than
:data:`DIGIT_LIMIT` digits (no config value is that large, and Python refuses
to print those beyond 4,300 digits); YAML with more than :data:`ALIAS_LIMIT`
aliases, or whose aliases expand to more than :data:`EXPANDED_LIMIT` values
(a "billion laughs" of 12 levels of 10 aliases stays under the alias cap but
expands to 10**12); nesting deeper than Python's recursion allows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument, ResourceError

_FORMATS = {".json": "json", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}

SIZE_LIMIT = 64 * 1024 * 1024
"""The largest config file read."""

ALIAS_LIMIT = 1000
"""The most YAML aliases a config may use (a handful of ``*`` references blow up to billions)."""

EXPANDED_LIMIT = 10**7
"""The most values (scalars, lists, mappings) a YAML document may hold once its aliases are expanded."""

DIGIT_LIMIT = 30
"""The most digits an integer in a config may have (seeds are below 2**32, shapes far below 10**30)."""

_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)


def read_document(path: str | Path) -> Any:
    """Parse the JSON, TOML or YAML file at ``path`` (chosen by its suffix)."""
    path = Path(path)
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InvalidArgument(f"config {str(path)!r} has an unknown suffix; use .json, .toml, .yaml or .yml")
    try:
        size = path.stat().st_size
        if size > SIZE_LIMIT:
            raise InvalidArgument(f"config {str(path)!r} is {size} bytes; the limit is {SIZE_LIMIT}")
        with open(path, "rb") as handle:
            data = handle.read(SIZE_LIMIT + 1)
    except FileNotFoundError:
        raise ResourceError(f"config {str(path)!r} does not exist") from None
    except OSError as error:
        raise ResourceError(f"cannot read config {str(path)!r}: {error.strerror or error}") from None
    if len(data) > SIZE_LIMIT:
        raise InvalidArgument(f"config {str(path)!r} is larger than {SIZE_LIMIT} bytes")
    return parse_document(decode_text(data, f"config {str(path)!r}"), kind, str(path))


def decode_text(data: bytes, what: str) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped), or one line saying where it is not.

    ``what`` names the input in the error, e.g. ``config 'mlp.yaml'``.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise InvalidArgument(
                f"{what} is {encoding} text (it starts with a {encoding} byte-order mark); save it as UTF-8"
            )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise InvalidArgument(
            f"{what} is not UTF-8 text (byte 0x{data[error.start]:02x} at line {line}, column {column}); "
            "save it as UTF-8"
        ) from None


def parse_document(text: str, kind: str, where: str) -> Any:
    """Parse ``text`` as ``kind`` (json, toml or yaml); ``where`` names it in errors."""
    try:
        document = _parse(text, kind, where)
        check_integers(document, where)
        return document
    except RecursionError:
        raise InvalidArgument(f"{where}: nested too deeply to be a config") from None
    except ValueError as error:
        if isinstance(error, InvalidArgument) or "integer string conversion" not in str(error):
            raise
        raise InvalidArgument(f"{where}: {_too_many_digits()}") from None


def _digits(value: int) -> int:
    """The number of decimal digits of ``value``, without converting it to text (which Python
    refuses beyond 4,300 digits)."""
    magnitude = abs(value)
    estimate = max(1, int(magnitude.bit_length() * 0.30102999566398120))
    return estimate + 1 if magnitude >= 10**estimate else estimate


def _too_many_digits(digits: int | None = None) -> str:
    count = f" ({digits} digits)" if digits is not None else ""
    return f"an integer is too large{count}; integers in a config have at most {DIGIT_LIMIT} digits"


def loads_json(text: str, where: str) -> Any:
    """Strict JSON: no ``NaN``/``Infinity``, no integer of more than :data:`DIGIT_LIMIT` digits."""

    def integer(token: str) -> int:
        digits = len(token.lstrip("-"))
        if digits > DIGIT_LIMIT:
            raise InvalidArgument(f"{where}: {_too_many_digits(digits)}")
        return int(token)

    def constant(token: str) -> Any:
        raise InvalidArgument(f"{where}: {token} is not JSON (JSON has no NaN or Infinity); write a finite number")

    try:
        return json.loads(text, parse_int=integer, parse_constant=constant)
    except json.JSONDecodeError as error:
        raise InvalidArgument(
            f"{where}: line {error.lineno}, column {error.colno}: invalid JSON: {error.msg}"
        ) from None


def check_integers(document: Any, where: str) -> None:
    """Refuse an integer of more than :data:`DIGIT_LIMIT` digits anywhere in ``document``.

    Shared lists and mappings (YAML aliases) are visited once, so the walk is
    linear in the size of the text, not of its expansion.
    """
    limit = 10**DIGIT_LIMIT
    seen: set[int] = set()
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            if abs(value) >= limit:
                raise InvalidArgument(f"{where}: {_too_many_digits(_digits(value))}")
        elif isinstance(value, (list, dict)):
            if id(value) in seen:  # the document holds every list and dict, so ids stay unique
                continue
            seen.add(id(value))
            if isinstance(value, dict):
                pending.extend(value.keys())
                pending.extend(value.values())
            else:
                pending.extend(value)


def _parse(text: str, kind: str, where: str) -> Any:
    if kind == "json":
        return loads_json(text, where)
    if kind == "toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise InvalidArgument(f"{where}: invalid TOML: {error}") from None
    import yaml

    class Loader(yaml.SafeLoader):
        """``yaml.safe_load`` that refuses alias bombs (pure Python: the C loader composes
        nodes without calling back, so it could not count aliases)."""

        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                Loader.aliases += 1
                if Loader.aliases > ALIAS_LIMIT:
                    raise InvalidArgument(f"{where}: more than {ALIAS_LIMIT} YAML aliases; write the values out")
            return super().compose_node(parent, index)

        def compose_document(self) -> Any:
            node = super().compose_document()
            if expanded_size(node) > EXPANDED_LIMIT:
                raise InvalidArgument(
                    f"{where}: its YAML aliases expand to more than {EXPANDED_LIMIT:,} values; write the values out"
                )
            return node

    try:
        return yaml.load(text, Loader=Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        position = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InvalidArgument(f"{where}: {position}invalid YAML: {problem}") from None


def expanded_size(node: Any) -> int:
    """How many nodes the composed YAML ``node`` holds with every alias expanded.

    Each node's count is computed once (memoized by identity), so this takes
    time linear in the number of distinct nodes even when the expansion is
    astronomically large; the counts are exact Python integers.
    """
    sizes: dict[int, int] = {}
    order: list[Any] = []
    pending = [node]
    while pending:  # children before parents, without recursion
        current = pending.pop()
        if id(current) in sizes:
            continue
        sizes[id(current)] = 0
        order.append(current)
        value = current.value
        if isinstance(value, list):
            for child in value:
                pending.extend(child if isinstance(child, tuple) else (child,))
    for current in reversed(order):
        total = 1
        value = current.value
        if isinstance(value, list):
            for child in value:
                for part in child if isinstance(child, tuple) else (child,):
                    total += sizes[id(part)]
        sizes[id(current)] = total
    return sizes[id(node)]
