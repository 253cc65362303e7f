"""One subcommand per initializer, generated from the initializer's declared parameters.

``initcli random_normal --help`` shows ``--mean``, ``--stddev`` and
``--seed`` with Keras's defaults because :class:`initcli.initializers.Param`
records drive both the Python constructor checks and these options.
"""

from __future__ import annotations

import inspect
from typing import Any

import click

from .bare_call import HelpWhenBare
from .run import run_sample
from .types import (
    OUTPUT_PATH,
    AxesType,
    ByteSizeType,
    DtypeType,
    FiniteFloat,
    NumberOrListType,
    SeedType,
    ShapeType,
    WindowType,
    backend_option_kwargs,
)

_EXAMPLE_ARGS = {
    "Orthogonal": "--shape 256,256 --seed 1 -o w.npy",
    "Identity": "--shape 64,64 -o w.npy",
    "STFT": "--shape 512,1,257 -o stft.npy",
    "Constant": "--value 0.1 --shape 64 -o b.npy",
    "Zeros": "--shape 64 -o b.npy",
    "Ones": "--shape 64 -o gamma.npy",
}


def _param_option(param: Any) -> click.Option:
    """The click option for one initializer parameter."""
    flags = [f"--{param.name.replace('_', '-')}"]
    if "_" in param.name:
        flags.append(f"--{param.name}")
    common: dict[str, Any] = {"help": param.help, "show_default": True, "default": param.default}
    if param.kind == "bool":
        negative = f"--no-{param.name.replace('_', '-')}"
        return click.Option([f"{flags[0]}/{negative}"], **common)
    if param.kind == "choice":
        choice_type = click.Choice(param.choices, case_sensitive=False)
        return click.Option(flags, type=choice_type, **common)
    kinds = {
        "float": FiniteFloat(),
        "seed": SeedType(),
        "axes": AxesType(),
        "value": NumberOrListType(),
        "window": WindowType(),
    }
    if param.kind == "seed":
        common["show_default"] = False
    return click.Option(flags, type=kinds[param.kind], metavar=kinds[param.kind].name.upper(), **common)


def _common_options(is_random: bool) -> list[click.Option]:
    return [
        click.Option(
            ["-s", "--shape"],
            type=ShapeType(),
            multiple=True,
            required=True,
            metavar="SHAPE",
            help="Tensor shape, e.g. 784,64 or 3x3x16x32 or () for a scalar. Repeat for several tensors "
            "(tensor i uses draw i of the seed's stream).",
        ),
        click.Option(
            ["-n", "--name"],
            multiple=True,
            metavar="NAME",
            help="Name of each tensor in a .npz or .safetensors, one per --shape (default arr_0, arr_1, ...).",
        ),
        click.Option(
            ["--dtype"],
            type=DtypeType(),
            default="float32",
            show_default=True,
            help="float16, bfloat16, float32 or float64, as Keras computes them on the chosen backend "
            "(bfloat16 random draws: numpy, jax and tensorflow backends).",
        ),
        click.Option(["--backend"], **backend_option_kwargs()),
        click.Option(
            ["-o", "--output"],
            type=OUTPUT_PATH,
            metavar="PATH",
            help="Output file: .npy (one tensor), .npz or .safetensors (several), .h5 (with --path); - writes .npy "
            "(or --format) to stdout.",
        ),
        click.Option(
            ["--format"],
            type=click.Choice(["npy", "npz", "hdf5", "safetensors"]),
            help="Output format, overriding the suffix.",
        ),
        click.Option(
            ["--path", "h5_path"],
            metavar="DATASET",
            help="With .h5/.weights.h5 output: the dataset to write, e.g. layers/dense/vars/0; "
            "the file's other contents are kept.",
        ),
        click.Option(
            ["-f", "--force"], is_flag=True, help="Replace an existing output file (or tensor, with --append)."
        ),
        click.Option(["--append"], is_flag=True, help="Add the tensors to an existing .npz, keeping its others."),
        click.Option(["--compress"], is_flag=True, help="Deflate .npz members (smaller, slower)."),
        click.Option(["--json", "as_json"], is_flag=True, help="Print the tensors as JSON on stdout."),
        click.Option(
            ["--manifest"],
            type=OUTPUT_PATH,
            metavar="PATH",
            is_flag=False,
            flag_value="",
            default=None,
            help="Also write the provenance as JSON beside the output (default PATH: OUTPUT.json); "
            "the way to record it for .npy.",
        ),
        click.Option(
            ["--max-bytes"],
            type=ByteSizeType(),
            metavar="SIZE",
            help="Refuse to write more than SIZE bytes of tensors (e.g. 500M, 2GiB): a guard for scripts.",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            help="Print nothing on stderr" + (", not even a drawn seed." if is_random else "."),
        ),
    ]


def _signature(cls: type) -> str:
    args = ", ".join(f"{p.name}={p.default!r}" for p in cls.params)
    return f"keras.initializers.{cls.__name__}({args})"


def _help_text(cls: type, name: str) -> str:
    from ..initializers import aliases

    doc = (inspect.getdoc(cls) or cls.__name__).replace("``", "")
    example = f"initcli {name} {_EXAMPLE_ARGS.get(cls.__name__, '--shape 784,64 --seed 1 -o w.npy')}"
    backends = (
        "under Keras 3's numpy backend, or with --backend jax|tensorflow|torch under that backend"
        if cls.is_random
        else "under Keras 3 (any backend)"
    )
    return (
        f"{doc}\n\nSame numbers as {_signature(cls)} {backends}.\n\n"
        f"Names: {', '.join(aliases(cls))}.\n\n"
        f"\b\nExample:\n  {example}"
    )


def build_command(cls: type, name: str) -> click.Command:
    """The ``initcli NAME`` command for initializer class ``cls``."""
    param_names = [p.name for p in cls.params]

    def callback(**options: Any) -> None:
        init_params = {key: options.pop(key) for key in param_names}
        run_sample(cls, init_params, **options)

    return HelpWhenBare(
        name=name,
        callback=callback,
        params=[_param_option(p) for p in cls.params] + _common_options(cls.is_random),
        help=_help_text(cls, name),
        short_help=(inspect.getdoc(cls) or "").splitlines()[0].replace("``", ""),
    )
