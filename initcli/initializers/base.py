"""The :class:`Initializer` base class and the parameter descriptions shared by all initializers.

An initializer is a callable ``init(shape, dtype=None) -> numpy.ndarray`` with
a Keras config round trip (``get_config`` / ``from_config``), as in
``keras.initializers``.  Each built-in class also declares its constructor
parameters as :class:`Param` records; the command line builds one subcommand
per initializer from them, so the options, defaults and help text cannot
drift from the Python API.
"""

from __future__ import annotations

import math
import random as _pyrandom
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..backends import DEFAULT as DEFAULT_BACKEND
from ..backends import check_backend
from ..backends.buffers import CHUNK, collect
from ..dtypes import float_info, is_bfloat16, is_float, resolve_dtype
from ..errors import InvalidArgument
from ..memory import check_fits
from ..parallel import workers
from ..seeds import SEED_LIMIT, check_seed
from ..shapes import element_count, normalize_shape


@dataclass(frozen=True)
class Param:
    """One constructor parameter of an initializer.

    ``kind`` says how the value is checked and typed on the command line:
    ``float``, ``seed``, ``choice`` (one of ``choices``), ``axes`` (list of
    ints or None), ``bool``, ``value`` (a number or nested list of numbers) or
    ``window`` (a window name, a list of numbers, or None).
    """

    name: str
    kind: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()


SEED_PARAM = Param(
    "seed",
    "seed",
    None,
    f"Integer in [0, {SEED_LIMIT}). The same seed gives the same numbers as Keras. "
    "Without one, a seed is drawn and reported.",
)


BFLOAT16_BACKENDS = ("numpy", "jax", "tensorflow", "torch")
"""Backends whose random bfloat16 draws are reproduced (numpy: the float64 draws rounded to
nearest even once; jax, tensorflow, torch: their stream modules in :mod:`initcli.backends`).
Deterministic initializers give bfloat16 on every backend."""


def check_bfloat16_backend(dtype: np.dtype, backend: str, is_random: bool) -> None:
    """Refuse random bfloat16 draws on a backend whose bfloat16 stream is not reproduced."""
    if is_random and is_bfloat16(dtype) and backend not in BFLOAT16_BACKENDS:
        raise InvalidArgument(
            f"dtype bfloat16 is not reproduced on the {backend} backend yet; "
            f"use backend {' or '.join(BFLOAT16_BACKENDS)}, or float16, float32 or float64"
        )


