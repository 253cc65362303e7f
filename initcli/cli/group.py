"""The ``initcli`` command group: initializer names as subcommands, and one-line errors.

Subcommands are resolved lazily: ``initcli xavier_uniform`` looks the name up
in the registry (Keras's 41 identifiers and the forgiving spellings) and
builds the command for that class on demand.

Every failure ends as one line on stderr and a meaningful exit code:
2 for usage errors (bad options, bad values), 1 for runtime errors (files,
memory), 130 for Ctrl-C; never a traceback (set ``INITCLI_DEBUG=1`` to see
one).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import click

from ..errors import InitcliError, InvalidArgument

_FIXED_COMMANDS = ("list",)


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C, so that scratch files are removed."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


class InitcliGroup(click.Group):
    """A group whose unknown subcommands are looked up as initializer names."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from ..initializers import BUILTIN_CLASSES, canonical_name

        return [*sorted(self.commands), *(canonical_name(cls) for cls in BUILTIN_CLASSES)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        from ..initializers import Initializer, lookup
        from .sample_command import build_command

        try:
            cls = lookup(cmd_name)
        except InvalidArgument:
            return None
        if cls is Initializer:
            return None
        return build_command(cls, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        cmd_name = args[0]
        command = self.get_command(ctx, cmd_name)
        if command is None:
            if cmd_name.startswith("-"):
                raise click.NoSuchOption(cmd_name, ctx=ctx)
            from ..initializers.registry import unknown_name_message

            if cmd_name in ("Initializer", "initializer"):
                raise click.UsageError(
                    f"{cmd_name!r} is the abstract base class; choose a concrete initializer (see 'initcli list')",
                    ctx,
                )
            raise click.UsageError(unknown_name_message(cmd_name), ctx)
        return cmd_name, command, args[1:]

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        """Run, turning every error into one line on stderr and an exit code."""
        extra.pop("standalone_mode", None)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            code = super().main(args=args, prog_name=prog_name or "initcli", standalone_mode=False, **extra)
        except click.exceptions.Exit as stop:
            _exit(stop.exit_code)
        except click.UsageError as error:
            _fail(_usage_line(error), 2)
        except click.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except InitcliError as error:
            _fail(str(error), error.exit_code)
        except (KeyboardInterrupt, click.Abort):
            _fail("interrupted", 130)
        except Terminated:
            _fail("terminated", 143)
        except RecursionError:
            _fail("the input is nested too deeply", 2)
        except BrokenPipeError:
            _quiet_broken_pipe()
        except MemoryError:
            _fail("out of memory; use a smaller shape or a smaller dtype", 1)
        except OSError as error:
            _fail(f"{error.filename + ': ' if error.filename else ''}{error.strerror or error}", 1)
        except Exception as error:
            if os.environ.get("INITCLI_DEBUG"):
                raise
            _fail(f"internal error: {type(error).__name__}: {error} (set INITCLI_DEBUG=1 for a traceback)", 1)
        _exit(code if isinstance(code, int) else 0)


def _usage_line(error: click.UsageError) -> str:
    if isinstance(error, click.NoSuchOption) and error.ctx is not None:
        return _no_such_option(error, error.ctx)
    return " ".join(error.format_message().split())


def _no_such_option(error: click.NoSuchOption, ctx: click.Context) -> str:
    """``--seed`` on ``zeros``: say which options the command does take."""
    options = sorted(
        opt
        for param in ctx.command.params
        if isinstance(param, click.Option)
        for opt in param.opts
        if opt.startswith("--")
    )
    if not options:
        return " ".join(error.format_message().split())
    why = ""
    if error.option_name == "--seed" and "--seed" not in options:
        why = f" ({ctx.command.name} is deterministic and takes no seed)"
    return f"no such option {error.option_name}{why}; {ctx.command.name} takes {', '.join(options)}"


def _fail(message: str, code: int) -> None:
    click.echo(f"initcli: error: {message}", err=True)
    _exit(code)


def _exit(code: int) -> None:
    """Exit without letting a late Ctrl-C or SIGTERM turn a finished run into a traceback."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(code)


def _quiet_broken_pipe() -> None:
    """The reader of our stdout went away (``| head``): exit quietly, as shell tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    sys.exit(141)
