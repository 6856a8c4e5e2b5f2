"""Plugin: layers that only move, repeat or pad values.

``Flatten``, ``Reshape``, ``Permute``, ``RepeatVector``, zero padding, cropping, upsampling and
``Masking`` (zeros at masked steps):
relevance is routed back to where each value came from (the gradient of the move; repeated
values sum their relevance, padded positions drop theirs).
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import IDENTITY, RESHAPE, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    for cls in (L.Flatten, L.Reshape, L.Permute, L.RepeatVector,
                L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D,
                L.Cropping1D, L.Cropping2D, L.Cropping3D,
                L.UpSampling1D, L.UpSampling2D, L.UpSampling3D, L.Masking):
        registry.add_layer(cls, LayerHandler(RESHAPE))
    registry.add_layer(L.Identity, LayerHandler(IDENTITY))
