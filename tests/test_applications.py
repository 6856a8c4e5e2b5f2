"""LRP on every ``keras.applications`` family (``weights=None``): it analyzes, conserves, and LRP-z
equals an independently written oracle.

Protocol: biases and shifts are zero (as built), BatchNorm moving means are set to zero and moving
variances to the second moment of the layer input on the test batch, so that activations stay
O(1) (with unit variances MobileNetV2's logits are 1e-12 and prove nothing).

The oracle is input x gradient of the model after the preprocessing layers, with every
activation replaced by its pass-through linearization ``z * stop_gradient(f(z) / z)``, every
broadcast gate of a product held constant and LayerNorm's standard deviation held constant,
computed with ``tf.GradientTape`` on a clone of the model.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from innv_core import create_analyzer
from innv_core import layers as kinds
from innv_core.graph import trace

A = keras.applications
L = keras.layers

FAMILIES = {
    "MobileNetV3Small": (lambda s: A.MobileNetV3Small(weights=None, input_shape=(s, s, 3),
                                                      classifier_activation=None, include_preprocessing=False), 32),
    "EfficientNetB0": (lambda s: A.EfficientNetB0(weights=None, input_shape=(s, s, 3),
                                                  classifier_activation=None), 32),
    "EfficientNetV2B0": (lambda s: A.EfficientNetV2B0(weights=None, input_shape=(s, s, 3), classifier_activation=None,
                                                      include_preprocessing=False), 32),
    "MobileNetV2": (lambda s: A.MobileNetV2(weights=None, input_shape=(s, s, 3), classifier_activation=None), 32),
    "ConvNeXtTiny": (lambda s: A.ConvNeXtTiny(weights=None, input_shape=(s, s, 3), classifier_activation=None,
                                              include_preprocessing=False), 32),
    "ResNet50": (lambda s: A.ResNet50(weights=None, input_shape=(s, s, 3), classifier_activation=None), 32),
    "ResNet50V2": (lambda s: A.ResNet50V2(weights=None, input_shape=(s, s, 3), classifier_activation=None), 32),
    "DenseNet121": (lambda s: A.DenseNet121(weights=None, input_shape=(s, s, 3), classifier_activation=None), 32),
    "Xception": (lambda s: A.Xception(weights=None, input_shape=(s, s, 3), classifier_activation=None), 71),
}
FAST = {"MobileNetV3Small"}


def calibrate_batchnorm(model: keras.Model, x: np.ndarray, rounds: int = 2) -> None:
    """Moving means 0 and moving variances = E[input^2] on ``x``, layer after layer."""
    bns = [layer for layer in model._flatten_layers() if isinstance(layer, L.BatchNormalization)]
    for bn in bns:
        bn.momentum = 0.0
    for _ in range(rounds):
        model(x, training=True)  # moving statistics := batch statistics
        for bn in bns:
            mean, var = (np.asarray(v) for v in (bn.moving_mean, bn.moving_variance))
            bn.moving_mean.assign(np.zeros_like(mean))
            bn.moving_variance.assign(var + mean**2)


# -- the oracle ----------------------------------------------------------------------------------
class _Linearized(L.Layer):
    """``layer`` with its activation ``f`` replaced by ``z * stop_gradient(f(z) / z)``."""

    def __init__(self, linear, activation, **kwargs):
        super().__init__(**kwargs)
        self.linear, self.activation = linear, activation

    def call(self, x):
        z = self.linear(x) if self.linear is not None else x
        return z * tf.stop_gradient(tf.math.divide_no_nan(self.activation(z), z))


class _GatedMultiply(L.Layer):
    """A squeeze-excitation product: the applications pass ``[signal, gate]``; the gate is a constant."""

    def call(self, xs):
        signal, *gates = xs
        for gate in gates:
            signal = signal * tf.stop_gradient(gate)
        return signal


class _LayerNormFixedStd(L.Layer):
    def __init__(self, ln, **kwargs):
        super().__init__(**kwargs)
        self.ln = ln

    def call(self, x):
        mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
        y = (x - mean) * tf.stop_gradient(tf.math.rsqrt(var + self.ln.epsilon))
        return y * self.ln.gamma + self.ln.beta


def _is_nonlinear(fn) -> bool:
    return fn is not None and getattr(fn, "__name__", "linear") != "linear"


def _linearize(layer):
    if isinstance(layer, L.Multiply):
        return _GatedMultiply()
    if isinstance(layer, L.LayerNormalization):
        return _LayerNormFixedStd(layer)
    if isinstance(layer, L.ReLU):
        return _Linearized(None, layer)
    if isinstance(layer, L.Activation):
        return _Linearized(None, layer.activation)
    if _is_nonlinear(getattr(layer, "activation", None)) and hasattr(layer, "kernel"):
        config = {**layer.get_config(), "activation": "linear", "name": f"{layer.name}_lin"}
        linear = type(layer).from_config(config)
        linear.build(layer.input.shape)
        linear.set_weights(layer.get_weights())
        return _Linearized(linear, layer.activation)
    return layer


def oracle_lrp_z(model: keras.Model, x: np.ndarray, neurons: np.ndarray) -> np.ndarray:
    """Relevance at the input for the given neuron of each sample (preprocessing passes it).

    Input x gradient is taken after the last elementwise affine preprocessing layer before the
    first kernel layer (LRP passes relevance through those; padding before the first conv is
    linear without offset, so input x gradient crosses it exactly).
    """
    graph = trace(model)
    start = model.inputs[0]
    for node in graph.nodes:
        if node.kind == kinds.KERNEL:
            break
        if node.kind == kinds.AFFINE:
            start = node.layer.output
    pre = keras.Model(model.inputs, start)
    post = keras.models.clone_model(keras.Model(start, model.outputs), clone_function=_linearize,
                                    recursive=True)  # ConvNeXt's stem and downsampling are nested
    xp = tf.constant(pre(x))
    with tf.GradientTape() as tape:
        tape.watch(xp)
        y = post(xp)
        target = tf.reduce_sum(tf.gather(y, neurons, axis=1, batch_dims=1))
    return (xp * tape.gradient(target, xp)).numpy()


@pytest.fixture
def float64_keras():
    """Keras builds float64 layers during the test (the model and the oracle's clones)."""
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    # Keras fixes its global dtype policy from floatx at first use: reset both, else every model
    # built later in this process is float64
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("family", [pytest.param(f, marks=() if f in FAST else pytest.mark.slow) for f in FAMILIES])
def test_family_analyzes_conserves_and_matches_the_oracle(family, float64_keras):
    """float64: LRP-z divides by pre-activations, and on these deep random nets single relevances
    reach 1e6 while they sum to a logit of O(1); in float32 both sides of the oracle comparison
    would carry errors of 10% (measured on EfficientNetB0)."""
    build, size = FAMILIES[family]
    keras.utils.set_random_seed(0)
    model = build(size)
    x = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3))
    calibrate_batchnorm(model, x)
    logits = model(x, training=False).numpy()
    assert np.abs(logits).max() > 1e-3, "calibration failed: the logits prove nothing"
    target = logits.max(axis=1)

    eps = create_analyzer("lrp.epsilon", model, epsilon=1e-7).analyze(x)
    assert np.isfinite(eps).all()
    np.testing.assert_allclose(eps.reshape(2, -1).sum(1) / target, 1.0, atol=0.01)

    # the neuron is fixed, so that near-tied logits (1000 classes) cannot pick two different ones
    neurons = logits.argmax(axis=1)
    z = create_analyzer("lrp.z", model, neuron_selection_mode="index").analyze(x, neuron_selection=neurons)
    expected = oracle_lrp_z(model, x, neurons)
    np.testing.assert_allclose(z, expected, rtol=0, atol=1e-4 * np.abs(expected).max())