class Initializer:
    """Base class of all initializers; subclass it for your own.

    A subclass either overrides ``__call__(shape, dtype=None)`` (the Keras
    way) or ``_generate(shape, dtype, draw, backend)``, which receives a
    checked shape tuple, numpy dtype, draw index and backend name.  ``get_config`` must return the constructor
    arguments so that ``cls.from_config(obj.get_config())`` rebuilds ``obj``.
    """

    params: ClassVar[tuple[Param, ...]] = ()
    """Constructor parameters, in signature order."""

    config_keys: ClassVar[tuple[str, ...] | None] = None
    """Order of keys in ``get_config()`` (Keras's order) if not that of ``params``."""

    is_random: ClassVar[bool] = False

    streams: ClassVar[bool] = False
    """Whether ``chunks()`` produces the tensor piece by piece (bounded memory at any size)."""

    integer_dtypes: ClassVar[bool] = False
    """Whether integer dtypes are accepted (Zeros, Ones, Constant, as in Keras)."""

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        """Return a tensor of ``shape`` and ``dtype`` (default float32)."""
        return self.sample(shape, dtype)

    __call__._initcli_builtin = True  # type: ignore[attr-defined]

    def sample(self, shape: Any, dtype: Any = None, *, draw: int = 0, backend: str = DEFAULT_BACKEND) -> np.ndarray:
        """Check ``shape`` and ``dtype``, check memory, then generate.

        ``draw`` selects the ``draw``-th tensor of a seeded stream, as the
        ``draw``-th call of an initializer seeded with
        ``keras.random.SeedGenerator(seed)`` would (``draw=0`` is what an
        integer seed gives).  ``backend`` names the Keras backend whose random
        numbers to reproduce (``numpy``, ``jax`` or ``tensorflow``; see
        :mod:`initcli.backends`).  Deterministic initializers ignore both.
        """
        if not getattr(type(self).__call__, "_initcli_builtin", False):  # a Keras-style subclass: its result is checked
            values = np.asarray(self(shape, dtype))
            return check_finite_result(values, type(self).__name__, values.dtype, "fix its parameters or its __call__")
        shape, dtype, backend = self._checked(shape, dtype, backend, self.working_bytes)
        return self._generate(shape, dtype, draw, backend)

    def chunks(
        self, shape: Any, dtype: Any = None, *, draw: int = 0, backend: str = DEFAULT_BACKEND
    ) -> Iterator[np.ndarray]:
        """The tensor as flat chunks in C order, each a 1-D array of ``dtype``.

        Concatenated, they are exactly ``sample(shape, dtype, draw=draw)``.
        Random initializers stream (bounded memory, both cores); others build the
        tensor, or large blocks of it, in memory.  Checks come first, as in ``sample``.
        """
        shape, dtype, backend = self._checked(shape, dtype, backend, self.streaming_bytes)
        return self._chunks(shape, dtype, draw, backend)

    def _checked(
        self, shape: Any, dtype: Any, backend: str, needs: Callable[[tuple[int, ...], np.dtype], int]
    ) -> tuple[tuple[int, ...], np.dtype, str]:
        """Shape, dtype and backend checked and normalized, and the memory ``needs`` says checked."""
        shape = normalize_shape(shape)
        dtype = resolve_dtype(dtype, integers=self.integer_dtypes)
        self.check_shape(shape)
        backend = check_backend(backend)
        check_bfloat16_backend(dtype, backend, self.is_random)
        self.check_values(shape, dtype, backend)
        check_fits(needs(shape, dtype), f"{type(self).__name__} of shape {shape}")
        return shape, dtype, backend

    def _chunks(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> Iterator[np.ndarray]:
        yield self._generate(shape, dtype, draw, backend).reshape(-1)

    def streaming_bytes(self, shape: tuple[int, ...], dtype: np.dtype) -> int:
        """Peak bytes needed while streaming the tensor (an upper estimate)."""
        return self.working_bytes(shape, dtype)

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> np.ndarray:
        raise NotImplementedError("Initializer subclasses must implement __call__() or _generate().")

    def check_shape(self, shape: tuple[int, ...]) -> None:
        """Raise :class:`InvalidArgument` if this initializer cannot fill ``shape``."""

    def check_values(self, shape: tuple[int, ...], dtype: np.dtype, backend: str = DEFAULT_BACKEND) -> None:
        """Raise :class:`InvalidArgument` if the values for ``shape`` are known, before any is
        drawn, not to fit ``dtype`` with ``backend``'s arithmetic (they would be stored as
        infinities or NaN)."""

    def working_bytes(self, shape: tuple[int, ...], dtype: np.dtype) -> int:
        """Peak bytes needed to build the tensor in memory (an upper estimate)."""
        return element_count(shape) * dtype.itemsize

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, keyed and ordered as Keras's ``get_config()``."""
        keys = self.config_keys or tuple(p.name for p in self.params)
        return {key: _config_value(self._seed_as_given() if key == "seed" else getattr(self, key)) for key in keys}

    def _seed_as_given(self) -> Any:
        """The ``seed`` argument as given: an integer, ``None`` or a seed generator."""
        return getattr(self, "_config_seed", getattr(self, "_init_seed", None))

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        """Rebuild an initializer from ``get_config()`` output."""
        known = {p.name for p in cls.params}
        unknown = sorted(set(config) - known)
        if unknown and cls.params:
            accepted = ", ".join(sorted(known)) or "no arguments"
            raise InvalidArgument(f"{cls.__name__} does not take {', '.join(map(repr, unknown))}; it takes {accepted}")
        return cls(**config)

    def clone(self) -> Initializer:
        """A new instance from this one's config (an unseeded one draws a new seed, as in Keras)."""
        return self.from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.get_config() == other.get_config() and getattr(self, "seed", None) == getattr(other, "seed", None)

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self)))


