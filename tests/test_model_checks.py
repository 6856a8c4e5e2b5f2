"""Model checks: softmax outputs in every disguise, non-ReLU networks, all-zero analyses."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from innv_core import create_analyzer, model_wo_softmax
from innv_core.errors import AnalysisWarning, NotAnalyzableModelError

L = keras.layers


def _body(seed=0):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((4,))
    return inp, L.Dense(5, activation="relu", bias_initializer="ones")(inp)


def _dense_softmax():
    inp, h = _body()
    return keras.Model(inp, L.Dense(3, activation="softmax", name="head")(h))


def _activation_softmax():
    inp, h = _body()
    return keras.Model(inp, L.Activation("softmax", name="sm")(L.Dense(3, name="logits")(h)))


def _softmax_layer():
    inp, h = _body()
    return keras.Model(inp, L.Softmax(name="sm")(L.Dense(3, name="logits")(h)))


def _softmax_then_identities():
    inp, h = _body()
    y = L.Dense(3, activation="softmax", name="head")(h)
    y = L.ActivityRegularization(name="reg")(L.GaussianNoise(0.1, name="noise")(L.Dropout(0.5, name="drop")(y)))
    return keras.Model(inp, y)


def _nested_softmax():
    inp, h = _body()
    head = keras.Sequential([keras.Input((5,)), L.Dense(3, name="logits"), L.Softmax(name="sm")], name="head")
    return keras.Model(inp, head(h))


def _ops_softmax():
    inp, h = _body()
    return keras.Model(inp, keras.ops.softmax(L.Dense(3, name="logits")(h)))


def _lambda_then_softmax():
    inp, h = _body()
    h = L.Lambda(lambda t: 2.0 * t, name="double")(h)
    return keras.Model(inp, L.Dense(3, activation="softmax", name="head")(h))


SOFTMAX_MODELS = {
    "dense_activation": _dense_softmax,
    "activation_layer": _activation_softmax,
    "softmax_layer": _softmax_layer,
    "behind_identity_layers": _softmax_then_identities,
    "nested_model": _nested_softmax,
    "lambda_in_model": _lambda_then_softmax,
}


def _logits(model, x):
    """The pre-softmax values, computed independently: log of the probabilities, centred."""
    p = np.asarray(model(x, training=False), np.float64)
    return np.log(p) - np.log(p).mean(axis=1, keepdims=True)


@pytest.mark.parametrize("kind", sorted(SOFTMAX_MODELS))
def test_softmax_is_refused_and_stripped(kind):
    model = SOFTMAX_MODELS[kind]()
    allow = {"allow_lambda_layers": True} if kind == "lambda_in_model" else {}
    for name in ("gradient", "lrp.epsilon"):
        with pytest.raises(NotAnalyzableModelError, match="softmax"):
            create_analyzer(name, model, **allow)
    stripped = model_wo_softmax(model)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    z = np.asarray(stripped(x, training=False), np.float64)
    # softmax(z) = p  <=>  z = log p + const per sample
    np.testing.assert_allclose(z - z.mean(axis=1, keepdims=True), _logits(model, x), rtol=1e-4, atol=1e-5)
    out = create_analyzer("lrp.epsilon", stripped, **allow).analyze(x)
    assert out.shape == x.shape and np.abs(out).sum() > 0
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(model(x)))  # the original is untouched
    assert np.allclose(np.asarray(model(x)).sum(1), 1.0)


def test_ops_softmax_is_refused():
    with pytest.raises(NotAnalyzableModelError, match="softmax"):
        create_analyzer("gradient", _ops_softmax())


def test_model_without_softmax_is_returned_unchanged():
    inp, h = _body()
    model = keras.Model(inp, L.Dense(3)(h))
    assert model_wo_softmax(model) is model


def _tanh_net():
    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    return keras.Model(inp, L.Dense(3)(L.Dense(5, activation="tanh", name="hidden")(inp)))


@pytest.mark.parametrize("names", [("deep_taylor", "deep_taylor.bounded"), ("pattern.net", "pattern.attribution")])
def test_relu_methods_refuse_non_relu_networks(names):
    for name in names:
        kwargs = {"low": -1, "high": 1} if name.endswith("bounded") else {}
        with pytest.raises(NotAnalyzableModelError, match=r"ReLU networks only.*tanh \(hidden\)"):
            create_analyzer(name, _tanh_net(), **kwargs)
        create_analyzer(name, _tanh_net(), disable_model_checks=True, **kwargs)  # the way out works
    inp, h = _body()
    leaky = keras.Model(inp, L.Dense(2)(L.LeakyReLU(name="leaky")(h)))
    with pytest.raises(NotAnalyzableModelError, match="leaky"):
        create_analyzer(names[0], leaky)
    create_analyzer(names[0], keras.Model(inp, L.Dense(2)(h)))  # ReLU only: accepted


@pytest.mark.parametrize("name", ["guided_backprop", "deconvnet"])
def test_guided_and_deconvnet_warn_without_relus(name):
    model = _tanh_net()
    with pytest.warns(AnalysisWarning, match="has none: the analysis equals the plain gradient"):
        analyzer = create_analyzer(name, model)
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    np.testing.assert_allclose(analyzer.analyze(x), create_analyzer("gradient", model).analyze(x), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AnalysisWarning)
        inp, h = _body()
        create_analyzer(name, keras.Model(inp, L.Dense(2)(h)))  # has a ReLU: no warning


def _tiny_logit_cnn():
    """Like MobileNetV2 with fresh weights: logits far below epsilon = 1e-7, relevance underflows."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 2))
    h = L.Flatten()(L.Conv2D(4, 3, activation="relu")(inp))
    for _ in range(6):
        h = L.Dense(8, activation="relu", bias_initializer="zeros")(h)
    model = keras.Model(inp, L.Dense(3)(h))
    model.set_weights([w * 0.01 for w in model.get_weights()])
    return model


