"""DeepLIFT's RevealCancel mode: positive and negative parts kept apart through linear layers.

Every difference-from-reference is split, ``Δt = Δt⁺ + Δt⁻``, and multipliers come in pairs
``(m⁺, m⁻)``: a tensor contributes ``m⁺Δt⁺ + m⁻Δt⁻``. As in the deeplift package, the split
of a tensor is fixed by the node producing it:

- model inputs, max pooling and gradient-crossed nodes: by sign (``Δt⁺ = max(Δt, 0)``);
- kernel layers: the sums of the positive and of the negative terms ``w_i Δx_i``, from the
  sign split of the layer's input: ``Δz± = ½(Δz ± |W| |Δx|)`` (the bias has no difference);
- BatchNorm: its input's parts scaled, swapped where the scale is negative (the same formula
  with the input's parts: ``Δz± = ½(Δz ± |s| (Δx⁺ − Δx⁻))``);
- linear layers with non-negative coefficients: the layer applied to each part (Subtract
  swaps the parts of its second input);
- elementwise nonlinearities: the RevealCancel parts ``Δy⁺, Δy⁻`` of their input's parts,
  with multipliers ``Δy⁺/Δx⁺`` and ``Δy⁻/Δx⁻``.

Backwards, every rule hands each input a pair that conserves ``Σ m⁺Δ⁺ + m⁻Δ⁻``, hence
summation-to-delta. In the engine a pair travels as one tensor stacked on a new first axis.
"""

from __future__ import annotations

from typing import Any

import attrs
import keras
import tensorflow as tf

from innv_core.graph import ExecutionGraph, Node
from innv_core.reverse import Forward, Mapping, NodeTensors, ReverseState, gradient_mapping
from innv_core.rule import KernelCall
from innv_plugins.deeplift import exact, roles
from innv_plugins.deeplift.nonlinear import (
    elementwise_activation,
    max_pooling_multiplier,
    ratio_or_gradient,
    reveal_cancel,
)
from innv_plugins.deeplift.reference import reference_of

#: Where the parts live in ``ReverseState.extra``.
KEY = "deep_lift.parts"


@attrs.define
class Parts:
    """What the forward split leaves for the backward rules.

    Attributes:
        of_tensor: tensor id -> ``(Δ⁺, Δ⁻)``.
        nonlinear: node id -> ``(Δy⁺, Δy⁻, Δx⁺, Δx⁻)`` of its elementwise nonlinearity.
        spread: node id -> ``(v, |W| v)`` of a kernel or BatchNorm node, recorded on the tape
            (``v = Δx⁺ − Δx⁻``), whose VJP gives ``|W|ᵀ``.
    """

    of_tensor: dict[int, tuple[Any, Any]] = attrs.Factory(dict)
    nonlinear: dict[int, tuple[Any, Any, Any, Any]] = attrs.Factory(dict)
    spread: dict[int, tuple[Any, Any]] = attrs.Factory(dict)


# -- forward: split every difference -------------------------------------------------------------
def split_differences(graph: ExecutionGraph, fwd: Forward, ref: Forward, state: ReverseState) -> Parts:
    """Split the difference of every floating tensor into its positive and negative parts."""
    parts = Parts()
    for tid in graph.input_ids:
        if fwd.values[tid].dtype.is_floating:
            parts.of_tensor[tid] = sign_split(fwd.values[tid] - ref.values[tid])
    for node in graph.nodes:
        split = _SPLITS[roles.role_of(node)]
        split(node, fwd.node_tensors[node.nid], ref.node_tensors[node.nid], parts, state)
    return parts


def sign_split(delta: Any) -> tuple[Any, Any]:
    """``(max(Δ, 0), min(Δ, 0))``."""
    return tf.nn.relu(delta), tf.minimum(delta, 0.0)


def _split_by_sign(
    node: Node, nt: NodeTensors, rt: NodeTensors, parts: Parts, state: ReverseState
) -> None:
    for tid, y, y_ref in zip(node.output_ids, nt.Ys, rt.Ys):
        if y.dtype.is_floating:
            parts.of_tensor[tid] = sign_split(y - y_ref)


def _split_weighted(
    node: Node, nt: NodeTensors, rt: NodeTensors, parts: Parts, state: ReverseState
) -> None:
    """Kernel layers (sign split of the input) and BatchNorm (the input's parts), then the activation."""
    x, z, z_ref = nt.Xs[0], _pre_activation(nt), _pre_activation(rt)
    if roles.role_of(node) == roles.BATCHNORM:
        pos, neg = parts.of_tensor[node.input_ids[0]]
        spread_in = pos - neg
    else:
        spread_in = tf.abs(x - rt.Xs[0])
    state.tape.watch(spread_in)
    call = _kernel_call(nt, state)
    spread_out = call.linear(spread_in, call.map_kernels(tf.abs))  # |W| v, bias zeroed
    parts.spread[node.nid] = (spread_in, spread_out)
    dz = z - z_ref
    z_pos, z_neg = 0.5 * (dz + spread_out), 0.5 * (dz - spread_out)
    (out,) = node.output_ids
    f = elementwise_activation(node)
    if nt.Zs is None:
        parts.of_tensor[out] = (z_pos, z_neg)
    elif f is not None:
        y_pos, y_neg = reveal_cancel(f, z_ref, nt.Ys[0], rt.Ys[0], z_pos, z_neg)
        parts.nonlinear[node.nid] = (y_pos, y_neg, z_pos, z_neg)
        parts.of_tensor[out] = (y_pos, y_neg)
    else:
        parts.of_tensor[out] = sign_split(nt.Ys[0] - rt.Ys[0])


