"""Every keras-hub 0.32 text decoder builds from a tiny config, and the generic wrapper of
``docs/generation.md`` gives the causal LM's own last-position logits (the ground the
generation work of issue 25 stands on)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hub_decoders import CONFIGS, VARIANTS, V, causal_lm, last_logits

from innv_plugins.layers.keras_hub import GEMMA_RMS_NORMS, RMS_NORMS

pytest.importorskip("keras_hub")


@pytest.mark.parametrize("family", [*sorted(CONFIGS), *VARIANTS])
def test_wrapper_gives_the_last_positions_logits(family):
    keras.utils.set_random_seed(0)
    lm = causal_lm(family)
    ids = np.array([[0, 0, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6]], "int32")
    inputs = {"token_ids": ids, "padding_mask": (ids != 0).astype("int32")}
    full = np.asarray(lm(inputs))
    assert full.shape == (2, 6, V)
    np.testing.assert_allclose(np.asarray(last_logits(lm)(inputs)), full[:, -1, :], rtol=1e-5, atol=1e-6)


def _head_model(tie_weights=True, logit_soft_cap=None):
    """Token ids -> ReversibleEmbedding -> mean over positions -> the same layer reversed: a
    bias-free linear map of the looked-up vectors (logit_k = mean_t e_t . E_k)."""
    emb = keras.layers.ReversibleEmbedding(12, 5, tie_weights=tie_weights, logit_soft_cap=logit_soft_cap)
    ids = keras.Input((4,), dtype="int32")
    pooled = keras.layers.GlobalAveragePooling1D()(emb(ids))
    return keras.Model(ids, emb(pooled, reverse=True)), emb


@pytest.mark.parametrize("tie_weights", [True, False])
def test_reversible_embedding_head_is_a_dense_layer(tie_weights):
    """LRP-z on a bias-free linear net is input x gradient in embedding space, summed per token,
    and conserves the logit; the head call must be the matrix product, not a second lookup."""
    import tensorflow as tf

    import innv_core

    keras.utils.set_random_seed(1)
    model, emb = _head_model(tie_weights)
    ids = np.array([[1, 2, 3, 4], [5, 5, 6, 7]], "int32")
    target = np.array([3, 8])
    R = innv_core.create_analyzer("lrp.z", model, neuron_selection_mode="index").analyze(ids, neuron_selection=target)
    vectors = tf.gather(emb.embeddings, ids)
    head = tf.transpose(emb.embeddings) if tie_weights else emb.reverse_embeddings
    with tf.GradientTape() as tape:
        tape.watch(vectors)
        logits = tf.reduce_mean(vectors, axis=1) @ head
        chosen = tf.gather(logits, target, batch_dims=1)
    oracle = tf.reduce_sum(vectors * tape.gradient(chosen, vectors), axis=-1).numpy()
    np.testing.assert_allclose(R, oracle, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(R.sum(axis=1), chosen.numpy(), rtol=1e-5)


def test_soft_capped_head_gets_the_identity_rule():
    """Gemma 2/3's ``c * tanh(z / c)`` after the head: LRP passes the capped logit's relevance
    through unchanged (identity rule), so LRP-z is the uncapped oracle scaled by ``y / z`` and
    sums to the capped logit; input x gradient takes the cap's true derivative; the ReLU-only
    analyzers name the soft cap when they refuse. Before, the capped head was refused."""
    import tensorflow as tf

    import innv_core
    from innv_core.errors import NotAnalyzableModelError

    keras.utils.set_random_seed(1)
    cap = 0.5
    model, emb = _head_model(True, logit_soft_cap=cap)
    ids = np.array([[1, 2, 3, 4], [5, 5, 6, 7]], "int32")
    target = np.array([3, 8])
    vectors = tf.gather(emb.embeddings, ids)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(vectors)
        z = tf.gather(tf.reduce_mean(vectors, axis=1) @ tf.transpose(emb.embeddings), target, batch_dims=1)
        y = cap * tf.tanh(z / cap)
    per_token = {name: tf.reduce_sum(vectors * tape.gradient(out, vectors), axis=-1).numpy()
                 for name, out in (("z", z), ("y", y))}
    np.testing.assert_allclose(np.asarray(model(ids))[np.arange(2), target], y.numpy(), rtol=1e-5)
    R = innv_core.create_analyzer("lrp.z", model, neuron_selection_mode="index").analyze(ids, neuron_selection=target)
    np.testing.assert_allclose(R, per_token["z"] * (y / z).numpy()[:, None], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(R.sum(axis=1), y.numpy(), rtol=1e-5)
    G = innv_core.create_analyzer("input_t_gradient", model, neuron_selection_mode="index").analyze(
        ids, neuron_selection=target)
    np.testing.assert_allclose(G, per_token["y"], rtol=1e-5, atol=1e-7)
    with pytest.raises(NotAnalyzableModelError, match="soft_cap"):
        innv_core.create_analyzer("deep_taylor", model)


#: Every decoder: innv has rules for every block of each (docs/generation.md, "What runs today").
RUNNING = (*sorted(CONFIGS), *VARIANTS)


@pytest.mark.parametrize("family,name", [*((f, "lrp.attnlrp") for f in RUNNING),
                                         ("GPT2", "lrp.cp_lrp"), ("GPT2", "input_t_gradient")])
def test_causal_lm_explains_the_next_token(family, name):
    """The generic path of docs/generation.md: per-token relevance for the next token's logit,
    left padding exactly 0, the real tokens not all 0; a dict in gives a dict back."""
    import innv_core

    keras.utils.set_random_seed(0)
    wrapper = last_logits(causal_lm(family))
    ids = np.array([[0, 0, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6]], "int32")
    x = {"token_ids": ids, "padding_mask": (ids != 0).astype("int32")}
    target = np.asarray(wrapper(x)).argmax(axis=1)
    R = innv_core.create_analyzer(name, wrapper, neuron_selection_mode="index").analyze(x, neuron_selection=target)
    assert set(R) == {"token_ids", "padding_mask"}
    R = R["token_ids"]
    assert R.shape == ids.shape and np.isfinite(R).all()
    assert not np.any(R[ids == 0]) and np.all(np.abs(R).sum(axis=1) > 0)


@pytest.mark.parametrize("qualified", [*RMS_NORMS, *GEMMA_RMS_NORMS])
def test_decoder_rms_norms_pass_relevance_through_their_fixed_scaling(qualified):
    """Each decoder RMSNorm, held at its root mean square, is a diagonal scaling: LRP-z of
    ``x -> norm -> Dense(no bias)`` gives input i the relevance ``y_i W_ik`` of its normalised
    value (numpy oracle of RMSNorm), and the handler's linearized map is the layer's output."""
    import importlib

    import innv_core
    from innv_core.registry import get_registry

    module, name = qualified.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    keras.utils.set_random_seed(2)
    norm = cls(epsilon=1e-6)
    x_in = keras.Input((5,))
    dense = keras.layers.Dense(3, use_bias=False)
    model = keras.Model(x_in, dense(norm(x_in)))
    rng = np.random.default_rng(0)
    norm.scale.assign(rng.normal(size=5).astype("float32"))
    x = rng.normal(size=(4, 5)).astype("float32")
    gemma = "gemma" in qualified
    w = norm.scale.numpy() + (1.0 if gemma else 0.0)
    y = x / np.sqrt(np.mean(x ** 2, axis=-1, keepdims=True) + 1e-6) * w
    np.testing.assert_allclose(np.asarray(norm(x)), y, rtol=1e-5, atol=1e-6)
    handler = get_registry().layer_handler(cls)
    np.testing.assert_allclose(np.asarray(handler.linearized(norm, x)), y, rtol=1e-5, atol=1e-6)
    R = innv_core.create_analyzer("lrp.z", model, neuron_selection_mode="index").analyze(x, neuron_selection=1)
    np.testing.assert_allclose(R, y * dense.kernel.numpy()[:, 1], rtol=1e-4, atol=1e-6)


#: GPT-2 adds learned position vectors after the token embedding (its cut point): their share of
#: the relevance stays with them, as in LXT, which reads the relevance at ``inputs_embeds``.
CONSERVING = tuple(f for f in (*sorted(CONFIGS), "Mistral-sliding") if f != "GPT2")


@pytest.mark.parametrize("family", CONSERVING)
def test_cp_lrp_conserves_the_logit_in_every_decoder(family):
    """CP-LRP holds the softmax input, an activated gate (SwiGLU/GeGLU) and therefore the
    router's weights, and the RMS/LayerNorm scale: with every bias zero each decoder is a
    homogeneous linear map of its token vectors, so the tokens' relevance sums to the explained
    logit (the axiom covers RoPE, grouped-query attention, ALiBi, parallel blocks, the experts'
    weighted sum and the tied head at once)."""
    import innv_core

    keras.utils.set_random_seed(0)
    wrapper = last_logits(causal_lm(family))
    for w in wrapper.weights:
        if "bias" in w.path or "beta" in w.path:
            w.assign(np.zeros(w.shape))
    ids = np.array([[0, 0, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6]], "int32")
    x = {"token_ids": ids, "padding_mask": (ids != 0).astype("int32")}
    logits = np.asarray(wrapper(x))
    target = logits.argmax(axis=1)
    R = innv_core.create_analyzer("lrp.cp_lrp", wrapper, neuron_selection_mode="index").analyze(
        x, neuron_selection=target)["token_ids"]
    np.testing.assert_allclose(R.sum(axis=1), logits[np.arange(2), target], rtol=2e-5)
    assert not np.any(R[ids == 0])


@pytest.mark.parametrize("name", ["lrp.attnlrp", "lrp.cp_lrp", "input_t_gradient"])
@pytest.mark.parametrize("family", ["Gemma3-sliding", "Mistral-sliding"])
def test_sliding_windows_give_no_relevance_beyond_the_receptive_field(family, name):
    """Windows of 3 in both layers: the last of 8 positions sees 2 * (3 - 1) = 4 positions back,
    so tokens 0-2 get exactly 0 (the mask, not a small number) and tokens 3-7 do not."""
    import innv_core

    keras.utils.set_random_seed(0)
    wrapper = last_logits(causal_lm(family))
    ids = np.array([[3, 9, 5, 6, 7, 8, 2, 4], [1, 2, 3, 4, 5, 6, 7, 8]], "int32")
    x = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
    target = np.asarray(wrapper(x)).argmax(axis=1)
    R = innv_core.create_analyzer(name, wrapper, neuron_selection_mode="index").analyze(
        x, neuron_selection=target)["token_ids"]
    assert not np.any(R[:, :3]) and np.all(R[:, 3:] != 0)
