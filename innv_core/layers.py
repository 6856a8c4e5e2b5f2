"""How the reverse engine sees a layer: its kind and, for kernel layers, its linear part.

A plugin teaches the engine a layer class through ``innv_register_layers``::

    @hookimpl
    def innv_register_layers(registry):
        registry.add_layer(MyDense, LayerHandler(kind=KERNEL, kernels=("w",), bias="b"))

Kinds are open: the built-in ones below are registered by the plugin
``innv_plugins.layers.kinds``; a plugin adds its own with ``innv_register_layer_kinds``
(``registry.add_layer_kind(LayerKind("clip", "..."))``) and says how each analyzer family
crosses it with ``innv_register_crossings`` (``registry.add_crossing(family, kind, how,
description)``). A handler naming a kind no plugin registered is refused when the plugins load.

For a kernel layer the engine computes the pre-activation ``z`` with the layer's weights
(or with weights a rule replaced, e.g. ``W+``) by calling a linear copy of the layer through
Keras' ``stateless_call``; the activation is applied separately. A layer whose config has no
``activation`` entry is taken as linear.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

# The built-in kinds of layers (the core refers to them). Analyzer families choose a mapping per
# kind (their crossings, ``registry.crossing(family, kind)``).
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

#: The built-in kinds, in the order of the supported-layers page.
BUILTIN_KINDS = (
    INPUT, KERNEL, BATCHNORM, ACTIVATION, MAX_POOLING, AVERAGE_POOLING, SUM_MERGE, OTHER_MERGE,
    CONCATENATE, RESHAPE, IDENTITY, EMBEDDING, LAMBDA, AFFINE, NORMALIZATION, GATE, MASK,
    RECURRENT, COMPOSITE,
)


def _nonempty(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"{type(instance).__name__}.{attribute.name} must be a non-empty string, got {value!r}."
        )


@attrs.frozen
class LayerKind:
    """A kind of layer: what the reverse engine and the analyzer families know layers by.

    Attributes:
        name: the kind's name, what ``LayerHandler.kind`` gives (``"kernel"``, ``"clip"``).
        description: which layers are of this kind and what they do (for the documentation).
        keeps_sign: the output is >= 0 whenever every input is (pooling, reshaping, ...; see
            :mod:`innv_core.signs`); a handler's own ``sign`` overrides it.
    """

    name: str = attrs.field(validator=_nonempty)
    description: str = ""
    keeps_sign: bool = False


def _default_kernels(handler: LayerHandler) -> tuple[str, ...]:
    return ("kernel",) if handler.kind == KERNEL else ()


def _default_bias(handler: LayerHandler) -> str | None:
    return "bias" if handler.kind == KERNEL else None


@attrs.frozen
class LayerHandler:
    """What the engine needs to know about one layer class.

    Attributes:
        kind: the name of a registered :class:`LayerKind` (checked when the plugins load).
        kernels: names of the layer attributes holding kernels; by default ``("kernel",)`` for
            the ``kernel`` kind and ``()`` for the others.
        bias: name of the bias attribute, or None; by default ``"bias"`` for the ``kernel`` kind
            and None for the others.
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
        for_call: optional ``for_call(layer, kwargs) -> LayerHandler | None``: the handler of one
            call of the layer, given the call's keyword arguments, where a call option changes
            what the layer computes (keras-hub's ``ReversibleEmbedding(..., reverse=True)`` is
            the LM head, a matrix product, not a lookup); None keeps this handler.
        activation: optional ``activation(layer) -> f | None``: for ``kernel`` layers that apply
            an elementwise function after their linear part without holding it as
            ``layer.activation`` (a soft-capped LM head: ``c * tanh(z / c)``).
    """

    kind: str = attrs.field(validator=_nonempty)
    kernels: tuple[str, ...] = attrs.field(default=attrs.Factory(_default_kernels, takes_self=True))
    bias: str | None = attrs.field(default=attrs.Factory(_default_bias, takes_self=True))
    linear: Callable[..., Any] | None = None
    weights: Callable[[Any], dict[str, Any]] | None = None
    linearized: Callable[[Any, Any], Any] | None = None
    sign: Callable[[Any, list[bool]], bool] | None = None
    for_call: Callable[[Any, dict[str, Any]], LayerHandler | None] | None = None
    activation: Callable[[Any], Callable[[Any], Any] | None] | None = None

    def weight_names(self) -> tuple[str, ...]:
        return self.kernels + ((self.bias,) if self.bias else ())


@attrs.frozen
class Crossing:
    """How the analyzer family ``family`` crosses layers of kind ``kind``.

    Attributes:
        family: the family's name (``"lrp"``, ``"deeplift"``, ``"deep_taylor"``, ...).
        kind: the layer kind's name.
        how: whatever the family needs: LRP a mapping function, DeepLIFT a role name; None for
            a description only (the family decides by other means, e.g. LRP's rules for kernels).
        description: how relevance (or the multiplier) crosses, for the supported-layers page.
    """

    family: str = attrs.field(validator=_nonempty)
    kind: str = attrs.field(validator=_nonempty)
    how: Any = None
    description: str = ""


@attrs.frozen
class Family:
    """An analyzer family as a column of the supported-layers page.

    Attributes:
        name: the name its crossings are registered under (``"lrp"``).
        title: the column heading (``"LRP"``).
        analyzer: the registered analyzer name that stands for the family (``"lrp"``), or None.
        fallback: a family whose crossings apply where this one has none (DeepTaylor: ``"lrp"``).
        order: columns are sorted by ``(order, title)``.
        default: how the family crosses a kind it has no crossing for (the reverse engine's
            default is the gradient).
    """

    name: str = attrs.field(validator=_nonempty)
    title: str = attrs.field(validator=_nonempty)
    analyzer: str | None = None
    fallback: str | None = None
    order: int = 100
    default: str = "gradient"