class StreamedInitializer(Initializer):
    """An initializer whose values are produced chunk by chunk (``_chunks``); ``sample``
    gathers the chunks into one array allocated once."""

    streams = True

    def _generate(self, shape: tuple[int, ...], dtype: np.dtype, draw: int, backend: str) -> np.ndarray:
        return collect(self._chunks(shape, dtype, draw, backend), shape, dtype)

    def working_bytes(self, shape: tuple[int, ...], dtype: np.dtype) -> int:
        return element_count(shape) * dtype.itemsize + self.streaming_bytes(shape, dtype)

    def streaming_bytes(self, shape: tuple[int, ...], dtype: np.dtype) -> int:
        # chunks in flight: float64 draws and their casts, one per worker plus the prefetch queue
        in_flight = min(element_count(shape), CHUNK) * (8 + dtype.itemsize)
        return in_flight * (workers() + 3)


class RandomInitializer(StreamedInitializer):
    """An initializer that draws from a seeded random stream.

    ``seed`` is an integer, ``None``, or a seed generator: an
    :class:`initcli.SeedGenerator`, a ``keras.random.SeedGenerator`` or the
    serialized form of one (``{"class_name": "SeedGenerator", ...}``, which
    gives a new generator, as in Keras).

    ``seed=None`` draws a seed at construction with Python's ``random``
    module (``random.randint(1, 10**9)``, as Keras does), so every call of one
    instance returns the same values; so does an integer seed.  With a seed
    generator, call ``i`` of the initializer (``init(shape)``) draws with the
    key ``[seed, i]`` of the generator's counter and advances it, as Keras's
    call ``i`` does; :meth:`sample` with an explicit ``draw`` leaves the
    generator alone.  The seed actually used is ``self.seed`` (the generator's
    seed); ``get_config()`` reports the seed as given (``None`` stays ``None``,
    a generator is serialized as Keras serializes one).
    """

    is_random = True

    def __init__(self, seed: Any = None) -> None:
        from ..seed_generator import as_generator

        generator = as_generator(seed)
        self.seed_generator = generator
        if generator is not None:
            # ``_init_seed`` says whether a seed was given: an unseeded generator (``seed`` None in its
            # config) drew its seed at random, like ``seed=None``; the config keeps the generator
            self._config_seed: Any = generator
            self._init_seed: Any = generator if generator.get_config().get("seed") is not None else None
            self.seed: int = generator.seed
            return
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise InvalidArgument(
                f"seed {seed!r} is not an integer or a SeedGenerator; use an integer from 0 to "
                f"{SEED_LIMIT - 1}, initcli.SeedGenerator(seed) or keras.random.SeedGenerator(seed)"
            )
        self._init_seed = None if seed is None else check_seed(seed)
        self._config_seed = self._init_seed
        self.seed = _pyrandom.randint(1, 10**9) if seed is None else self._init_seed

    def __call__(self, shape: Any, dtype: Any = None) -> np.ndarray:
        """A tensor of ``shape`` and ``dtype``; with a seed generator, the next draw of its stream."""
        if self.seed_generator is None:
            return self.sample(shape, dtype)
        _, draw = self.seed_generator.peek()
        values = self.sample(shape, dtype, draw=draw)
        self.seed_generator.next()  # taken only once the tensor is made
        return values

    __call__._initcli_builtin = True  # type: ignore[attr-defined]


def _config_value(value: Any) -> Any:
    """Make a config value JSON-friendly (tuples become lists, numpy scalars Python ones, a seed
    generator its Keras serialized form)."""
    from ..seed_generator import as_generator, serialize_generator

    if not isinstance(value, (int, float, str, type(None), list, tuple, np.ndarray, np.generic, dict)):
        generator = as_generator(value)
        if generator is not None:
            return serialize_generator(generator)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_config_value(v) for v in value]
    return value


