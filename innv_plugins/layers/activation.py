"""Plugin: elementwise activation layers.

``ReLU``, ``LeakyReLU``, ``ELU``, ``PReLU``, ``Softmax`` and ``Activation``: LRP passes relevance
through unchanged (Zennit's ``Pass`` rule, LXT's identity rule); gradient methods use the
layer's gradient, Guided Backprop and Deconvnet their modified ReLU, DeepLIFT its multiplier.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import ACTIVATION, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    for cls in (L.Activation, L.ReLU, L.LeakyReLU, L.ELU, L.PReLU, L.Softmax):
        registry.add_layer(cls, LayerHandler(ACTIVATION))
