"""What each Keras layer class builds: its weights (Keras's order) and its output shape.

A rule takes the layer's config and its input shape(s) (batch dimension
first, ``None`` when unknown) and returns the weights the layer's
``build()`` creates -- sub-object, name, shape, initializer pieces,
trainable -- and the shape of its output, so shapes can be propagated through
a model whose layers carry no ``build_config``.

Each rule mirrors the ``build()`` of the Keras 3.15 class it names; the
model tests build the same layers with real Keras and compare every weight.
A class with no rule is an error naming the layer, never a silently wrong
file.

The rules live in one module per layer family (:mod:`.core`, :mod:`.conv`,
:mod:`.normalization`, :mod:`.recurrent`, :mod:`.attention`,
:mod:`.wrappers`, :mod:`.preprocessing`, :mod:`.applications`); :data:`RULES` maps each Keras class name to its rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .applications import custom_scale, layer_scale
from .attention import additive_attention, attention, group_query_attention, multi_head_attention
from .base import Built, BuiltWeight, Shape, UnknownShape, initializer_of, with_einsum_axes
from .conv import (
    adaptive_pooling,
    conv,
    conv_transpose,
    depthwise_conv,
    padding_or_cropping,
    pooling,
    separable_conv,
    upsampling,
)
from .core import (
    concatenate,
    dense,
    dot,
    einsum_dense,
    embedding,
    flatten,
    lambda_layer,
    merge,
    permute,
    prelu,
    repeat_vector,
    reshape,
    same_shape,
)
from .listing import CONDITIONAL, WITH_WEIGHTS
from .normalization import (
    batch_normalization,
    group_normalization,
    layer_normalization,
    normalization,
    rms_normalization,
)
from .preprocessing import (
    AUGMENTATION_SAME_SHAPE,
    FOREIGN_CODE,
    category_encoding,
    discretization,
    hashed_crossing,
    hashing,
    image_size,
    lookup,
    mel_spectrogram,
    refuse,
    stft_spectrogram,
    text_vectorization,
)
from .recurrent import bidirectional, cell, conv_lstm, generic_rnn, rnn, stacked_cells
from .wrappers import spectral_normalization, time_distributed

__all__ = ["FOREIGN_CODE", "RULES", "Built", "BuiltWeight", "Shape", "initializer_of", "with_einsum_axes"]

RULES: dict[str, Callable[..., Built]] = {
    "Dense": dense,
    "EinsumDense": einsum_dense,
    "Conv1D": conv(1),
    "Conv2D": conv(2),
    "Conv3D": conv(3),
    "Conv1DTranspose": conv_transpose(1),
    "Conv2DTranspose": conv_transpose(2),
    "Conv3DTranspose": conv_transpose(3),
    "DepthwiseConv1D": depthwise_conv(1),
    "DepthwiseConv2D": depthwise_conv(2),
    "SeparableConv1D": separable_conv(1),
    "SeparableConv2D": separable_conv(2),
    "Embedding": embedding,
    "BatchNormalization": batch_normalization,
    "LayerNormalization": layer_normalization,
    "GroupNormalization": group_normalization,
    "LSTM": rnn("LSTM"),
    "GRU": rnn("GRU"),
    "SimpleRNN": rnn("SimpleRNN"),
    "Bidirectional": bidirectional,
    "MultiHeadAttention": multi_head_attention,
    "GroupQueryAttention": group_query_attention,
    "Attention": attention,
    "AdditiveAttention": additive_attention,
    "ReversibleEmbedding": embedding,
    "RMSNormalization": rms_normalization,
    "Normalization": normalization,
    "ConvLSTM1D": conv_lstm(1),
    "ConvLSTM2D": conv_lstm(2),
    "ConvLSTM3D": conv_lstm(3),
    "TimeDistributed": time_distributed,
    "SpectralNormalization": spectral_normalization,
    "PReLU": prelu,
    "Flatten": flatten,
    "Reshape": reshape,
    "Permute": permute,
    "RepeatVector": repeat_vector,
    "Add": merge,
    "Subtract": merge,
    "Multiply": merge,
    "Average": merge,
    "Maximum": merge,
    "Minimum": merge,
    "Concatenate": concatenate,
    **{
        name: same_shape
        for name in (
            "Activation",
            "ReLU",
            "LeakyReLU",
            "ELU",
            "Softmax",
            "Dropout",
            "SpatialDropout1D",
            "SpatialDropout2D",
            "SpatialDropout3D",
            "GaussianNoise",
            "GaussianDropout",
            "AlphaDropout",
            "Rescaling",
            "Identity",
            "ActivityRegularization",
            "Masking",
            "UnitNormalization",
        )
    },
    "MaxPooling1D": pooling(1),
    "MaxPooling2D": pooling(2),
    "MaxPooling3D": pooling(3),
    "AveragePooling1D": pooling(1),
    "AveragePooling2D": pooling(2),
    "AveragePooling3D": pooling(3),
    "GlobalMaxPooling1D": pooling(1, True),
    "GlobalMaxPooling2D": pooling(2, True),
    "GlobalMaxPooling3D": pooling(3, True),
    "GlobalAveragePooling1D": pooling(1, True),
    "GlobalAveragePooling2D": pooling(2, True),
    "GlobalAveragePooling3D": pooling(3, True),
    "ZeroPadding1D": padding_or_cropping(1, 1),
    "ZeroPadding2D": padding_or_cropping(2, 1),
    "ZeroPadding3D": padding_or_cropping(3, 1),
    "Cropping1D": padding_or_cropping(1, -1),
    "Cropping2D": padding_or_cropping(2, -1),
    "Cropping3D": padding_or_cropping(3, -1),
    "UpSampling1D": upsampling(1),
    "UpSampling2D": upsampling(2),
    "UpSampling3D": upsampling(3),
    "Dot": dot,
    "Lambda": lambda_layer,
    "RNN": generic_rnn,
    "LSTMCell": cell("LSTMCell"),
    "GRUCell": cell("GRUCell"),
    "SimpleRNNCell": cell("SimpleRNNCell"),
    "StackedRNNCells": stacked_cells,
    "Resizing": image_size,
    "CenterCrop": image_size,
    "RandomCrop": image_size,
    "Discretization": discretization,
    "CategoryEncoding": category_encoding,
    **{name: same_shape for name in AUGMENTATION_SAME_SHAPE},
    **{f"Adaptive{kind}Pooling{rank}D": adaptive_pooling(rank) for kind in ("Average", "Max") for rank in (1, 2, 3)},
    "MelSpectrogram": mel_spectrogram,
    "STFTSpectrogram": stft_spectrogram,
    "Hashing": hashing,
    "HashedCrossing": hashed_crossing,
    "IntegerLookup": lookup("IntegerLookup"),
    "StringLookup": lookup("StringLookup"),
    "TextVectorization": text_vectorization,
    **{name: refuse(name) for name in FOREIGN_CODE},
    # keras.applications' own layer classes
    "LayerScale": layer_scale,
    "StochasticDepth": same_shape,
    "CustomScaleLayer": custom_scale,
}
"""Rules by Keras class name; classes without a rule are reported as unsupported."""


def _passes_unknown(rule: Callable[..., Built]) -> Callable[..., Built]:
    """A weightless layer on an input whose shape initcli does not compute (the output of a nested
    model, or of a ``Lambda`` without ``output_shape``): its output is unknown too, for the same
    reason, so the layers after it that carry their own shapes (``build_config``) still plan, and one
    that needs the shape gets the error naming where it was lost (a keras.applications base model in
    a ``Sequential``, followed by ``GlobalAveragePooling2D`` and a ``Dense``)."""

    @functools.wraps(rule)
    def passes_unknown(config: dict[str, Any], *shapes: Shape) -> Built:
        for shape in shapes:
            if isinstance(shape, UnknownShape):
                return Built([], shape)
        return rule(config, *shapes)

    return passes_unknown


_KEEP_THEIR_RULES = WITH_WEIGHTS | CONDITIONAL | set(FOREIGN_CODE) | {"Lambda"}  # Lambda reads its own output_shape
RULES.update({name: _passes_unknown(rule) for name, rule in RULES.items() if name not in _KEEP_THEIR_RULES})
