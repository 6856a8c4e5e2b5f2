"""Every LRP rule and composite against the literal numpy oracles of ``oracles.py``.

Models: three kernel layers with non-zero biases and signed inputs at the first layer (Dense only,
and Conv-Conv-Flatten-Dense with "same"/"valid" padding and a stride). The analyzers run in
float32, the oracle in float64 on the same weights: tolerance rtol 1e-4, atol 1e-5 * max|R|
(float32 sums of a few hundred terms, then three divisions). Single-layer checks run the rules
directly in float64 on an arbitrary relevance (not ``R = z``), at rtol 1e-9.
"""

from __future__ import annotations

import keras
import numpy as np
import oracles as O
import pytest
import tensorflow as tf

from innv_core import create_analyzer
from innv_core.errors import InvalidParameterError, invalid_parameter
from innv_core.linear_part import linear_part_of
from innv_core.registry import get_registry
from innv_core.rule import KernelCall, epsilon_stabilize
from innv_plugins.lrp.analyzer import LRP
from innv_plugins.rules.alpha_beta import AlphaBetaRule
from innv_plugins.rules.bounded import BoundedRule
from innv_plugins.rules.epsilon import EpsilonRule

L = keras.layers
N = 6  # batch
RTOL, ATOL_REL = 1e-4, 1e-5


# -- models and their oracle twins ------------------------------------------------------------
def _init(seed, std):
    return keras.initializers.RandomNormal(0.0, std, seed=seed)


def dense_net(dtype="float32"):
    """Dense(6->10)-ReLU-Dense(->8)-ReLU-Dense(->3), biases N(0, 0.3)."""
    inp = keras.Input((6,), dtype=dtype)
    h = L.Dense(10, activation="relu", kernel_initializer=_init(1, 0.7), bias_initializer=_init(2, 0.3), dtype=dtype)(inp)
    h = L.Dense(8, activation="relu", kernel_initializer=_init(3, 0.7), bias_initializer=_init(4, 0.3), dtype=dtype)(h)
    out = L.Dense(3, kernel_initializer=_init(5, 0.7), bias_initializer=_init(6, 0.3), dtype=dtype)(h)
    return keras.Model(inp, out, name="dense_net")


def conv_net(dtype="float32"):
    """Conv(3x3 same)-ReLU-Conv(2x2 valid, stride 2)-ReLU-Flatten-Dense(3), biases N(0, 0.3)."""
    inp = keras.Input((6, 6, 2), dtype=dtype)
    h = L.Conv2D(3, 3, padding="same", activation="relu", kernel_initializer=_init(7, 0.5),
                 bias_initializer=_init(8, 0.3), dtype=dtype)(inp)
    h = L.Conv2D(4, 2, strides=2, padding="valid", activation="relu", kernel_initializer=_init(9, 0.5),
                 bias_initializer=_init(10, 0.3), dtype=dtype)(h)
    h = L.Flatten(dtype=dtype)(h)
    out = L.Dense(3, kernel_initializer=_init(11, 0.5), bias_initializer=_init(12, 0.3), dtype=dtype)(h)
    return keras.Model(inp, out, name="conv_net")


def oracle_layers(model):
    """The oracle's layer list for a chain of Dense/Conv2D (ReLU or linear) and Flatten layers."""
    out = []
    for layer in model.layers:
        if isinstance(layer, L.InputLayer | L.Flatten):
            continue
        act = keras.activations.serialize(layer.activation)
        act = act if isinstance(act, str) else act.get("config", {}).get("name", act)
        assert act in ("relu", "linear"), act
        w = layer.get_weights()
        bias = w[1] if layer.use_bias else None
        if isinstance(layer, L.Dense):
            out.append(O.Dense(w[0], bias, relu=act == "relu"))
        else:
            out.append(O.Conv2D(w[0], bias, layer.input.shape[1:], layer.padding, layer.strides, relu=act == "relu"))
    return out


MODELS = {"dense": dense_net, "conv": conv_net}
_CACHE = {}


