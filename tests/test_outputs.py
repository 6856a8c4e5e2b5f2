"""``output_index`` means the same output in every analyzer: a position in ``model.outputs``, or a name."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from innv_core import create_analyzer
from innv_core.errors import NeuronSelectionError

L = keras.layers


def dict_output_model():
    """Outputs given as a dict whose insertion order ("zeta", "alpha") differs from Keras' sorted one."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((5,), name="x")
    h = L.Dense(6, activation="relu", bias_initializer="ones")(inp)
    return keras.Model(inp, {"zeta": L.Dense(3, name="zeta_logits")(h),
                             "alpha": L.Dense(2, name="alpha_logits")(h)})


def _closed_form_gradient(model, x, position, neuron):
    """d y[neuron] / dx for output ``position`` of model.outputs, through a sub-model (tape-free check)."""
    sub = keras.Model(model.inputs, model.outputs[position])
    import tensorflow as tf

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = sub(xt)[:, neuron]
    return tape.gradient(y, xt).numpy()


ANALYZERS = ["gradient", "gradient.baseline", "input_t_gradient", "lrp.z", "lrp.epsilon", "deep_taylor",
             "integrated_gradients", "deep_lift.wrapper", "guided_backprop"]


@pytest.mark.parametrize("name", ANALYZERS)
def test_output_index_is_the_position_in_model_outputs(name):
    model = dict_output_model()
    assert [o.shape[-1] for o in model.outputs] == [2, 3]  # Keras sorts dict outputs: alpha, zeta
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    kwargs = {"steps": 4} if name == "integrated_gradients" else {}
    by_position = create_analyzer(name, model, output_index=1, neuron_selection_mode="index", **kwargs)
    by_key = create_analyzer(name, model, output_index="zeta", neuron_selection_mode="index", **kwargs)
    by_layer = create_analyzer(name, model, output_index="zeta_logits", neuron_selection_mode="index", **kwargs)
    a = by_position.analyze(x, neuron_selection=2)  # neuron 2 exists only in "zeta" (3 wide)
    np.testing.assert_array_equal(a, by_key.analyze(x, neuron_selection=2))
    np.testing.assert_array_equal(a, by_layer.analyze(x, neuron_selection=2))
    with pytest.raises(NeuronSelectionError, match="out of range: the output has 3 neurons"):
        by_position.analyze(x, neuron_selection=3)
    if name in ("gradient", "gradient.baseline"):
        np.testing.assert_allclose(a, _closed_form_gradient(model, x, 1, 2), rtol=1e-5, atol=1e-7)
    if name == "lrp.z":  # LRP-z = input x gradient on this ReLU net
        np.testing.assert_allclose(a, x * _closed_form_gradient(model, x, 1, 2), rtol=1e-4, atol=1e-6)


def test_max_activation_follows_the_same_output():
    model = dict_output_model()
    x = np.random.default_rng(1).normal(size=(3, 5)).astype(np.float32)
    zeta = model(x)["zeta"].numpy()
    expected = np.stack([_closed_form_gradient(model, x, 1, k)[i] for i, k in enumerate(zeta.argmax(1))])
    for name in ("gradient", "gradient.baseline"):
        got = create_analyzer(name, model, output_index="zeta").analyze(x)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_bad_output_index_names_the_outputs():
    model = dict_output_model()
    with pytest.raises(NeuronSelectionError, match=r"output_index=2 but the model has 2 output\(s\)"):
        create_analyzer("gradient", model, output_index=2)
    with pytest.raises(NeuronSelectionError, match=r"'beta' names no output.*'alpha'.*'zeta'"):
        create_analyzer("lrp.z", model, output_index="beta")
    with pytest.raises(NeuronSelectionError, match="must be an int"):
        create_analyzer("lrp.z", model, output_index=1.0)
    with pytest.raises(NeuronSelectionError):
        create_analyzer("lrp.z", model, output_index=-1)


def test_only_the_selected_output_must_not_end_in_a_softmax():
    from innv_core.errors import NotAnalyzableModelError

    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    h = L.Dense(5, activation="relu")(inp)
    model = keras.Model(inp, [L.Dense(3, name="logits")(h), L.Dense(2, activation="softmax", name="probs")(h)])
    x = np.ones((2, 4), np.float32)
    assert create_analyzer("lrp.epsilon", model, output_index="logits").analyze(x).shape == (2, 4)
    with pytest.raises(NotAnalyzableModelError, match="'probs'"):
        create_analyzer("lrp.epsilon", model, output_index="probs")
