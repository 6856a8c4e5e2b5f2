"""Plugin: fully connected layers (``Dense``, ``EinsumDense``) as kernel layers.

Their LRP rule comes from the analyzer (``Z``, ``Epsilon``, ...), applied to the linear part
``x @ W + b`` (any input rank: the kernel acts on the last axis); the activation is a separate
elementwise step (relevance passes it unchanged, as in Zennit).
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import KERNEL, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    for cls in (L.Dense, L.EinsumDense):
        registry.add_layer(cls, LayerHandler(KERNEL))
