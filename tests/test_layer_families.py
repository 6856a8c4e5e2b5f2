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
