"""Plugin: pooling layers.

Average pooling (global or not) is a bias-free linear map with positive weights: relevance is
split in proportion to the inputs (the z-rule; Zennit's ``Norm`` rule). Max pooling routes the
relevance to the maximum, like the gradient (Zennit, iNNvestigate).
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import AVERAGE_POOLING, MAX_POOLING, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    for cls in (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D,
                L.GlobalMaxPooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling3D,
                L.AdaptiveMaxPooling1D, L.AdaptiveMaxPooling2D, L.AdaptiveMaxPooling3D):
        registry.add_layer(cls, LayerHandler(MAX_POOLING))
    for cls in (L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D,
                L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D,
                L.AdaptiveAveragePooling1D, L.AdaptiveAveragePooling2D, L.AdaptiveAveragePooling3D):
        registry.add_layer(cls, LayerHandler(AVERAGE_POOLING))
