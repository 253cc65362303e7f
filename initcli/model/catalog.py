"""Which weights each Keras layer class owns, in the order Keras creates them.

Keras 3 stores a layer's variables as ``vars/0, vars/1, ...`` in creation
order, under the layer's group; sub-objects held as attributes get their own
groups named after the attribute (``lstm/cell``, ``multi_head_attention/
query_dense``).  A batch config names weights (``kernel``, ``bias``, ...);
this table maps each name to its sub-object, its position and whether it is
trainable, so the file loads whatever order the config lists them in.
Weights a layer does not have in a given configuration (``bias`` with
``use_bias=False``, ``beta`` with ``center=False``) are simply left out, and
the remaining ones are numbered in order, as Keras does.

A class name that is a near miss of a class initcli knows (``dense``, ``Conv2d``,
``BatchNormalisation``) is a misspelling, not a class of the user's own: :func:`near_class`
finds the class meant, and the readers refuse the name with it as a suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """One weight a layer class can own."""

    name: str
    sub_object: str = ""
    trainable: bool = True


_KERNEL_BIAS = (Slot("kernel"), Slot("bias"))
_GAMMA_BETA = (Slot("gamma"), Slot("beta"))


def _cell(prefix: str = "", sub: str = "cell") -> tuple[Slot, ...]:
    return tuple(Slot(f"{prefix}{name}", sub) for name in ("kernel", "recurrent_kernel", "bias"))


def _einsum(prefix: str, sub: str) -> tuple[Slot, ...]:
    return (Slot(f"{prefix}/kernel", sub), Slot(f"{prefix}/bias", sub))


SLOTS: dict[str, tuple[Slot, ...]] = {
    "Dense": _KERNEL_BIAS,
    "EinsumDense": _KERNEL_BIAS,
    **{
        name: _KERNEL_BIAS
        for name in (
            "Conv1D",
            "Conv2D",
            "Conv3D",
            "Conv1DTranspose",
            "Conv2DTranspose",
            "Conv3DTranspose",
            "DepthwiseConv1D",
            "DepthwiseConv2D",
        )
    },
    "SeparableConv1D": (Slot("depthwise_kernel"), Slot("pointwise_kernel"), Slot("bias")),
    "SeparableConv2D": (Slot("depthwise_kernel"), Slot("pointwise_kernel"), Slot("bias")),
    "Embedding": (Slot("embeddings"),),
    "BatchNormalization": (
        Slot("gamma"),
        Slot("beta"),
        Slot("moving_mean", trainable=False),
        Slot("moving_variance", trainable=False),
    ),
    "LayerNormalization": _GAMMA_BETA,
    "GroupNormalization": _GAMMA_BETA,
    "PReLU": (Slot("alpha"),),
    "RMSNormalization": (Slot("scale"),),
    "STFTSpectrogram": (Slot("real_kernel"), Slot("imag_kernel")),
    "LayerScale": (Slot("gamma"),),
    "LSTM": _cell(),
    "GRU": _cell(),
    "SimpleRNN": _cell(),
    "RNN": _cell(),
    **{name: _cell(sub="") for name in ("LSTMCell", "GRUCell", "SimpleRNNCell")},
    "Bidirectional": _cell("forward/", "forward_layer/cell") + _cell("backward/", "backward_layer/cell"),
    "MultiHeadAttention": (
        _einsum("query", "query_dense")
        + _einsum("key", "key_dense")
        + _einsum("value", "value_dense")
        + _einsum("attention_output", "output_dense")
    ),
}
"""Weight slots of the layer classes a batch config can name, in Keras's variable order
(``RNN`` over one built-in cell: ``RNN(LSTMCell(...))`` and the like; a cell called by itself in a
Functional model keeps its weights in its own group)."""


def slots_for(class_name: str) -> tuple[Slot, ...] | None:
    """The slots of ``class_name``, or ``None`` for a class initcli does not know."""
    return SLOTS.get(class_name)


def _fold(name: str) -> str:
    """A class name without case and underscores: ``batch_normalization`` and ``BatchNormalization`` agree."""
    return name.replace("_", "").lower()


def known_classes() -> list[str]:
    """Every Keras class name initcli knows: the layer rules, ``InputLayer`` and the model classes."""
    from .layers import RULES
    from .layers.listing import MODELS

    return sorted({*RULES, *MODELS})


def near_class(class_name: str) -> str | None:
    """The known class ``class_name`` is a near miss of (``dense``, ``Conv2d``, ``BatchNormalisation``,
    ``LSTMcell``), or ``None`` for a known class or one far from every known class (a class of the
    user's own).  A match ignoring case and underscores comes first, then the closest of
    :func:`difflib.get_close_matches` on those folded names (similarity at least 0.85, so a
    custom ``MyDense`` is no near miss of ``Dense``)."""
    import difflib

    known = known_classes()
    if class_name in known:
        return None
    folded = {_fold(name): name for name in known}
    if _fold(class_name) in folded:
        return folded[_fold(class_name)]
    close = difflib.get_close_matches(_fold(class_name), list(folded), n=1, cutoff=0.85)
    return folded[close[0]] if close else None


def class_hint(class_name: str) -> str:
    """``"; did you mean 'Dense'?"`` for a near miss of a known class, else ``""``."""
    near = near_class(class_name)
    return f"; did you mean {near!r}?" if near else ""
