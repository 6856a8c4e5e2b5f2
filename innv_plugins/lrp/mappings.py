"""LRP mappings per layer kind: rules at kernel layers, proportional splits, pass-through."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core.reverse import NodeTensors, ReverseState, gradient_mapping
from innv_core.rule import KernelCall, Rule, safe_divide


def kernel_call(nt: NodeTensors, state: ReverseState) -> KernelCall:
    """The :class:`KernelCall` of a kernel (or BatchNorm) node, reusing the forward pass."""
    x = nt.Xs[0]
    z = nt.Zs[0] if nt.Zs else nt.Ys[0]

    def vjp(s: Any) -> Any:
        return state.tape.gradient(z, x, output_gradients=s)

    return KernelCall(state.linear_part(nt.node), x, z, vjp)


def rule_mapping(rules: dict[int, Rule]):
    """Apply each node's rule; the activation of the layer passes relevance through."""

    def mapping(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
        return [rules[nt.node.nid].apply(kernel_call(nt, state), Rs[0])]

    mapping.__name__ = "lrp_rule"
    return mapping


def pass_through(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Activations: relevance passes unchanged."""
    return list(Rs)


def proportional(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """The z-rule for bias-free linear layers (average pooling, Add, Subtract, Average)."""
    s = [safe_divide(R, y) for R, y in zip(Rs, nt.Ys)]
    grads = state.tape.gradient(nt.Ys, nt.Xs, output_gradients=s)
    return [None if g is None else x * g for g, x in zip(grads, nt.Xs)]


def embedding(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Embedding: the relevance of each looked-up vector, summed over the embedding axis."""
    return [tf.reduce_sum(Rs[0], axis=-1)]


route = gradient_mapping
