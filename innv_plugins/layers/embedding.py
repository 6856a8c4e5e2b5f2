"""Plugin: ``Embedding``, the lookup of one vector per token id.

LRP gives each token the relevance of its looked-up vector summed over the embedding axis
(iNNvestigate's and LXT's convention), so token inputs get one relevance value per token.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import EMBEDDING, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    registry.add_layer(L.Embedding, LayerHandler(EMBEDDING, kernels=("embeddings",)))