def setup(name):
    """(model, oracle layers, signed input clipped to [-2.5, 2.5], per-sample selected neurons).

    Sample n explains its ``n % 3``-th largest output: the largest, middle and smallest in turn.
    """
    if name not in _CACHE:
        model = MODELS[name]()
        layers = oracle_layers(model)
        rng = np.random.default_rng(0)
        x = np.clip(rng.normal(size=(N, *model.input_shape[1:])), -2.5, 2.5).astype(np.float32)
        order = np.argsort(-O.network_output(layers, x), axis=1)
        selected = order[np.arange(N), np.arange(N) % order.shape[1]].astype(np.int32)
        _CACHE[name] = model, layers, x, selected
    return _CACHE[name]


def assert_matches(got, want, err_msg=""):
    assert np.abs(want).max() > 0, "degenerate case: the oracle's relevance is all zero"
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL_REL * np.abs(want).max(), err_msg=err_msg)


def is_dense(layer):
    return isinstance(layer, O.Dense)


# -- the oracle itself ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MODELS))
def test_oracle_forward_reproduces_keras(name):
    model, layers, x, _ = setup(name)
    np.testing.assert_allclose(O.network_output(layers, x), model(x).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding,kernel,strides", [("valid", 3, 1), ("same", 3, 1), ("same", 4, 1),
                                                    ("same", 3, 2), ("valid", 2, 2)])
def test_oracle_conv_matrix_reproduces_keras(padding, kernel, strides):
    layer = L.Conv2D(2, kernel, strides=strides, padding=padding, kernel_initializer=_init(0, 1.0),
                     bias_initializer=_init(1, 1.0), dtype="float64")
    x = np.random.default_rng(0).normal(size=(2, 7, 6, 3))
    y = layer(x).numpy()
    w, b = layer.get_weights()
    oracle = O.Conv2D(w, b, (7, 6, 3), padding, (strides, strides))
    assert oracle.output_shape == y.shape[1:]
    np.testing.assert_allclose(O.forward_linear(oracle, x.reshape(2, -1)), y.reshape(2, -1), rtol=1e-12, atol=1e-12)


# -- single layers, float64, arbitrary R --------------------------------------------------------
LAYER_CASES = {
    "dense": lambda: (L.Dense(4, kernel_initializer=_init(0, 1.0), bias_initializer=_init(1, 0.5), dtype="float64"), (5,)),
    "conv_valid": lambda: (L.Conv2D(3, 3, padding="valid", kernel_initializer=_init(2, 1.0),
                                    bias_initializer=_init(3, 0.5), dtype="float64"), (5, 5, 2)),
    "conv_same_k4": lambda: (L.Conv2D(2, 4, padding="same", kernel_initializer=_init(4, 1.0),
                                      bias_initializer=_init(5, 0.5), dtype="float64"), (5, 4, 2)),
    "conv_same_s2": lambda: (L.Conv2D(2, 3, strides=2, padding="same", kernel_initializer=_init(6, 1.0),
                                      bias_initializer=_init(7, 0.5), dtype="float64"), (5, 5, 2)),
    "dense_no_bias": lambda: (L.Dense(3, use_bias=False, kernel_initializer=_init(8, 1.0), dtype="float64"), (4,)),
    "conv_no_bias": lambda: (L.Conv2D(2, 2, use_bias=False, kernel_initializer=_init(9, 1.0), dtype="float64"),
                             (3, 4, 2)),
}
# name -> (factory of the innv rule, oracle); the rules are made inside the tests
LAYER_RULES = {name: (lambda name=name: get_registry().get("rules", name)(), fn) for name, fn in O.RULES.items()}
LAYER_RULES.update({
    "Epsilon(0.5)": (lambda: EpsilonRule(0.5), O.epsilon(0.5)),
    "EpsilonIgnoreBias(0.5)": (lambda: get_registry().get("rules", "EpsilonIgnoreBias")(0.5),
                               O.epsilon(0.5, bias=False)),
    "Epsilon(0.5,bias=False)": (lambda: EpsilonRule(0.5, bias=False), O.epsilon(0.5, bias=False)),
    "AlphaBeta(3,2)": (lambda: AlphaBetaRule(3, 2), O.alpha_beta(3.0, 2.0)),
    "AlphaBeta(3,2,bias=False)": (lambda: AlphaBetaRule(3, 2, bias=False), O.alpha_beta(3.0, 2.0, bias=False)),
    "AlphaBeta(1.5,0.5)": (lambda: get_registry().get("rules", "AlphaBeta")(1.5, 0.5), O.alpha_beta(1.5, 0.5)),
    "AlphaBetaIgnoreBias(1.5,0.5)": (lambda: get_registry().get("rules", "AlphaBetaIgnoreBias")(1.5, 0.5),
                                     O.alpha_beta(1.5, 0.5, bias=False)),
    "AlphaBeta(2,1,epsilon=0.3)": (lambda: AlphaBetaRule(2, 1, epsilon=0.3),
                                   lambda l, x, R: O.rule_alpha_beta(l, x, R, 2.0, 1.0, epsilon=0.3)),
    "Gamma(1.5)": (lambda: get_registry().get("rules", "Gamma")(gamma=1.5), O.gamma(1.5)),
    "Gamma(0)": (lambda: get_registry().get("rules", "Gamma")(gamma=0.0), O.gamma(0.0)),
    "Bounded": (lambda: get_registry().get("rules", "Bounded")(), O.bounded(-1.0, 1.0)),
    "Bounded(-2,3)": (lambda: BoundedRule(-2.0, 3.0), O.bounded(-2.0, 3.0)),
})
_LAYERS = {}


