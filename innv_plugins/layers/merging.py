"""Plugin: layers that merge several tensors.

``Add``, ``Subtract`` and ``Average`` split relevance in proportion to each input's contribution
(Zennit's ``Norm`` rule for sums, which is what keeps relevance conserved across residual
connections). ``Maximum`` and ``Minimum`` route it like the gradient (to the winner);
``Concatenate`` hands each input its own slice.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import CONCATENATE, OTHER_MERGE, SUM_MERGE, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    for cls in (L.Add, L.Subtract, L.Average):
        registry.add_layer(cls, LayerHandler(SUM_MERGE))
    for cls in (L.Maximum, L.Minimum):
        registry.add_layer(cls, LayerHandler(OTHER_MERGE))
    registry.add_layer(L.Concatenate, LayerHandler(CONCATENATE))
