"""``SeedGenerator``: Keras's ``keras.random.SeedGenerator`` semantics, without Keras.

Keras seeds a random initializer with an integer (every call gives the same
values) or with a ``keras.random.SeedGenerator(s)``, whose state is the pair
``[s, i]``: call ``i`` of the initializer draws with the key ``[s, i]`` and then
``i`` goes up by one.  initcli's draw index is that ``i``, so::

    gen = initcli.SeedGenerator(7)
    init = initcli.GlorotNormal(seed=gen)
    a = init((3, 4))      # == keras.initializers.GlorotNormal(seed=keras.random.SeedGenerator(7)), call 1
    b = init((3, 4))      # call 2 (draw 1)

One generator may seed several initializers: they share its counter, as in
Keras.  A ``keras.random.SeedGenerator`` object is accepted wherever an
``initcli.SeedGenerator`` is (:func:`as_generator` wraps it and reads and
advances its own state), without initcli ever importing Keras for it.
"""

from __future__ import annotations

import itertools
import random as _pyrandom
import sys
from typing import Any

import numpy as np

from .errors import InvalidArgument
from .seeds import SEED_LIMIT, check_seed

_names = itertools.count()


def _auto_name() -> str:
    """``seed_generator``, then ``seed_generator_1``, ... (Keras's default names)."""
    n = next(_names)
    return "seed_generator" if n == 0 else f"seed_generator_{n}"


class SeedGenerator:
    """A seed and a draw counter: each call of an initializer seeded with it uses the next draw.

    ``SeedGenerator(seed)`` starts at draw 0; ``seed=None`` draws a seed with
    Python's ``random`` (``random.randint(1, 10**9)``, as Keras).  ``get_config()``
    is Keras's (``{"seed": ..., "name": ...}``) and :meth:`serialize` gives the
    ``keras.random.SeedGenerator`` form Keras writes into initializer configs.
    """

    def __init__(self, seed: int | None = None, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise InvalidArgument(f"SeedGenerator name {name!r} is not a string; use a name such as 'seed_generator'")
        self._initial_seed = None if seed is None else check_seed(seed, "SeedGenerator seed")
        self.seed: int = _pyrandom.randint(1, 10**9) if seed is None else self._initial_seed
        self.name: str = name or _auto_name()
        self.counter = 0

    @property
    def state(self) -> np.ndarray:
        """``[seed, counter]`` as uint32, the key of the next draw (Keras's ``state``)."""
        return np.array([self.seed, self.counter], dtype=np.uint32)

    def peek(self) -> tuple[int, int]:
        """``(seed, draw)`` of the next draw, without taking it."""
        return self.seed, self.counter

    def next(self) -> tuple[int, int]:
        """Take the next draw: ``(seed, draw)``, then the counter goes up by one."""
        if self.counter >= SEED_LIMIT - 1:
            raise InvalidArgument(f"SeedGenerator {self.name!r} has used all {SEED_LIMIT - 1} draws; use a new one")
        taken = (self.seed, self.counter)
        self.counter += 1
        return taken

    def get_config(self) -> dict[str, Any]:
        """Keras's config: the seed as given (``None`` stays ``None``) and the name."""
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        """A new generator (at draw 0) from :meth:`get_config` output."""
        if not isinstance(config, dict) or set(config) - {"seed", "name"}:
            raise InvalidArgument(f"SeedGenerator config {config!r} is not valid; use {{'seed': 1, 'name': '...'}}")
        return cls(**config)

    def serialize(self) -> dict[str, Any]:
        """The form Keras writes for a ``keras.random.SeedGenerator`` inside an initializer config."""
        return serialize_generator(self)

    def __repr__(self) -> str:
        return f"SeedGenerator(seed={self.seed!r}, name={self.name!r}, draw={self.counter})"


class KerasSeedGenerator:
    """A ``keras.random.SeedGenerator`` seen through :class:`SeedGenerator`'s interface:
    its own state is read and advanced (``next()``), so Keras and initcli share one counter."""

    def __init__(self, keras_generator: Any) -> None:
        self.keras_generator = keras_generator

    @property
    def seed(self) -> int:
        return self.peek()[0]

    @property
    def name(self) -> str:
        return str(self.keras_generator.name)

    @property
    def counter(self) -> int:
        return self.peek()[1]

    def peek(self) -> tuple[int, int]:
        state = np.asarray(self.keras_generator.state.value).reshape(-1)
        if state.size != 2 or state.dtype.kind not in "iu":
            raise InvalidArgument(
                f"keras SeedGenerator {self.name!r} has state {state.tolist()!r}; "
                "expected [seed, counter] integers (a keras.random.SeedGenerator)"
            )
        return int(state[0]) % SEED_LIMIT, int(state[1]) % SEED_LIMIT

    def next(self) -> tuple[int, int]:
        taken = self.peek()
        self.keras_generator.next()
        return taken

    def get_config(self) -> dict[str, Any]:
        return dict(self.keras_generator.get_config())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KerasSeedGenerator) and other.keras_generator is self.keras_generator

    def __hash__(self) -> int:
        return id(self.keras_generator)

    def __repr__(self) -> str:
        return f"KerasSeedGenerator({self.keras_generator!r})"


def is_keras_generator(value: Any) -> bool:
    """Whether ``value`` is a ``keras.random.SeedGenerator`` (decided without importing Keras:
    if it is one, Keras is already imported)."""
    keras_random = sys.modules.get("keras.src.random.seed_generator")
    return keras_random is not None and isinstance(value, keras_random.SeedGenerator)


def as_generator(value: Any) -> SeedGenerator | KerasSeedGenerator | None:
    """``value`` as a generator if it is one (initcli's or Keras's), or a serialized one (a
    ``{"class_name": "SeedGenerator", "config": {...}}`` dict, which gives a new generator);
    ``None`` otherwise."""
    if isinstance(value, (SeedGenerator, KerasSeedGenerator)):
        return value
    if is_keras_generator(value):
        return KerasSeedGenerator(value)
    if isinstance(value, dict) and value.get("class_name") == "SeedGenerator":
        module = value.get("module", "keras.random")
        if module not in ("keras.random", "keras.src.random.seed_generator", "initcli"):
            raise InvalidArgument(f"seed {value!r} is from module {module!r}; use a keras.random SeedGenerator config")
        config = value.get("config")
        return SeedGenerator.from_config(config if config is not None else {})
    return None


def serialize_generator(generator: SeedGenerator | KerasSeedGenerator) -> dict[str, Any]:
    """``{"module": "keras.random", "class_name": "SeedGenerator", "config": {...}, "registered_name": None}``."""
    return {
        "module": "keras.random",
        "class_name": "SeedGenerator",
        "config": generator.get_config(),
        "registered_name": None,
    }