def single_layer(case):
    if case not in _LAYERS:
        layer, shape = LAYER_CASES[case]()
        rng = np.random.default_rng(1)
        x = rng.normal(size=(3, *shape))
        layer(x)
        w = layer.get_weights()
        bias = w[1] if layer.use_bias else None
        if isinstance(layer, L.Dense):
            oracle = O.Dense(w[0], bias)
        else:
            oracle = O.Conv2D(w[0], bias, shape, layer.padding, layer.strides)
        R = rng.normal(size=layer(x).shape)  # arbitrary relevance, independent of z
        _LAYERS[case] = layer, oracle, x, R
    return _LAYERS[case]


def kernel_call(layer, x):
    linear = linear_part_of(layer, get_registry().layer_handler(type(layer)))
    x = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        z = linear(x)
    return KernelCall(linear, x, z, lambda s: tape.gradient(z, x, output_gradients=s))


def _rule(name):
    return get_registry().get("rules", name)()


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_each_rule_at_one_layer(case):
    layer, oracle, x, R = single_layer(case)
    call = kernel_call(layer, x)
    for name, (make, fn) in LAYER_RULES.items():
        got = make().apply(call, tf.constant(R)).numpy()
        want = fn(oracle, x.reshape(len(x), -1), R.reshape(len(R), -1)).reshape(x.shape)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max(), err_msg=f"{case} {name}")


def test_z_plus_fast_equals_z_plus_on_non_negative_inputs():
    layer, oracle, x, R = single_layer("conv_same_s2")
    x = np.abs(x)
    got = _rule("ZPlusFast").apply(kernel_call(layer, x), tf.constant(R)).numpy()
    want = O.rule_z_plus(oracle, x.reshape(len(x), -1), R.reshape(len(R), -1)).reshape(x.shape)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


def test_bounded_rule_with_array_bounds_and_no_bias():
    """z^B with per-input bounds; the layer bias changes nothing (it is not part of z^B)."""
    layer, oracle, x, R = single_layer("conv_valid")
    low = -1.5 - np.abs(np.random.default_rng(2).normal(size=x.shape[1:]))
    high = np.linspace(1.0, 2.0, x.shape[-1])  # broadcast over the channel axis
    got = BoundedRule(low, high).apply(kernel_call(layer, x), tf.constant(R)).numpy()
    want = O.rule_bounded(oracle, x.reshape(len(x), -1), R.reshape(len(R), -1), low, high).reshape(x.shape)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())
    assert np.abs(oracle.bias).min() > 0.01  # the bias is non-zero, and must not matter:
    bias = layer.bias.numpy()
    try:
        layer.bias.assign(10 * bias - 3.0)
        again = BoundedRule(low, high).apply(kernel_call(layer, x), tf.constant(R)).numpy()
    finally:
        layer.bias.assign(bias)
    np.testing.assert_allclose(again, got, rtol=1e-12, atol=1e-14 * np.abs(got).max())