COMPOSITES = {"lrp.epsilon_plus": {}, "lrp.epsilon_plus_flat": {}, "lrp.epsilon_alpha_2_beta_1": {},
              "lrp.epsilon_gamma_box": {"low": -1.0, "high": 1.0}}


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_composites_run_on_every_family(family, float64_keras):
    """Zennit's composites (BatchNorm folded into the convolutions) run and explain something.

    Slow for every family (the default suite checks the composites against numpy oracles and
    Zennit on small models)."""
    build, size = FAMILIES[family]
    keras.utils.set_random_seed(0)
    model = build(size)
    x = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3))
    calibrate_batchnorm(model, x)
    for name, kwargs in COMPOSITES.items():
        r = create_analyzer(name, model, **kwargs).analyze(x)
        assert np.isfinite(r).all() and (np.abs(r).reshape(2, -1).max(axis=1) > 0).all(), name


# -- conserving rules on the residual families ---------------------------------------------------
CONSERVING = ("lrp.alpha_2_beta_1", "lrp.alpha_1_beta_0", "lrp.z_plus", "lrp.sequential_preset_a",
              "lrp.sequential_preset_b")


@pytest.mark.slow
@pytest.mark.parametrize("family", ["ResNet50", "ResNet50V2", "DenseNet121", "Xception"])
def test_conserving_rules_conserve_on_residual_families(family):
    """alpha-beta, z+ and the presets conserve (biases zero) because BatchNorm passes relevance.

    With iNNvestigate's convention (BatchNorm gets the model's rule, ``bn_layer_rule=
    "innvestigate"``) ``lrp.alpha_2_beta_1`` sums to 5.7e11 x the logit on ResNet50, 8.9e9 on
    ResNet50V2 and 6.5e10 on DenseNet121 (this protocol, 32 px, float32); passing, to 1 +- 2e-4.
    Xception's separable convolutions are one linear map each (z+ applied to the depthwise and
    pointwise stages one after the other would keep only 0.43-0.51 of the logit).
    """
    build, size = FAMILIES[family]
    keras.utils.set_random_seed(0)
    model = build(size)
    x = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
    calibrate_batchnorm(model, x)
    target = model(x, training=False).numpy().max(axis=1)
    for name in CONSERVING:
        sums = create_analyzer(name, model).analyze(x).reshape(2, -1).sum(axis=1)
        # the presets' epsilon = 0.1 at the classifier keeps z / (z + 0.1) of the logit z
        kept = target / (target + 0.1 * np.sign(target)) if "preset" in name else 1.0
        np.testing.assert_allclose(sums / target, kept, atol=0.05, err_msg=name)
