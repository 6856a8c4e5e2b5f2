"""The layer families' LRP conventions, each against a numpy oracle on a tiny model."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from innv_core import create_analyzer
from innv_core.registry import get_registry

L = keras.layers


def _z_rule_dense(x, w, R):
    """LRP-z through a bias-free Dense: R_i = sum_j x_i w_ij / z_j R_j (float64)."""
    z = x @ w
    return x * ((R / z) @ w.T)


def _head(model_out_layer, h):
    """Relevance at the input of the (bias-free) last Dense, for the max logit: numpy."""
    w = model_out_layer.get_weights()[0].astype(np.float64)
    y = h @ w
    R = np.zeros_like(y)
    rows = np.arange(len(y))
    R[rows, y.argmax(1)] = y[rows, y.argmax(1)]
    return _z_rule_dense(h, w, R)


def test_affine_layers_pass_relevance_unchanged():
    keras.utils.set_random_seed(0)
    inp = keras.Input((5,))
    h = L.Rescaling(2.0, offset=-0.5)(inp)
    norm = L.Normalization(mean=np.arange(5.0), variance=np.arange(1.0, 6.0))
    h = norm(h)
    out = L.Dense(3, use_bias=False, name="out")
    model = keras.Model(inp, out(h))
    x = np.random.default_rng(0).normal(size=(4, 5))
    h_np = ((2.0 * x - 0.5) - np.arange(5.0)) / np.sqrt(np.arange(1.0, 6.0))
    expected = _head(out, h_np)
    got = create_analyzer("lrp.z", model).analyze(x.astype(np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # the relevance sums to the logit (nothing is absorbed by the affine layers)
    np.testing.assert_allclose(got.sum(1), model(x).numpy().max(1), rtol=1e-4)


def _layer_norm_rule(x, gamma, beta, eps, R):
    """R_x = x * J^T (R / y) for y = (x - mean) / sigma * gamma + beta with sigma held constant."""
    n = x.shape[-1]
    sigma = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    y = (x - x.mean(-1, keepdims=True)) / sigma * gamma + beta
    s = R / y
    # J_ij = dy_j/dx_i = (delta_ij - 1/n) / sigma * gamma_j
    Js = (s * gamma - (s * gamma).sum(-1, keepdims=True) / n) / sigma
    return x * Js, y


@pytest.mark.parametrize("beta", [0.0, 0.3])
def test_layer_normalization_rule(beta):
    keras.utils.set_random_seed(1)
    inp = keras.Input((6,))
    ln = L.LayerNormalization(epsilon=1e-3, beta_initializer=keras.initializers.Constant(beta),
                              gamma_initializer=keras.initializers.RandomUniform(0.5, 1.5))
    out = L.Dense(3, use_bias=False, name="out")
    model = keras.Model(inp, out(ln(inp)))
    x = np.random.default_rng(2).normal(size=(3, 6))
    gamma, b = (w.astype(np.float64) for w in ln.get_weights())
    _, y = _layer_norm_rule(x, gamma, b, 1e-3, np.ones_like(x))
    expected, _ = _layer_norm_rule(x, gamma, b, 1e-3, _head(out, y))
    got = create_analyzer("lrp.z", model).analyze(x.astype(np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-5)
    if beta == 0.0:  # centring is linear and homogeneous: conserved
        np.testing.assert_allclose(got.sum(1), model(x).numpy().max(1), rtol=1e-4)


def test_group_and_unit_normalization_rules():
    keras.utils.set_random_seed(2)
    inp = keras.Input((2, 2, 4))
    gn = L.GroupNormalization(groups=2, epsilon=1e-3)
    h = L.Flatten()(L.UnitNormalization(axis=-1)(gn(inp)))
    out = L.Dense(3, use_bias=False)
    model = keras.Model(inp, out(h))
    x = np.random.default_rng(3).normal(size=(2, 2, 2, 4))
    got = create_analyzer("lrp.z", model).analyze(x.astype(np.float32))
    # numpy: unit norm passes relevance (a per-sample constant scaling); group norm is the
    # layer-norm rule over each group of 2 channels and all positions
    g = x.reshape(2, 2, 2, 2, 2).transpose(0, 3, 1, 2, 4).reshape(2, 2, 8)  # (N, group, values)
    gamma, beta = (w.astype(np.float64) for w in gn.get_weights())
    mean, sigma = g.mean(-1, keepdims=True), np.sqrt(g.var(-1, keepdims=True) + 1e-3)
    y_gn = ((g - mean) / sigma).reshape(2, 2, 2, 2, 2).transpose(0, 2, 3, 1, 4).reshape(2, 2, 2, 4)
    y_gn = y_gn * gamma + beta
    unit = y_gn / np.linalg.norm(y_gn, axis=-1, keepdims=True)
    R_unit = _head(out, unit.reshape(2, -1)).reshape(x.shape)  # = relevance at the GN output
    Rg = R_unit.reshape(2, 2, 2, 2, 2).transpose(0, 3, 1, 2, 4).reshape(2, 2, 8)
    yg = y_gn.reshape(2, 2, 2, 2, 2).transpose(0, 3, 1, 2, 4).reshape(2, 2, 8)
    s = Rg / yg  # gamma = 1, beta = 0 here: J = (I - 1/n) / sigma within each group
    Rx = g * (s - s.mean(-1, keepdims=True)) / sigma
    expected = Rx.reshape(2, 2, 2, 2, 2).transpose(0, 2, 3, 1, 4).reshape(x.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(got.reshape(2, -1).sum(1), model(x).numpy().max(1), rtol=1e-4)


def _se_model():
    """A squeeze-excitation block: the (1, 1, C) sigmoid gate multiplies the conv features."""
    keras.utils.set_random_seed(4)
    inp = keras.Input((4, 4, 2))
    f = L.Conv2D(3, 3, padding="same", activation="relu", use_bias=False)(inp)
    s = L.GlobalAveragePooling2D(keepdims=True)(f)
    s = L.Conv2D(3, 1, activation="sigmoid")(s)
    h = L.Multiply()([f, s])
    return keras.Model(inp, L.Dense(3, use_bias=False)(L.Flatten()(h)))


def test_gate_is_a_constant_and_the_signal_takes_all():
    model = _se_model()
    x = np.abs(np.random.default_rng(5).normal(size=(2, 4, 4, 2))).astype(np.float32)
    got = create_analyzer("lrp.z", model).analyze(x)
    # oracle: input x gradient of the model with the gate held constant (ReLU net, no biases on
    # the signal path), computed by tf.GradientTape on an independent replay of the model
    conv, _, gate_conv, _, _, dense = model.layers[1:7]
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        f = conv(xt)
        gate = tf.stop_gradient(gate_conv(tf.reduce_mean(f, axis=(1, 2), keepdims=True)))
        y = dense(tf.reshape(f * gate, (2, -1)))
        target = tf.reduce_max(y, axis=1)
    expected = x * tape.gradient(target, xt).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got.reshape(2, -1).sum(1), model(x).numpy().max(1), rtol=1e-4)


def test_two_full_size_signals_share_equally():
    keras.utils.set_random_seed(6)
    inp = keras.Input((4,))
    a = L.Dense(4, use_bias=False, name="a")(inp)
    b = L.Dense(4, use_bias=False, name="b")(inp)
    out = L.Dense(2, use_bias=False, name="out")
    model = keras.Model(inp, out(L.Multiply()([a, b])))
    x = np.random.default_rng(7).normal(size=(3, 4))
    wa, wb = (model.get_layer(n).get_weights()[0].astype(np.float64) for n in "ab")
    ya, yb = x @ wa, x @ wb
    R = _head(out, ya * yb)
    expected = _z_rule_dense(x, wa, R / 2) + _z_rule_dense(x, wb, R / 2)
    got = create_analyzer("lrp.z", model).analyze(x.astype(np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)


def test_convnext_layer_scale_and_stochastic_depth_are_known():
    from innv_core.keras_adapter import application_layer_class

    registry = get_registry()
    for module, name, kind in (("convnext", "LayerScale", "affine"), ("convnext", "StochasticDepth", "identity")):
        cls = application_layer_class(module, name)
        assert cls is not None and registry.layer_handler(cls).kind == kind
    for cls in (L.LayerNormalization, L.GroupNormalization, L.UnitNormalization):
        assert registry.layer_handler(cls).kind == "normalization"


# -- convolutions: grouped and separable ---------------------------------------------------------
RULE_ANALYZERS = ("lrp.z", "lrp.epsilon", "lrp.z_plus", "lrp.alpha_2_beta_1", "lrp.alpha_1_beta_0",
                  "lrp.w_square", "lrp.flat")


def _head_model(inp, h, name="out"):
    h = L.GlobalAveragePooling2D()(h)
    return keras.Model(inp, L.Dense(3, name=name)(h))


@pytest.mark.parametrize("dims", [1, 2])
def test_separable_conv_is_the_conv_with_the_product_kernel(dims):
    """SeparableConv under every rule equals a Conv whose kernel is depthwise x pointwise."""
    keras.utils.set_random_seed(0)
    Sep, Conv = (L.SeparableConv1D, L.Conv1D) if dims == 1 else (L.SeparableConv2D, L.Conv2D)
    Pool = L.GlobalAveragePooling1D if dims == 1 else L.GlobalAveragePooling2D
    shape = (9, 3) if dims == 1 else (7, 7, 3)
    inp = keras.Input(shape, dtype="float64")
    sep = Sep(5, 3, strides=2, padding="same", depth_multiplier=2, activation="relu", dtype="float64")
    out = L.Dense(3, dtype="float64")
    model = keras.Model(inp, out(Pool(dtype="float64")(sep(inp))))
    conv = Conv(5, 3, strides=2, padding="same", activation="relu", dtype="float64")
    out2 = L.Dense(3, dtype="float64")
    twin = keras.Model(inp, out2(Pool(dtype="float64")(conv(inp))))
    depthwise, pointwise, bias = sep.get_weights()
    sep.set_weights([depthwise, pointwise, bias + 0.1])
    c, m = depthwise.shape[-2:]
    kernel = np.einsum("...cm,cmo->...co", depthwise, pointwise.reshape(c, m, -1))  # numpy oracle
    conv.set_weights([kernel, bias + 0.1])
    out2.set_weights(out.get_weights())
    x = np.random.default_rng(1).normal(size=(3, *shape))
    np.testing.assert_allclose(model.predict(x, verbose=0), twin.predict(x, verbose=0), rtol=1e-10)
    for name in (*RULE_ANALYZERS, "deep_taylor"):
        np.testing.assert_allclose(create_analyzer(name, model).analyze(x), create_analyzer(name, twin).analyze(x),
                                   rtol=1e-9, atol=1e-12, err_msg=name)
    bounded = {"input_layer_rule": (-3.0, 3.0), "rule": "Epsilon"}
    np.testing.assert_allclose(create_analyzer("lrp", model, **bounded).analyze(x),
                               create_analyzer("lrp", twin, **bounded).analyze(x), rtol=1e-9, atol=1e-12)


@pytest.mark.slow
def test_grouped_conv_equals_the_block_diagonal_conv():
    """``Conv2D(groups=2)`` is the full conv whose kernel is zero across groups: every rule that
    keeps zero weights zero gives the same relevance; the flat rule spreads within a group only."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 4), dtype="float64")
    grouped = L.Conv2D(6, 3, groups=2, activation="relu", dtype="float64")
    model = _head_model(inp, grouped(inp))
    full = L.Conv2D(6, 3, activation="relu", dtype="float64")
    twin = _head_model(inp, full(inp))
    kernel, bias = grouped.get_weights()  # (3, 3, 2, 6): inputs per group, all outputs
    dense = np.zeros((3, 3, 4, 6))
    dense[:, :, :2, :3], dense[:, :, 2:, 3:] = kernel[..., :3], kernel[..., 3:]
    full.set_weights([dense, bias])
    twin.layers[-1].set_weights(model.layers[-1].get_weights())
    x = np.random.default_rng(1).normal(size=(2, 6, 6, 4))
    np.testing.assert_allclose(model.predict(x, verbose=0), twin.predict(x, verbose=0), rtol=1e-10)
    for name in RULE_ANALYZERS[:-1]:
        np.testing.assert_allclose(create_analyzer(name, model).analyze(x), create_analyzer(name, twin).analyze(x),
                                   rtol=1e-9, atol=1e-12, err_msg=name)
    # flat: relevance of an output of group g reaches only the inputs of group g
    probe = keras.Model(inp, grouped(inp))
    R = create_analyzer("lrp.flat", keras.Model(inp, L.Lambda(lambda t: t[..., :3])(probe.output)),
                        allow_lambda_layers=True, disable_model_checks=True,
                        neuron_selection_mode="all").analyze(x)
    assert np.all(R[..., 2:] == 0) and np.abs(R[..., :2]).sum() > 0