# -- whole networks through the analyzers --------------------------------------------------------
LOW, HIGH = -2.5, 2.5
LOW_ARRAY = {"dense": np.linspace(-3.0, -2.5, 6), "conv": np.full((6, 6, 2), -2.6)}
D, C, DC = ("dense",), ("conv",), ("dense", "conv")


def case(kinds, name, kwargs, rules, relu_head=False):
    """A network case: run on ``kinds``; ``rules(layers, kind)`` gives the oracle's rule per layer."""
    return kinds, name, kwargs, rules, relu_head


def each(fn):
    return lambda layers, kind: [fn] * len(layers)


def first_then(first, rest):
    return lambda layers, kind: [first] + [rest] * (len(layers) - 1)


def preset(conv_rule, first=None, eps=0.1):
    def rules(layers, kind):
        conv = conv_rule if callable(conv_rule) else O.RULES[conv_rule]
        out = [O.epsilon(eps) if is_dense(l) else conv for l in layers]
        if first is not None:
            out[0] = first
        return out
    return rules


# Every named analyzer runs on one model at least (a Dense-only net, or Conv-Conv-Dense), the
# composites on both. Each analyzer costs one compilation (~0.5 s), hence not every pair.
NETWORK_CASES = {
    "lrp.z": case(DC, "lrp.z", {}, each(O.RULES["Z"])),
    "lrp.z_IB": case(C, "lrp.z_IB", {}, each(O.RULES["ZIgnoreBias"])),
    "lrp.epsilon": case(D, "lrp.epsilon", {}, each(O.RULES["Epsilon"])),
    "lrp.epsilon[0.25]": case(C, "lrp.epsilon", {"epsilon": 0.25}, each(O.epsilon(0.25))),
    "lrp.epsilon_IB[0.25]": case(DC, "lrp.epsilon_IB", {"epsilon": 0.25}, each(O.epsilon(0.25, bias=False))),
    # without attention, AttnLRP and CP-LRP are LRP-epsilon with epsilon 1e-9 on every layer
    "lrp.attnlrp": case(DC, "lrp.attnlrp", {}, each(O.epsilon(1e-9))),
    "lrp.cp_lrp[0.25]": case(D, "lrp.cp_lrp", {"epsilon": 0.25}, each(O.epsilon(0.25))),
    "lrp.w_square": case(C, "lrp.w_square", {}, each(O.RULES["WSquare"])),
    "lrp.flat": case(D, "lrp.flat", {}, each(O.RULES["Flat"])),
    "lrp.alpha_beta[3,2]": case(C, "lrp.alpha_beta", {"alpha": 3, "beta": 2}, each(O.alpha_beta(3, 2))),
    "lrp.alpha_beta[3,2,nobias]": case(D, "lrp.alpha_beta", {"alpha": 3, "beta": 2, "bias": False},
                                       each(O.alpha_beta(3, 2, bias=False))),
    "lrp.alpha_2_beta_1": case(DC, "lrp.alpha_2_beta_1", {}, each(O.RULES["Alpha2Beta1"])),
    "lrp.alpha_2_beta_1_IB": case(D, "lrp.alpha_2_beta_1_IB", {}, each(O.RULES["Alpha2Beta1IgnoreBias"])),
    "lrp.alpha_1_beta_0": case(D, "lrp.alpha_1_beta_0", {}, each(O.RULES["Alpha1Beta0"])),
    "lrp.alpha_1_beta_0_IB": case(C, "lrp.alpha_1_beta_0_IB", {}, each(O.RULES["Alpha1Beta0IgnoreBias"])),
    "lrp.z_plus": case(C, "lrp.z_plus", {}, each(O.RULES["ZPlus"])),
    "lrp.z_plus_fast": case(D, "lrp.z_plus_fast", {}, each(O.RULES["ZPlusFast"])),
    "lrp[rule=list]": case(C, "lrp", {"rule": ["Bounded", AlphaBetaRule(3, 2, bias=False), EpsilonRule(0.3)]},
                           lambda layers, kind: [O.bounded(-1, 1), O.alpha_beta(3, 2, bias=False), O.epsilon(0.3)]),
    "lrp.sequential_preset_a": case(DC, "lrp.sequential_preset_a", {}, preset("Alpha1Beta0")),
    "lrp.sequential_preset_b": case(C, "lrp.sequential_preset_b", {}, preset("Alpha2Beta1")),
    "lrp.sequential_preset_a_flat[eps=0.3]": case(C, "lrp.sequential_preset_a_flat", {"epsilon": 0.3},
                                                  preset("Alpha1Beta0", O.RULES["Flat"], eps=0.3)),
    "lrp.sequential_preset_b_flat": case(DC, "lrp.sequential_preset_b_flat", {},
                                         preset("Alpha2Beta1", O.RULES["Flat"])),
    "lrp[Epsilon,input=(low,high)]": case(D, "lrp", {"rule": "Epsilon", "input_layer_rule": (LOW, HIGH)},
                                          first_then(O.bounded(LOW, HIGH), O.RULES["Epsilon"])),
    "lrp[Alpha2Beta1,input=(array,high)]": case(
        C, "lrp", lambda kind: {"rule": "Alpha2Beta1", "input_layer_rule": (LOW_ARRAY[kind], 2.7)},
        lambda layers, kind: first_then(O.bounded(LOW_ARRAY[kind], 2.7), O.RULES["Alpha2Beta1"])(layers, kind)),
    # Zennit's composites (no BatchNorm here; gamma_box's first layer is z^B only if it is a conv)
    "lrp.epsilon_plus": case(DC, "lrp.epsilon_plus", {}, preset("Alpha1Beta0", eps=1e-6)),
    "lrp.epsilon_plus_flat": case(DC, "lrp.epsilon_plus_flat", {}, preset("Alpha1Beta0", O.RULES["Flat"], eps=1e-6)),
    "lrp.epsilon_alpha_2_beta_1": case(C, "lrp.epsilon_alpha_2_beta_1", {}, preset("Alpha2Beta1", eps=1e-6)),
    "lrp.epsilon_gamma_box": case(C, "lrp.epsilon_gamma_box", {"low": LOW, "high": HIGH},
                                  preset(O.RULES["Gamma"], O.bounded(LOW, HIGH), eps=1e-6)),
    "lrp.epsilon_gamma_box[dense,gamma=0.5]": case(D, "lrp.epsilon_gamma_box", {"low": LOW, "high": HIGH, "gamma": 0.5},
                                                   preset(O.gamma(0.5), eps=1e-6)),
    "deep_taylor": case(D, "deep_taylor", {}, each(O.RULES["ZPlus"]), relu_head=True),
    "deep_taylor[input=WSquare]": case(C, "deep_taylor", {"input_layer_rule": "WSquare"},
                                       first_then(O.RULES["WSquare"], O.RULES["ZPlus"]), relu_head=True),
    "deep_taylor.bounded": case(DC, "deep_taylor.bounded", {"low": LOW, "high": HIGH},
                                first_then(O.bounded(LOW, HIGH), O.RULES["ZPlus"]), relu_head=True),
}
PAIRS = [(c, kind) for c, spec in NETWORK_CASES.items() for kind in spec[0]]


