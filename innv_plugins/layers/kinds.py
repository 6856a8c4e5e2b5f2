"""Plugin: innv's built-in layer kinds, registered exactly as a third party registers its own.

Each layer handler names one of these kinds (or a kind of its own plugin); analyzer families
cross the layers of a kind as their crossings say (``innv_plugins.lrp.crossings``,
``innv_plugins.deeplift.roles``, ...). ``keeps_sign``: the output is >= 0 whenever every
input is (see :mod:`innv_core.signs`).
"""

from __future__ import annotations

from innv_core import layers as k
from innv_core.hookspecs import hookimpl
from innv_core.layers import LayerKind

BUILTIN = (
    LayerKind(k.INPUT, "a model input (nothing to cross)"),
    LayerKind(k.KERNEL, "a linear map with weights (Dense, `Conv*`, ...), then maybe an activation"),
    LayerKind(k.BATCHNORM, "BatchNormalization at inference: a per-channel affine map"),
    LayerKind(k.ACTIVATION, "an activation layer (ReLU, LeakyReLU, ELU, Activation, Softmax, ...)"),
    LayerKind(k.MAX_POOLING, "max pooling, global or not", keeps_sign=True),
    LayerKind(k.AVERAGE_POOLING, "average pooling (global or not), sums and means", keeps_sign=True),
    LayerKind(k.SUM_MERGE, "Add, Subtract, Average: sums of tensors"),
    LayerKind(k.OTHER_MERGE, "Maximum, Minimum", keeps_sign=True),
    LayerKind(k.CONCATENATE, "concatenation of tensors", keeps_sign=True),
    LayerKind(k.RESHAPE, "moves, repeats or pads values (Flatten, Reshape, padding, ...)", keeps_sign=True),
    LayerKind(k.IDENTITY, "the identity at inference (Dropout and friends)", keeps_sign=True),
    LayerKind(k.EMBEDDING, "a lookup of one vector per token id"),
    LayerKind(k.LAMBDA, "opaque Python (Lambda layers)"),
    LayerKind(k.AFFINE, "elementwise `x * scale + shift` (Rescaling, Normalization, LayerScale)"),
    LayerKind(k.NORMALIZATION, "LayerNorm-like: statistics of the input itself"),
    LayerKind(k.GATE, "Multiply: an elementwise product of tensors", keeps_sign=True),
    LayerKind(k.MASK, "comparisons and logic: booleans, not a signal"),
    LayerKind(k.RECURRENT, "LSTM, GRU, SimpleRNN, Bidirectional"),
    LayerKind(k.COMPOSITE, "attention and other blocks that analyzers may open"),
)


@hookimpl
def innv_register_layer_kinds(registry):
    for kind in BUILTIN:
        registry.add_layer_kind(kind)
