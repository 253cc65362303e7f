"""Reading JSON, TOML and YAML documents with errors that give the line and column.

YAML goes through ``yaml.safe_load`` (no Python objects, no code); PyYAML
and, on Python 3.10, tomli are imported only when such a file is read.
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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResourceError(f"config {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ResourceError(f"cannot read config {str(path)!r}: {error}") from None
    return parse_document(text, kind, str(path))


def parse_document(text: str, kind: str, where: str) -> Any:
    """Parse ``text`` as ``kind`` (json, toml or yaml); ``where`` names it in errors."""
    try:
        return _parse(text, kind, where)
    except RecursionError:
        raise InvalidArgument(f"{where}: nested too deeply to be a config") from None


def _parse(text: str, kind: str, where: str) -> Any:
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidArgument(
                f"{where}: line {error.lineno}, column {error.colno}: invalid JSON: {error.msg}"
            ) from None
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

    try:
        return yaml.load(text, Loader=Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        position = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InvalidArgument(f"{where}: {position}invalid YAML: {problem}") from None
