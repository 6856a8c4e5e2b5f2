"""LRP mappings per layer kind: rules at kernel layers, proportional splits, pass-through."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core import layers as kinds
from innv_core.reverse import NodeTensors, ReverseState, gradient_mapping
from innv_core.rule import KernelCall, Rule, epsilon_stabilize, safe_divide


def kernel_call(nt: NodeTensors, state: ReverseState) -> KernelCall:
    """The :class:`KernelCall` of a kernel (or BatchNorm) node, reusing the forward pass."""
    x = nt.Xs[0]
    z = nt.Zs[0] if nt.Zs else nt.Ys[0]

    def vjp(s: Any) -> Any:
        return state.tape.gradient(z, x, output_gradients=s)

    nonnegative = nt.node.input_ids[0] in state.nonnegative
    return KernelCall(state.linear_part(nt.node), x, z, vjp, x_nonnegative=nonnegative)


def rule_mapping(rules: dict[int, Rule]):
    """Apply each node's rule; the activation of the layer passes relevance through."""

    def mapping(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
        return [rules[nt.node.nid].apply(kernel_call(nt, state), Rs[0])]

    mapping.__name__ = "lrp_rule"
    return mapping


def pass_through(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Activations: relevance passes unchanged."""
    return list(Rs)


def no_relevance(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Masks (comparisons, logic): their inputs get no relevance."""
    return [None] * len(nt.Xs)


def proportional(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """The z-rule for bias-free linear layers (average pooling, Add, Subtract, Average)."""
    s = [safe_divide(R, y) for R, y in zip(Rs, nt.Ys)]
    grads = state.tape.gradient(nt.Ys, nt.Xs, output_gradients=s)
    return [None if g is None else x * g for g, x in zip(grads, nt.Xs)]


#: Activations whose output is read as a gate (a constant factor) by :func:`gate`.
GATE_ACTIVATIONS = frozenset({"sigmoid", "hard_sigmoid"})

#: The stabilizer of the normalization rule (LXT's epsilon -> 0 limit, kept off exact zeros).
NORMALIZATION_EPSILON = 1e-9


def normalization(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """LayerNorm-like layers (AttnLRP's rule, as LXT): the epsilon-rule of the map with its
    standard deviation held constant, ``R_x = x * J^T (R / y)`` with ``y`` the linearized output."""
    x = nt.Xs[0]
    handler = nt.node.handler
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = handler.linearized(nt.layer, x)
    s = Rs[0] / epsilon_stabilize(y, NORMALIZATION_EPSILON)
    return [x * tape.gradient(y, x, output_gradients=s)]


def _is_gate(nt: NodeTensors, i: int, state: ReverseState) -> bool:
    """Operand ``i`` of a product is a gate: broadcast against the output, or bounded like a sigmoid.

    Bounded: the output of a sigmoid-like activation, or of a capped ReLU (``relu6``, as in
    MobileNetV3's ``hard_sigmoid = relu6(x + 3) / 6``), possibly behind scalings and shifts by
    constants.
    """
    x, y = nt.Xs[i], nt.Ys[0]
    if tuple(x.shape[1:]) != tuple(y.shape[1:]):
        return True
    producer = state.graph.producer()
    node = producer.get(nt.node.input_ids[i])
    while node is not None:
        layer = node.layer
        activation = getattr(getattr(layer, "activation", None), "__name__", "")
        if activation in GATE_ACTIVATIONS or getattr(layer, "max_value", None) is not None:
            return True
        constant_op = node.kind in (kinds.GATE, kinds.SUM_MERGE, kinds.AFFINE) and len(node.input_ids) == 1
        if not constant_op:
            return False
        node = producer.get(node.input_ids[0])
    return False


def gate(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Multiply: gates get nothing, the full-size signals share the relevance equally."""
    gates = [_is_gate(nt, i, state) for i in range(len(nt.Xs))]
    if all(gates):  # nothing to tell apart: every operand is a signal
        gates = [False] * len(gates)
    n_signals = len(gates) - sum(gates)
    R = Rs[0] / n_signals
    return [tf.zeros_like(x) if g else R for x, g in zip(nt.Xs, gates)]


def sum_merge(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Add/Subtract/Average: proportional split; a tensor plus a constant passes relevance."""
    if len(nt.Xs) == 1:
        return pass_through(nt, Rs, state)
    return proportional(nt, Rs, state)


def embedding(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Embedding: the relevance of each looked-up vector, summed over the embedding axis."""
    return [tf.reduce_sum(Rs[0], axis=-1)]


route = gradient_mapping
