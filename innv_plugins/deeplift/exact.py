"""DeepLIFT multipliers for products and normalizations that keep summation-to-delta exact.

Neither layer is elementwise, so Rescale does not apply; crossing them by the gradient (what
Captum does) breaks ``sum m * Δx = Δy``. innv uses two exact rules:

- **Products** ``y = a * b`` (``Multiply``, the squeeze-excitation gate, ``x * y`` in a
  functional graph): ``Δy = Δa (b + b')/2 + Δb (a + a')/2`` holds exactly, so
  ``m_a = m (b + b')/2`` and ``m_b = m (a + a')/2`` (primes: the reference; the Shapley value of
  the two-player product, as in Shrikumar et al.'s and DeepSHAP's treatment of gates). A
  broadcast operand sums its multipliers over the broadcast axes; more than two operands are
  taken as ``((a * b) * c) ...``.
- **Normalizations** (``LayerNormalization``, ``GroupNormalization``, ``UnitNormalization``):
  with ``J`` the Jacobian of the layer with its statistics held at the input's (the map the LRP
  rule uses), ``m_x = Jᵀ (m Δy / (J Δx))``: each output's Rescale ratio of its true difference to
  its linearized one. ``sum m_x Δx = sum m Δy`` exactly; where ``J Δx`` is tiny the ratio is 1.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core.reverse import NodeTensors, ReverseState
from innv_plugins.deeplift.nonlinear import ratio_or_gradient
from innv_plugins.deeplift.reference import reference_of


def _pullback(factor: Any, operand: Any, m: Any) -> Any:
    """``m * factor`` summed to ``operand``'s shape (the VJP of ``operand * factor``)."""
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(operand)
        y = operand * factor
    return tape.gradient(y, operand, output_gradients=m)


def product(nt: NodeTensors, ms: list, state: ReverseState) -> list:
    """Multipliers of the operands of an elementwise product (see the module doc)."""
    xs, refs = list(nt.Xs), list(reference_of(nt, state).Xs)
    if len(xs) == 1:  # a tensor times a constant: linear
        return [state.tape.gradient(nt.Ys[0], xs[0], output_gradients=ms[0])]
    # left-fold: prefix products of the operands (and of their references)
    prefix, prefix_ref = [xs[0]], [refs[0]]
    for x, r in zip(xs[1:-1], refs[1:-1]):
        prefix.append(prefix[-1] * x)
        prefix_ref.append(prefix_ref[-1] * r)
    out = [None] * len(xs)
    m = ms[0]
    for i in range(len(xs) - 1, 0, -1):
        a, a_ref = prefix[i - 1], prefix_ref[i - 1]
        out[i] = _pullback((a + a_ref) / 2, xs[i], m)
        m = _pullback((xs[i] + refs[i]) / 2, a, m)
    out[0] = m
    return out


def normalization(nt: NodeTensors, ms: list, state: ReverseState) -> list:
    """The multiplier at the input of a LayerNorm-like layer (see the module doc)."""
    ref = reference_of(nt, state)
    x, x_ref, y, y_ref = nt.Xs[0], ref.Xs[0], nt.Ys[0], ref.Ys[0]
    delta = x - x_ref * tf.ones_like(x)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        with tf.autodiff.ForwardAccumulator(x, delta) as acc:
            linearized = nt.node.handler.linearized(nt.layer, x)
    delta_linear = acc.jvp(linearized)
    s = ratio_or_gradient(ms[0] * (y - y_ref), delta_linear, ms[0])
    return [tape.gradient(linearized, x, output_gradients=s)]
