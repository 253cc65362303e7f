"""``initcli torch``: ``torch.nn.init`` functions and module resets, with torch's own numbers.

``initcli torch NAME`` runs one function of :mod:`initcli.torch_init` (torch's
names, trailing underscore included) as if right after ``torch.manual_seed(SEED)``;
``initcli torch modules SPEC...`` draws the default parameters of modules made
one after another and writes them as a ``state_dict`` in ``.npz``.  The Keras
initializers stay ``initcli NAME`` (``initcli he_normal`` is Keras's, ``initcli
torch kaiming_normal_`` torch's), so the two cannot be confused.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import InvalidArgument
from .bare_call import HelpWhenBare, raise_bare_call
from .types import OUTPUT_PATH, ShapeType

_GROUP_HELP = """torch.nn.init (torch 2.13.0, CPU) with torch's names, defaults and numbers.

Each function is a subcommand named as in torch (with the trailing underscore).
Its numbers equal, bit for bit, what torch puts in a tensor of that shape right
after torch.manual_seed(SEED) (orthogonal_ up to its QR, about 1e-7; trunc_normal_
with P(a<X<b) <= 0.3 up to rare last-bit decisions of torch's log).  Several
--shape draw one after another from the same generator, as successive calls do.
'modules' writes the default parameters of nn.Linear / nn.Conv1d-3d /
nn.Embedding, in construction order, as a state_dict.  Each tensor records
the run it came from (in a .npz, or with --manifest beside a .npy), and
initcli verify remakes it and compares every byte.

\b
Examples:
  initcli torch kaiming_normal_ --shape 64,784 --seed 1 -p mode=fan_out -o w.npy
  initcli torch trunc_normal_ -s 768,768 --seed 0 -p std=0.02 -o w.npy
  initcli torch modules "Linear(784,64)" "Conv2d(64,128,3)" --seed 0 -o w.npz

\b
Load in torch:
  sd = {k: torch.from_numpy(v) for k, v in np.load("w.npz").items()}
  model.load_state_dict(sd)
"""


class TorchSeed(click.ParamType):
    """What ``torch.manual_seed`` takes: an integer in ``[-2**63, 2**64)``."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from ..torch_init.generator import check_torch_seed

        if isinstance(value, int):
            return check_torch_seed(value)
        text = str(value).strip()
        try:
            number = int(text, 0) if text.lower().lstrip("-").startswith(("0x", "0o", "0b")) else int(text)
        except ValueError:
            self.fail(f"seed {value!r} is not an integer; use an integer from -2**63 to 2**64-1", param, ctx)
        try:
            check_torch_seed(number)
        except InvalidArgument as error:
            self.fail(str(error), param, ctx)
        return number


def _parameters(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """The torch arguments of ``function`` (:func:`initcli.torch_init.arguments`)."""
    from ..torch_init import arguments

    return arguments(function)


def _value(text: str, key: str, default: Any) -> Any:
    """``-p key=text`` as the type torch's default has (numbers also as ``sqrt(5)``)."""
    if isinstance(default, str):
        return text
    stripped = text.strip()
    if isinstance(default, bool) or (isinstance(default, int) and key == "groups"):
        try:
            return int(stripped)
        except ValueError:
            raise InvalidArgument(f"-p {key}={text}: {text!r} is not an integer") from None
    if stripped.startswith("sqrt(") and stripped.endswith(")"):
        import math

        return math.sqrt(_value(stripped[5:-1], key, 0.0))
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        raise InvalidArgument(f"-p {key}={text}: {text!r} is not a number (e.g. 0.2, 1e-3 or sqrt(5))") from None


def parse_params(name: str, function: Callable[..., Any], pairs: tuple[str, ...]) -> dict[str, Any]:
    """``-p key=value`` options as keyword arguments of ``function``, checked against torch's names."""
    accepted = _parameters(function)
    out: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        key = key.strip()
        if not equals:
            raise InvalidArgument(f"-p {pair!r} is not KEY=VALUE; {name} takes {_takes(accepted)}")
        if key not in accepted:
            raise InvalidArgument(f"{name} has no parameter {key!r}; it takes {_takes(accepted)}")
        default = accepted[key].default
        out[key] = _value(text, key, 0.0 if default is inspect.Parameter.empty or default is None else default)
    missing = [k for k, p in accepted.items() if p.default is inspect.Parameter.empty and k not in out]
    if missing:
        raise InvalidArgument(f"{name} needs {' and '.join(f'-p {k}=VALUE' for k in missing)}")
    return out


def _takes(accepted: dict[str, inspect.Parameter]) -> str:
    if not accepted:
        return "no parameters"
    return ", ".join(k if p.default is inspect.Parameter.empty else f"{k}={p.default!r}" for k, p in accepted.items())


def _write(output: str, tensors: dict[str, Any], notes: dict[str, str], *, force: bool, manifest: str | None) -> str:
    """Write ``tensors`` to ``output`` (.npy for one, .npz, ``-`` for .npy on stdout) with their
    provenance (``notes``: in the .npz, and in the sidecar ``manifest`` if asked); the format."""
    from ..writers import format_for_path
    from ..writers.npy import write_npy, write_npy_stream, write_npz
    from .run import manifest_hooks, write_manifest

    fmt = format_for_path(output)
    facts, committed = manifest_hooks(manifest, output, force)
    if output == "-":
        write_npy_stream(sys.stdout.buffer, next(iter(tensors.values())))
        sys.stdout.buffer.flush()
    elif fmt == "npy":
        write_npy(output, next(iter(tensors.values())), force=force, committed=committed)
    else:
        write_npz(output, tensors, force=force, notes=notes, committed=committed)
    if manifest is not None:
        write_manifest(manifest, notes, force=force, output=None if output == "-" else Path(output).name, facts=facts)
    return fmt


def _check_output(output: str, count: int, nbytes: int, force: bool, manifest: str | None) -> str | None:
    """Refuse a bad output before drawing anything; the manifest's path (see ``--manifest``)."""
    from ..writers import format_for_path
    from ..writers.atomic import check_disk, check_target
    from .run import settle_manifest

    fmt = format_for_path(output)
    if fmt == "hdf5":
        raise InvalidArgument(f"initcli torch writes .npy or .npz, not {output!r}; a state_dict goes in .npz")
    if fmt == "npy" and count != 1:
        raise InvalidArgument(f"a .npy file holds one tensor, but there are {count}; write .npz")
    if output == "-" and sys.stdout.isatty():
        raise click.UsageError(f"refusing to write binary .{fmt} data to a terminal; redirect stdout or use -o FILE")
    if output != "-":
        check_target(output, force=force)
        check_disk(output, nbytes)
    return settle_manifest(manifest, output, force=force)


def _notes(
    output: str, tensors: dict[str, Any], inputs: dict[str, Any], runs: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """Provenance JSON of each tensor (``runs``: its ``torch`` object, see
    :mod:`initcli.torch_init.records`) and of the file (key ``""``)."""
    from ..provenance import dumps, file_record
    from ..torch_init import records

    label = Path(output).name if output != "-" and len(tensors) == 1 and output.endswith(".npy") else None
    notes = {
        "": dumps(file_record("torch", inputs, tensors=[label or n for n in tensors], stream=records.stream_info()))
    }
    for name, value in tensors.items():
        notes[name] = dumps(records.tensor_record(label or name, tuple(value.shape), value.dtype, runs[name]))
    return notes


_OUTPUT_OPTIONS = [
    click.Option(["--dtype"], type=click.Choice(["float32", "float64"]), default="float32", show_default=True,
                 help="torch's float32 (the default dtype) or float64."),
    click.Option(["-o", "--output"], type=OUTPUT_PATH, required=True, metavar="PATH",
                 help="Output file: .npy (one tensor) or .npz; - writes .npy to stdout."),
    click.Option(["-f", "--force"], is_flag=True, help="Replace an existing output file."),
    click.Option(["--manifest"], type=OUTPUT_PATH, metavar="PATH", is_flag=False, flag_value="", default=None,
                 help="Also write the provenance as JSON beside the output (default PATH: OUTPUT.json); "
                 "the way to record it for .npy (a .npz holds its own)."),
    click.Option(["-q", "--quiet"], is_flag=True, help="Print nothing on stderr."),
]  # fmt: skip


def _seed_option(required: bool = True) -> click.Option:
    return click.Option(
        ["--seed"],
        type=TorchSeed(),
        required=required,
        help="The seed of torch.manual_seed(SEED) (any integer in [-2**63, 2**64); torch keeps its low 32 bits).",
    )


def _itemsize(dtype: str) -> int:
    import numpy as np

    return np.dtype(dtype).itemsize


def _count(shape: tuple[int, ...]) -> int:
    import math

    return math.prod(shape)


def _signature(name: str, function: Callable[..., Any]) -> str:
    shown = ", ".join(
        k if p.default is inspect.Parameter.empty else f"{k}={p.default!r}" for k, p in _parameters(function).items()
    )
    return f"torch.nn.init.{name}(tensor{', ' if shown else ''}{shown})"


_EXAMPLES = {
    "kaiming_normal_": "--shape 64,784 --seed 1 -p mode=fan_out -p nonlinearity=relu -o w.npy",
    "kaiming_uniform_": "--shape 64,784 --seed 0 -p a=sqrt(5) -o w.npy",
    "trunc_normal_": "--shape 768,768 --seed 0 -p std=0.02 -o w.npy",
    "sparse_": "--shape 100,50 --seed 0 -p sparsity=0.9 -o w.npy",
    "constant_": "--shape 64 -p val=0.1 -o b.npy",
    "dirac_": "--shape 16,16,3,3 -o w.npy",
    "eye_": "--shape 64,64 -o w.npy",
}


def build_function_command(name: str) -> click.Command:
    """``initcli torch NAME`` for the ``torch.nn.init`` function ``name``."""
    from ..torch_init import DETERMINISTIC, get

    function = get(name)
    random = name not in DETERMINISTIC

    def callback(shape: tuple[tuple[int, ...], ...], name_: tuple[str, ...], param: tuple[str, ...],
                 dtype: str, output: str, force: bool, manifest: str | None, quiet: bool,
                 seed: int | None = None) -> None:  # fmt: skip
        from ..torch_init import TorchGenerator
        from ..torch_init.generator import LAZY_SAFE

        kwargs = parse_params(name, function, param)
        if name_ and len(name_) != len(shape):
            raise InvalidArgument(f"{len(name_)} --name for {len(shape)} --shape; give one name per shape")
        names = list(name_) or (["arr_0"] if len(shape) == 1 else [f"arr_{i}" for i in range(len(shape))])
        if len(set(names)) != len(names):
            raise InvalidArgument("two tensors have the same --name; give each its own")
        nbytes = sum(_count(s) for s in shape) * _itemsize(dtype)
        manifest = _check_output(output, len(shape), nbytes, force, manifest)
        generator = TorchGenerator(seed) if random and seed is not None else None
        if generator is not None:
            generator.lazy = name in LAZY_SAFE  # computed chunk by chunk as it is written
        extra: dict[str, Any] = {"generator": generator} if random else {}
        tensors = {n: function(s, **kwargs, **extra, dtype=dtype) for n, s in zip(names, shape, strict=True)}
        calls = [{"function": name, "shape": list(s), "arguments": kwargs} for s in shape]
        runs = {n: {"seed": seed, "calls": calls, "index": i} for i, n in enumerate(names)}
        inputs = {"function": name, "arguments": kwargs, "seed": seed, "shapes": [list(s) for s in shape]}
        _write(output, tensors, _notes(output, tensors, inputs, runs), force=force, manifest=manifest)
        if not quiet and output != "-":
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors.values())
            seeded = f", after torch.manual_seed({seed})" if random else ""
            click.echo(f"wrote {output}: {name} {shapes} {dtype}{seeded}", err=True)

    params: list[click.Parameter] = [
        click.Option(["-s", "--shape"], type=ShapeType(), multiple=True, required=True, metavar="SHAPE",
                     help="Tensor shape in torch's layout, e.g. 64,784 (out, in) or 128,64,3,3. Repeat for "
                     "successive calls on the same generator."),
        click.Option(["-n", "--name", "name_"], multiple=True, metavar="NAME",
                     help="Name of each tensor in a .npz, one per --shape (default arr_0, arr_1, ...)."),
        click.Option(["-p", "--param", "param"], multiple=True, metavar="KEY=VALUE",
                     help=f"An argument of torch's function: {_takes(_parameters(function))}."),
    ]  # fmt: skip
    if random:
        params.append(_seed_option())
    doc = (inspect.getdoc(function) or name).replace("``", "")
    example = _EXAMPLES.get(name, "--shape 64,784 --seed 1 -o w.npy")
    help_text = (
        f"{doc}\n\nSame numbers as {_signature(name, function)}"
        f"{' right after torch.manual_seed(SEED)' if random else ''} (torch 2.13.0, CPU).\n\n"
        f"\b\nExample:\n  initcli torch {name} {example}"
    )
    return HelpWhenBare(name=name, callback=callback, params=params + _OUTPUT_OPTIONS, help=help_text,
                        short_help=doc.splitlines()[0])  # fmt: skip


def _modules_callback(
    specs: tuple[str, ...], seed: int, dtype: str, output: str, force: bool, manifest: str | None, quiet: bool
) -> None:
    from ..torch_init import TorchGenerator, parse_module, reset_modules

    parsed = [parse_module(spec) for spec in specs]
    sizes = [_count(p.shape) for _, m in parsed for p in m.parameters]
    if not sizes:
        raise InvalidArgument("these modules have no parameters to write")
    manifest = _check_output(output, len(sizes), sum(sizes) * _itemsize(dtype), force, manifest)
    generator = TorchGenerator(seed)
    generator.lazy = True  # every parameter computed chunk by chunk as it is written
    state = reset_modules(parsed, generator=generator, dtype=dtype)
    shown = [f"{n}={m}" if n else str(m) for n, m in parsed]
    runs = {key: {"seed": seed, "modules": shown, "parameter": key} for key in state}
    inputs = {"modules": shown, "seed": seed}
    _write(output, state, _notes(output, state, inputs, runs), force=force, manifest=manifest)
    if not quiet and output != "-":
        shown = ", ".join(f"{k} {tuple(v.shape)}" for k, v in state.items())
        click.echo(f"wrote {output}: {shown} {dtype}, after torch.manual_seed({seed})", err=True)


MODULES_COMMAND = HelpWhenBare(
    name="modules",
    callback=_modules_callback,
    params=[click.Argument(["specs"], nargs=-1, required=True, metavar="SPEC..."), _seed_option(), *_OUTPUT_OPTIONS],
    short_help="Default parameters of nn.Linear/Conv1d-3d/Embedding made in sequence, as a state_dict.",
    help="""Default parameters of torch modules made one after another, as a state_dict.

Each SPEC is a constructor call with literal arguments: Linear(in, out, bias=True),
Conv1d/Conv2d/Conv3d(in, out, kernel_size, stride=1, padding=0, dilation=1,
groups=1, bias=True, padding_mode='zeros') or Embedding(num, dim, padding_idx=None).
Their parameters are drawn in order, right after torch.manual_seed(SEED), as a
model's __init__ makes them: weight by kaiming_uniform_(a=sqrt(5)) and bias by
uniform_(-1/sqrt(fan_in), 1/sqrt(fan_in)); Embedding's weight by normal_(0, 1).
Stride, padding and dilation do not change the numbers.  Tensors are named as in
nn.Sequential (0.weight, 0.bias, 1.weight, ...), or NAME.weight for NAME=Linear(...).

\b
Example:
  initcli torch modules "Linear(784,64)" "Linear(64,10)" --seed 0 -o mlp.npz
  initcli torch modules "conv1=Conv2d(1,32,3)" "fc=Linear(5408,10)" --seed 7 -o net.npz
""",
)


def _gain_callback(nonlinearity: str, param: float | None, as_json: bool) -> None:
    from ..torch_init import calculate_gain

    gain = calculate_gain(nonlinearity, param)
    click.echo(json.dumps({"nonlinearity": nonlinearity, "param": param, "gain": gain}) if as_json else repr(gain))


GAIN_COMMAND = HelpWhenBare(
    name="calculate_gain",
    callback=_gain_callback,
    params=[
        click.Argument(["nonlinearity"], metavar="NONLINEARITY"),
        click.Option(["--param"], type=float, default=None, help="leaky_relu's negative slope (default 0.01)."),
        click.Option(["--json", "as_json"], is_flag=True, help="Print a JSON object instead of the number."),
    ],
    short_help="torch.nn.init.calculate_gain: the gain of a nonlinearity, on stdout.",
    help="""torch.nn.init.calculate_gain(NONLINEARITY, param): the gain, printed on stdout.

1 for linear, conv1d-3d, conv_transpose1d-3d and sigmoid, 5/3 for tanh, sqrt(2) for
relu, sqrt(2 / (1 + param**2)) for leaky_relu (param: the negative slope, default
0.01) and 3/4 for selu, as Python floats, the way torch returns them.

\b
Example:
  initcli torch calculate_gain leaky_relu --param 0.2
  initcli torch xavier_uniform_ -s 64,64 --seed 0 -p gain=$(initcli torch calculate_gain tanh) -o w.npy
""",
)


def _fans_callback(shape: tuple[int, ...], as_json: bool) -> None:
    from ..torch_init import calculate_fan_in_and_fan_out

    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    click.echo(json.dumps({"fan_in": fan_in, "fan_out": fan_out}) if as_json else f"{fan_in} {fan_out}")


FANS_COMMAND = HelpWhenBare(
    name="fans",
    callback=_fans_callback,
    params=[
        click.Argument(["shape"], type=ShapeType(), metavar="SHAPE"),
        click.Option(["--json", "as_json"], is_flag=True, help="Print a JSON object instead of the two numbers."),
    ],
    short_help="torch's fan_in and fan_out of a shape in torch's layout, on stdout.",
    help="""torch's _calculate_fan_in_and_fan_out of SHAPE (out, in, *kernel): "FAN_IN FAN_OUT".

fan_in = in * prod(kernel), fan_out = out * prod(kernel); fewer than 2 dimensions is
an error, as in torch.  (Keras's fans differ: its kernels are laid out (*kernel, in, out).)

\b
Example:
  initcli torch fans 128,64,3,3
""",
)

QUERIES = {"calculate_gain": GAIN_COMMAND, "fans": FANS_COMMAND}
"""Subcommands that compute a number rather than a tensor."""


class TorchGroup(click.Group):
    """``initcli torch``: subcommands are ``torch.nn.init``'s names, plus ``modules``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        raise_bare_call(ctx, args)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        from ..torch_init import INITIALIZERS

        return [*INITIALIZERS, "modules", *QUERIES]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from ..torch_init import INITIALIZERS

        if cmd_name == "modules":
            return MODULES_COMMAND
        if cmd_name in QUERIES:
            return QUERIES[cmd_name]
        if cmd_name in INITIALIZERS:
            return build_function_command(cmd_name)
        return None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        from ..torch_init import get

        command = self.get_command(ctx, args[0])
        if command is None:
            if args[0].startswith("-"):
                raise click.NoSuchOption(args[0], ctx=ctx)
            try:
                get(args[0])
            except InvalidArgument as error:
                raise click.UsageError(f"{error}, or modules, {', '.join(QUERIES)}", ctx) from None
        return args[0], command, args[1:]


torch_group = TorchGroup(name="torch", help=_GROUP_HELP, short_help="torch.nn.init with torch's own numbers.")
"""The ``initcli torch`` command group."""
