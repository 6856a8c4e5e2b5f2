"""Plugin: ``Embedding``, the lookup of one vector per token id, and ``ReversibleEmbedding``.

LRP gives each token the relevance of its looked-up vector summed over the embedding axis
(iNNvestigate's and LXT's convention), so token inputs get one relevance value per token.
``ReversibleEmbedding`` (Keras 3.13+, and keras-hub's for older Keras) is that lookup on token
ids, and the language-model head when called with ``reverse=True``: the hidden states times the
embedding matrix transposed (or its untied ``reverse_embeddings``), a bias-free dense layer to
every rule; a soft cap (``logit_soft_cap=c``, Gemma 2/3) is its activation ``c * tanh(z / c)``,
which LRP crosses by the identity rule (monotone and sign-preserving, as AttnLRP's other
elementwise functions) and gradients by its derivative.
"""

from __future__ import annotations

from typing import Any

import attrs

from innv_core.hookspecs import hookimpl
from innv_core.layers import EMBEDDING, KERNEL, LayerHandler


def _tied_head(layer: Any, x: Any, weights: dict[str, Any]) -> Any:
    import keras

    return keras.ops.matmul(x, keras.ops.transpose(weights["embeddings"]))


def _untied_head(layer: Any, x: Any, weights: dict[str, Any]) -> Any:
    import keras

    return keras.ops.matmul(x, weights["reverse_embeddings"])


_TIED = LayerHandler(KERNEL, kernels=("embeddings",), bias=None, linear=_tied_head)
_UNTIED = LayerHandler(KERNEL, kernels=("reverse_embeddings",), bias=None, linear=_untied_head)


def soft_cap(layer: Any) -> Any:
    """``c * tanh(z / c)``, the logit soft-capping of Gemma 2 and 3 (``logit_soft_cap=c``)."""
    import keras

    cap = float(layer.logit_soft_cap)

    def soft_cap(z: Any) -> Any:
        return keras.ops.tanh(z / cap) * cap

    return soft_cap


_CAPPED = {head: attrs.evolve(head, activation=soft_cap) for head in (_TIED, _UNTIED)}


def reversible_call(layer: Any, kwargs: dict[str, Any]) -> LayerHandler | None:
    """The LM-head call (``reverse=True``) as a bias-free dense layer, its soft cap (if any) as
    the activation after it; the lookup stays an embedding."""
    if not kwargs.get("reverse", False):
        return None
    head = _TIED if layer.tie_weights else _UNTIED
    return _CAPPED[head] if getattr(layer, "logit_soft_cap", None) is not None else head


#: The handler of ``ReversibleEmbedding``: an embedding, except for its ``reverse=True`` calls.
REVERSIBLE = LayerHandler(EMBEDDING, kernels=("embeddings",), for_call=reversible_call)


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    registry.add_layer(L.Embedding, LayerHandler(EMBEDDING, kernels=("embeddings",)))
    if hasattr(L, "ReversibleEmbedding"):
        registry.add_layer(L.ReversibleEmbedding, REVERSIBLE)
