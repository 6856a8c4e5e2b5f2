"""Padded tokens get exactly 0 even when no layer of the model masks them (innv_core.tokens).

The models of ``tests/test_tokens.py`` mask the padding inside the network (masked pooling, an
LSTM), so the padded tokens' gradients are 0 already and the zeroing in
``EmbeddingSplit.reduce`` is never exercised. Here the mask is dropped (``Embedding(mask_zero=True)
-> Flatten -> Dense``): the padded positions look up the (non-zero) vector of id 0 and the model
really depends on them, so only innv's zeroing makes them 0.

The oracle is the same linear net written by hand: ``tf.GradientTape`` on the looked-up vectors,
summed over the embedding axis per token (``docs/token-inputs.md``). On a linear net with a bias,
LRP-z and LRP-epsilon equal input x gradient in embedding space.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from innv_core import create_analyzer, get_registry
from innv_core.errors import InvalidParameterError, NotAnalyzableModelError

L = keras.layers
T, V, D, K = 6, 10, 3, 4
DTYPE = "float64"
#: Padding (id 0) at the start, in the middle, at the end, none, and a row of padding only.
IDS = np.array([
    [0, 0, 4, 5, 6, 7],
    [1, 2, 0, 3, 0, 9],
    [8, 1, 2, 3, 0, 0],
    [1, 2, 3, 4, 5, 6],
    [0, 0, 0, 0, 0, 0],
], np.int32)
PADDED = IDS == 0
#: Parameters for the registered analyzers that cannot be created without them.
EXTRA = {
    "lrp": {"rule": "Epsilon"},
    "lrp.alpha_beta": {"alpha": 2, "beta": 1},
    "deep_taylor.bounded": {"low": -3.0, "high": 3.0},
    "lrp.epsilon_gamma_box": {"low": -3.0, "high": 3.0},
    "smoothgrad": {"noise_scale": 0.1, "seed": 0},
}
#: Analyzers that must run on this model (the test fails, not skips, if one of them refuses).
MUST_RUN = {
    "gradient", "gradient.baseline", "input_t_gradient", "integrated_gradients", "smoothgrad",
    "guided_backprop", "deconvnet", "deep_lift.wrapper", "deep_taylor", "lrp.z", "lrp.epsilon",
    "lrp.alpha_2_beta_1", "lrp.epsilon_plus", "pattern.net", "pattern.attribution",
}
#: Analyzers equal to (vector x gradient) summed per token on this linear net; None: the gradient.
GRADIENT_TYPE = {
    "gradient": "gradient", "gradient.baseline": "gradient",
    "input_t_gradient": "input_t_gradient", "lrp.z": "input_t_gradient",
    "lrp.epsilon": "input_t_gradient",
}


#: The all-padding row explains the bias alone; innv warns about it, rightly.
pytestmark = pytest.mark.filterwarnings("ignore:.*exactly zero everywhere:UserWarning")


def _unmasked_model(seed: int = 0, mask_zero: bool = True) -> keras.Model:
    """ids -> Embedding(mask_zero) -> Flatten (drops the mask) -> Dense(K), float64."""
    keras.utils.set_random_seed(seed)
    ids = keras.Input((T,), dtype="int32", name="ids")
    e = L.Embedding(V, D, mask_zero=mask_zero, embeddings_initializer="normal", dtype=DTYPE, name="emb")(ids)
    dense = L.Dense(K, bias_initializer=keras.initializers.RandomNormal(0.0, 0.5), dtype=DTYPE, name="logits")
    return keras.Model(ids, dense(L.Flatten(dtype=DTYPE)(e)))


@pytest.fixture(scope="module")
def model() -> keras.Model:
    import warnings

    with warnings.catch_warnings():  # Flatten warns that it destroys the mask: that is the point
        warnings.simplefilter("ignore", UserWarning)
        m = _unmasked_model()
        m(IDS)
    return m


def _oracle(model: keras.Model) -> tuple[np.ndarray, np.ndarray]:
    """Looked-up vectors (N, T, D) and the gradient of each row's max logit at them (N, T, D)."""
    table = model.get_layer("emb").embeddings
    w, b = model.get_layer("logits").weights
    vectors = tf.gather(table, IDS)
    with tf.GradientTape() as tape:
        tape.watch(vectors)
        logits = tf.reshape(vectors, (len(IDS), T * D)) @ w + b
        target = tf.reduce_max(logits, axis=1)
    np.testing.assert_allclose(logits.numpy(), model(IDS).numpy(), rtol=1e-12)
    return vectors.numpy(), tape.gradient(target, vectors).numpy()


