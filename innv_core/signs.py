"""Sign analysis: which tensors of a traced model are non-negative before anything runs.

Rules that split contributions by sign (alpha-beta, z+, DeepTaylor) need ``x+`` and ``x-`` of a
layer's input. After a ReLU ``x- = 0`` is known statically, so half of their terms vanish. This
module finds those tensors once per graph; rules read the answer as
:attr:`innv_core.rule.KernelCall.x_nonnegative` (and get ``call.x_negative`` as None).

A tensor is non-negative when it is

- a model input declared non-negative (an analyzer's ``input_range`` with ``low >= 0``);
- the output of a layer with a non-negative activation (:data:`NONNEGATIVE_ACTIVATIONS`, a
  ``ReLU`` layer without negative slope or threshold below 0, ``Softmax``);
- the output of a layer that keeps non-negativity (pooling, reshaping, padding, dropout,
  concatenation, ``Add``, ``Average``, ``Maximum``, ``Minimum``, ``Multiply``) when all its inputs
  are non-negative.

Anything else (BatchNorm, linear layers, ``Subtract``, unknown layers) counts as signed. A plugin
states the sign behaviour of its own layer class with ``LayerHandler(sign=...)``: a function
``sign(layer, inputs_nonnegative: list[bool]) -> bool``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import keras

from innv_core import layers as kinds
from innv_core.graph import ExecutionGraph, Node
from innv_core.registry import get_registry

#: Activation functions (by ``__name__``) whose output is never negative.
NONNEGATIVE_ACTIVATIONS = frozenset({
    "relu", "relu6", "sigmoid", "hard_sigmoid", "softplus", "softmax", "exponential", "squareplus",
})



def activation_is_nonnegative(layer: Any) -> bool:
    """True if the layer's own activation (``activation=`` or the layer itself) is >= 0 everywhere."""
    if isinstance(layer, keras.layers.ReLU):
        return not layer.negative_slope and (layer.threshold or 0.0) >= 0.0
    if isinstance(layer, keras.layers.Softmax):
        return True
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) in NONNEGATIVE_ACTIVATIONS


def output_is_nonnegative(node: Node, inputs_nonnegative: Sequence[bool]) -> bool:
    """Whether ``node``'s outputs are provably >= 0, given which of its inputs are."""
    handler = node.handler
    if handler is None:
        return False
    if handler.sign is not None:
        return bool(handler.sign(node.layer, list(inputs_nonnegative)))
    if handler.kind in (kinds.KERNEL, kinds.ACTIVATION):
        return activation_is_nonnegative(node.layer)
    if handler.kind == kinds.SUM_MERGE:
        keeps = not isinstance(node.layer, keras.layers.Subtract)
        return keeps and all(inputs_nonnegative)
    kind = get_registry().layer_kind(handler.kind)  # LayerKind.keeps_sign: >= 0 if every input is
    keeps = kind is not None and kind.keeps_sign
    return keeps and bool(inputs_nonnegative) and all(inputs_nonnegative)


def nonnegative_tensors(graph: ExecutionGraph, declared: Iterable[int] = ()) -> frozenset[int]:
    """Tensor ids of ``graph`` that are non-negative for every input; ``declared`` are the ids of
    model inputs known to be non-negative."""
    known = set(declared)
    for node in graph.nodes:
        flags = [tid in known for tid in node.input_ids]
        if output_is_nonnegative(node, flags):
            known.update(node.output_ids)
    return frozenset(known)
