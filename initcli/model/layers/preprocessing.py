"""Preprocessing and augmentation layers: all weightless, each with its output shape.

Keras 3.15 keeps no state of these layers in a weights file: a layer's
``save_own_variables`` stores its trainable and non-trainable variables only,
and the seed generators of the random augmentation layers (``RandomFlip``,
``RandomRotation``, ...) are neither (``layer.weights`` leaves them out), so
their groups hold no ``vars`` and initcli writes none.  ``Normalization``,
which has state, is in :mod:`.normalization`.
"""

from __future__ import annotations

from typing import Any

from .base import Built, Shape

AUGMENTATION_SAME_SHAPE = (
    "AugMix",
    "AutoContrast",
    "ContrastLimitedAdaptiveHistogramEqualization",
    "CutMix",
    "Equalization",
    "MaxNumBoundingBoxes",
    "MixUp",
    "Pipeline",
    "RandAugment",
    "RandomBrightness",
    "RandomColorDegeneration",
    "RandomColorJitter",
    "RandomContrast",
    "RandomElasticTransform",
    "RandomErasing",
    "RandomFlip",
    "RandomGaussianBlur",
    "RandomGrayscale",
    "RandomHue",
    "RandomInvert",
    "RandomPerspective",
    "RandomPosterization",
    "RandomRotation",
    "RandomSaturation",
    "RandomSharpness",
    "RandomShear",
    "RandomTranslation",
    "RandomZoom",
    "Solarization",
)
"""Image layers whose output has their input's shape and that own no variables."""


def image_size(config: dict[str, Any], shape: Shape) -> Built:
    """``Resizing``, ``CenterCrop``, ``RandomCrop``: the image's height and width become the config's."""
    out = list(shape)
    height, width = int(config["height"]), int(config["width"])
    batched = len(shape) == 4
    first = (2 if batched else 1) if config.get("data_format") == "channels_first" else (1 if batched else 0)
    out[first], out[first + 1] = height, width
    return Built([], tuple(out))


def discretization(config: dict[str, Any], shape: Shape) -> Built:
    """``Discretization.compute_output_shape``: ``int`` keeps the shape, the others add the bins."""
    mode = config.get("output_mode", "int")
    if mode == "int":
        return Built([], shape)
    boundaries = config.get("bin_boundaries")
    depth = len(boundaries) + 1 if boundaries is not None else int(config["num_bins"])
    if mode == "one_hot":
        if shape and shape[-1] == 1 and len(shape) > 1:
            return Built([], (*shape[:-1], depth))
        return Built([], (*shape, depth))
    if len(shape) >= 2:
        return Built([], (shape[0], *shape[2:], depth))
    return Built([], (depth,))


def category_encoding(config: dict[str, Any], shape: Shape) -> Built:
    """``CategoryEncoding.compute_output_shape``: the last axis becomes ``num_tokens`` wide."""
    tokens = int(config["num_tokens"])
    if len(shape) == 0:
        return Built([], (tokens,))
    if config.get("output_mode", "multi_hot") == "one_hot" and (shape[-1] != 1 or len(shape) == 1):
        return Built([], (*shape, tokens))
    return Built([], (*shape[:-1], tokens))
