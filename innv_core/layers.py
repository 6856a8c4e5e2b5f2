"""How the reverse engine sees a layer: its kind and, for kernel layers, its linear part.

A plugin teaches the engine a layer class through ``innv_register_layers``::

    @hookimpl
    def innv_register_layers(registry):
        registry.add_layer(MyDense, LayerHandler(kind=KERNEL, kernels=("w",), bias="b"))

For a kernel layer the engine computes the pre-activation ``z`` with the layer's weights
(or with weights a rule replaced, e.g. ``W+``) by calling a linear copy of the layer through
Keras' ``stateless_call``; the activation is applied separately. A layer whose config has no
``activation`` entry is taken as linear.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

# Kinds of layers. Analyzer families choose a mapping per kind.
INPUT = "input"
KERNEL = "kernel"  # Dense, Conv*, Conv*Transpose, DepthwiseConv2D, SeparableConv2D
BATCHNORM = "batchnorm"
ACTIVATION = "activation"  # ReLU, LeakyReLU, ELU, Activation, Softmax, ...
MAX_POOLING = "max_pooling"
AVERAGE_POOLING = "average_pooling"  # incl. global average pooling
SUM_MERGE = "sum_merge"  # Add, Subtract, Average: proportional split in LRP
OTHER_MERGE = "other_merge"  # Multiply, Maximum, Minimum: gradient
CONCATENATE = "concatenate"
RESHAPE = "reshape"  # Flatten, Reshape, Permute, RepeatVector, padding, cropping, upsampling
IDENTITY = "identity"  # Dropout and friends at inference
EMBEDDING = "embedding"
LAMBDA = "lambda"
AFFINE = "affine"  # elementwise x * scale + shift (Rescaling, Normalization, LayerScale): LRP passes
NORMALIZATION = "normalization"  # LayerNorm-like: statistics of the input itself (held constant in LRP)
GATE = "gate"  # Multiply: gates are constants, signals share the relevance
MASK = "mask"  # comparisons and logic (padding masks from token ids): boolean, not a signal
RECURRENT = "recurrent"  # LSTM, GRU, SimpleRNN, Bidirectional: LRP unrolls the cell with gradient rules
COMPOSITE = "composite"  # attention and subclassed blocks: LRP opens their call (keras.ops rules)

KINDS = (
    INPUT, KERNEL, BATCHNORM, ACTIVATION, MAX_POOLING, AVERAGE_POOLING, SUM_MERGE, OTHER_MERGE,
    CONCATENATE, RESHAPE, IDENTITY, EMBEDDING, LAMBDA, AFFINE, NORMALIZATION, GATE, MASK,
    RECURRENT, COMPOSITE,
)


@attrs.frozen
class LayerHandler:
    """What the engine needs to know about one layer class.

    Attributes:
        kind: one of the kinds above.
        kernels: names of the layer attributes holding kernels (kernel layers only).
        bias: name of the bias attribute, or None.
        linear: optional ``linear(layer, x, weights) -> z`` computing the pre-activation with
            the given weight tensors (a dict name -> tensor); by default a linear copy of the
            layer is called through ``stateless_call``.
        weights: optional ``weights(layer) -> dict`` giving the effective weights by name when
            they are not layer attributes (e.g. BatchNormalization's scale and shift).
        linearized: for ``NORMALIZATION`` layers, ``linearized(layer, x) -> y``: the layer's output
            with its statistics (mean, standard deviation) computed from ``x`` but held
            constant (``stop_gradient``), so that ``y`` is linear in ``x``.
        sign: optional ``sign(layer, inputs_nonnegative: list[bool]) -> bool``: whether the
            layer's output is >= 0 given which inputs are (see :mod:`innv_core.signs`; by
            default decided from the kind and the activation).
    """

    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    kernels: tuple[str, ...] = ("kernel",)
    bias: str | None = "bias"
    linear: Callable[..., Any] | None = None
    weights: Callable[[Any], dict[str, Any]] | None = None
    linearized: Callable[[Any, Any], Any] | None = None
    sign: Callable[[Any, list[bool]], bool] | None = None

    def weight_names(self) -> tuple[str, ...]:
        return self.kernels + ((self.bias,) if self.bias else ())
