"""Every layer kind of API.md through every LRP analyzer: finite, and LRP-z = input x gradient
wherever that identity holds (piecewise-linear layers, relevance passing ReLUs unchanged)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from innv_core import create_analyzer

L = keras.layers
F = "float64"


def _model(shape, body):
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape, dtype=F)
    out = body(inp)
    out = L.Dense(3, dtype=F, bias_initializer="random_normal")(L.Flatten(dtype=F)(out))
    return keras.Model(inp, out)


def _relu(layer_cls, *args, **kwargs):
    return layer_cls(*args, activation="relu", dtype=F, bias_initializer="random_normal", **kwargs)


CASES = {
    "conv1d": ((9, 2), lambda x: _relu(L.Conv1D, 3, 3)(x)),
    "conv3d": ((4, 4, 4, 2), lambda x: _relu(L.Conv3D, 2, 2)(x)),
    "conv2d_transpose": ((4, 4, 2), lambda x: _relu(L.Conv2DTranspose, 2, 3, strides=2)(x)),
    "conv1d_transpose": ((5, 2), lambda x: _relu(L.Conv1DTranspose, 2, 3)(x)),
    "depthwise_conv2d": ((6, 6, 2), lambda x: _relu(L.DepthwiseConv2D, 3, depth_multiplier=2)(x)),
    "separable_conv2d": ((6, 6, 2), lambda x: _relu(L.SeparableConv2D, 3, 3)(x)),
    "max_avg_global_pool": ((8, 8, 2), lambda x: L.Concatenate(dtype=F)([
        L.GlobalMaxPooling2D(dtype=F)(_relu(L.Conv2D, 2, 3)(x)),
        L.GlobalAveragePooling2D(dtype=F)(L.AveragePooling2D(2, dtype=F)(_relu(L.Conv2D, 2, 3)(x)))])),
    "subtract_average": ((6,), lambda x: L.Average(dtype=F)([
        L.Subtract(dtype=F)([_relu(L.Dense, 4)(x), _relu(L.Dense, 4)(x)]), _relu(L.Dense, 4)(x)])),
    "maximum_minimum": ((6,), lambda x: L.Minimum(dtype=F)([
        L.Maximum(dtype=F)([_relu(L.Dense, 4)(x), _relu(L.Dense, 4)(x)]), _relu(L.Dense, 4)(x)])),
    "reshape_permute_repeat": ((6,), lambda x: L.Permute((2, 1), dtype=F)(
        L.RepeatVector(3, dtype=F)(L.Reshape((4,), dtype=F)(_relu(L.Dense, 4)(x))))),
    "pad_crop_upsample": ((5, 5, 2), lambda x: L.Cropping2D(1, dtype=F)(L.UpSampling2D(dtype=F)(
        L.ZeroPadding2D(1, dtype=F)(_relu(L.Conv2D, 2, 3)(x))))),
    "upsampling1d_3d": ((4, 2), lambda x: L.UpSampling1D(dtype=F)(L.Cropping1D(1, dtype=F)(
        L.ZeroPadding1D(1, dtype=F)(_relu(L.Conv1D, 2, 2)(x))))),
    "dropout_activation_relu": ((6,), lambda x: L.Dropout(0.5, dtype=F)(L.ReLU(dtype=F)(
        L.Activation("linear", dtype=F)(L.Dense(5, dtype=F)(x))))),
    "batchnorm_dense": ((6,), lambda x: L.ReLU(dtype=F)(L.BatchNormalization(dtype=F)(L.Dense(5, dtype=F)(x)))),
}
NOT_PIECEWISE_LINEAR = {
    "leaky_elu_multiply": ((6,), lambda x: L.Multiply(dtype=F)([
        L.LeakyReLU(dtype=F)(L.Dense(4, dtype=F)(x)), L.ELU(dtype=F)(L.Dense(4, dtype=F)(x))])),
}
ANALYZERS = [
    ("lrp.z", {}), ("lrp.z_IB", {}), ("lrp.epsilon", {"epsilon": 0.1}), ("lrp.w_square", {}),
    ("lrp.flat", {}), ("lrp.alpha_2_beta_1", {}), ("lrp.alpha_1_beta_0_IB", {}), ("lrp.z_plus", {}),
    ("lrp.z_plus_fast", {}), ("lrp.sequential_preset_a_flat", {}), ("lrp.sequential_preset_b", {}),
    ("deep_taylor", {}), ("deep_taylor.bounded", {"low": -3, "high": 3}),
]


def _x(model, batch=3):
    return np.random.default_rng(1).normal(size=(batch, *model.inputs[0].shape[1:]))


@pytest.mark.parametrize("case", sorted(CASES))
def test_lrp_z_is_input_times_gradient(case):
    model = _model(*CASES[case])
    x = _x(model)
    z = create_analyzer("lrp.z", model).analyze(x)
    np.testing.assert_allclose(z, create_analyzer("input_t_gradient", model).analyze(x), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("case", sorted(CASES) + sorted(NOT_PIECEWISE_LINEAR))
def test_every_lrp_analyzer_runs_finite(case):
    model = _model(*{**CASES, **NOT_PIECEWISE_LINEAR}[case])
    x = _x(model, batch=2)
    for name, kwargs in ANALYZERS:
        out = create_analyzer(name, model, **kwargs).analyze(x)
        assert out.shape == x.shape and np.isfinite(out).all(), name