@pytest.mark.parametrize("case,kind", PAIRS, ids=[f"{c}-{k}" for c, k in PAIRS])
def test_network_matches_oracle(case, kind):
    model, layers, x, selected = setup(kind)
    _, name, kwargs, rules, relu_head = NETWORK_CASES[case]
    kwargs = kwargs(kind) if callable(kwargs) else kwargs
    analyzer = create_analyzer(name, model, neuron_selection_mode="index", **kwargs)
    got = analyzer.analyze(x, neuron_selection=selected)
    want = O.network_relevance(layers, x, rules(layers, kind), selected, relu_head=relu_head)
    assert_matches(got, want, err_msg=f"{case} on {kind}")


def test_every_rule_and_lrp_analyzer_is_covered():
    covered = {spec[1] for spec in NETWORK_CASES.values()}
    lrp_names = {n for n in get_registry().entries("analyzers") if n.startswith(("lrp", "deep_taylor"))}
    assert lrp_names - covered <= {"lrp.z_baseline", "lrp.sequential_preset_b_flat_until_idx"}, lrp_names - covered
    builtin = {n for n, e in get_registry().entries("rules").items() if e.plugin.startswith("rule_")}
    assert builtin <= set(LAYER_RULES) | {"AlphaBeta", "AlphaBetaIgnoreBias"}, builtin - set(LAYER_RULES)