# -- the input range through preprocessing layers ------------------------------------------------
@pytest.mark.parametrize("scale", [1 / 255, -1 / 255])
def test_input_bounds_are_mapped_through_preprocessing(scale):
    """``input_layer_rule=(0, 255)`` on Rescaling -> Normalization -> ZeroPadding -> Conv gives the
    conv the z^B rule with the range of its own input: per channel after the affine maps (swapped
    by a negative scale), [0, 0] at the padded positions."""
    keras.utils.set_random_seed(0)
    mean, var = np.array([0.2, 0.5, 0.7]), np.array([0.04, 0.09, 0.01])
    inp = keras.Input((6, 6, 3), dtype="float64")
    h = L.Rescaling(scale, offset=0.0 if scale > 0 else 1.0, dtype="float64")(inp)
    h = L.Normalization(mean=mean, variance=var, dtype="float64")(h)
    h = L.ZeroPadding2D(1, dtype="float64")(h)
    conv = L.Conv2D(4, 3, activation="relu", dtype="float64", name="stem")
    head = L.Dense(3, use_bias=False, dtype="float64")
    model = keras.Model(inp, head(L.GlobalAveragePooling2D(dtype="float64")(conv(h))))
    x = np.random.default_rng(0).uniform(0, 255, (2, 6, 6, 3))
    analyzer = create_analyzer("lrp", model, rule="Epsilon", input_layer_rule=(0, 255))
    rule = analyzer.rules["stem"]
    # oracle: the conv's input range, built by hand
    ends = np.sort(np.stack([(0 * scale + (scale < 0) - mean) / np.sqrt(var),
                             (255 * scale + (scale < 0) - mean) / np.sqrt(var)]), axis=0)
    low, high = np.zeros((1, 8, 8, 3)), np.zeros((1, 8, 8, 3))
    low[:, 1:-1, 1:-1], high[:, 1:-1, 1:-1] = ends
    np.testing.assert_allclose(rule.low, low, rtol=1e-6)
    np.testing.assert_allclose(rule.high, high, rtol=1e-6)
    # the same relevance as the conv alone, fed its own input, with that range given directly
    # (Keras' Normalization is float32-exact only: pre.predict(x) and pre(x) differ by 3e-7)
    pre = keras.Model(inp, h)
    xin = keras.Input((8, 8, 3), dtype="float64")
    tail = keras.Model(xin, head(L.GlobalAveragePooling2D(dtype="float64")(conv(xin))))
    want = create_analyzer("lrp", tail, rule="Epsilon", input_layer_rule=(rule.low, rule.high))
    want = want.analyze(pre.predict(x, verbose=0))
    got = analyzer.analyze(x)
    np.testing.assert_allclose(got, want[:, 1:-1, 1:-1], rtol=1e-4, atol=1e-6 * np.abs(want).max())
    # z^B conserves; the classifier's epsilon = 1e-7 keeps z / (z + 1e-7)
    np.testing.assert_allclose(got.reshape(2, -1).sum(1), model.predict(x, verbose=0).max(1), rtol=1e-5, atol=1e-6)


def test_padding_before_the_first_conv_keeps_it_the_input_layer():
    """ResNet50's stem is ZeroPadding2D -> Conv2D: that conv reads the input (input_layer_rule)."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 3))
    h = L.ZeroPadding2D(1)(L.Rescaling(1 / 255)(inp))
    h = L.Conv2D(4, 3, activation="relu", name="stem")(h)
    h = L.Conv2D(4, 3, activation="relu", name="inner")(h)
    model = keras.Model(inp, L.Dense(3)(L.Flatten()(h)))
    rules = create_analyzer("lrp.sequential_preset_a_flat", model).rules
    assert type(rules["stem"]).__name__ == "FlatRule"
    assert type(rules["inner"]).__name__ == "Alpha1Beta0Rule"
