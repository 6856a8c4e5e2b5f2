"""Plugin: the structural layers of a model.

``InputLayer`` (nothing to reverse), ``Lambda`` (opaque Python: crossed by its gradient, and
only with ``allow_lambda_layers=True``), and innv's own ``PassThrough`` (stands where a softmax
was removed or a BatchNorm fused: relevance passes unchanged).
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import IDENTITY, INPUT, LAMBDA, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    from innv_core.graph import PassThrough

    registry.add_layer(L.InputLayer, LayerHandler(INPUT))
    registry.add_layer(L.Lambda, LayerHandler(LAMBDA))
    registry.add_layer(PassThrough, LayerHandler(IDENTITY))