def test_max_activation_selection_matches_oracle():
    model, layers, x, _ = setup("conv")
    got = create_analyzer("lrp.sequential_preset_b_flat", model).analyze(x)
    winners = O.network_output(layers, x).argmax(axis=1)
    assert len(set(winners.tolist())) > 1
    want = O.network_relevance(layers, x, preset("Alpha2Beta1", O.RULES["Flat"])(layers, "conv"), winners)
    assert_matches(got, want)


def test_network_cases_are_not_degenerate():
    """Signed inputs, both output signs selected, and deep_taylor's ReLU head matters."""
    for kind in MODELS:
        model, layers, x, selected = setup(kind)
        assert (x < 0).any() and (x > 0).any()
        y = O.network_output(layers, x)[np.arange(N), selected]
        assert (y > 0).any() and (y < 0).any(), kind
        assert all(np.abs(l.bias).min() > 1e-3 for l in layers)


# -- the epsilon stabilizer: sign(0) = +1 ---------------------------------------------------------
def test_epsilon_stabilizer_sign_of_zero_is_plus_one():
    z = tf.constant([0.0, 2.0, -2.0, -0.0], tf.float64)
    np.testing.assert_array_equal(epsilon_stabilize(z, 0.5).numpy(), [0.5, 2.5, -2.5, 0.5])


def test_epsilon_rule_at_a_unit_whose_z_is_exactly_zero():
    """Hidden unit 0 has z = 1*0.5 + 1*(-0.5) + 0 = 0 exactly and still receives relevance (w² above).

    With sign(0) = +1 its inputs get +-0.5/0.25 * R; sign(0) = -1 would flip both.
    """
    inp = keras.Input((2,), dtype="float64")
    hidden = L.Dense(2, activation="relu", dtype="float64")
    top = L.Dense(1, dtype="float64")
    model = keras.Model(inp, top(hidden(inp)))
    hidden.set_weights([np.array([[0.5, 1.0], [-0.5, 1.0]]), np.zeros(2)])
    top.set_weights([np.array([[1.0], [1.0]]), np.array([0.0])])
    x = np.array([[1.0, 1.0]])
    got = LRP(model, rule=[EpsilonRule(0.25), "WSquare"]).analyze(x)
    # y = 2; w² splits R = 2 evenly: R_hidden = (1, 1); unit 0: (0.5, -0.5)/(0 + 0.25); unit 1: (1, 1)/(2 + 0.25)
    np.testing.assert_allclose(got, [[2.0 + 1 / 2.25, -2.0 + 1 / 2.25]], rtol=1e-12)
    layers = oracle_layers(model)
    np.testing.assert_allclose(O.network_relevance(layers, x, [O.epsilon(0.25), O.RULES["WSquare"]], np.array([0])),
                               got, rtol=1e-12)


