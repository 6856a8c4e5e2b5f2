"""Plugin: elementwise affine layers ``x * scale + shift`` (kind ``affine``).

``Rescaling`` and ``Normalization`` (preprocessing inside the model) and ConvNeXt's
``LayerScale``. LRP passes relevance through them unchanged (the identity rule; Zennit leaves
such preprocessing outside the explained model, which amounts to the same), so the input
relevance is in the model's input space (pixels) and sums to the explained output. Gradient
methods and DeepLIFT use their exact linear map.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import AFFINE, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    from innv_core.keras_adapter import application_layer_class

    affine = LayerHandler(AFFINE)
    for cls in (L.Rescaling, L.Normalization, application_layer_class("convnext", "LayerScale")):
        if cls is not None:
            registry.add_layer(cls, affine)