@pytest.fixture(scope="module")
def oracle(model):
    return _oracle(model)


def _create(name: str, model: keras.Model):
    """The analyzer, or a skip when it refuses this model or needs parameters we do not know."""
    kwargs = EXTRA.get(name, {})
    try:
        analyzer = create_analyzer(name, model, **kwargs)
    except NotAnalyzableModelError as error:
        if name in MUST_RUN:
            raise
        pytest.skip(f"{name} refuses the model: {error}")
    except (InvalidParameterError, TypeError) as error:
        if name in MUST_RUN or name in EXTRA:
            raise
        pytest.skip(f"{name} needs parameters: {error}")
    if name.startswith("pattern."):
        analyzer.fit(np.random.default_rng(0).integers(0, V, size=(64, T)).astype(np.int32))
    return analyzer


def test_the_padded_tokens_matter_to_the_model(oracle):
    """The precondition: without innv's zeroing the padded positions would not be 0."""
    vectors, grad = oracle
    assert np.abs(grad.sum(-1)[PADDED]).min() > 1e-3
    assert np.abs((vectors * grad).sum(-1)[PADDED]).min() > 1e-3


@pytest.mark.parametrize("name", get_registry().names("analyzers"))
def test_every_analyzer_gives_exactly_zero_on_padding(model, name):
    analyzer = _create(name, model)
    per_token = analyzer.analyze(IDS)
    per_dimension = analyzer.analyze(IDS, token_reduce=None)
    assert per_token.shape == IDS.shape and per_dimension.shape == (*IDS.shape, D)
    assert np.all(np.isfinite(per_token))
    assert np.all(per_token[PADDED] == 0.0), per_token
    assert np.all(per_dimension[PADDED] == 0.0), per_dimension
    if name != "random":  # random is random per call
        np.testing.assert_allclose(per_dimension.sum(-1), per_token, rtol=1e-10, atol=1e-12)


def test_the_analyzers_that_must_run_are_registered():
    assert MUST_RUN <= set(get_registry().names("analyzers"))


@pytest.mark.parametrize("name", sorted(GRADIENT_TYPE))
def test_gradient_type_analyzers_equal_the_oracle_on_real_tokens(model, oracle, name):
    vectors, grad = oracle
    expected = grad if GRADIENT_TYPE[name] == "gradient" else vectors * grad
    analyzer = create_analyzer(name, model)
    per_dimension = analyzer.analyze(IDS, token_reduce=None)
    per_token = analyzer.analyze(IDS)
    real = ~PADDED
    assert np.abs(expected.sum(-1)[real]).min() > 1e-6  # a non-trivial comparison
    np.testing.assert_allclose(per_token[real], expected.sum(-1)[real], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(per_dimension[real], expected[real], rtol=1e-6, atol=1e-12)
    assert np.all(per_token[PADDED] == 0.0) and np.all(per_dimension[PADDED] == 0.0)


def test_without_mask_zero_id_0_is_a_token_like_any_other():
    """No ``mask_zero``: id 0 is not padding, so it keeps its (non-zero) attribution."""
    model = _unmasked_model(mask_zero=False)
    vectors, grad = _oracle(model)
    for name, expected in (("gradient", grad), ("input_t_gradient", vectors * grad)):
        per_token = create_analyzer(name, model).analyze(IDS)
        assert np.abs(per_token[PADDED]).min() > 1e-3
        np.testing.assert_allclose(per_token, expected.sum(-1), rtol=1e-6, atol=1e-12)
