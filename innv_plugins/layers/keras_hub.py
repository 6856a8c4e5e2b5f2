"""Plugin: keras-hub layers that are not opened like its other blocks.

keras-hub's transformer blocks (``TransformerEncoder``, ``TransformerDecoder``, the ViT and BERT
layers, ``PositionEmbedding``) need no handler: LRP opens subclassed layers and applies its rules
inside (``docs/opening-layers.md``). ``TokenAndPositionEmbedding`` reads token ids, so it is an
embedding: the graph is cut at its output for token inputs (``docs/token-inputs.md``), and the
attribution of a token is that of its token-plus-position vector. ``ReversibleEmbedding`` is a
lookup on token ids and the language-model head with ``reverse=True``, as Keras' own
(:mod:`innv_plugins.layers.embedding`). Registered by qualified name, so keras-hub is not imported.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import EMBEDDING, LayerHandler
from innv_plugins.layers.embedding import REVERSIBLE

_TOKEN_AND_POSITION = "keras_hub.src.layers.modeling.token_and_position_embedding.TokenAndPositionEmbedding"
_REVERSIBLE = "keras_hub.src.layers.modeling.reversible_embedding.ReversibleEmbedding"


@hookimpl
def innv_register_layers(registry):
    registry.add_layer(_TOKEN_AND_POSITION, LayerHandler(EMBEDDING))
    registry.add_layer(_REVERSIBLE, REVERSIBLE)  # keras-hub's own, where Keras has none
