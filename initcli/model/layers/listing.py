"""Every layer class ``initcli model`` knows, by family, with what it writes.

``kind`` is ``weights`` (the class always creates variables), ``conditional``
(it creates them only in some configurations: ``Attention(use_scale=True)``,
``Normalization`` without ``mean``/``variance``, ``TimeDistributed`` around a
layer with weights), ``weightless`` (it never does; nothing of it is in a
weights file) or ``refused`` (it runs code or files initcli cannot see: an
error naming the layer and the reason).

The cells (``LSTMCell``, ``GRUCell``, ``SimpleRNNCell``, ``StackedRNNCells``) are listed with weights:
inside ``RNN`` and called by themselves in a Functional model (``cell(x, states)``, which Keras 3
saves and loads) they build the same weights.  The lookup and hashing layers (``Hashing``,
``HashedCrossing``, ``IntegerLookup``, ``StringLookup``, ``TextVectorization``; Keras runs them on
TensorFlow) are weightless: a vocabulary written in the config is no weight, and a vocabulary
that is not (an adapted layer's, kept as an asset of the ``.keras`` file) or ``tf_idf``'s
idf_weights are data, refused in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

WITH_WEIGHTS = frozenset(
    {
        "Dense",
        "EinsumDense",
        "Conv1D",
        "Conv2D",
        "Conv3D",
        "Conv1DTranspose",
        "Conv2DTranspose",
        "Conv3DTranspose",
        "DepthwiseConv1D",
        "DepthwiseConv2D",
        "SeparableConv1D",
        "SeparableConv2D",
        "Embedding",
        "ReversibleEmbedding",
        "BatchNormalization",
        "LayerNormalization",
        "GroupNormalization",
        "RMSNormalization",
        "PReLU",
        "LSTM",
        "GRU",
        "SimpleRNN",
        "RNN",
        "LSTMCell",
        "GRUCell",
        "SimpleRNNCell",
        "StackedRNNCells",
        "Bidirectional",
        "ConvLSTM1D",
        "ConvLSTM2D",
        "ConvLSTM3D",
        "MultiHeadAttention",
        "GroupQueryAttention",
        "SpectralNormalization",
        "STFTSpectrogram",
        "LayerScale",
    }
)
"""Classes that always create variables (whatever their config)."""

CONDITIONAL = frozenset({"Attention", "AdditiveAttention", "Normalization", "TimeDistributed"})
"""Classes that create variables in some configurations only."""

APPLICATIONS = frozenset({"LayerScale", "StochasticDepth", "CustomScaleLayer"})
"""Classes of ``keras.applications`` models, not of ``keras.layers``."""

FAMILIES = {
    "core": "core",
    "conv": "convolution and pooling",
    "normalization": "normalization",
    "recurrent": "recurrent",
    "attention": "attention",
    "wrappers": "wrappers",
    "preprocessing": "preprocessing and augmentation",
    "applications": "keras.applications",
    "models": "models",
    "foreign": "foreign code",
}


@dataclass(frozen=True)
class LayerClass:
    """One class ``initcli model`` knows."""

    name: str
    family: str
    kind: str


MODELS = ("InputLayer", "Sequential", "Functional")
"""Classes the model reader handles itself: inputs and nested models (their layers' weights nest)."""


def supported_layers() -> list[LayerClass]:
    """Every class in :data:`~initcli.model.layers.RULES` (and the model classes), by family then name."""
    from . import FOREIGN_CODE, RULES
    from .preprocessing import AUGMENTATION_SAME_SHAPE

    preprocessing = {*AUGMENTATION_SAME_SHAPE, "Rescaling", "CenterCrop", "Normalization"}
    rows = [LayerClass(name, "models", "weightless" if name == "InputLayer" else "conditional") for name in MODELS]
    for name, rule in RULES.items():
        module = "preprocessing" if name in preprocessing else rule.__module__.rsplit(".", 1)[-1]
        if name in FOREIGN_CODE:
            kind = "refused"
        elif name in WITH_WEIGHTS:
            kind = "weights"
        elif name in CONDITIONAL:
            kind = "conditional"
        else:
            kind = "weightless"
        family = "keras.applications" if name in APPLICATIONS else FAMILIES.get(module, module)
        if kind == "refused":
            family = "foreign code"
        rows.append(LayerClass(name, family, kind))
    order = list(FAMILIES.values())
    return sorted(rows, key=lambda row: (order.index(row.family) if row.family in order else len(order), row.name))