def test_all_zero_epsilon_analysis_warns_with_the_cause():
    model = _tiny_logit_cnn()
    x = np.abs(np.random.default_rng(0).normal(size=(2, 6, 6, 2))).astype(np.float32)
    logits = np.asarray(model(x))
    assert 0 < np.abs(logits).max() < 1e-12
    analyzer = create_analyzer("lrp.epsilon", model)
    with pytest.warns(AnalysisWarning, match=r"exactly zero.*epsilon=1e-07 is larger than the pre-activations"):
        out = analyzer.analyze(x)
    assert not out.any()
    with warnings.catch_warnings():  # once per analyzer
        warnings.simplefilter("error", AnalysisWarning)
        analyzer.analyze(x)
    smaller = create_analyzer("lrp.epsilon", model, epsilon=1e-30).analyze(x)
    np.testing.assert_allclose(smaller.reshape(2, -1).sum(1), logits.max(1), rtol=1e-4)  # no biases: conserved


def test_zero_input_warning_names_the_input():
    inp, h = _body()
    model = keras.Model(inp, L.Dense(2, bias_initializer="ones")(h))
    with pytest.warns(AnalysisWarning, match="input itself is all zero"):
        create_analyzer("lrp.z", model).analyze(np.zeros((1, 4), np.float32))


def test_unknown_layers_are_listed_once_and_warned_when_checks_are_off():
    """A Keras layer without a handler (subclassed layers of others are opened instead)."""
    inp, h = _body()
    h = L.SpectralNormalization(L.Dense(4), name="double_a")(h)
    h = L.SpectralNormalization(L.Dense(4), name="double_b")(h)
    model = keras.Model(inp, L.Dense(2)(h))
    with pytest.raises(NotAnalyzableModelError, match=r"2 layer\(s\) of 1 class\(es\).*SpectralNormalization x2 \(double_a, double_b\)"):
        create_analyzer("lrp.epsilon", model)
    with pytest.warns(AnalysisWarning, match=r"SpectralNormalization x2.*not be conserved"):
        analyzer = create_analyzer("lrp.epsilon", model, disable_model_checks=True)
    x = np.ones((1, 4), np.float32)
    assert np.isfinite(analyzer.analyze(x)).all()
