"""The shared pieces of the layer rules: what a rule returns and the helpers every family uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidArgument
from ...initializers import Initializer, get
from ...initializers.variance_scaling import VarianceScaling
from ..plan import Piece

Shape = tuple[int | None, ...]


@dataclass
class BuiltWeight:
    """A weight a layer's ``build()`` creates."""

    name: str
    shape: tuple[int, ...]
    pieces: list[Piece]
    sub: str = ""
    trainable: bool = True
    dtype: str | None = None
    """A dtype other than the layer's (Normalization's ``count`` is int32)."""
    alias_of: str | None = None
    """Name of another weight of this layer that this one repeats."""
    seed_name: str | None = None
    """Name of the weight whose seed this one shares (one initializer instance used twice)."""


@dataclass
class Built:
    """What a layer builds from given input shapes."""

    weights: list[BuiltWeight] = field(default_factory=list)
    output: Any = None
    sub_names: dict[str, str] = field(default_factory=dict)
    """``@name`` of each sub-object group (``cell`` -> ``lstm_cell``)."""


def initializer_of(config: dict[str, Any], key: str, default: str) -> Initializer:
    """The initializer in ``config[key]`` (a Keras config dict or a name), or ``default``."""
    value = config.get(key, default)
    if value is None:
        value = default
    try:
        initializer = get(value)
    except InvalidArgument as error:
        raise InvalidArgument(f"{config.get('name', '?')}: {key}: {error}") from None
    assert initializer is not None
    return initializer


def _weight(name: str, shape: tuple[int, ...], initializer: Initializer, **kwargs: Any) -> BuiltWeight:
    return BuiltWeight(name, tuple(int(d) for d in shape), [Piece(initializer, tuple(int(d) for d in shape))], **kwargs)


def _known(value: int | None, what: str, config: dict[str, Any]) -> int:
    if value is None:
        raise InvalidArgument(f"layer {config.get('name')!r}: the {what} of its input is unknown; give build_config")
    return int(value)


def _channel_axis(config: dict[str, Any], rank: int) -> int:
    return 1 if config.get("data_format") == "channels_first" else rank - 1


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    return tuple(int(v) for v in value)


def _unsupported_option(config: dict[str, Any], option: str, what: str) -> None:
    if config.get(option):
        raise InvalidArgument(f"layer {config.get('name')!r}: {what} ({option}) is not supported by initcli yet")


def with_einsum_axes(initializer: Initializer, input_axes: list[int], output_axes: list[int]) -> Initializer:
    """``EinsumDense.build``: a VarianceScaling-family kernel initializer without axes gets the
    einsum's fan axes, keeping its concrete seed."""
    if isinstance(initializer, VarianceScaling) and (initializer.input_axes is None or initializer.output_axes is None):
        config = initializer.get_config()
        config["seed"] = initializer._init_seed  # None stays None: the plan derives one
        config["input_axes"] = input_axes
        config["output_axes"] = output_axes
        return type(initializer).from_config(config)
    return initializer


class UnknownShape(tuple):  # type: ignore[type-arg]
    """The output shape of a layer initcli cannot compute (a ``Lambda`` without ``output_shape``).

    It is passed on like a shape, so a model whose later layers carry their own shapes
    (``build_config``, Functional inbound nodes) still plans; a rule that reads one of its
    dimensions gets the error naming the layer that made it.
    """

    reason: str

    def __new__(cls, reason: str) -> UnknownShape:
        shape = super().__new__(cls, ())
        shape.reason = reason
        return shape

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self
        raise InvalidArgument(self.reason)


_REQUIRED = object()


def positive_int(config: dict[str, Any], key: str, default: Any = _REQUIRED) -> int:
    """``config[key]`` as Keras accepts it: an integer of at least 1 (``4.7``, ``4.0``, ``"4"``,
    ``True`` and ``0`` are refused, as Keras refuses ``Dense(units=4.7)``). A missing or ``None``
    value is ``default``; without one, a missing key is the ``KeyError`` the model reader reports."""
    value = config.get(key) if default is not _REQUIRED else config[key]
    if value is None and default is not _REQUIRED:
        value = default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(
            f"layer {config.get('name')!r}: {key} must be a positive integer (as Keras requires), got {value!r}"
        )
    return value
