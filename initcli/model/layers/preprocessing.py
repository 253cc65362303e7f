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


def _encoded(mode: str, shape: Shape, depth: int | None, name: str) -> Shape:
    """The output shape of Keras's categorical encodings (``Hashing``, the lookup layers): ``int`` keeps
    the shape; ``one_hot`` encodes each element (a last axis of 1 is replaced); ``multi_hot``, ``count``
    and ``tf_idf`` turn the last (sample) axis into a ``depth``-wide one."""
    if mode == "int":
        return shape
    if mode not in ("one_hot", "multi_hot", "count", "tf_idf"):
        raise InvalidArgument(
            f"layer {name!r}: output_mode {mode!r} is not one Keras takes; accepted: int, one_hot, multi_hot, "
            "count, tf_idf"
        )
    if len(shape) == 0:
        return (depth,)
    if mode == "one_hot" and not (len(shape) > 1 and shape[-1] == 1):
        return (*shape, depth)
    return (*shape[:-1], depth)


def hashing(config: dict[str, Any], shape: Shape) -> Built:
    """``Hashing`` (weightless: Keras writes no variables): ``compute_output_shape`` keeps the shape
    for ``int`` and gives the last axis ``num_bins`` entries otherwise (``one_hot`` too: Keras's
    symbolic shape replaces the last axis whatever its size)."""
    bins = positive_int(config, "num_bins")
    mode = config.get("output_mode", "int")
    if mode not in ("int", "one_hot", "multi_hot", "count"):
        raise InvalidArgument(
            f"layer {config.get('name')!r}: output_mode {mode!r} is not one Hashing takes; accepted: int, one_hot, "
            "multi_hot, count"
        )
    if mode == "int":
        return Built([], shape)
    return Built([], (*shape[:-1], bins) if shape else (bins,))


def hashed_crossing(config: dict[str, Any], *shapes: Shape) -> Built:
    """``HashedCrossing`` (weightless) over its two inputs of one shape: ``compute_output_shape``."""
    name = config.get("name")
    bins = positive_int(config, "num_bins")
    if len(shapes) != 2:
        raise InvalidArgument(f"layer {name!r} (HashedCrossing): it takes 2 inputs, its call has {len(shapes)}")
    first, second = shapes
    if first and second and first[-1] != second[-1]:
        raise InvalidArgument(
            f"layer {name!r} (HashedCrossing): its inputs {tuple(first)} and {tuple(second)} differ in the last "
            "axis (Keras refuses it); accepted: two inputs of one shape"
        )
    mode = config.get("output_mode", "int")
    if mode not in ("int", "one_hot"):
        raise InvalidArgument(
            f"layer {name!r}: output_mode {mode!r} is not one HashedCrossing takes; accepted: int, one_hot"
        )
    if not first:
        return Built([], () if mode == "int" else (bins,))
    if mode == "int":
        return Built([], first)
    if first[-1] != 1:
        return Built([], (*first, bins))
    return Built([], (*first[:-1], bins))


LOOKUP_SPECIAL = {"StringLookup": "[UNK]", "IntegerLookup": -1}
"""Each lookup class's default OOV token."""


def _vocabulary(config: dict[str, Any], class_name: str) -> list[Any]:
    """The vocabulary written in a lookup layer's config, or one line saying why initcli cannot proceed."""
    name = config.get("name")
    vocabulary = config.get("vocabulary")
    if config.get("output_mode") == "tf_idf":
        raise InvalidArgument(
            f"layer {name!r} ({class_name}): output_mode 'tf_idf' keeps its idf_weights in the weights file as "
            "data (inverse document frequencies of a corpus), not an initial value, so initcli does not write "
            "them; accepted: output_mode int, one_hot, multi_hot or count"
        )
    if vocabulary is None:
        raise InvalidArgument(
            f"layer {name!r} ({class_name}): its config has no vocabulary (an adapted layer keeps it as an asset "
            "of the .keras file, which a config does not carry); the vocabulary is data, not an initial value, so "
            "initcli cannot write it; accepted: the layer built with vocabulary=[...] in its config"
        )
    if isinstance(vocabulary, str):
        raise InvalidArgument(
            f"layer {name!r} ({class_name}): its vocabulary is the file {vocabulary!r}, which initcli does not read "
            "(Keras reads it only outside safe mode); accepted: the vocabulary as a list in the config"
        )
    if not isinstance(vocabulary, list):
        raise InvalidArgument(
            f"layer {name!r} ({class_name}): vocabulary {vocabulary!r} is not a list; accepted: a list of tokens"
        )
    return vocabulary


def _lookup_depth(config: dict[str, Any], vocabulary: list[Any], oov_token: Any) -> int:
    """``IndexLookup``'s vocabulary size outside ``int`` mode: ``max_tokens`` with ``pad_to_max_tokens``,
    else the OOV indices plus the tokens (the vocabulary without a leading run of OOV tokens)."""
    if config.get("pad_to_max_tokens") and config.get("max_tokens") is not None:
        return positive_int(config, "max_tokens")
    size = config.get("vocabulary_size")
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size
    oov = config.get("num_oov_indices", 1)
    if isinstance(oov, bool) or not isinstance(oov, int) or oov < 0:
        raise InvalidArgument(
            f"layer {config.get('name')!r}: num_oov_indices {oov!r} is not a count; accepted: an integer of at least 0"
        )
    special = [config.get("oov_token", oov_token)] * oov
    tokens = vocabulary[oov:] if vocabulary[:oov] == special else vocabulary
    return oov + len(tokens)


def lookup(class_name: str) -> Callable[..., Built]:
    """``StringLookup`` / ``IntegerLookup`` with its vocabulary in the config: weightless (Keras's
    ``save_own_variables`` writes only ``tf_idf``'s idf_weights, and no asset when the vocabulary is in
    the config); ``compute_output_shape`` per ``output_mode``."""

    def rule(config: dict[str, Any], shape: Shape) -> Built:
        vocabulary = _vocabulary(config, class_name)
        mode = config.get("output_mode", "int")
        depth = None if mode == "int" else _lookup_depth(config, vocabulary, LOOKUP_SPECIAL[class_name])
        return Built([], _encoded(mode, shape, depth, str(config.get("name"))))

    return rule


def text_vectorization(config: dict[str, Any], shape: Shape) -> Built:
    """``TextVectorization`` with its vocabulary in the config: weightless, with the group of its
    ``_lookup_layer`` (a ``StringLookup``); ``compute_output_shape``: ``int`` gives
    ``(batch, output_sequence_length)``, the other modes its lookup's encoding of the split tokens."""
    vocabulary = _vocabulary(config, "TextVectorization")
    mode = config.get("output_mode", "int")
    sub_names = {"_lookup_layer": "string_lookup"}
    if mode == "int":
        length = config.get("output_sequence_length")
        if length is not None:
            length = positive_int(config, "output_sequence_length")
        return Built([], (shape[0] if shape else None, length), sub_names)
    tokens: Shape = tuple(shape)
    if config.get("split", "whitespace") is None:
        if len(tokens) <= 1:
            tokens = (*tokens, 1)
    else:
        tokens = (*tokens, None)
    depth = _lookup_depth(config, vocabulary, "[UNK]")
    return Built([], _encoded(mode, tokens, depth, str(config.get("name"))), sub_names)
