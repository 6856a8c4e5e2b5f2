"""``neuron_selection_mode="weights"``: each sample explains ``sum_j w_j y_{idx_j}``.

Checked against independent numbers: LRP is linear in its initial relevance, so a weighted
analysis is the weighted sum of the per-index analyses (for every registered analyzer, each
against itself in mode ``index``); the gradient against central finite differences of
``sum w·y`` on a float64 numpy copy of the net; LRP-0 conserves ``sum w·z`` on a bias-free
ReLU net. The compiled function takes ``(batch, k)`` arrays and traces once for any batch and k.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from support import ANALYZER_PARAMETERS

from innv_core import create_analyzer
from innv_core.errors import NeuronSelectionError
from innv_core.registry import get_registry

# a single index of the tiny net may well have an all-zero analysis: that warning is not the subject
pytestmark = pytest.mark.filterwarnings("ignore::innv_core.errors.AnalysisWarning")

EXTRA = {
    **ANALYZER_PARAMETERS,
    # PatternNet projects its backward signal into (-1, 1) by default (only the direction
    # matters): a weighted set keeps its direction, not the per-index scale; linear without it
    "pattern.net": {"reverse_project_bottleneck_layers": False},
    "pattern.attribution": {"reverse_project_bottleneck_layers": False},
}
#: Families whose backward pass is not linear in the explained output: ReLU applied to the
#: backward signal. They explain ``sum w·y`` as the model followed by a Dense with kernel ``w``.
NONLINEAR = ("deconvnet", "guided_backprop")
IDX = np.array([[0, 3, 1], [2, 2, 4], [4, 0, 1]], np.int32)  # sample 1 names neuron 2 twice
W = np.array([[1.0, -0.5, 2.0], [0.5, 1.5, -1.0], [-2.0, 1.0, 0.25]], np.float32)


def _net(use_bias: bool = True) -> keras.Model:
    keras.utils.set_random_seed(3)
    init = keras.initializers.RandomNormal(0.0, 0.2) if use_bias else "zeros"
    return keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(8, activation="relu", use_bias=use_bias, bias_initializer=init),
        keras.layers.Dense(7, activation="relu", use_bias=use_bias, bias_initializer=init),
        # outputs mostly > 0, so that DeepTaylor (positive evidence only) has something to explain
        keras.layers.Dense(5, use_bias=use_bias, bias_initializer=keras.initializers.Constant(0.3)
                           if use_bias else "zeros"),
    ])


def _x() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)


def _weighted_sum_of_index_analyses(analyzer, x: np.ndarray) -> np.ndarray:
    per_index = [analyzer.analyze(x, neuron_selection=IDX[:, j]) for j in range(IDX.shape[1])]
    return sum(W[:, j, None] * a for j, a in enumerate(per_index))


def _with_weighted_output(model: keras.Model, i: int) -> keras.Model:
    """``model`` followed by a bias-free Dense(1) whose kernel is sample ``i``'s dense weights."""
    dense = np.zeros((5, 1), np.float32)
    np.add.at(dense[:, 0], IDX[i], W[i])
    head = keras.layers.Dense(1, use_bias=False)
    out = head(model.outputs[0])
    head.set_weights([dense])
    return keras.Model(model.inputs, out)


def _analyzer(name: str, model: keras.Model, mode: str):
    analyzer = create_analyzer(name, model, neuron_selection_mode=mode, **EXTRA.get(name, {}))
    if name.startswith("pattern."):
        analyzer.fit(np.random.default_rng(1).normal(size=(64, 6)).astype(np.float32), batch_size=32)
    return analyzer


@pytest.mark.parametrize("name", sorted(get_registry().names("analyzers")))
def test_every_analyzer_explains_the_weighted_sum(name):
    """Every family takes mode ``weights``: its analysis is the weighted sum of its per-index
    analyses (linearity in the explained output; ``random`` and ``input`` ignore it)."""
    model, x = _net(), _x()
    weighted = _analyzer(name, model, "weights").analyze(x, neuron_selection=(IDX, W))
    assert weighted.shape == x.shape and np.isfinite(weighted).all()
    if name == "random":
        return
    if name == "input":
        np.testing.assert_array_equal(weighted, x)
        return
    if name in NONLINEAR:
        expected = np.concatenate([_analyzer(name, _with_weighted_output(model, i), "index").analyze(
            x[i:i + 1], neuron_selection=0) for i in range(len(x))])
    else:
        expected = _weighted_sum_of_index_analyses(_analyzer(name, model, "index"), x)
    scale = np.abs(expected).max()
    assert scale > 0
    np.testing.assert_allclose(weighted, expected, rtol=1e-5, atol=1e-6 * max(scale, 1.0), err_msg=name)


def test_lrp_z_with_weights_is_the_weighted_sum_of_the_index_analyses():
    model, x = _net(), _x()
    weighted = create_analyzer("lrp.z", model, neuron_selection_mode="weights").analyze(x, neuron_selection=(IDX, W))
    expected = _weighted_sum_of_index_analyses(create_analyzer("lrp.z", model, neuron_selection_mode="index"), x)
    assert np.abs(expected).max() > 1e-2
    np.testing.assert_allclose(weighted, expected, rtol=1e-5, atol=1e-7)