def _split_activation(
    node: Node, nt: NodeTensors, rt: NodeTensors, parts: Parts, state: ReverseState
) -> None:
    pos, neg = parts.of_tensor[node.input_ids[0]]
    f = elementwise_activation(node, activation_role=True)
    y_pos, y_neg = reveal_cancel(f, rt.Xs[0], nt.Ys[0], rt.Ys[0], pos, neg)
    parts.nonlinear[node.nid] = (y_pos, y_neg, pos, neg)
    parts.of_tensor[node.output_ids[0]] = (y_pos, y_neg)


def _split_linear(
    node: Node, nt: NodeTensors, rt: NodeTensors, parts: Parts, state: ReverseState
) -> None:
    """Non-negative linear (or affine) layers: the layer's linear part applied to the positive parts
    and to the negative parts."""
    inputs = [parts.of_tensor.get(t) for t in node.input_ids]
    if any(p is None for p in inputs):  # integer tensors (e.g. token ids being reshaped)
        return
    pos = [n if _swaps(node, i) else p for i, (p, n) in enumerate(inputs)]
    neg = [p if _swaps(node, i) else n for i, (p, n) in enumerate(inputs)]
    outs_pos = node.run(dict(zip(node.input_ids, pos)))
    outs_neg = node.run(dict(zip(node.input_ids, neg)))
    # an affine map (x + 3, Rescaling's offset, Normalization's mean) moves differences by its
    # linear part only: f(part) - f(0)
    offsets = node.run({tid: tf.zeros_like(p) for tid, p in zip(node.input_ids, pos)})
    for tid, p, n, c in zip(node.output_ids, outs_pos, outs_neg, offsets):
        parts.of_tensor[tid] = (p - c, n - c)


_SPLITS = {
    roles.KERNEL: _split_weighted,
    roles.BATCHNORM: _split_weighted,
    roles.ACTIVATION: _split_activation,
    roles.LINEAR: _split_linear,
    roles.MAX_POOLING: _split_by_sign,
    roles.PRODUCT: _split_by_sign,
    roles.NORMALIZATION: _split_by_sign,
    roles.GRADIENT: _split_by_sign,
}


def _pre_activation(nt: NodeTensors) -> Any:
    return nt.Zs[0] if nt.Zs else nt.Ys[0]


def _kernel_call(nt: NodeTensors, state: ReverseState) -> KernelCall:
    x, z = nt.Xs[0], _pre_activation(nt)
    return KernelCall(
        state.linear_part(nt.node), x, z, lambda s: state.tape.gradient(z, x, output_gradients=s)
    )


def _swaps(node: Node, index: int) -> bool:
    """True for the subtracted input of a Subtract layer (its positive part becomes negative)."""
    return index == 1 and isinstance(node.layer, keras.layers.Subtract)


# -- backward: pairs of multipliers ---------------------------------------------------------------
def as_pair(R: Any, like: Any) -> tuple[Any, Any]:
    """A reversed tensor as ``(m⁺, m⁻)``: stacked pairs are split, single multipliers doubled."""
    if R.shape.rank == like.shape.rank + 1:
        return R[0], R[1]
    return R, R


def collapse(m_pos: Any, m_neg: Any, delta: Any) -> Any:
    """The one multiplier of a sign-split tensor: ``m⁺`` where ``Δ > 0``, ``m⁻`` where ``Δ < 0``."""
    return tf.where(delta > 0, m_pos, tf.where(delta < 0, m_neg, 0.5 * (m_pos + m_neg)))


def _through_nonlinearity(
    tape: Any, x: Any, y: Any, saved: tuple, m_pos: Any, m_neg: Any
) -> tuple[Any, Any]:
    """``(m⁺ Δy⁺/Δx⁺, m⁻ Δy⁻/Δx⁻)``, the gradient ``f'(x)`` standing in for tiny ``Δx±``."""
    y_pos, y_neg, x_pos, x_neg = saved
    gradient = tape.gradient(y, x, output_gradients=tf.ones_like(y))
    return (
        m_pos * ratio_or_gradient(y_pos, x_pos, gradient),
        m_neg * ratio_or_gradient(y_neg, x_neg, gradient),
    )


