"""The small layer classes of ``keras.applications`` models (not in ``keras.layers``).

ConvNeXt's ``LayerScale`` (one ``gamma`` of ``projection_dim`` values, all
``init_values``) and ``StochasticDepth`` (weightless), and InceptionResNetV2's
``CustomScaleLayer`` (``inputs[0] + inputs[1] * scale``, weightless).
"""

from __future__ import annotations

from typing import Any

from ...initializers import Constant
from .base import Built, Shape, _weight, positive_int


def layer_scale(config: dict[str, Any], shape: Shape) -> Built:
    """``convnext.LayerScale.build``: ``gamma`` of shape ``(projection_dim,)``, ``Constant(init_values)``."""
    size = positive_int(config, "projection_dim")
    return Built([_weight("gamma", (size,), Constant(value=float(config["init_values"])))], shape)


def custom_scale(config: dict[str, Any], *shapes: Shape) -> Built:
    """``inception_resnet_v2.CustomScaleLayer``: the shortcut's shape."""
    return Built([], shapes[0])
