"""The name registry: every identifier Keras accepts, plus forgiving spellings.

``KERAS_NAMES`` holds exactly the 41 keys of Keras 3.15's
``keras.initializers.ALL_OBJECTS_DICT``: each class name, its snake_case form,
and the aliases ``normal``, ``uniform``, ``one``, ``zero``,
``IdentityInitializer``, ``OrthogonalInitializer``, ``STFTInitializer``.
They resolve exactly as in Keras.

On top of that, :func:`lookup` forgives case, dashes, spaces and
underscores (``GLOROT-UNIFORM``, ``glorotUniform``) and knows the names other
frameworks use for the same maths: ``xavier_*`` for Glorot and
``kaiming_*`` for He.  Note that ``kaiming_normal`` here is Keras's He normal,
which is *truncated* at ±2σ (with the std corrected to ``sqrt(2/fan_in)``).
"""

from __future__ import annotations

import difflib
import re

from ..errors import InvalidArgument
from .base import Initializer
from .constant import Constant, Identity, Ones, Zeros
from .orthogonal import Orthogonal
from .random import RandomNormal, RandomUniform, TruncatedNormal
from .stft import STFT
from .variance_scaling import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    VarianceScaling,
)

BUILTIN_CLASSES: tuple[type[Initializer], ...] = (
    Zeros,
    Ones,
    Constant,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
    Identity,
    STFT,
)


def to_snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: ``GlorotUniform`` -> ``glorot_uniform``, ``STFT`` -> ``stft``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _keras_names() -> dict[str, type[Initializer]]:
    names: dict[str, type[Initializer]] = {}
    for cls in (Initializer, *BUILTIN_CLASSES):
        names[cls.__name__] = cls
        names[to_snake_case(cls.__name__)] = cls
    names.update(
        {
            "IdentityInitializer": Identity,
            "normal": RandomNormal,
            "one": Ones,
            "STFTInitializer": STFT,
            "OrthogonalInitializer": Orthogonal,
            "uniform": RandomUniform,
            "zero": Zeros,
        }
    )
    return names


KERAS_NAMES: dict[str, type[Initializer]] = _keras_names()
"""Exactly the string identifiers ``keras.initializers.get`` accepts (41 keys)."""

EXTRA_NAMES: dict[str, type[Initializer]] = {
    "xavier_normal": GlorotNormal,
    "xavier_uniform": GlorotUniform,
    "kaiming_normal": HeNormal,
    "kaiming_uniform": HeUniform,
}
"""Names from other frameworks for the same maths (forgiving extras, not Keras's)."""

_custom: dict[str, type[Initializer]] = {}


def _fold(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).lower()


def register(cls: type[Initializer], name: str | None = None) -> type[Initializer]:
    """Register a user initializer class so :func:`get`/:func:`deserialize` find it by name.

    Usable as a decorator.  Registers ``cls.__name__`` (or ``name``) and its snake_case form.
    """
    if not (isinstance(cls, type) and issubclass(cls, Initializer)):
        raise InvalidArgument(f"{cls!r} is not an Initializer subclass; subclass initcli.Initializer")
    key = name or cls.__name__
    _custom[key] = cls
    _custom[to_snake_case(key)] = cls
    return cls


def all_names() -> dict[str, type[Initializer]]:
    """Every name :func:`lookup` accepts exactly, Keras's first."""
    return {**KERAS_NAMES, **EXTRA_NAMES, **_custom}


def lookup(name: str, custom_objects: dict[str, type[Initializer]] | None = None) -> type[Initializer]:
    """The initializer class for ``name``.

    Exact Keras identifiers first, then custom objects, then the forgiving
    spellings.  Unknown names raise :class:`InvalidArgument` with a
    suggestion.
    """
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    names = all_names()
    if name in names:
        return names[name]
    folded = {_fold(key): cls for key, cls in names.items()}
    cls = folded.get(_fold(name))
    if cls is not None:
        return cls
    raise InvalidArgument(unknown_name_message(name))


def unknown_name_message(name: str) -> str:
    """``unknown initializer 'glorot_norml'; did you mean 'glorot_normal'?`` (one line)."""
    candidates = [n for n in all_names() if n == n.lower()] + list(all_names())
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not close:
        folded = {_fold(n): n for n in candidates}
        close = [folded[m] for m in difflib.get_close_matches(_fold(name), list(folded), n=1, cutoff=0.6)]
    hint = f"did you mean {close[0]!r}?" if close else "run 'initcli list' to see them all"
    return f"unknown initializer {name!r}; {hint}"


def canonical_name(cls: type[Initializer]) -> str:
    """The snake_case command name of a class: ``GlorotNormal`` -> ``glorot_normal``."""
    return to_snake_case(cls.__name__)


def aliases(cls: type[Initializer]) -> list[str]:
    """Every exact name that resolves to ``cls`` (Keras's and the extras), canonical first."""
    canonical = canonical_name(cls)
    others = [n for n, c in all_names().items() if c is cls and n != canonical]
    return [canonical, *others]


def custom_objects() -> dict[str, type[Initializer]]:
    """initcli's initializer classes keyed by class name, the names Keras's own serializer
    records for them (``keras.saving.serialize_keras_object(initcli.GlorotNormal())`` gives
    ``registered_name: "GlorotNormal"``).  Give this to Keras to read such configs back::

        with keras.saving.custom_object_scope(initcli.initializers.custom_objects()):
            init = keras.saving.deserialize_keras_object(config)

    (``keras.saving.get_custom_objects().update(...)`` registers them for the whole process.)
    Keras cannot find a class outside its own packages otherwise."""
    return {cls.__name__: cls for cls in BUILTIN_CLASSES}
