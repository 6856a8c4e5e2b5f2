"""Token inputs: every analyzer attributes ids in embedding space (innv_core.tokens).

The oracle is the model written out by hand in TensorFlow (lookup, masked mean, two Dense
layers): its gradient with respect to the looked-up vectors, taken with ``tf.GradientTape``.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from innv_core import create_analyzer
from innv_core.errors import InvalidInputError, InvalidParameterError

L = keras.layers
T, D, VOCAB = 6, 4, 12
IDS = np.array([[1, 2, 3, 4, 0, 0], [5, 6, 7, 8, 9, 10], [11, 3, 0, 0, 0, 0]], np.int32)
EVERY_ANALYZER = [
    ("gradient", {}), ("gradient.baseline", {}), ("input_t_gradient", {}), ("guided_backprop", {}),
    ("deconvnet", {}), ("smoothgrad", {"noise_scale": 0.05, "seed": 0}),
    ("integrated_gradients", {"steps": 8}), ("lrp.z", {}), ("lrp.epsilon", {}),
    ("lrp.alpha_2_beta_1", {}), ("lrp.epsilon_plus", {}), ("deep_taylor", {}),
    ("deep_lift.wrapper", {}), ("deep_lift.wrapper", {"nonlinear_mode": "reveal_cancel"}),
]


def _bagged_model(seed: int = 0) -> keras.Model:
    """ids -> Embedding(mask_zero) -> Dense(relu) -> masked mean over tokens -> Dense(3)."""
    keras.utils.set_random_seed(seed)
    ids = keras.Input((T,), dtype="int32", name="ids")
    e = L.Embedding(VOCAB, D, mask_zero=True, embeddings_initializer="normal", name="emb")(ids)
    h = L.Dense(8, activation="relu", name="hidden")(e)
    h = L.GlobalAveragePooling1D(name="pool")(h)
    return keras.Model(ids, L.Dense(3, name="logits")(h))


def _by_hand(model: keras.Model, ids: np.ndarray, vectors: tf.Tensor) -> tf.Tensor:
    """The model's logits with the looked-up ``vectors`` given: the oracle's forward pass."""
    w1, b1 = model.get_layer("hidden").weights
    w2, b2 = model.get_layer("logits").weights
    mask = tf.cast(ids != 0, vectors.dtype)[..., None]
    h = tf.nn.relu(vectors @ w1 + b1)
    pooled = tf.reduce_sum(h * mask, 1) / tf.reduce_sum(mask, 1)
    return pooled @ w2 + b2


def _oracle(model: keras.Model, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Looked-up vectors, logits, and the gradient of each sample's max logit w.r.t. the vectors."""
    vectors = tf.gather(model.get_layer("emb").embeddings, ids)
    with tf.GradientTape() as tape:
        tape.watch(vectors)
        y = _by_hand(model, ids, vectors)
        target = tf.reduce_max(y, axis=1)
    return vectors.numpy(), y.numpy(), tape.gradient(target, vectors).numpy()


@pytest.fixture(scope="module")
def bagged():
    model = _bagged_model()
    return model, _oracle(model, IDS)


def test_the_oracle_is_the_model(bagged):
    model, (_, y, _) = bagged
    np.testing.assert_allclose(y, model(IDS).numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["gradient", "gradient.baseline"])
