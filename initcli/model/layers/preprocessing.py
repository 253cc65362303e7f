"""Preprocessing and augmentation layers: all weightless, each with its output shape.

Keras 3.15 keeps no state of these layers in a weights file: a layer's
``save_own_variables`` stores its trainable and non-trainable variables only,
and the seed generators of the random augmentation layers (``RandomFlip``,
``RandomRotation``, ...) are neither (``layer.weights`` leaves them out), so
their groups hold no ``vars`` and initcli writes none.  ``Normalization``,
which has state, is in :mod:`.normalization`; ``STFTSpectrogram`` has two fixed DFT kernels
(Keras's ``STFT`` initializer).
"""

from __future__ import annotations

from collections.abc import Callable
from math import ceil, log2
from typing import Any

from ...errors import InvalidArgument
from ...initializers import STFT
from .base import Built, Shape, _known, _weight, positive_int

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
    height, width = positive_int(config, "height"), positive_int(config, "width")
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
    depth = len(boundaries) + 1 if boundaries is not None else positive_int(config, "num_bins")
    if mode == "one_hot":
        if shape and shape[-1] == 1 and len(shape) > 1:
            return Built([], (*shape[:-1], depth))
        return Built([], (*shape, depth))
    if len(shape) >= 2:
        return Built([], (shape[0], *shape[2:], depth))
    return Built([], (depth,))


def category_encoding(config: dict[str, Any], shape: Shape) -> Built:
    """``CategoryEncoding.compute_output_shape``: the last axis becomes ``num_tokens`` wide."""
    tokens = positive_int(config, "num_tokens")
    if len(shape) == 0:
        return Built([], (tokens,))
    if config.get("output_mode", "multi_hot") == "one_hot" and (shape[-1] != 1 or len(shape) == 1):
        return Built([], (*shape, tokens))
    return Built([], (*shape[:-1], tokens))


def mel_spectrogram(config: dict[str, Any], shape: Shape) -> Built:
    """``MelSpectrogram.compute_output_shape`` (weightless): ``(batch, num_mel_bins, frames)``."""
    bins = positive_int(config, "num_mel_bins", 128)
    stride = positive_int(config, "sequence_stride", 512)
    length = shape[0] if len(shape) == 1 else shape[1]
    frames = None if length is None else (length + stride + 1) // stride
    return Built([], (bins, frames) if len(shape) == 1 else (shape[0], bins, frames))


def stft_spectrogram(config: dict[str, Any], shape: Shape) -> Built:
    """``STFTSpectrogram.build``: ``real_kernel`` (unless ``mode="imag"``) then ``imag_kernel`` (unless
    ``mode="real"``), each ``(frame_length, 1, fft_length // 2 + 1)`` with Keras's ``STFT`` initializer;
    the output shape is its 1-D convolution's."""
    from .conv import _conv_output

    mode = config.get("mode", "log")
    frame_length = positive_int(config, "frame_length")
    step = positive_int(config, "frame_step", frame_length // 2)
    fft_length = positive_int(config, "fft_length", 2 ** ceil(log2(frame_length)))
    kernel = (frame_length, 1, fft_length // 2 + 1)
    window, scaling, periodic = config.get("window", "hann"), config.get("scaling", "density"), config.get("periodic")
    weights = [
        _weight(f"{side}_kernel", kernel, STFT(side, window, scaling, bool(periodic)))
        for side in ("real", "imag")
        if mode != ("imag" if side == "real" else "real")
    ]
    channels_last = config.get("data_format", "channels_last") == "channels_last"
    channels = shape[-1] if channels_last else shape[1]
    freq = (fft_length // 2 + 1) * (2 if mode == "stft" else 1)
    conv_config = {
        "data_format": config.get("data_format"),
        "kernel_size": frame_length,
        "strides": step,
        "padding": config.get("padding", "valid"),
    }
    filters = freq * _known(channels, "channel dimension", config)
    out = _conv_output(conv_config, shape, 1, filters)
    time = out[1] if channels_last else out[2]
    if config.get("expand_dims", False):
        out = (shape[0], time, freq, channels) if channels_last else (shape[0], channels, time, freq)
    return Built(weights, out)


FOREIGN_CODE = {
    "JaxLayer": "it wraps a JAX function whose parameters initcli cannot create",
    "FlaxLayer": "it wraps a Flax module whose parameters initcli cannot create",
    "TorchModuleWrapper": "it wraps a PyTorch module whose parameters initcli cannot create",
    "TFSMLayer": "it loads a TensorFlow SavedModel that already holds its weights",
    "Layer": "it is Keras's base class, so its weights are whatever its subclass creates",
    "Wrapper": "it is Keras's base class of wrappers; use TimeDistributed, Bidirectional or SpectralNormalization",
}
"""Classes of ``keras.layers`` that run code or files initcli cannot see, with the reason."""


def refuse(class_name: str) -> Callable[..., Built]:
    """A rule that refuses ``class_name`` in one line naming the layer, the class and the reason."""

    def rule(config: dict[str, Any], *shapes: Shape) -> Built:
        raise InvalidArgument(
            f"layer {config.get('name')!r} of class {class_name!r} is not supported: {FOREIGN_CODE[class_name]}; "
            "no file was written"
        )

    return rule
