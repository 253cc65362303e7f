"""Every initializer of ``keras.initializers`` (Keras 3.15), with Keras's names, configs and maths.

>>> from initcli.initializers import GlorotNormal, get, serialize
>>> w = GlorotNormal(seed=1)((784, 64))          # same bytes as Keras's numpy backend
>>> get("glorot_normal")                         # doctest: +ELLIPSIS
GlorotNormal(seed=None, input_axes=None, output_axes=None)
>>> serialize(GlorotNormal(seed=1))["class_name"]
'GlorotNormal'
"""

from __future__ import annotations

from .base import Initializer, Param, RandomInitializer
from .constant import Constant, FromArray, FromCallable, Identity, Ones, Zeros
from .orthogonal import Orthogonal
from .random import RandomNormal, RandomUniform, TruncatedNormal
from .registry import BUILTIN_CLASSES, KERAS_NAMES, aliases, canonical_name, custom_objects, lookup, register
from .serialization import deserialize, get, serialize
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

IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal
STFTInitializer = STFT

__all__ = [
    "BUILTIN_CLASSES",
    "KERAS_NAMES",
    "STFT",
    "Constant",
    "FromArray",
    "FromCallable",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "IdentityInitializer",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "OrthogonalInitializer",
    "Param",
    "RandomInitializer",
    "RandomNormal",
    "RandomUniform",
    "STFTInitializer",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "aliases",
    "canonical_name",
    "custom_objects",
    "deserialize",
    "get",
    "lookup",
    "register",
    "serialize",
]
