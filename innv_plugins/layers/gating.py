"""Plugin: ``Multiply``, the elementwise product of two or more tensors.

Today the product is crossed by its gradient (each operand receives the relevance times the
other operands); the gating convention of ``docs/layer-families.md`` (a broadcast or
sigmoid-gated operand is a constant, two full signals share equally) replaces it next.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import OTHER_MERGE, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    registry.add_layer(L.Multiply, LayerHandler(OTHER_MERGE, kernels=(), bias=None))
