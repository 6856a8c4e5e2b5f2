"""Plugin: layers that are the identity at inference.

``Dropout`` and its spatial and alpha variants, ``GaussianNoise``, ``GaussianDropout``,
``ActivityRegularization`` and ConvNeXt's ``StochasticDepth`` change nothing when the model
predicts, so every analyzer passes through them unchanged.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import IDENTITY, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    from innv_core.keras_adapter import application_layer_class

    for cls in (L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D,
                L.GaussianNoise, L.GaussianDropout, L.AlphaDropout, L.ActivityRegularization,
                application_layer_class("convnext", "StochasticDepth")):
        if cls is not None:
            registry.add_layer(cls, LayerHandler(IDENTITY))
