"""``initcli examples``: the sample configs shipped with initcli, listed, printed or copied out."""

from __future__ import annotations

import sys
from typing import Any

import click


def _complete_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of NAME: the shipped file names."""
    from click.shell_completion import CompletionItem

    from .. import examples

    return [CompletionItem(name) for name in examples.names() if name.startswith(incomplete)]


@click.command("examples")
@click.argument("name", required=False, metavar="[NAME]", shell_complete=_complete_names)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    metavar="FILE",
    help="Write the example to FILE instead of stdout.",
)
@click.option("-f", "--force", is_flag=True, help="Replace an existing FILE.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr.")
def examples_command(name: str | None, output: str | None, force: bool, quiet: bool) -> None:
    """List the sample configs shipped with initcli, print one, or copy it to a file.

    Without NAME, lists them with the command that reads each. NAME may omit
    its suffix (mnist_mlp for mnist_mlp.yaml).

    \b
    Example:
      initcli examples
      initcli examples mnist_mlp.yaml -o mlp.yaml
      initcli batch mlp.yaml --seed 1 -o mlp.weights.h5
    """
    from .. import examples

    if name is None:
        if output is not None:
            raise click.UsageError("-o writes one example; give its NAME (see 'initcli examples')")
        listed = examples.names()
        width = max(len(n) for n in listed)
        for entry in listed:
            command, summary = examples.DESCRIPTIONS.get(entry, ("batch", ""))
            click.echo(f"{entry:<{width}}  initcli {command:<5}  {summary}".rstrip())
        click.echo("print one with 'initcli examples NAME', or copy it with 'initcli examples NAME -o FILE'")
        return
    data = examples.read_bytes(name)
    if output is None or output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    from ..writers.atomic import atomic_write, check_target

    check_target(output, force=force)
    with atomic_write(output, force=force) as stream:
        stream.write(data)
    if not quiet:
        click.echo(f"wrote {output}: example {examples.resolve(name)}", err=True)
