"""LRP and DeepTaylor: closed forms, conservation, rule maps, edge cases, plugin rules and layers."""

from __future__ import annotations

import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import random_inputs, residual_model, sequential_cnn

from innv_core import NotAnalyzableModelError, create_analyzer, hookimpl, registry
from innv_core.layers import KERNEL, LayerHandler
from innv_core.rule import Rule, Term
from innv_plugins.lrp.analyzer import LRP

ALL_LRP = [
    "lrp.z", "lrp.z_IB", "lrp.epsilon", "lrp.epsilon_IB", "lrp.w_square", "lrp.flat",
    "lrp.alpha_2_beta_1", "lrp.alpha_2_beta_1_IB", "lrp.alpha_1_beta_0", "lrp.alpha_1_beta_0_IB",
    "lrp.z_plus", "lrp.z_plus_fast", "lrp.sequential_preset_a", "lrp.sequential_preset_b",
    "lrp.sequential_preset_a_flat", "lrp.sequential_preset_b_flat", "deep_taylor",
]


def no_bias(model):
    """The same model with every bias set to zero."""
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(tf.zeros_like(layer.bias))
    return model


def per_sample_sum(a):
    return a.reshape(len(a), -1).sum(axis=1)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("build", [sequential_cnn, residual_model])
def test_lrp_z_equals_input_times_gradient(build, bias):
    model = build(dtype="float64")
    if not bias:
        no_bias(model)
    x = random_inputs(model, batch=4)
    # the identity holds when every linear map, BatchNorm included, gets the z-rule (by default
    # BatchNorm passes relevance, and its shift then takes no share)
    z = create_analyzer("lrp.z", model, bn_layer_rule="Z").analyze(x)
    expected = create_analyzer("input_t_gradient", model).analyze(x)
    np.testing.assert_allclose(z, expected, rtol=1e-8, atol=1e-14)
    fused = create_analyzer("lrp.z", model, fuse_batchnorm=True).analyze(x)
    np.testing.assert_allclose(fused, expected, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(create_analyzer("lrp.z_baseline", model).analyze(x), expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["lrp.z_IB", "lrp.alpha_1_beta_0", "lrp.alpha_1_beta_0_IB", "lrp.z_plus",
                                  "lrp.z", "lrp.epsilon_IB", "deep_taylor"])
def test_conservation_on_bias_free_relu_net(name):
    model = no_bias(sequential_cnn(dtype="float64"))
    x = np.abs(random_inputs(model, batch=5))  # non-negative inputs: z+ family conserves
    if name == "lrp.epsilon_IB":
        analyzer = create_analyzer(name, model, epsilon=1e-12, neuron_selection_mode="index")
    else:
        analyzer = create_analyzer(name, model, neuron_selection_mode="index")
    relevance = analyzer.analyze(x, neuron_selection=3)
    output = model(x).numpy()[:, 3]
    assert np.all(output > 0)  # the z+ family only conserves positive starting relevance
    np.testing.assert_allclose(per_sample_sum(relevance), output, rtol=1e-4)


def test_alpha_beta_conserves_when_every_neuron_has_both_signs():
    keras.utils.set_random_seed(3)
    inp = keras.Input((40,), dtype="float64")
    h = keras.layers.Dense(30, activation="relu", use_bias=False, dtype="float64")(inp)
    out = keras.layers.Dense(4, use_bias=False, dtype="float64")(h)
    model = keras.Model(inp, out)
    x = np.random.default_rng(0).normal(size=(6, 40))
    relevance = create_analyzer("lrp.alpha_2_beta_1", model).analyze(x)
    np.testing.assert_allclose(per_sample_sum(relevance), model(x).numpy().max(axis=1), rtol=1e-4)
    alpha_beta = create_analyzer("lrp.alpha_beta", model, alpha=3, beta=2).analyze(x)
    np.testing.assert_allclose(per_sample_sum(alpha_beta), model(x).numpy().max(axis=1), rtol=1e-4)


def test_alpha_beta_parameters_are_checked():
    model = sequential_cnn()
    with pytest.raises(ValueError, match="alpha - beta = 1"):
        create_analyzer("lrp.alpha_beta", model, alpha=2, beta=2)
    with pytest.raises(ValueError, match="needs alpha and beta"):
        create_analyzer("lrp.alpha_beta", model)
    with pytest.raises(ValueError, match="LRP needs a rule"):
        create_analyzer("lrp", model)
    with pytest.raises(ValueError, match="input range"):
        create_analyzer("deep_taylor.bounded", model)


def _rule_names(analyzer):
    return {layer: type(rule).__name__ for layer, rule in analyzer.rules.items()}


def test_preset_rule_maps():
    model = sequential_cnn()
    conv1, conv2, dense1, dense2 = [layer.name for layer in model.layers if hasattr(layer, "kernel")]
    a = create_analyzer("lrp.sequential_preset_a", model)
    assert _rule_names(a) == {conv1: "Alpha1Beta0Rule", conv2: "Alpha1Beta0Rule",
                              dense1: "EpsilonRule", dense2: "EpsilonRule"}
    assert a.rules[dense1].epsilon == 0.1
    b = create_analyzer("lrp.sequential_preset_b", model, epsilon=0.5)
    assert _rule_names(b)[conv1] == "Alpha2Beta1Rule" and b.rules[dense2].epsilon == 0.5
    assert _rule_names(create_analyzer("lrp.sequential_preset_a_flat", model))[conv1] == "FlatRule"
    assert _rule_names(create_analyzer("lrp.sequential_preset_b_flat", model))[conv2] == "Alpha2Beta1Rule"
    # layers count in execution order: conv1 0, maxpool 1, conv2 2, avgpool 3, flatten 4, dense1 5
    until = _rule_names(create_analyzer("lrp.sequential_preset_b_flat_until_idx", model, until_layer_idx=2))
    assert until == {conv1: "FlatRule", conv2: "FlatRule", dense1: "EpsilonRule", dense2: "EpsilonRule"}
    until = _rule_names(create_analyzer("lrp.sequential_preset_b_flat_until_idx", model, until_layer_idx=5))
    assert until == {conv1: "FlatRule", conv2: "FlatRule", dense1: "FlatRule", dense2: "EpsilonRule"}
    dt = _rule_names(create_analyzer("deep_taylor", model))
    assert dt == {conv1: "ZPlusRule", conv2: "ZPlusRule", dense1: "ZPlusRule", dense2: "ZPlusRule"}
    paper = _rule_names(create_analyzer("deep_taylor", model, input_layer_rule="WSquare"))
    assert paper[conv1] == "WSquareRule"
    bounded = create_analyzer("deep_taylor.bounded", model, low=-1, high=2)
    assert (bounded.rules[conv1].low, bounded.rules[conv1].high) == (-1, 2)


def test_rule_lists_conditions_and_input_layer_rule():
    model = sequential_cnn()
    names = [layer.name for layer in model.layers if hasattr(layer, "kernel")]
    listed = LRP(model, rule=["Flat", "Z", "Epsilon", "ZPlus"])
    assert list(_rule_names(listed).values()) == ["FlatRule", "ZRule", "EpsilonRule", "ZPlusRule"]
    with pytest.raises(ValueError, match="one rule per kernel layer.*4"):
        LRP(model, rule=["Flat", "Z"])
    conditional = LRP(model, rule=[(lambda l: isinstance(l, keras.layers.Conv2D), "Flat"), (lambda l: True, "Z")],
                      input_layer_rule=(-2, 2))
    assert _rule_names(conditional) == {names[0]: "BoundedRule", names[1]: "FlatRule",
                                        names[2]: "ZRule", names[3]: "ZRule"}
    with pytest.raises(KeyError, match="Did you mean 'Epsilon'"):
        LRP(model, rule="Epsilom")


# analyzers whose rule at the first kernel layer ignores the input values (flat, w², z^B)
INPUT_FREE_FIRST_LAYER = {"lrp.w_square", "lrp.flat", "lrp.sequential_preset_a_flat", "lrp.sequential_preset_b_flat"}


@pytest.mark.parametrize("build", [sequential_cnn, residual_model])
def test_zero_inputs_and_dead_relus(build):
    """Degenerate inputs: no NaN from 0/0, and the first layer's rule still holds exactly.

    Zero input: a rule that splits by the contributions ``x_i w_ij`` gives exactly 0 (every
    contribution is 0); a rule that ignores the input values (flat, w², z^B) passes on exactly
    what reaches the first layer (it conserves and drops the bias). Dead ReLUs: LRP-z is still
    input x gradient (no relevance reaches a silent unit, none is created by a 0/0).
    """
    model = build()  # float32, the dtype where 0/0 and overflow would show first
    zeros = np.zeros((2, 8, 8, 3), np.float32)
    dead = -10 * np.abs(random_inputs(model, batch=2))  # drives most first-layer ReLUs dead
    # keep the reversed tensors only where the first layer's input is needed
    analyzers = [(name, create_analyzer(name, model, reverse_keep_tensors=name in INPUT_FREE_FIRST_LAYER))
                 for name in ALL_LRP]
    analyzers.append(("deep_taylor.bounded",
                      create_analyzer("deep_taylor.bounded", model, low=-1, high=1, reverse_keep_tensors=True)))
    eps32 = np.finfo(np.float32).eps
    for name, analyzer in analyzers:
        for x in (zeros, dead):
            out = analyzer.analyze(x)
            assert out.shape == x.shape and np.isfinite(out).all(), name
        out = analyzer.analyze(zeros)
        if name in INPUT_FREE_FIRST_LAYER or name == "deep_taylor.bounded":
            # node 1 consumes the first conv's output: the relevance that reached that layer
            reaching = per_sample_sum(analyzer._reversed_tensors[1][2][0])
            assert np.all(np.abs(reaching) > 0), name
            # float32 sums over 192 input values of 3x3x4 shares each (random-walk rounding)
            atol = 4 * eps32 * np.sqrt(192 * 36) * per_sample_sum(np.abs(out)).max()
            np.testing.assert_allclose(per_sample_sum(out), reaching, rtol=0, atol=atol, err_msg=name)
        else:
            np.testing.assert_array_equal(out, 0.0, err_msg=name)
    ixg = create_analyzer("input_t_gradient", model).analyze(dead)
    # the same products in another order: <= 128 per value along the backward pass
    atol = 4 * eps32 * np.sqrt(128) * np.abs(ixg).max()
    z = create_analyzer("lrp.z", model, bn_layer_rule="Z")  # every linear map by the z-rule
    np.testing.assert_allclose(z.analyze(dead), ixg, rtol=0, atol=atol)


def test_rules_reuse_forward_pre_activation():
    """Epsilon with bias needs no recomputation of z; it gives the same as recomputing it."""
    model = residual_model(dtype="float64")
    x = random_inputs(model, batch=2)
    eps = create_analyzer("lrp.epsilon", model, epsilon=0.01).analyze(x)

    class RecomputingEpsilon(Rule):
        def apply(self, call, R):
            return call.propagate(R, [Term(call.x, call.weights())], lambda z: z + 0.01 * (2.0 * tf.cast(z >= 0, z.dtype) - 1.0))

    np.testing.assert_allclose(LRP(model, rule=RecomputingEpsilon()).analyze(x), eps, rtol=1e-10)


class GammaRule(Rule):
    """A third-party rule: ``w + gamma * w+``."""

    def __init__(self, gamma: float = 0.25):
        self.gamma = gamma

    def apply(self, call, R):
        weights = call.map_kernels(lambda k: k + self.gamma * tf.nn.relu(k), bias=lambda b: b + self.gamma * tf.nn.relu(b))
        return call.propagate(R, [Term(call.x, weights)])


@keras.saving.register_keras_serializable(package="innv_tests")
class ScaledDense(keras.layers.Layer):
    """A custom kernel layer: ``activation(scale * x @ w + b)``."""

    def __init__(self, units, scale=2.0, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale = units, scale
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
        self.b = self.add_weight(shape=(self.units,), name="b", initializer="random_normal")

    def call(self, x):
        return self.activation(self.scale * x @ self.w + self.b)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "scale": self.scale,
                "activation": keras.activations.serialize(self.activation)}


@pytest.fixture
def plugin_guard():
    plugins = []
    yield plugins.append
    for plugin in plugins:
        registry.unregister_plugin(plugin)


def test_third_party_rule_usable_by_name(plugin_guard):
    plugin = types.SimpleNamespace(innv_register_rules=hookimpl(lambda registry: registry.add_rule("ThirdPartyGamma", GammaRule)))
    registry.register_plugin(plugin, name="gamma_rule_plugin")
    plugin_guard(plugin)
    model = sequential_cnn(dtype="float64")
    x = random_inputs(model)
    by_name = LRP(model, rule="ThirdPartyGamma").analyze(x)
    np.testing.assert_array_equal(by_name, LRP(model, rule=GammaRule()).analyze(x))  # the default gamma
    np.testing.assert_allclose(LRP(model, rule=GammaRule(gamma=0.0)).analyze(x),
                               create_analyzer("lrp.z", model).analyze(x), rtol=1e-10)
    mixed = LRP(model, rule=[(lambda l: isinstance(l, keras.layers.Conv2D), "ThirdPartyGamma"), (lambda l: True, "Epsilon")])
    assert type(mixed.rules[model.layers[0].name]) is GammaRule
    assert registry.get_registry().entries("rules")["ThirdPartyGamma"].plugin == "gamma_rule_plugin"


def test_custom_layer_taught_through_register_layers(plugin_guard):
    keras.utils.set_random_seed(0)
    inp = keras.Input((5,), dtype="float64")
    h = ScaledDense(4, scale=2.0, activation="relu", dtype="float64")(inp)
    model = keras.Model(inp, keras.layers.Dense(2, dtype="float64")(h))
    x = np.random.default_rng(1).normal(size=(3, 5))
    with pytest.raises(NotAnalyzableModelError, match="ScaledDense.*innv_register_layers"):
        create_analyzer("lrp.epsilon", model)

    def linear(layer, x, weights):
        return layer.scale * x @ weights["w"] + weights["b"]

    handler = LayerHandler(KERNEL, kernels=("w",), bias="b", linear=linear)
    plugin = types.SimpleNamespace(innv_register_layers=hookimpl(lambda registry: registry.add_layer(ScaledDense, handler)))
    registry.register_plugin(plugin, name="scaled_dense_plugin")
    plugin_guard(plugin)
    z = create_analyzer("lrp.z", model).analyze(x)
    np.testing.assert_allclose(z, create_analyzer("input_t_gradient", model).analyze(x), rtol=1e-10)
    # the same numbers as an equivalent built-in Dense model, for a rule that rewrites weights
    twin_in = keras.Input((5,), dtype="float64")
    d1 = keras.layers.Dense(4, activation="relu", dtype="float64")
    d2 = keras.layers.Dense(2, dtype="float64")
    twin = keras.Model(twin_in, d2(d1(twin_in)))
    sd = model.layers[1]
    d1.set_weights([2.0 * sd.w.numpy(), sd.b.numpy()])
    d2.set_weights(model.layers[2].get_weights())
    for name in ("lrp.alpha_2_beta_1", "lrp.epsilon", "lrp.z_plus"):
        np.testing.assert_allclose(create_analyzer(name, model).analyze(x), create_analyzer(name, twin).analyze(x),
                                   rtol=1e-9, err_msg=name)


def test_batchnorm_rule_and_fusion():
    model = residual_model(dtype="float64")
    x = random_inputs(model, batch=2)
    # by default a BatchNorm after a conv is folded into it (Zennit's canonizer)
    default = LRP(model, rule="Epsilon")
    assert "bn" not in default.rules and "c1_bn_fused" in default.rules
    np.testing.assert_allclose(default.analyze(x), LRP(model, rule="Epsilon", fuse_batchnorm=True).analyze(x),
                               rtol=1e-12)
    # unfused and without a rule, it passes relevance on

    class PassOn(Rule):
        def apply(self, call, R):
            return R

    passing = LRP(model, rule="Epsilon", fuse_batchnorm=False)
    assert "bn" not in passing.rules
    np.testing.assert_allclose(passing.analyze(x), LRP(model, rule="Epsilon", bn_layer_rule=PassOn()).analyze(x),
                               rtol=1e-12)
    # a bn_layer_rule keeps BatchNorm a layer of its own; "innvestigate": the model's rule
    same = LRP(model, rule="Epsilon", bn_layer_rule="Epsilon").analyze(x)
    np.testing.assert_allclose(LRP(model, rule="Epsilon", bn_layer_rule="innvestigate").analyze(x), same, rtol=1e-12)
    assert not np.allclose(same, passing.analyze(x))  # the shift takes a share under a rule
    listed = LRP(model, rule=["Z", "Flat", "Epsilon", "ZPlus"], bn_layer_rule="innvestigate")
    assert type(listed.rules["bn"]).__name__ == "ZRule"
    flat_bn = LRP(model, rule="Epsilon", bn_layer_rule="Flat")
    assert type(flat_bn.rules["bn"]).__name__ == "FlatRule"
    # each BatchNorm output has one input and flat drops the shift: it passes relevance on as is
    np.testing.assert_allclose(flat_bn.analyze(x), passing.analyze(x), rtol=1e-12)


def test_batchnorm_passes_relevance_so_alpha_beta_conserves_on_a_residual_net():
    """An alpha-beta rule applied to BN doubles the relevance wherever x > 0; passing it conserves."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((8, 8, 8), dtype="float64")
    h = inp
    for _ in range(3):  # 8 channels: every neuron has positive and negative contributions
        c = keras.layers.Conv2D(8, 3, padding="same", use_bias=False, dtype="float64")(h)
        c = keras.layers.BatchNormalization(center=False, dtype="float64")(c)
        h = keras.layers.Activation("relu", dtype="float64")(keras.layers.Add(dtype="float64")([h, c]))
    h = keras.layers.GlobalAveragePooling2D(dtype="float64")(h)
    model = keras.Model(inp, keras.layers.Dense(3, use_bias=False, dtype="float64")(h))
    x = np.abs(random_inputs(model, batch=3))
    logits = model.predict(x, verbose=0).max(axis=1)
    for name in ("lrp.alpha_2_beta_1", "lrp.alpha_1_beta_0", "lrp.z_plus"):
        sums = create_analyzer(name, model).analyze(x).sum(axis=(1, 2, 3))
        np.testing.assert_allclose(sums, logits, rtol=1e-6, err_msg=name)  # the rules stabilize z
    old = create_analyzer("lrp.alpha_2_beta_1", model, bn_layer_rule="innvestigate").analyze(x)
    assert np.all(old.sum(axis=(1, 2, 3)) > 1.5 * logits)  # iNNvestigate's convention explodes


def test_embedding_relevance_sums_over_embedding_axis():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,), dtype="int32")
    h = keras.layers.Embedding(10, 4)(inp)
    h = keras.layers.Flatten()(h)
    model = keras.Model(inp, keras.layers.Dense(3)(h))
    tokens = np.random.default_rng(0).integers(0, 10, size=(2, 6)).astype(np.int32)
    relevance = create_analyzer("lrp.z", model).analyze(tokens)
    assert relevance.shape == (2, 6) and relevance.dtype == np.float32
    embedded = model.layers[1](tokens).numpy().reshape(2, -1)
    w, b = model.layers[3].get_weights()
    y = embedded @ w + b
    k = y.argmax(axis=1)
    contributions = embedded * w[:, k].T  # (2, 24): z-rule at the Dense layer
    want = contributions.reshape(2, 6, 4).sum(-1)
    # float32: z-rule's R_k / z_k = 1 up to the rounding of z_k (24 products), then a sum of 4
    atol = 4 * np.finfo(np.float32).eps * np.sqrt(24 + 4) * np.abs(contributions).max()
    np.testing.assert_allclose(relevance, want, rtol=0, atol=atol)


def test_lrp_round_trip(tmp_path):
    from innv_core.analyzer import AnalyzerBase

    model = residual_model()
    x = random_inputs(model)
    for name, kwargs in [("lrp.epsilon", {"epsilon": 0.3}), ("lrp.alpha_beta", {"alpha": 3, "beta": 2}),
                         ("lrp.sequential_preset_b_flat_until_idx", {"until_layer_idx": 1}),
                         ("deep_taylor.bounded", {"low": -2, "high": 2}), ("lrp", {"rule": "Flat"}),
                         ("lrp", {"rule": ["Z", "Flat", "Epsilon", "ZPlus"], "input_layer_rule": (-1, 1)})]:
        analyzer = create_analyzer(name, model, **kwargs)
        path = tmp_path / "a.npz"
        analyzer.save_npz(str(path))
        np.testing.assert_array_equal(AnalyzerBase.load_npz(str(path)).analyze(x), analyzer.analyze(x))


def test_fuse_batchnorm_keeps_the_function_and_folds_into_the_conv():
    from innv_core.canonize import fuse_batchnorm

    model = residual_model(dtype="float64")
    x = random_inputs(model, batch=3)
    fused = fuse_batchnorm(model)
    np.testing.assert_allclose(fused(x).numpy(), model(x).numpy(), rtol=1e-7, atol=1e-8)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in fused.layers)
    unfusable = sequential_cnn()
    assert fuse_batchnorm(unfusable) is unfusable  # nothing to fuse: returned as is
    analyzer = LRP(model, rule="Alpha2Beta1", fuse_batchnorm=True)
    assert "bn" not in analyzer.rules and "c1_bn_fused" in analyzer.rules
    np.testing.assert_allclose(analyzer.analyze(x), LRP(fused, rule="Alpha2Beta1").analyze(x), rtol=1e-9)
    # the z-rule identity survives fusion; the rule now acts on the fused conv
    ixg = create_analyzer("input_t_gradient", model).analyze(x)
    np.testing.assert_allclose(LRP(model, rule="Z", fuse_batchnorm=True).analyze(x), ixg,
                               rtol=1e-6, atol=1e-6 * np.abs(ixg).max())