# -- parameter checks at construction ------------------------------------------------------------
def raises_naming(*parts, absent=()):
    """``pytest.raises(InvalidParameterError)`` whose message contains every one of ``parts``."""

    class Check:
        def __enter__(self):
            self.ctx = pytest.raises(InvalidParameterError)
            self.info = self.ctx.__enter__()

        def __exit__(self, *exc):
            suppressed = self.ctx.__exit__(*exc)
            message = str(self.info.value)
            missing = [p for p in parts if p not in message]
            assert not missing, f"{missing} not in {message!r}"
            assert not [p for p in absent if p in message], message
            return suppressed

    return Check()


EPSILON_FIX = "Use a small positive stabilizer such as 1e-7 (iNNvestigate's default) or 0.1."


@pytest.mark.parametrize("value", [0, 0.0, -1e-7, float("nan"), float("inf"), -float("inf"), "0.1", None, True])
def test_epsilon_must_be_a_finite_positive_number(value):
    model = setup("dense")[0]
    numeric = isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)
    shown = float(value) if numeric else value
    expected = str(invalid_parameter("epsilon", shown, "a finite number > 0", EPSILON_FIX))
    assert "epsilon" in expected and repr(shown) in expected
    with raises_naming(expected):
        EpsilonRule(value)
    with raises_naming(expected):
        get_registry().get("rules", "EpsilonIgnoreBias")(value)
    for name in ("lrp.epsilon", "lrp.epsilon_IB", "lrp.sequential_preset_a", "lrp.sequential_preset_b_flat"):
        with raises_naming(expected):
            create_analyzer(name, model, epsilon=value)  # at creation, before analyze


def test_epsilon_accepts_small_positive_numbers():
    assert EpsilonRule(1e-300).epsilon == 1e-300
    assert EpsilonRule(np.float32(0.5)).epsilon == 0.5 and EpsilonRule(2).epsilon == 2.0
    assert isinstance(EpsilonRule(2).epsilon, float)


ALPHA_BETA = "AlphaBetaRule needs alpha - beta = 1, alpha >= 1 and beta >= 0"


@pytest.mark.parametrize("alpha,beta", [(2, 2), (1, 1), (3, 1), (0.5, -0.5), (0, -1), (2.5, 1),
                                        (float("nan"), 1), (2, float("nan")), (float("inf"), float("inf")),
                                        ("two", 1), (1 + 2e-12, 0), (1 - 5e-13, 0), (1, -5e-13)])
def test_alpha_beta_constraints(alpha, beta):
    model = setup("dense")[0]
    parts = (f"{ALPHA_BETA} (finite numbers); got alpha={alpha!r}, beta={beta!r}.",)
    with raises_naming(*parts):
        AlphaBetaRule(alpha, beta)
    with raises_naming(*parts):
        AlphaBetaRule(alpha, beta, bias=False)
    with raises_naming(*parts):
        create_analyzer("lrp.alpha_beta", model, alpha=alpha, beta=beta)
    with raises_naming(*parts):
        get_registry().get("rules", "AlphaBetaIgnoreBias")(alpha, beta)


def test_alpha_beta_needs_both_parameters():
    model = setup("dense")[0]
    needs = "AlphaBetaRule needs alpha and beta (e.g. alpha=2, beta=1); got alpha={!r}, beta={!r}."
    for kwargs in ({}, {"alpha": 2}, {"beta": 1}, {"alpha": None, "beta": 1}):
        with raises_naming(needs.format(kwargs.get("alpha"), kwargs.get("beta"))):
            create_analyzer("lrp.alpha_beta", model, **kwargs)
    with raises_naming(needs.format(None, None)):
        LRP(model, rule="AlphaBeta")
    with raises_naming(needs.format(2, None)):
        AlphaBetaRule(2)
    with raises_naming(needs.format(None, 0)):
        get_registry().get("rules", "AlphaBetaIgnoreBias")(beta=0)


