"""Commands that answer a call without any argument with their help.

``initcli`` and ``initcli glorot_normal`` alone print the command's whole help,
as ``--help`` shows it, on stderr and exit 2 (what Click 8.2 and later do for
``no_args_is_help``): :func:`raise_bare_call` raises :class:`BareCall` with the
help text, and the command group's ``main`` prints it.  Here, apart from the
group, so that the per-initializer commands (:mod:`initcli.cli.sample_command`)
use it without importing the group that builds them.
"""

from __future__ import annotations

import click


class BareCall(Exception):
    """A command was run without any argument: its help is the answer (see the module docstring)."""

    def __init__(self, help_text: str) -> None:
        super().__init__(help_text)
        self.help_text = help_text


def raise_bare_call(ctx: click.Context, args: list[str]) -> None:
    """Raise :class:`BareCall` with ``ctx``'s help when ``args`` is empty (not while completing)."""
    if not args and not ctx.resilient_parsing:
        raise BareCall(ctx.get_help())


class HelpWhenBare(click.Command):
    """A command that answers a call without arguments with its help (stderr, exit 2)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        raise_bare_call(ctx, args)
        return super().parse_args(ctx, args)
