"""Plugin: ``TimeDistributed``, opened by LRP (kind ``composite``).

``TimeDistributed(layer)`` applies ``layer`` to every time step: LRP opens the wrapper
(``docs/opening-layers.md``), so the inner layer gets its own gradient rule (a Dense or a
convolution the epsilon rule, an activation the identity rule) at every step.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import COMPOSITE, LayerHandler


@hookimpl
def innv_register_layers(registry):
    import keras

    registry.add_layer(keras.layers.TimeDistributed, LayerHandler(kind=COMPOSITE))
