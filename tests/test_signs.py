"""The sign analysis (innv_core.signs) and the rules' shortcuts for non-negative inputs.

The shortcuts must not change results: each analyzer is compared with the same analyzer whose
sign analysis is switched off (every input treated as signed, all four alpha-beta terms).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import innv_core.reverse as reverse
from innv_core import create_analyzer, hookimpl, registry
from innv_core.graph import trace
from innv_core.rule import Rule
from innv_core.signs import nonnegative_tensors
from innv_plugins.lrp.analyzer import LRP
from innv_plugins.rules.alpha_beta import AlphaBetaRule

L = keras.layers


def relu_cnn(seed: int = 0) -> keras.Model:
    """A residual ReLU CNN with pooling, concatenation and random (non-zero) biases."""
    keras.utils.set_random_seed(seed)
    x = keras.Input((12, 12, 3))
    a = L.Conv2D(6, 3, padding="same", activation="relu")(x)
    b = L.Conv2D(6, 3, padding="same")(a)
    b = L.ReLU()(b)
    h = L.Add()([a, b])
    h = L.MaxPooling2D()(h)
    c = L.Conv2D(4, 1, activation="relu")(h)
    h = L.Concatenate()([h, c])
    h = L.AveragePooling2D(2)(h)
    h = L.Flatten()(h)
    h = L.Dense(10, activation="relu")(h)
    model = keras.Model(x, L.Dense(3)(h))
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(rng.normal(scale=0.2, size=layer.bias.shape))
    return model


def inputs(shape, batch=4, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, *shape)).astype(np.float32)


def layer_input_signs(model, declared=()) -> dict[str, bool]:
    """Layer name -> whether its (first) input is known to be non-negative."""
    graph = trace(model)
    known = nonnegative_tensors(graph, graph.input_ids if declared else ())
    return {node.layer.name: node.input_ids[0] in known for node in graph.nodes}


def test_relu_pooling_add_and_concatenate_keep_non_negativity():
    keras.utils.set_random_seed(0)
    x = keras.Input((8,))
    r = L.Dense(4, activation="relu", name="r")(x)
    t = L.Dense(4, activation="tanh", name="t")(x)
    s = L.Dense(4, activation="sigmoid", name="s")(x)
    signs = {
        "after_relu": L.Dense(2, name="after_relu")(r),
        "after_tanh": L.Dense(2, name="after_tanh")(t),
        "after_add": L.Dense(2, name="after_add")(L.Add()([r, s])),
        "after_subtract": L.Dense(2, name="after_subtract")(L.Subtract()([r, s])),
        "after_mixed_concat": L.Dense(2, name="after_mixed_concat")(L.Concatenate()([r, t])),
        "after_batchnorm": L.Dense(2, name="after_batchnorm")(L.BatchNormalization()(r)),
        "after_leaky": L.Dense(2, name="after_leaky")(L.LeakyReLU()(t)),
        "after_relu_layer": L.Dense(2, name="after_relu_layer")(L.ReLU()(t)),
        "after_product": L.Dense(2, name="after_product")(L.Multiply()([r, s])),
    }
    model = keras.Model(x, list(signs.values()))
    got = layer_input_signs(model)
    expected = {
        "after_relu": True, "after_tanh": False, "after_add": True, "after_subtract": False,
        "after_mixed_concat": False, "after_batchnorm": False, "after_leaky": False,
        "after_relu_layer": True, "after_product": True, "r": False,
    }
    assert {k: got[k] for k in expected} == expected
    assert layer_input_signs(model, declared=True)["r"]


@pytest.fixture
def full_path(monkeypatch):
    """Switch the sign analysis off: every rule takes its full, four-term path."""

    def run(fn):
        with monkeypatch.context() as m:
            m.setattr(reverse, "nonnegative_tensors", lambda graph, declared=(): frozenset())
            return fn()

    return run


@pytest.mark.parametrize("name", [
    "lrp.alpha_2_beta_1", "lrp.alpha_2_beta_1_IB", "lrp.alpha_1_beta_0", "lrp.z_plus",
    "lrp.sequential_preset_b", "lrp.epsilon_alpha_2_beta_1", "deep_taylor", "lrp.epsilon_gamma_box",
])
def test_shortcuts_agree_with_the_full_computation(name, full_path):
    model = relu_cnn()
    x = inputs(model.input_shape[1:])
    kwargs = {"low": -3.0, "high": 3.0} if name == "lrp.epsilon_gamma_box" else {}
    fast = create_analyzer(name, model, **kwargs).analyze(x)
    full = full_path(lambda: create_analyzer(name, model, **kwargs).analyze(x))
    assert np.abs(full).max() > 0
    np.testing.assert_allclose(fast, full, rtol=0, atol=1e-5 * np.abs(full).max())


def test_epsilon_stabilized_alpha_beta_agrees(full_path):
    model = relu_cnn(seed=3)
    x = inputs(model.input_shape[1:], seed=4)
    rule = AlphaBetaRule(alpha=3, beta=2, epsilon=1e-6)
    fast = LRP(model, rule=rule).analyze(x)
    full = full_path(lambda: LRP(model, rule=rule).analyze(x))
    np.testing.assert_allclose(fast, full, rtol=0, atol=1e-5 * np.abs(full).max())


def test_declared_input_range_agrees_on_non_negative_inputs(full_path):
    model = relu_cnn(seed=5)
    x = np.abs(inputs(model.input_shape[1:], seed=6))
    fast = create_analyzer("lrp.alpha_2_beta_1", model, input_range=(0, 10)).analyze(x)
    full = full_path(lambda: create_analyzer("lrp.alpha_2_beta_1", model).analyze(x))
    np.testing.assert_allclose(fast, full, rtol=0, atol=1e-5 * np.abs(full).max())


class _Recording(Rule):
    """A third-party rule that records what the engine tells it about its input's sign."""

    seen: dict[str, bool] = {}

    def apply(self, call, R):
        _Recording.seen[call.layer.name] = call.x_nonnegative
        assert (call.x_negative is None) == call.x_nonnegative
        return call.propagate_own(R)


class _RecordingPlugin:
    @hookimpl
    def innv_register_rules(self, registry):
        registry.add_rule("RecordsSigns", _Recording)


def test_a_third_party_rule_sees_the_signs_and_tanh_keeps_the_full_path():
    keras.utils.set_random_seed(0)
    x = keras.Input((6,))
    h = L.Dense(5, activation="relu", name="first")(x)
    h = L.Dense(5, activation="tanh", name="second")(h)
    model = keras.Model(x, L.Dense(2, name="third")(h))
    plugin = _RecordingPlugin()
    registry.register_plugin(plugin, name="records-signs")
    try:
        _Recording.seen.clear()
        LRP(model, rule="RecordsSigns").analyze(inputs((6,)))
    finally:
        registry.unregister_plugin(plugin)
    assert _Recording.seen == {"first": False, "second": True, "third": False}