def test_alpha_beta_accepts_the_boundary_cases():
    assert (AlphaBetaRule(1, 0).alpha, AlphaBetaRule(1, 0).beta) == (1.0, 0.0)
    rule = AlphaBetaRule(1.1, 0.1 + 1e-13, bias=False)
    assert rule.alpha == 1.1 and not rule.bias
    assert isinstance(AlphaBetaRule(2, 1).alpha, float) and AlphaBetaRule(2, 1).bias is True


class Shown:
    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


FINITE = ("a finite number or an array of finite numbers", "Give the input range, e.g. low=0.0, high=1.0.")


@pytest.mark.parametrize("low,high,expected", [
    (1, -1, ("low", 1, "<= high everywhere (high=-1)")),
    (0.5, 0.25, ("low", 0.5, "<= high everywhere (high=0.25)")),
    (np.zeros(6), np.array([1, 1, 1, -1, 1, 1.0]),
     ("low", np.zeros(6), "<= high everywhere (high=array([ 1.,  1.,  1., -1.,  1.,  1.]); low > high at index (3,))")),
    (np.zeros((8, 8, 3)), -np.ones(3),
     ("low", Shown("<array of shape (8, 8, 3)>"), "<= high everywhere (high=array([-1., -1., -1.]); low > high at index (0, 0, 0))")),
    (np.zeros(8), np.array([1.0] * 7 + [-1.0]),  # up to 8 values are shown
     ("low", np.zeros(8), "<= high everywhere (high=array([ 1.,  1.,  1.,  1.,  1.,  1.,  1., -1.]); low > high at index (7,))")),
    (np.zeros(9), -1, ("low", Shown("<array of shape (9,)>"), "<= high everywhere (high=-1; low > high at index (0,))")),
    (float("nan"), 1, ("low", float("nan"), *FINITE)),
    (0, float("inf"), ("high", float("inf"), *FINITE)),
    (-np.inf, 0, ("low", -np.inf, *FINITE)),
    (np.array([0.0, np.nan]), 1, ("low", np.array([0.0, np.nan]), *FINITE)),
    (np.full(20, np.nan), 1, ("low", Shown("<array of shape (20,)>"), *FINITE)),
    (0, np.full((3, 4), np.inf), ("high", Shown("<array of shape (3, 4)>"), *FINITE)),
    ("a", 1, ("low", "a", *FINITE)),
    (0, [1, "b"], ("high", [1, "b"], *FINITE)),
    (np.zeros(3), np.ones(2), ("high", np.ones(2), "broadcastable with low (shape (3,))", "high has shape (2,).")),
    (np.zeros(30), np.ones(20), ("high", Shown("<array of shape (20,)>"), "broadcastable with low (shape (30,))",
                                 "high has shape (20,).")),
])
def test_bounded_limits_are_checked(low, high, expected):
    message = str(invalid_parameter(*expected))
    model = setup("dense")[0]
    with raises_naming(message):
        BoundedRule(low, high)
    with raises_naming(message):
        LRP(model, rule="Epsilon", input_layer_rule=(low, high))
    with raises_naming(message):
        create_analyzer("deep_taylor.bounded", model, low=low, high=high)


def test_bounded_accepts_equal_and_array_limits():
    assert BoundedRule(0.5, 0.5).low == 0.5
    big = BoundedRule(np.zeros((8, 8, 3)), np.ones(3))
    assert big.low.shape == (8, 8, 3) and big.high.shape == (3,)
    assert (BoundedRule().low, BoundedRule().high) == (-1, 1)


def test_rule_base_class_repr_and_missing_apply():
    from innv_core.rule import Rule

    assert repr(EpsilonRule(0.5)) == "EpsilonRule(epsilon=0.5, bias=True)"
    assert repr(AlphaBetaRule(3, 2, bias=False)) == "AlphaBetaRule(alpha=3.0, beta=2.0, bias=False, epsilon=0.0)"

    class Hidden(Rule):
        def __init__(self):
            self.shown, self._hidden = 1, 2

    assert repr(Hidden()) == "Hidden(shown=1)"
    with pytest.raises(NotImplementedError, match=r"^Hidden must implement apply\(call, R\)\.$"):
        Hidden().apply(None, None)
