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

#: Variants of a family: (the family, arguments beyond its CONFIGS entry). Gemma 2 is keras-hub's
#: GemmaBackbone with soft caps, post norms and sliding windows; windows of 3 tokens make the
#: sliding-window masks act on the tests' 6-token prompts.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "Gemma2": ("Gemma", {"query_head_dim_normalize": False, "use_post_ffw_norm": True,
                         "use_post_attention_norm": True, "attention_logit_soft_cap": 5.0,
                         "final_logit_soft_cap": 2.0, "use_sliding_window_attention": True,
                         "sliding_window_size": 3}),
    "Gemma3-sliding": ("Gemma3", {"use_sliding_window_attention": True, "sliding_window_size": 3,
                                  "final_logit_soft_cap": 2.0}),
    "Mistral-sliding": ("Mistral", {"sliding_window": 3}),
}


def backbone(family: str) -> Any:
    import keras_hub

    base, extra = VARIANTS.get(family, (family, {}))
    cls = getattr(keras_hub.models, base + "Backbone")
    return cls(vocabulary_size=V, num_layers=LAYERS, hidden_dim=HIDDEN, intermediate_dim=INTERMEDIATE,
               **CONFIGS[base], **extra)


def causal_lm(family: str) -> Any:
    import keras_hub

    base = VARIANTS.get(family, (family, {}))[0]
    return getattr(keras_hub.models, base + "CausalLM")(backbone=backbone(family), preprocessor=None)


def last_logits(lm: Any, length: int | None = None) -> keras.Model:
    """The last position's logits of ``lm`` as a functional model (dict inputs)."""
    inputs = {name: keras.Input((length,), dtype="int32", name=name) for name in ("token_ids", "padding_mask")}
    return keras.Model(inputs, lm(inputs)[:, -1, :])
