"""``initcli list``: every initializer with its names and arguments."""

from __future__ import annotations

import inspect

import click


def initializer_table() -> list[dict[str, object]]:
    """One record per built-in initializer: name, Keras class, aliases, arguments, summary."""
    from ..initializers import BUILTIN_CLASSES, aliases, canonical_name

    return [
        {
            "name": canonical_name(cls),
            "class_name": cls.__name__,
            "aliases": aliases(cls)[1:],
            "arguments": {p.name: p.default for p in cls.params},
            "random": cls.is_random,
            "summary": (inspect.getdoc(cls) or "").splitlines()[0].replace("``", ""),
        }
        for cls in BUILTIN_CLASSES
    ]


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON on stdout.")
def list_command(as_json: bool) -> None:
    """List every initializer with its aliases and arguments.

    \b
    Example:
      initcli list
      initcli list --json | python -c "import json,sys; print(len(json.load(sys.stdin)))"
    """
    table = initializer_table()
    if as_json:
        from .jsonout import write_json

        write_json(table, indent=2)
        return
    for row in table:
        args = ", ".join(f"{k}={v!r}" for k, v in row["arguments"].items())  # type: ignore[union-attr]
        click.echo(f"{row['name']:<20} {row['summary']}")
        click.echo(f"{'':<20}   args: {args or '(none)'}")
        if row["aliases"]:
            click.echo(f"{'':<20}   also: {', '.join(row['aliases'])}")  # type: ignore[arg-type]