def check_real(name: str, value: Any, *, minimum: float | None = None, positive: bool = False) -> Any:
    """Check that ``value`` is a finite real number (and ``>= minimum`` / ``> 0``); return it unchanged."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidArgument(f"{name} {value!r} is not a number; use a finite real number")
    try:
        finite = math.isfinite(float(value))
    except OverflowError:  # an int beyond float64
        raise InvalidArgument(f"{name} {value!r} is beyond float64's range; use a finite real number") from None
    if not finite:
        raise InvalidArgument(f"{name} {value!r} is not finite; use a finite real number")
    if positive and not value > 0:
        raise InvalidArgument(f"{name} {value!r} must be positive; use a number greater than 0")
    if minimum is not None and value < minimum:
        raise InvalidArgument(f"{name} {value!r} is negative; use a number >= {minimum:g}")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Check that ``value`` is one of ``choices``; return it."""
    if value not in choices:
        raise InvalidArgument(f"{name} {value!r} is not valid; use one of {', '.join(choices)}")
    return value


def check_axes(name: str, value: Any) -> list[int] | None:
    """Check an optional list of axis indices; return it as a list of ints (or None)."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = [value]
    try:
        axes = list(value)
    except TypeError:
        raise InvalidArgument(f"{name} {value!r} is not a list of axes; use integers such as 0,1") from None
    for axis in axes:
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise InvalidArgument(f"{name} {value!r} has a non-integer axis {axis!r}; use integers such as 0,1")
    if len(set(int(a) for a in axes)) != len(axes):
        raise InvalidArgument(f"{name} {value!r} repeats an axis; name each axis once")
    return [int(a) for a in axes]


# The streams cast float64 draws to the requested dtype (and the jax and tensorflow streams scale
# them in it); where that can overflow (untruncated normals, whose range is unbounded) the
# initializers count the non-finite results of every chunk themselves and refuse the tensor
# (:func:`finite_chunks`), so NumPy's own overflow warning would only print an internal path before
# initcli's one-line error.  In the calling thread ``finite_chunks`` silences it with
# ``np.errstate``; large tensors are cast in worker threads, which do not inherit that state, so
# these warnings are also ignored when raised from initcli's stream modules (only there).
warnings.filterwarnings(
    "ignore",
    message="overflow encountered in (cast|multiply|add)",
    category=RuntimeWarning,
    module=r"initcli\.(streams|backends)",
)


def stream_dtype(dtype: np.dtype, backend: str) -> np.dtype:
    """The dtype ``backend``'s stream computes a ``dtype`` tensor in: the jax stream computes float64
    in float32 (JAX without its 64-bit mode, Keras's default); the others compute in ``dtype``."""
    return np.dtype(np.float32) if backend == "jax" and dtype == np.float64 else dtype


def range_dtype(dtype: np.dtype, backend: str, *, uniform_bounds: bool = False) -> np.dtype:
    """The dtype whose range a tensor's values must fit: :func:`stream_dtype`, or float32 for the
    bounds of a float64 uniform under the tensorflow stream (which takes them as float32)."""
    if uniform_bounds and backend == "tensorflow" and dtype == np.float64:
        return np.dtype(np.float32)
    return stream_dtype(dtype, backend)


def check_width(what: str, width: float, dtype: np.dtype, backend: str, label: str = "maxval - minval") -> None:
    """Under the jax and tensorflow streams a uniform draw is ``minval + u * (maxval - minval)``
    computed in the stream's dtype (as in those Keras backends), so the width itself must be finite there."""
    compute = stream_dtype(dtype, backend)
    if backend != DEFAULT_BACKEND and is_float(dtype) and not width <= largest(compute):
        raise InvalidArgument(
            f"{what} with the {backend} stream: {label} = {_g(width)} is beyond {compute.name}'s largest "
            f"finite value {_g(largest(compute))}, in which Keras's {backend} backend computes it; use a narrower "
            f"range{_or_wider(dtype, backend)}"
        )


def largest(dtype: np.dtype) -> float:
    """The largest finite value of a floating ``dtype`` (infinite for integer dtypes)."""
    return float(float_info(dtype).max) if is_float(dtype) else math.inf


def check_range(
    what: str,
    low: float,
    high: float,
    dtype: np.dtype,
    advice: str,
    backend: str = DEFAULT_BACKEND,
    *,
    uniform_bounds: bool = False,
) -> None:
    """Raise :class:`InvalidArgument` unless every value in ``[low, high]`` is finite in the dtype
    ``backend``'s stream computes ``dtype`` in (:func:`stream_dtype`); with ``uniform_bounds``, also in
    float32 for a float64 tensor of the tensorflow stream, which takes a uniform's bounds as float32.

    ``what`` names the initializer and its parameters, ``advice`` what would be accepted.
    """
    if not is_float(dtype):
        return
    compute, note = range_dtype(dtype, backend, uniform_bounds=uniform_bounds), ""
    if compute != dtype and stream_dtype(dtype, backend) != dtype:
        note = f" (the {backend} stream computes {dtype.name} in {compute.name}, as Keras's {backend} backend does)"
    elif compute != dtype:
        note = " (the tensorflow stream takes the bounds as float32, as Keras's tensorflow backend does)"
    reach = max(abs(low), abs(high))
    top = largest(compute)
    if not reach <= top:
        raise InvalidArgument(
            f"{what}: values reach {_g(reach)}, beyond {compute.name}'s largest finite value {_g(top)}{note}; "
            f"{advice}{'' if note else _or_wider(dtype, backend)}"
        )


def finite_chunks(
    stream: Callable[[], Iterator[np.ndarray]],
    what: str,
    dtype: np.dtype,
    advice: str,
    backend: str = DEFAULT_BACKEND,
) -> Iterator[np.ndarray]:
    """The chunks of ``stream()`` unchanged, checked as they are produced: the first chunk holding a
    value that is not finite (a draw that overflowed ``dtype``) raises :class:`InvalidArgument`
    naming ``what``, the dtype and its largest finite value.  Outputs are atomic, so the error
    leaves no file.  NumPy's overflow warnings from the stream are silenced in this thread (the
    stream may cast its parameters to ``dtype`` when it starts): the count says it all."""
    with np.errstate(over="ignore", invalid="ignore"):
        chunks = stream()
    seen = 0
    try:
        while True:
            with np.errstate(over="ignore", invalid="ignore"):  # an overflowing cast in this thread: counted below
                chunk = next(chunks, None)
            if chunk is None:
                return
            if is_float(dtype) and not np.isfinite(chunk).all():
                bad = int(chunk.size - np.count_nonzero(np.isfinite(chunk)))
                compute = stream_dtype(dtype, backend)
                where = f" (the {backend} stream computes {dtype.name} in {compute.name})" if compute != dtype else ""
                raise InvalidArgument(
                    f"{what} overflows {compute.name}{where}: {bad} of the first {seen + chunk.size} values drawn "
                    f"are beyond its largest finite value {_g(largest(compute))}; {advice}{_or_wider(dtype, backend)}"
                )
            seen += chunk.size
            yield chunk
    finally:  # stop the stream's worker threads now, whether it ended, failed or was abandoned
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def check_finite_result(values: np.ndarray, what: str, dtype: np.dtype, advice: str) -> np.ndarray:
    """``values`` (a tensor built whole) if every value is finite; else :class:`InvalidArgument`."""
    if is_float(dtype) and not np.isfinite(values).all():
        bad = int(values.size - np.count_nonzero(np.isfinite(values)))
        raise InvalidArgument(
            f"{what} gives {bad} values that are NaN or beyond {dtype.name}'s largest finite value "
            f"{_g(largest(dtype))}; {advice}"
        )
    return values


def fmt(value: float) -> str:
    """A number for a message: ``65504``, ``100000``, ``3.4028e+38``; others keep five digits,
    rounded toward zero so that a limit quoted is never beyond the true one (``1.7976e+308``)."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))
    text = f"{value:.4e}"
    if abs(float(text)) > abs(value):
        mantissa, exponent = text.split("e")
        text = f"{float(mantissa) - math.copysign(0.0001, float(mantissa)):.4f}e{exponent}"
    return f"{float(text):.5g}"


_g = fmt


def _or_wider(dtype: np.dtype, backend: str = DEFAULT_BACKEND) -> str:
    """`` or a wider dtype (float32, float64)``: the dtypes whose stream computes in a wider one; empty if none."""
    seen = {largest(stream_dtype(dtype, backend))}
    wider = []
    for name in ("float32", "float64"):
        top = largest(stream_dtype(np.dtype(name), backend))
        if top > max(seen):
            wider.append(name)
        seen.add(top)
    return f" or a wider dtype ({', '.join(wider)})" if wider else ""
