"""Click parameter types for initcli's options.

Each type converts the text a user typed and, when it cannot, fails with one
line that names the bad value and says what is accepted.  The checks
themselves live in the core (:mod:`initcli.shapes`, :mod:`initcli.seeds`,
:mod:`initcli.dtypes`); these types only translate their errors.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import click

from ..errors import InvalidArgument


class OutputPath(click.Path):
    """A file to write: completes as a file name in the shell, and is passed on as typed (the
    writers check the target and say what is wrong with it, so no Click check runs here)."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, allow_dash=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value


OUTPUT_PATH = OutputPath()
"""The type of ``-o/--output`` and ``--manifest``."""


class _CoreType(click.ParamType):
    """A click type whose conversion is a core function raising ``InvalidArgument``."""

    def parse(self, text: str) -> Any:
        raise NotImplementedError

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except InvalidArgument as error:
            self.fail(str(error), param, ctx)


class ShapeType(_CoreType):
    name = "shape"

    def parse(self, text: str) -> tuple[int, ...]:
        from ..shapes import parse_shape

        return parse_shape(text)


class SeedType(_CoreType):
    name = "integer"

    def parse(self, text: str) -> int:
        from ..seeds import SEED_LIMIT, check_seed

        stripped = text.strip()
        try:
            value = int(stripped, 0) if stripped.lower().startswith(("0x", "0o", "0b")) else int(stripped)
        except ValueError:
            raise InvalidArgument(
                f"seed {text!r} is not an integer; use an integer from 0 to {SEED_LIMIT - 1}"
            ) from None
        return check_seed(value)


class DtypeType(_CoreType):
    name = "dtype"

    def parse(self, text: str) -> str:
        from ..dtypes import resolve_dtype

        return resolve_dtype(text).name

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        from ..dtypes import FLOAT_DTYPES

        return [CompletionItem(name) for name in FLOAT_DTYPES if name.startswith(incomplete)]


class BackendType(_CoreType):
    name = "backend"

    def parse(self, text: str) -> str:
        from ..backends import check_backend

        return check_backend(text)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        from ..backends import BACKENDS

        return [CompletionItem(name) for name in BACKENDS if name.startswith(incomplete)]


BACKEND_HELP = (
    "Whose random numbers to reproduce: Keras's numpy, jax, tensorflow or torch (CPU) backend (same seed, different "
    "numbers on each). Default numpy, or $INITCLI_BACKEND."
)


def backend_option_kwargs() -> dict[str, Any]:
    """Keyword arguments of the ``--backend`` option shared by every sampling command."""
    return {
        "type": BackendType(),
        "default": "numpy",
        "envvar": "INITCLI_BACKEND",
        "show_default": True,
        "help": BACKEND_HELP,
    }


class AxesType(_CoreType):
    name = "axes"

    def parse(self, text: str) -> list[int] | None:
        stripped = text.strip()
        if stripped.lower() in ("none", ""):
            return None
        inner = stripped.strip("[]() ")
        try:
            return [int(part) for part in inner.replace(" ", ",").split(",") if part]
        except ValueError:
            raise InvalidArgument(f"axes {text!r} are not integers; write them like 0,1 or [0, 1]") from None


class NumberOrListType(_CoreType):
    """A number (``0.5``) or a JSON list of numbers (``[1, 2]``)."""

    name = "value"

    def parse(self, text: str) -> Any:
        try:
            value = json.loads(text)
        except ValueError:
            raise InvalidArgument(f"value {text!r} is not a number or JSON list; use e.g. 0.5 or [1, 2]") from None
        if isinstance(value, bool) or not isinstance(value, (int, float, list)):
            raise InvalidArgument(f"value {text!r} is not a number or JSON list; use e.g. 0.5 or [1, 2]")
        return value


class WindowType(_CoreType):
    """A window name, ``none``, or a JSON list of numbers."""

    name = "window"

    def parse(self, text: str) -> Any:
        stripped = text.strip()
        if stripped.lower() == "none":
            return None
        if stripped.startswith("["):
            try:
                return json.loads(stripped)
            except ValueError:
                raise InvalidArgument(
                    f"window {text!r} is not a valid JSON list; write it like [0.5, 1, 0.5]"
                ) from None
        return stripped


class FiniteFloat(_CoreType):
    """A float; ``nan`` and ``inf`` pass through to the core, which names them."""

    name = "float"

    def parse(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise InvalidArgument(f"{text!r} is not a number; use a finite real number such as 0.05") from None


class ByteSizeType(_CoreType):
    """A byte count: ``1000000``, ``64M``, ``1.5GiB``, ``2G``."""

    name = "size"
    _UNITS: ClassVar[dict[str, int]] = {
        "": 1,
        "b": 1,
        "k": 1024,
        "kb": 1000,
        "kib": 1024,
        "m": 1024**2,
        "mb": 1000**2,
        "mib": 1024**2,
        "g": 1024**3,
        "gb": 1000**3,
        "gib": 1024**3,
        "t": 1024**4,
        "tb": 1000**4,
        "tib": 1024**4,
    }

    def parse(self, text: str) -> int:
        import re

        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in self._UNITS:
            raise InvalidArgument(f"size {text!r} is not a byte count; write e.g. 500M, 2GiB or 1000000")
        size = float(match.group(1)) * self._UNITS[unit]
        if 0 < size < 1:
            raise InvalidArgument(f"size {text!r} is less than one byte; write e.g. 500M, 2GiB or 1000000")
        return int(size)


def check_max_bytes(total: int, limit: int | None) -> None:
    """Refuse a job larger than ``--max-bytes``."""
    if limit is not None and total > limit:
        from ..errors import ResourceError
        from ..memory import format_bytes

        raise ResourceError(
            f"this would write {format_bytes(total)} of tensors, more than --max-bytes {format_bytes(limit)}"
        )
