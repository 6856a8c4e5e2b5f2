"""Tiny configs of every keras-hub 0.32 text decoder (random weights, nothing downloaded).

Shared by the decoder tests: ``causal_lm(family)`` builds the family's ``CausalLM`` without a
preprocessor; ``last_logits(lm)`` is the generic wrapper of ``docs/generation.md`` (the last
position's logits, dict inputs ``token_ids`` / ``padding_mask``). 2 layers, hidden size 16,
4 query and 2 key-value heads where the family has grouped-query attention, vocabulary 40.
"""

from __future__ import annotations

from typing import Any

import keras

V, HIDDEN, INTERMEDIATE, LAYERS = 40, 16, 32, 2
_GQA = {"num_query_heads": 4, "num_key_value_heads": 2}
_SMOLLM3 = {"num_attention_heads": 4, "num_key_value_heads": 2, "attention_bias": False,
            "attention_dropout": 0.0, "rope_layer_enabled_list": [True, False],
            "layer_types": ["full_attention"] * LAYERS, "mlp_bias": False, "layer_norm_epsilon": 1e-6,
            "max_position_embeddings": 32, "rope_theta": 10000.0, "partial_rotary_factor": 1.0}

#: family -> the backbone's arguments beyond vocabulary, layers, hidden and intermediate sizes.
CONFIGS: dict[str, dict[str, Any]] = {
    "GPT2": {"num_heads": 2, "max_sequence_length": 16},
    "GPTNeoX": {"num_heads": 2, "max_sequence_length": 16},
    "OPT": {"num_heads": 2, "max_sequence_length": 16},
    "Bloom": {"num_heads": 2},
    "Falcon": {"num_attention_heads": 2},
    "Llama": _GQA, "Llama3": _GQA, "Mistral": _GQA,
    "Mixtral": {**_GQA, "num_experts": 4},
    "Gemma": {**_GQA, "head_dim": 4},
    "Gemma3": {**_GQA, "head_dim": 4, "image_size": None, "vision_encoder": None},
    "Phi3": _GQA,
    "Qwen": _GQA, "Qwen2": _GQA,
    "Qwen3": {**_GQA, "head_dim": 4},
    "Qwen3Moe": {**_GQA, "moe_intermediate_dim": 8, "num_experts": 4, "top_k": 2},
    "SmolLM3": _SMOLLM3,
}


def backbone(family: str) -> Any:
    import keras_hub

    cls = getattr(keras_hub.models, family + "Backbone")
    return cls(vocabulary_size=V, num_layers=LAYERS, hidden_dim=HIDDEN, intermediate_dim=INTERMEDIATE,
               **CONFIGS[family])


def causal_lm(family: str) -> Any:
    import keras_hub

    return getattr(keras_hub.models, family + "CausalLM")(backbone=backbone(family), preprocessor=None)


def last_logits(lm: Any, length: int | None = None) -> keras.Model:
    """The last position's logits of ``lm`` as a functional model (dict inputs)."""
    inputs = {name: keras.Input((length,), dtype="int32", name=name) for name in ("token_ids", "padding_mask")}
    return keras.Model(inputs, lm(inputs)[:, -1, :])