def test_gradient_is_the_embedding_gradient_summed_per_token(bagged, name):
    model, (_, _, grad) = bagged
    analyzer = create_analyzer(name, model)
    np.testing.assert_allclose(analyzer.analyze(IDS), grad.sum(-1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(analyzer.analyze(IDS, token_reduce=None), grad, rtol=1e-5, atol=1e-7)


def test_input_times_gradient_and_lrp_z_are_vectors_times_gradient(bagged):
    model, (vectors, y, grad) = bagged
    expected = (vectors * grad).sum(-1)
    for name in ("input_t_gradient", "lrp.z"):
        np.testing.assert_allclose(create_analyzer(name, model).analyze(IDS), expected, rtol=1e-4, atol=1e-7)
    # a ReLU net without biases is positively homogeneous: the tokens' relevance sums to the logit
    np.testing.assert_allclose(expected.sum(1), y.max(1), rtol=1e-4)


@pytest.mark.parametrize("name,kwargs", EVERY_ANALYZER)
def test_every_analyzer_gives_one_value_per_token_and_zero_on_padding(bagged, name, kwargs):
    model, _ = bagged
    a = create_analyzer(name, model, **kwargs).analyze(IDS)
    assert a.shape == IDS.shape and a.dtype == np.float32
    assert np.all(np.isfinite(a))
    assert np.all(a[IDS == 0] == 0.0)
    assert np.abs(a[IDS != 0]).max() > 0


def test_integrated_gradients_is_complete_in_embedding_space(bagged):
    model, (vectors, y, _) = bagged
    rows = np.arange(len(IDS))
    top = y.argmax(1)
    for token in (None, 3):
        ref = np.zeros_like(vectors) if token is None else np.broadcast_to(
            model.get_layer("emb").embeddings.numpy()[token], vectors.shape)
        f_ref = _by_hand(model, IDS, tf.constant(ref)).numpy()[rows, top]
        a = create_analyzer("integrated_gradients", model, steps=512, reference_token=token).analyze(IDS)
        np.testing.assert_allclose(a.sum(1), y.max(1) - f_ref, rtol=2e-3, atol=1e-6)


def test_deeplift_sums_to_delta_from_the_reference_token(bagged):
    model, (vectors, y, _) = bagged
    emb = model.get_layer("emb").embeddings.numpy()
    rows, top = np.arange(len(IDS)), y.argmax(1)
    for token in (None, 5):
        ref = np.zeros_like(vectors) if token is None else np.broadcast_to(emb[token], vectors.shape)
        f_ref = _by_hand(model, IDS, tf.constant(ref)).numpy()[rows, top]
        a = create_analyzer("deep_lift.wrapper", model, reference_token=token).analyze(IDS)
        np.testing.assert_allclose(a.sum(1), y.max(1) - f_ref, rtol=1e-4, atol=1e-6)


def test_smoothgrad_without_noise_is_the_gradient(bagged):
    model, (_, _, grad) = bagged
    a = create_analyzer("smoothgrad", model, noise_scale=0.0, augment_by_n=3).analyze(IDS)
    np.testing.assert_allclose(a, grad.sum(-1), rtol=1e-5, atol=1e-7)


def test_masks_reach_a_recurrent_layer_through_the_cut():
    """An LSTM skips masked steps: IG sums to the model's own f(x) - f(reference), padding gets 0.

    The reference (zero vectors, same padding) is evaluated by the Keras model itself: token
    ``VOCAB`` is given a zero vector and put at every non-padded position.
    """
    keras.utils.set_random_seed(1)
    ids = keras.Input((T,), dtype="int32")
    embedding = L.Embedding(VOCAB + 1, D, mask_zero=True)
    model = keras.Model(ids, L.Dense(2)(L.LSTM(5)(embedding(ids))))
    table = embedding.embeddings.numpy()
    table[VOCAB] = 0.0
    embedding.embeddings.assign(table)
    x = IDS
    x_ref = np.where(IDS == 0, 0, VOCAB).astype(np.int32)
    delta = model(x).numpy()[:, 0] - model(x_ref).numpy()[:, 0]
    analyzer = create_analyzer("integrated_gradients", model, steps=256, neuron_selection_mode="index")
    a = analyzer.analyze(x, neuron_selection=0)
    np.testing.assert_allclose(a.sum(1), delta, rtol=5e-3, atol=1e-6)
    assert np.all(a[IDS == 0] == 0.0)
    gradient = create_analyzer("gradient", model).analyze(IDS)
    assert np.all(gradient[IDS == 0] == 0.0) and np.abs(gradient).max() > 0


def test_a_model_with_token_and_float_inputs_gets_one_array_per_input():
    keras.utils.set_random_seed(2)
    ids = keras.Input((T,), dtype="int32", name="ids")
    extra = keras.Input((3,), name="extra")
    pooled = L.GlobalAveragePooling1D()(L.Embedding(VOCAB, D)(ids))
    model = keras.Model([ids, extra], L.Dense(2)(L.Concatenate()([pooled, extra])))
    x = [IDS, np.random.default_rng(0).normal(size=(3, 3)).astype(np.float32)]
    for name in ("input_t_gradient", "integrated_gradients", "lrp.epsilon"):
        a_ids, a_extra = create_analyzer(name, model).analyze(x)
        assert a_ids.shape == IDS.shape and a_extra.shape == (3, 3)
        # a linear model: the attributions sum to the logit (IG from zero embeddings and zeros)
        np.testing.assert_allclose(a_ids.sum(1) + a_extra.sum(1), model(x).numpy().max(1), rtol=1e-3)


def test_token_reduce_must_be_sum_or_none(bagged):
    model, _ = bagged
    with pytest.raises(InvalidInputError, match="token_reduce must be 'sum'"):
        create_analyzer("gradient", model).analyze(IDS, token_reduce="mean")


def test_reference_token_must_be_a_token_id(bagged):
    model, _ = bagged
    with pytest.raises(InvalidParameterError, match="reference_token"):
        create_analyzer("integrated_gradients", model, reference_token=-1)


def test_a_distribution_strategy_gives_the_same_token_analysis(bagged):
    model, _ = bagged
    analyzer = create_analyzer("lrp.epsilon", model)
    np.testing.assert_allclose(analyzer.analyze(IDS, strategy=tf.distribute.get_strategy()),
                               analyzer.analyze(IDS), rtol=1e-6)


@pytest.mark.parametrize("name", ["pattern.net", "pattern.attribution"])
def test_patterns_are_fitted_in_embedding_space(bagged, name):
    model, _ = bagged
    analyzer = create_analyzer(name, model)
    analyzer.fit(IDS)
    a = analyzer.analyze(IDS)
    assert a.shape == IDS.shape and np.all(np.isfinite(a)) and np.all(a[IDS == 0] == 0.0)


def test_a_two_input_attention_model_is_complete_for_the_gradient_family():
    """token_ids + padding_mask into MultiHeadAttention: IG and DeepLIFT sum to the Keras model's
    own f(x) - f(reference); the reference is a spare token with a zero vector at every position."""
    keras.utils.set_random_seed(3)
    ids = keras.Input((8,), dtype="int32", name="token_ids")
    pad = keras.Input((8,), dtype="int32", name="padding_mask")
    embedding = L.Embedding(VOCAB + 1, 16)
    e = embedding(ids)
    h = L.MultiHeadAttention(2, 8)(e, e, attention_mask=keras.ops.cast(pad[:, None, :], "bool"))
    h = L.LayerNormalization()(h + e)
    model = keras.Model([ids, pad], L.Dense(3)(L.GlobalAveragePooling1D()(h)))
    table = embedding.embeddings.numpy()
    table[VOCAB] = 0.0
    embedding.embeddings.assign(table)
    tokens = np.array([[1, 2, 3, 4, 5, 0, 0, 0], [6, 7, 8, 9, 1, 2, 3, 4]], np.int32)
    mask = (np.arange(8)[None] < np.array([[5], [8]])).astype(np.int32)
    y = model([tokens, mask]).numpy()
    top = y.argmax(1)
    f_ref = model([np.full_like(tokens, VOCAB), mask]).numpy()[np.arange(2), top]
    for name, kwargs in [("integrated_gradients", {"steps": 256}), ("deep_lift.wrapper", {})]:
        a_ids, a_mask = create_analyzer(name, model, **kwargs).analyze([tokens, mask])
        assert a_ids.shape == tokens.shape and np.all(a_mask == 0.0)
        np.testing.assert_allclose(a_ids.sum(1), y.max(1) - f_ref, rtol=5e-3, atol=1e-5)
