"""Fuzzing ``create_analyzer(...).analyze(...)``: the only outcomes allowed are a finite result of
the input's shape, or an ``InnvError`` (never a raw TensorFlow/numpy traceback, never NaN).

Analyzers are built once per (name, model) and reused, so that the examples cost analyses, not
compilations; the parameter fuzz compiles, hence has fewer examples. The whole file takes a few
seconds.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from innv_core import create_analyzer
from innv_core.errors import InnvError

L = keras.layers

NAMES = ["gradient", "input_t_gradient", "guided_backprop", "integrated_gradients", "smoothgrad",
         "lrp.epsilon", "lrp.alpha_2_beta_1", "lrp.z_plus", "lrp.sequential_preset_a_flat", "deep_taylor",
         "deep_lift.wrapper", "random"]
KWARGS = {"integrated_gradients": {"steps": 3}, "smoothgrad": {"augment_by_n": 2, "seed": 0},
          "random": {"seed": 0}}


@functools.cache
def _model(kind: str):
    keras.utils.set_random_seed(0)
    if kind == "mlp":
        inp = keras.Input((4,))
        return keras.Model(inp, L.Dense(3)(L.Dense(5, activation="relu", bias_initializer="ones")(inp)))
    inp = keras.Input((5, 5, 2))
    h = L.Flatten()(L.MaxPooling2D()(L.Conv2D(3, 3, padding="same", activation="relu")(inp)))
    return keras.Model(inp, L.Dense(3)(h))


@functools.cache
def _analyzer(name: str, kind: str, mode: str = "max_activation"):
    return create_analyzer(name, _model(kind), neuron_selection_mode=mode, **KWARGS.get(name, {}))


DTYPES = st.sampled_from([np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_,
                          np.complex64])


@st.composite
def arrays(draw, kind: str):
    """Mostly the right shape with random batch and values (NaN, inf, huge included); sometimes not."""
    right = (4,) if kind == "mlp" else (5, 5, 2)
    shape = draw(st.one_of(
        st.tuples(st.integers(0, 3)).map(lambda b: (b[0], *right)),
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
    ))
    dtype = draw(DTYPES)
    elements = None
    if np.issubdtype(dtype, np.floating):
        elements = st.floats(allow_nan=True, allow_infinity=True, width=np.finfo(dtype).bits)
    return draw(hnp.arrays(dtype, shape, elements=elements))


def _outcome_ok(call, x_shape=None):
    try:
        result = call()
    except InnvError:
        return
    result = np.asarray(result)
    assert np.isfinite(result).all(), "a non-finite analysis was returned without an error"
    if x_shape is not None:
        assert result.shape == x_shape


SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@SETTINGS
@given(data=st.data())
def test_fuzz_inputs(kind, data):
    name = data.draw(st.sampled_from(NAMES))
    x = data.draw(arrays(kind))
    _outcome_ok(lambda: _analyzer(name, kind).analyze(x), x.shape)


@SETTINGS
@given(data=st.data())
def test_fuzz_neuron_selection(data):
    name = data.draw(st.sampled_from(["gradient", "lrp.epsilon", "integrated_gradients"]))
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    selection = data.draw(st.one_of(
        st.integers(-10, 10), st.floats(allow_nan=True), st.none(), st.text(max_size=2),
        hnp.arrays(st.sampled_from([np.int32, np.int64, np.float32, np.bool_]),
                   hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)),
    ))
    _outcome_ok(lambda: _analyzer(name, "mlp", "index").analyze(x, neuron_selection=selection), x.shape)


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 100), st.booleans(),
                    st.none(), st.text(max_size=2))
PARAMETERS = {
    "lrp.epsilon": {"epsilon": NUMBERS},
    "lrp.alpha_beta": {"alpha": NUMBERS, "beta": NUMBERS},
    "integrated_gradients": {"steps": NUMBERS, "reference_inputs": st.one_of(NUMBERS, hnp.arrays(
        np.float32, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5)))},
    "smoothgrad": {"augment_by_n": NUMBERS, "noise_scale": NUMBERS},
    "lrp.z": {"reverse_clip_values": st.one_of(NUMBERS, st.tuples(NUMBERS, NUMBERS))},
    "deep_taylor.bounded": {"low": NUMBERS, "high": NUMBERS},
    "lrp.epsilon_gamma_box": {"low": NUMBERS, "high": NUMBERS, "gamma": NUMBERS},
}


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_parameters(data):
    name = data.draw(st.sampled_from(sorted(PARAMETERS)))
    kwargs = {key: data.draw(strategy) for key, strategy in PARAMETERS[name].items()}
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    _outcome_ok(lambda: create_analyzer(name, _model("mlp"), **kwargs).analyze(x), x.shape)
