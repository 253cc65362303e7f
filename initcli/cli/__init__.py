"""The ``initcli`` command line: a thin layer that parses, calls the core and the writers."""

from __future__ import annotations

import click

from .. import __version__
from .examples_command import examples_command
from .file_commands import inspect_command, verify_command
from .group import InitcliGroup
from .layers_command import layers_command
from .list_command import list_command
from .plan_commands import batch_command, model_command
from .torch_command import torch_group

_HELP = """Sample weight tensors with the Keras initializers, bit for bit.

Each initializer is a subcommand (Keras's names and aliases all work); run
'initcli NAME --help' for its options and maths, 'initcli list' for all;
'initcli examples' lists the sample configs for 'initcli batch' and 'initcli model'.

\b
Examples:
  initcli glorot_normal --shape 784,64 --seed 1 -o w.npy
  initcli he_uniform -s 3,3,16,32 -s 3,3,32,64 -n conv1 -n conv2 --seed 7 -o convs.npz
  initcli orthogonal --shape 64,64 --seed 0 -o - | gzip > w.npy.gz
"""


@click.group(cls=InitcliGroup, help=_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="initcli", message="%(prog)s %(version)s")
def cli() -> None:
    """The initcli command group."""


cli.add_command(list_command)
cli.add_command(batch_command)
cli.add_command(model_command)
cli.add_command(verify_command)
cli.add_command(inspect_command)
cli.add_command(examples_command)
cli.add_command(layers_command)
cli.add_command(torch_group)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="initcli")
