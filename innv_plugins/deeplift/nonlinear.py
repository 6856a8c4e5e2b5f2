"""How DeepLIFT crosses a nonlinearity: multipliers from differences-from-reference.

- :func:`ratio_or_gradient`: ``Δy / Δx``, or the gradient where ``|Δx|`` is too small to divide by
  (the Rescale rule, and the fallback of every other ratio here);
- :func:`reveal_cancel`: the positive and negative parts of ``Δy`` for ``Δx = Δx⁺ + Δx⁻``
  (the RevealCancel rule);
- :func:`max_pooling_multiplier`: Captum's max-pooling rule;
- :func:`elementwise_activation`: the ``f`` of a node whose nonlinearity acts value by value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from innv_core import layers as kinds
from innv_core.graph import Node
from innv_core.reverse import NodeTensors

#: Activations that mix values (the Rescale/RevealCancel rules need one output per input value).
NOT_ELEMENTWISE = frozenset({"softmax", "log_softmax", "glu", "sparsemax"})


def threshold(dtype: Any) -> float:
    """``|Δx|`` below which ``Δy / Δx`` is not trusted: the dtype's machine epsilon, at least 1e-10.

    1e-10 is Captum's threshold (it computes in float64 there); in float32 a difference below
    ~1.2e-7 is at the level of rounding noise of values of order one.
    """
    return max(1e-10, float(np.finfo(tf.as_dtype(dtype).as_numpy_dtype).eps))


def ratio_or_gradient(numerator: Any, delta_in: Any, gradient: Any) -> Any:
    """``numerator / Δx``, and ``gradient`` where ``|Δx|`` is below :func:`threshold`."""
    small = tf.abs(delta_in) < threshold(delta_in.dtype)
    safe = tf.where(small, tf.ones_like(delta_in), delta_in)
    return tf.where(small, gradient, numerator / safe)


def reveal_cancel(
    f: Callable[[Any], Any], x_ref: Any, y: Any, y_ref: Any, pos: Any, neg: Any
) -> tuple[Any, Any]:
    """``(Δy⁺, Δy⁻)`` of ``y = f(x)`` for ``Δx = pos + neg`` (Shrikumar et al. 2017, section 3.5.3).

    Each part is the average effect of adding it before and after the other one:
    ``Δy⁺ = ½(f(r + Δx⁺) − f(r)) + ½(f(r + Δx⁻ + Δx⁺) − f(r + Δx⁻))`` and symmetrically for
    ``Δy⁻``. ``f(r + Δx⁺ + Δx⁻)`` is the forward pass's ``y``, so the parts sum to ``y - y_ref``.
    """
    f_pos = f(x_ref + pos)
    f_neg = f(x_ref + neg)
    return 0.5 * ((f_pos - y_ref) + (y - f_neg)), 0.5 * ((f_neg - y_ref) + (y - f_pos))


def max_pooling_multiplier(nt: NodeTensors, ref: NodeTensors, m: Any, tape: Any) -> Any:
    """Captum's max-pooling rule: the multiplier at the pooling input for ``m`` at its output.

    With ``top = max(y, y_ref)``, the part ``top - y_ref`` of ``Δy`` goes to the input's maximum
    and the part ``y - top`` (negative, when the reference's maximum is larger) to the
    reference's maximum; each input then gets its share divided by its own ``Δx``, and the
    gradient where ``|Δx|`` is tiny. The shares sum to ``Δy``, so summation-to-delta holds
    (the plain gradient would credit ``y - x_ref[argmax x]`` instead).
    """
    x, y = nt.Xs[0], nt.Ys[0]
    x_ref, y_ref = ref.Xs[0], ref.Ys[0]
    top = tf.maximum(y, y_ref)
    via_input = tape.gradient(y, x, output_gradients=m * (top - y_ref))
    via_reference = _vjp_at(nt.node, tf.broadcast_to(x_ref, tf.shape(x)), m * (y - top))
    gradient = tape.gradient(y, x, output_gradients=m)
    return ratio_or_gradient(via_input + via_reference, x - x_ref, gradient)


def _vjp_at(node: Node, x: Any, cotangent: Any) -> Any:
    """``(dy/dx)^T cotangent`` of a one-input node at ``x`` (the reference, broadcast to the batch)."""
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        (y,) = node.run({node.input_ids[0]: x})
    return tape.gradient(y, x, output_gradients=cotangent)


def elementwise_activation(node: Node, activation_role: bool = False) -> Callable[[Any], Any] | None:
    """``f`` for a node whose nonlinearity acts value by value, else None.

    Kernel layers: their activation (None when linear). Activation layers (ReLU, LeakyReLU,
    ELU, PReLU, ``Activation``; with ``activation_role``, any layer DeepLIFT crosses as an
    activation, e.g. of a plugin's kind) with one input: the layer itself. Softmax-like
    activations are not elementwise and get None.
    """
    layer = node.layer
    if node.kind == kinds.KERNEL:
        activation = node.activation
        return activation if activation is not None and _name(activation) not in NOT_ELEMENTWISE else None
    if not (activation_role or node.kind == kinds.ACTIVATION) or len(node.input_ids) != 1:
        return None
    if isinstance(layer, keras.layers.Softmax):
        return None
    if _name(getattr(layer, "activation", None)) in NOT_ELEMENTWISE:
        return None
    (tid,) = node.input_ids
    return lambda t: node.run({tid: t})[0]


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", "") if fn is not None else ""