def _numpy_net(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The net in float64 numpy (the oracle's forward pass)."""
    h = x.astype(np.float64)
    for i, layer in enumerate(model.layers):
        kernel, bias = (np.asarray(v, np.float64) for v in layer.get_weights())
        h = h @ kernel + bias
        if i < len(model.layers) - 1:
            h = np.maximum(h, 0)
    return h


def test_gradient_with_weights_is_the_finite_difference_gradient_of_the_weighted_sum():
    model, x = _net(), _x()
    grad = create_analyzer("gradient", model, neuron_selection_mode="weights").analyze(x, neuron_selection=(IDX, W))

    def target(xs: np.ndarray) -> np.ndarray:  # sum_j w_j y_idx_j per sample
        y = _numpy_net(model, xs)
        return np.array([sum(w * y[i, k] for k, w in zip(IDX[i], W[i])) for i in range(len(xs))])

    h, fd = 1e-5, np.zeros_like(grad, dtype=np.float64)
    for d in range(x.shape[1]):
        step = np.zeros_like(x, dtype=np.float64)
        step[:, d] = h
        fd[:, d] = (target(x + step) - target(x - step)) / (2 * h)
    assert np.abs(fd).max() > 1e-2
    np.testing.assert_allclose(grad, fd, rtol=1e-4, atol=1e-6)


def test_lrp_0_conserves_the_weighted_sum_of_the_outputs():
    model, x = _net(use_bias=False), _x()
    R = create_analyzer("lrp.z", model, neuron_selection_mode="weights").analyze(x, neuron_selection=(IDX, W))
    y = np.asarray(model(x))
    explained = (W * np.take_along_axis(y, IDX, axis=1)).sum(axis=1)
    assert np.abs(explained).min() > 1e-3
    np.testing.assert_allclose(R.sum(axis=1), explained, rtol=1e-5, atol=1e-6)


def test_one_trace_for_any_batch_size_and_number_of_weights():
    model = _net()
    analyzer = create_analyzer("lrp.epsilon", model, neuron_selection_mode="weights")
    rng = np.random.default_rng(2)
    for batch, k in ((3, 3), (5, 1), (2, 7), (1, 2)):
        x = rng.normal(size=(batch, 6)).astype(np.float32)
        idx = rng.integers(0, 5, size=(batch, k))
        analyzer.analyze(x, neuron_selection=(idx, rng.normal(size=(batch, k))))
    analyzer.analyze(x, neuron_selection=([0, 1], [1.0, -1.0]))  # shared by every sample
    assert analyzer._trace_count == 1


def test_shared_weights_are_every_samples_weights():
    model, x = _net(), _x()
    analyzer = create_analyzer("lrp.epsilon", model, neuron_selection_mode="weights")
    shared = analyzer.analyze(x, neuron_selection=([1, 3], [1.0, -1.0]))
    rows = analyzer.analyze(x, neuron_selection=(np.tile([1, 3], (3, 1)), np.tile([1.0, -1.0], (3, 1))))
    np.testing.assert_array_equal(shared, rows)


def test_a_dataset_takes_each_batchs_rows():
    import tensorflow as tf

    model, x = _net(), _x()
    analyzer = create_analyzer("lrp.epsilon", model, neuron_selection_mode="weights")
    whole = analyzer.analyze(x, neuron_selection=(IDX, W))
    batched = analyzer.analyze(tf.data.Dataset.from_tensor_slices(x).batch(2), neuron_selection=(IDX, W))
    np.testing.assert_allclose(batched, whole, rtol=1e-6)
    with pytest.raises(NeuronSelectionError, match="dataset has 3 samples"):
        analyzer.analyze(tf.data.Dataset.from_tensor_slices(x).batch(2),
                         neuron_selection=(np.vstack([IDX, IDX]), np.vstack([W, W])))


@pytest.mark.parametrize("selection,match", [
    (None, r"needs neuron_selection=\(indices, weights\)"),
    (3, r"needs neuron_selection=\(indices, weights\)"),
    (([0, 1], [1.0]), "shape"),
    (([0.5, 1], [1.0, 2.0]), "indices are float"),
    (([0, 1], [True, False]), "weights are bool"),
    (([0, 5], [1.0, 1.0]), r"\[5\] out of range: the output has 5 neurons"),
    (([0, 1], [1.0, np.nan]), "NaN or inf"),
    ((np.zeros((2, 1), int), np.ones((2, 1))), "2 rows of .* for a batch of 3"),
    (([], []), "shape"),
])
def test_bad_weights_are_refused_by_name(selection, match):
    analyzer = create_analyzer("lrp.epsilon", _net(), neuron_selection_mode="weights")
    with pytest.raises(NeuronSelectionError, match=match):
        analyzer.analyze(_x(), neuron_selection=selection)
    with pytest.raises(NeuronSelectionError, match=match):
        analyzer.check_inputs(_x(), neuron_selection=selection) if selection is not None else (
            analyzer.analyze(_x()))


def test_a_distribution_strategy_refuses_weights_by_name():
    import tensorflow as tf

    analyzer = create_analyzer("lrp.epsilon", _net(), neuron_selection_mode="weights")
    with pytest.raises(NeuronSelectionError, match="not supported with a distribution strategy"):
        analyzer.analyze(_x(), neuron_selection=(IDX, W), strategy=tf.distribute.get_strategy())
