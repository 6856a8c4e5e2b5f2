"""Plugin: convolutions as kernel layers.

``Conv1D/2D/3D``, their transposes and ``DepthwiseConv1D/2D`` have one kernel and a bias;
``SeparableConv1D/2D`` two kernels (depthwise, then pointwise) that a rule transforms alike, so
the layer is one linear map as in Zennit. The analyzer's rule applies to the linear part; the
activation passes relevance unchanged.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import KERNEL, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    for cls in (L.Conv1D, L.Conv2D, L.Conv3D, L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose,
                L.DepthwiseConv1D, L.DepthwiseConv2D):
        registry.add_layer(cls, LayerHandler(KERNEL))
    separable = LayerHandler(KERNEL, kernels=("depthwise_kernel", "pointwise_kernel"))
    for cls in (L.SeparableConv1D, L.SeparableConv2D):
        registry.add_layer(cls, separable)
