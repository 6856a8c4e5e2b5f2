"""Plugin: keras-hub layers that are not opened like its other blocks.

keras-hub's transformer blocks (``TransformerEncoder``, ``TransformerDecoder``, the ViT and BERT
layers, ``PositionEmbedding``) need no handler: LRP opens subclassed layers and applies its rules
inside (``docs/opening-layers.md``). ``TokenAndPositionEmbedding`` reads token ids, so it is an
embedding: the graph is cut at its output for token inputs (``docs/token-inputs.md``), and the
attribution of a token is that of its token-plus-position vector. ``ReversibleEmbedding`` is a
lookup on token ids and the language-model head with ``reverse=True``, as Keras' own
(:mod:`innv_plugins.layers.embedding`). The decoders' own RMSNorm layers (Llama, Mistral,
Mixtral, Phi-3, Qwen, Qwen3, Qwen3-MoE: ``x / rms(x) * scale``; Gemma, Gemma 3: ``* (1 + scale)``)
are normalizations with the root mean square held constant, as Keras' ``RMSNormalization``
(AttnLRP's rule, LXT's ``rms_norm_forward``). Registered by qualified name, so keras-hub is not
imported.
"""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl
from innv_core.layers import EMBEDDING, NORMALIZATION, LayerHandler
from innv_plugins.layers.embedding import REVERSIBLE

_TOKEN_AND_POSITION = "keras_hub.src.layers.modeling.token_and_position_embedding.TokenAndPositionEmbedding"
_REVERSIBLE = "keras_hub.src.layers.modeling.reversible_embedding.ReversibleEmbedding"
_MODELS = "keras_hub.src.models."
#: RMSNorm layers computing ``x * rsqrt(mean(x**2) + epsilon) * scale`` over the last axis.
RMS_NORMS = tuple(_MODELS + name for name in (
    "llama.llama_layernorm.LlamaLayerNorm", "mistral.mistral_layer_norm.MistralLayerNormalization",
    "mixtral.mixtral_layer_norm.MixtralLayerNormalization", "phi3.phi3_layernorm.Phi3LayerNorm",
    "qwen.qwen_layernorm.QwenLayerNorm", "qwen3.qwen3_layernorm.Qwen3LayerNorm",
    "qwen3_moe.qwen3_moe_layernorm.Qwen3MoeLayerNorm"))
#: Gemma's RMSNorm layers: ``* (1 + scale)``.
GEMMA_RMS_NORMS = tuple(_MODELS + name for name in (
    "gemma.rms_normalization.RMSNormalization", "gemma3.gemma3_layers.RMSNormalization"))


def _rms_held(layer: Any, x: Any, offset: float) -> Any:
    """``x / rms(x) * (offset + scale)`` over the last axis, the root mean square held constant.

    Computed in float32 and cast to the layer's compute dtype, as the layers themselves do (in a
    float64 or bfloat16 model the float32 normalisation met the scale's own dtype: Gemma's
    ``(1 + scale)`` then failed with a dtype error).
    """
    from keras import ops

    x = ops.cast(x, "float32")
    held = x * ops.stop_gradient(ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + layer.epsilon))
    return ops.cast(held * (offset + ops.cast(layer.scale, "float32")), layer.compute_dtype)


def rms_norm_linearized(layer: Any, x: Any) -> Any:
    """A decoder's RMSNorm with the root mean square held constant."""
    return _rms_held(layer, x, 0.0)


def gemma_rms_norm_linearized(layer: Any, x: Any) -> Any:
    """Gemma's RMSNorm (scale ``1 + w``) with the root mean square held constant."""
    return _rms_held(layer, x, 1.0)


@hookimpl
def innv_register_layers(registry):
    registry.add_layer(_TOKEN_AND_POSITION, LayerHandler(EMBEDDING))
    registry.add_layer(_REVERSIBLE, REVERSIBLE)  # keras-hub's own, where Keras has none
    for name in RMS_NORMS:
        registry.add_layer(name, LayerHandler(NORMALIZATION, linearized=rms_norm_linearized))
    for name in GEMMA_RMS_NORMS:
        registry.add_layer(name, LayerHandler(NORMALIZATION, linearized=gemma_rms_norm_linearized))
