"""The ``initcli`` command group: initializer names as subcommands, and one-line errors.

Subcommands are resolved lazily: ``initcli xavier_uniform`` looks the name up
in the registry (Keras's 41 identifiers and the forgiving spellings) and
builds the command for that class on demand.

Every failure ends as one line on stderr and a meaningful exit code:
2 for usage errors (bad options, bad values), 1 for runtime errors (files,
memory), 130 for Ctrl-C; never a traceback (set ``INITCLI_DEBUG=1`` to see
one).  A command run with no arguments at all (``initcli``, ``initcli
glorot_normal``) prints its whole help, as ``--help`` shows it, on stderr
and exits 2, as Click 8.2 and later do for ``no_args_is_help``.

Standard output: a reader that goes away early (``initcli ... -o - | head``)
ends the run quietly with exit 141, as ``SIGPIPE`` ends other Unix tools; a
standard output that was closed before the start (``>&-``) makes any write to
it one line ``cannot write to standard output`` and exit 1.  Either way nothing
is left for the interpreter to flush at exit.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import click

from ..errors import InitcliError, InvalidArgument
from ..interrupts import ENDING, Terminated, install
from .bare_call import BareCall, raise_bare_call

_STDOUT_WAS_CLOSED = False
"""Whether file descriptor 1 was closed when :func:`guard_standard_streams` ran."""

_FIXED_COMMANDS = ("list",)


_ENDING_SIGNALS = ENDING


class _PipeClosed(BaseException):
    """Our stdout's reader went away; a BaseException so that Click does not turn it into exit 1."""


class InitcliGroup(click.Group):
    """A group whose unknown subcommands are looked up as initializer names."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        raise_bare_call(ctx, args)
        return super().parse_args(ctx, args)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            raise _PipeClosed from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _PipeClosed from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        from ..initializers import BUILTIN_CLASSES, canonical_name

        return [*sorted(self.commands), *(canonical_name(cls) for cls in BUILTIN_CLASSES)]

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Complete subcommands and every initializer name, aliases included (``xav`` gives
        ``xavier_normal`` and ``xavier_uniform``); options as Click does."""
        from click.shell_completion import CompletionItem

        if incomplete.startswith("-"):
            return super().shell_complete(ctx, incomplete)
        from ..initializers import Initializer
        from ..initializers.registry import all_names

        items = [
            CompletionItem(name, help=command.get_short_help_str())
            for name, command in sorted(self.commands.items())
            if name.startswith(incomplete) and not command.hidden
        ]
        seen = {item.value for item in items}
        for name, cls in all_names().items():
            if name.startswith(incomplete) and cls is not Initializer and name not in seen:
                seen.add(name)
                items.append(CompletionItem(name, help=(cls.__doc__ or "").strip().splitlines()[0]))
        return items

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
        guard_standard_streams()
        if threading.current_thread() is threading.main_thread():
            install()
        try:
            code = super().main(args=args, prog_name=prog_name or "initcli", standalone_mode=False, **extra)
            _flush_stdout()
        except BareCall as bare:
            _show_help(bare.help_text)
        except (_PipeClosed, BrokenPipeError):
            _stdout_gone()
        except click.exceptions.Exit as stop:
            _flush_or_leave(stop.exit_code)
            _exit(stop.exit_code)
        except click.UsageError as error:
            _fail(_usage_line(error), 2)
        except click.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except InitcliError as error:
            _fail(str(error), error.exit_code)
        except (KeyboardInterrupt, click.Abort):
            _fail("interrupted", 130)
        except Terminated as ended:
            _fail(_ENDING_SIGNALS.get(ended.signum, "terminated"), 128 + ended.signum)
        except RecursionError:
            _fail("the input is nested too deeply", 2)
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
    _settle_stdout()
    click.echo(f"initcli: error: {message}", err=True)
    _exit(code)


def _show_help(help_text: str) -> None:
    """``initcli`` or ``initcli NAME`` alone: the help as ``--help`` shows it, on stderr, exit 2."""
    click.echo(help_text, err=True)
    _exit(2)


def guard_standard_streams() -> None:
    """Make sure file descriptors 0, 1 and 2 are open before anything else opens a file.

    A descriptor closed by the caller (``>&-``) would otherwise be handed to
    the next file initcli opens, and text meant for the terminal would land in
    an output file.  A closed stdin or stderr becomes ``/dev/null``; a closed
    stdout becomes a pipe without a reader, so that every write to it fails
    (``EPIPE``) and :func:`_stdout_gone` reports it as one line.  Nothing is
    done when Python found the streams open (the usual case, and under
    Click's test runner).
    """
    global _STDOUT_WAS_CLOSED
    for fd, stream_name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, stream_name) is not None:
            continue
        try:
            os.fstat(fd)
            continue  # already reused by something else: leave it
        except OSError:
            pass
        if fd == 1:
            read_end, write_end = os.pipe()
            os.close(read_end)
            if write_end != 1:
                os.dup2(write_end, 1)
                os.close(write_end)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            _STDOUT_WAS_CLOSED = True
        else:
            devnull = os.open(os.devnull, os.O_RDWR)
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)
            if fd == 2:
                sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115


def _flush_stdout() -> None:
    """Flush stdout inside the error handling, so that a late EPIPE is reported, not ignored at exit."""
    if sys.stdout is not None:
        sys.stdout.flush()


def _flush_or_leave(code: int | Any) -> None:
    """Exit with ``code`` after flushing stdout (``--help``, ``--version`` and friends)."""
    try:
        _flush_stdout()
    except BrokenPipeError:
        _stdout_gone()
    _exit(code)


def _settle_stdout() -> None:
    """Flush what stdout holds (a report printed before the error is kept); if it cannot take
    it (closed, or its reader gone), drop it so the interpreter does not try again at exit."""
    try:
        _flush_stdout()
    except (OSError, ValueError):
        _discard_stdout()


def _discard_stdout() -> None:
    """Point stdout at ``/dev/null`` so that nothing buffered is flushed into a broken pipe at exit."""
    stream = sys.stdout
    if stream is None:
        return
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real file (Click's test runner)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def _stdout_gone() -> None:
    """stdout refused a write: quiet 141 if its reader left (``| head``), one line if it was closed."""
    if _STDOUT_WAS_CLOSED:
        _fail("cannot write to standard output: it is closed; redirect it to a file or to /dev/null", 1)
    _discard_stdout()
    _exit(141)


def _exit(code: int) -> None:
    """Exit without letting a late Ctrl-C or SIGTERM turn a finished run into a traceback."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for ending in _ENDING_SIGNALS:
            signal.signal(ending, signal.SIG_IGN)
    sys.exit(code)
