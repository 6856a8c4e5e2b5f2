"""Plugin: convolutions as kernel layers.

``Conv1D/2D/3D`` (also grouped, ``groups > 1``), their transposes and ``DepthwiseConv1D/2D`` have
one kernel and a bias: the rule applies to the layer's linear part, the activation passes
relevance unchanged. A grouped convolution is one linear map whose kernel connects each group's
outputs to its inputs only, so even the flat and w-square rules spread relevance within a group.

``SeparableConv1D/2D`` (a depthwise convolution, then a pointwise 1x1 convolution) is one linear
map too: the convolution whose kernel is the product of the two,
``K[k, c, o] = sum_m depthwise[k, c, m] * pointwise[c * M + m, o]``. Rules apply to that kernel,
exactly as to a ``Conv`` layer with it, so z+ and alpha-beta split the layer's positive and
negative contributions. (A PyTorch model, and so Zennit, has two layers in its place and applies
the rule to each; z+ then drops the relevance of every depthwise output whose few (k x k)
contributions are all negative, which loses half the relevance on Xception.)
"""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl
from innv_core.layers import KERNEL, LayerHandler


def separable_weights(layer: Any) -> dict[str, Any]:
    """A separable convolution's weights as one convolution: ``{"kernel": K, "bias": b}``."""
    from keras import ops

    depthwise = layer.depthwise_kernel  # (*window, channels, multiplier)
    channels, multiplier = depthwise.shape[-2], depthwise.shape[-1]
    pointwise = ops.reshape(layer.pointwise_kernel, (channels, multiplier, -1))
    out = {"kernel": ops.einsum("...cm,cmo->...co", depthwise, pointwise)}
    if layer.bias is not None:
        out["bias"] = layer.bias
    return out


def separable_linear(layer: Any, x: Any, weights: dict[str, Any]) -> Any:
    """``conv(x, K) + b`` with the separable layer's strides, padding and dilation."""
    from keras import ops

    z = ops.conv(x, weights["kernel"], strides=layer.strides, padding=layer.padding,
                 data_format=layer.data_format, dilation_rate=layer.dilation_rate)
    if "bias" not in weights:
        return z
    bias = weights["bias"]
    if layer.data_format == "channels_first":
        bias = ops.reshape(bias, (-1,) + (1,) * (len(z.shape) - 2))
    return z + bias


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    for cls in (L.Conv1D, L.Conv2D, L.Conv3D, L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose,
                L.DepthwiseConv1D, L.DepthwiseConv2D):
        registry.add_layer(cls, LayerHandler(KERNEL))
    separable = LayerHandler(KERNEL, weights=separable_weights, linear=separable_linear)
    for cls in (L.SeparableConv1D, L.SeparableConv2D):
        registry.add_layer(cls, separable)