def weighted(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Kernel layers and BatchNorm: the activation's rule, then ``Wᵀ`` and ``|W|ᵀ`` on the pair."""
    parts, node = state.extra[KEY], nt.node
    y, z = nt.Ys[0], _pre_activation(nt)
    m_pos, m_neg = as_pair(Rs[0], y)
    if node.nid in parts.nonlinear:
        m_pos, m_neg = _through_nonlinearity(state.tape, z, y, parts.nonlinear[node.nid], m_pos, m_neg)
    elif nt.Zs:  # an activation that is not elementwise: its gradient
        m = collapse(m_pos, m_neg, y - reference_of(nt, state).Ys[0])
        m_pos = m_neg = state.tape.gradient(y, z, output_gradients=m)
    spread_in, spread_out = parts.spread[node.nid]
    through_w = _kernel_call(nt, state).vjp(0.5 * (m_pos + m_neg))
    through_abs = state.tape.gradient(spread_out, spread_in, output_gradients=0.5 * (m_pos - m_neg))
    if roles.role_of(node) == roles.BATCHNORM:
        return [tf.stack([through_w + through_abs, through_w - through_abs])]
    m_x = through_w + tf.sign(nt.Xs[0] - reference_of(nt, state).Xs[0]) * through_abs
    return [tf.stack([m_x, m_x])]


def activation(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Elementwise activation layers: ``m⁺ Δy⁺/Δx⁺`` and ``m⁻ Δy⁻/Δx⁻``."""
    saved = state.extra[KEY].nonlinear[nt.node.nid]
    m_pos, m_neg = as_pair(Rs[0], nt.Ys[0])
    return [tf.stack(_through_nonlinearity(state.tape, nt.Xs[0], nt.Ys[0], saved, m_pos, m_neg))]


def linear(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Non-negative linear layers: the transpose applied to each multiplier of the pair."""
    pairs = [as_pair(R, y) for R, y in zip(Rs, nt.Ys)]
    grads_pos = state.tape.gradient(nt.Ys, nt.Xs, output_gradients=[p for p, _ in pairs])
    grads_neg = state.tape.gradient(nt.Ys, nt.Xs, output_gradients=[n for _, n in pairs])
    out = []
    for i, (g_pos, g_neg, x) in enumerate(zip(grads_pos, grads_neg, nt.Xs)):
        if not x.dtype.is_floating:
            out.append(None)
            continue
        g_pos = tf.zeros_like(x) if g_pos is None else g_pos
        g_neg = tf.zeros_like(x) if g_neg is None else g_neg
        out.append(tf.stack([g_neg, g_pos] if _swaps(nt.node, i) else [g_pos, g_neg]))
    return out


def max_pooling(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Max pooling: Captum's rule on the collapsed multiplier (its output is split by sign)."""
    ref = reference_of(nt, state)
    m = collapse(*as_pair(Rs[0], nt.Ys[0]), nt.Ys[0] - ref.Ys[0])
    m_x = max_pooling_multiplier(nt, ref, m, state.tape)
    return [tf.stack([m_x, m_x])]


def on_collapsed(rule: Mapping) -> Mapping:
    """A single-multiplier rule applied to the collapsed pairs; its outputs doubled into pairs."""

    def mapping(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
        ref = reference_of(nt, state)
        ms = [
            R if R is None or not y.dtype.is_floating else collapse(*as_pair(R, y), y - y_ref)
            for R, y, y_ref in zip(Rs, nt.Ys, ref.Ys)
        ]
        return [None if g is None else tf.stack([g, g]) for g in rule(nt, ms, state)]

    mapping.__name__ = getattr(rule, "__name__", "rule")
    return mapping


#: Layers without a DeepLIFT rule: the gradient of the collapsed multipliers.
gradient = on_collapsed(gradient_mapping)


def mapping_for(node: Node) -> tuple[Mapping, str]:
    """The RevealCancel-mode mapping of ``node`` and a description of it (for ``verbose``)."""
    role = roles.role_of(node)
    if role == roles.KERNEL:
        if elementwise_activation(node) is not None:
            return weighted, "RevealCancel at the activation, positive/negative terms of the linear part"
        if node.activation is None:
            return weighted, "linear: positive/negative terms kept apart"
        return weighted, "gradient at the (not elementwise) activation, then as a linear part"
    if role == roles.BATCHNORM:
        return weighted, "linear: positive/negative parts scaled (swapped where the scale is negative)"
    if role == roles.ACTIVATION:
        return activation, "RevealCancel"
    if role == roles.MAX_POOLING:
        return max_pooling, "max pooling (Captum's rule)"
    if role == roles.LINEAR:
        return linear, "linear: positive/negative parts kept apart"
    if role == roles.PRODUCT:
        return on_collapsed(exact.product), "exact product rule (output split by sign)"
    if role == roles.NORMALIZATION:
        return on_collapsed(exact.normalization), "Rescale of the map with statistics held (split by sign)"
    return gradient, "gradient (no DeepLIFT rule here; summation-to-delta is approximate)"
