"""Plugin: ``Multiply``, the elementwise product of two or more tensors (kind ``gate``).

LRP's gating convention (:func:`innv_plugins.lrp.mappings.gate`): an operand that is broadcast
(a squeeze-excitation gate of shape ``(1, 1, C)``) or comes straight from a sigmoid-like
activation is a gate, held constant: all relevance goes to the gated signal(s) ("signal takes
all", as Arras et al. treat LSTM gates); several full-size signals share it equally (AttnLRP's
uniform rule for products, LXT). Gradient methods use the product's gradient.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import GATE, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    registry.add_layer(L.Multiply, LayerHandler(GATE))
