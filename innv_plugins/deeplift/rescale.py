"""DeepLIFT's Rescale mode: one multiplier per value, propagated like a gradient.

Linear layers (kernel layers' linear part, BatchNorm, average pooling, merges, reshaping)
pass multipliers on exactly like the gradient. An elementwise nonlinearity ``y = f(x)``
multiplies them by ``Δy / Δx`` (the gradient where ``|Δx|`` is tiny); max pooling uses
Captum's rule. Summing ``multiplier × Δx`` at the input gives ``Δ`` of the selected output.
"""

from __future__ import annotations

from typing import Any

from innv_core.graph import Node
from innv_core.reverse import Mapping, NodeTensors, ReverseState, gradient_mapping
from innv_plugins.deeplift import exact, roles
from innv_plugins.deeplift.nonlinear import elementwise_activation, max_pooling_multiplier, ratio_or_gradient
from innv_plugins.deeplift.reference import reference_of


def rescale(tape: Any, x: Any, y: Any, x_ref: Any, y_ref: Any, m: Any) -> Any:
    """The multiplier at ``x`` for ``m`` at ``y = f(x)``: ``m Δy / Δx`` (or ``m f'(x)``)."""
    gradient = tape.gradient(y, x, output_gradients=m)
    return ratio_or_gradient(m * (y - y_ref), x - x_ref, gradient)


def activation(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """An elementwise activation layer: Rescale."""
    ref = reference_of(nt, state)
    return [rescale(state.tape, nt.Xs[0], nt.Ys[0], ref.Xs[0], ref.Ys[0], Rs[0])]


def kernel_with_activation(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """A kernel layer with an elementwise activation: Rescale on ``z -> y``, then the linear part."""
    ref = reference_of(nt, state)
    z, x = nt.Zs[0], nt.Xs[0]
    m_z = rescale(state.tape, z, nt.Ys[0], ref.Zs[0], ref.Ys[0], Rs[0])
    return [state.tape.gradient(z, x, output_gradients=m_z)]


def max_pooling(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Max pooling: Captum's rule (see :func:`~innv_plugins.deeplift.nonlinear.max_pooling_multiplier`)."""
    return [max_pooling_multiplier(nt, reference_of(nt, state), Rs[0], state.tape)]


def mapping_for(node: Node) -> tuple[Mapping, str]:
    """The Rescale-mode mapping of ``node`` and a description of it (for ``verbose``)."""
    role = roles.role_of(node)
    if role == roles.KERNEL and elementwise_activation(node) is not None:
        return kernel_with_activation, "Rescale at the activation, gradient of the linear part"
    if role == roles.ACTIVATION:
        return activation, "Rescale"
    if role == roles.MAX_POOLING:
        return max_pooling, "max pooling (Captum's rule)"
    if role == roles.PRODUCT:
        return exact.product, "exact product rule"
    if role == roles.NORMALIZATION:
        return exact.normalization, "Rescale of the map with statistics held"
    if role in (roles.BATCHNORM, roles.LINEAR):
        return gradient_mapping, "linear: gradient"
    if role == roles.KERNEL and node.activation is None:
        return gradient_mapping, "linear: gradient"
    return gradient_mapping, "gradient (no DeepLIFT rule here; summation-to-delta is approximate)"
