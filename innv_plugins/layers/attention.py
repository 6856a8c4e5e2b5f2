"""Plugin: Keras' attention layers, opened by LRP (kind ``composite``).

``MultiHeadAttention`` (and subclasses such as keras-hub's ``CachedMultiHeadAttention``),
``GroupedQueryAttention``, ``Attention``, ``AdditiveAttention`` and ``Dot`` are not one operation: LRP
calls them again with gradient rules inside (``docs/opening-layers.md``): their projections
(``EinsumDense``) get the epsilon rule, the products of two signals the uniform rule, the softmax
its gradient (AttnLRP) or nothing (CP-LRP). The gradient family crosses them by their gradient.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import COMPOSITE, LayerHandler


@hookimpl
def innv_register_layers(registry):
    import keras

    L = keras.layers
    for cls in (L.MultiHeadAttention, L.GroupQueryAttention, L.Attention, L.AdditiveAttention, L.Dot):
        registry.add_layer(cls, LayerHandler(kind=COMPOSITE))
