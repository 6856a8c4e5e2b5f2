"""Analyzer bases: inputs, neuron selection, compilation, model checks, engine options."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import multi_output_model, nested_model, random_inputs, residual_model, sequential_cnn

from innv_core import NotAnalyzableModelError, create_analyzer, get_model_execution_graph, model_wo_softmax
from innv_core.graph import copy_layer, trace
from innv_core.reverse import gradient_mapping, reverse_model

EPS32 = float(np.finfo(np.float32).eps)


def assert_float32_close(actual, expected, n_terms, err_msg=""):
    """Two float32 computations of the same values in a different order (batch size, engine).

    Each value sums about ``n_terms`` rounded products no larger than ``max|expected|``, so each
    computation is off by about ``eps32 * sqrt(n_terms) * max|expected|`` (rounding errors add
    like a random walk); 4x that covers both. Not relative: small values are differences of
    larger terms and carry the large terms' absolute error.
    """
    atol = 4 * EPS32 * np.sqrt(n_terms) * np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=0, atol=atol, err_msg=err_msg)


# Products summed into one input-gradient value along the backward pass (per layer: its fan-out).
SEQ_CNN_TERMS = 5 + 16 + 3 * 3 * 6 + 3 * 3 * 4  # dense_1, dense, conv2d_1 (3x3x6), conv2d (3x3x4)
RESIDUAL_TERMS = 5 + 2 + 2 * 3 * 3 * 4 + 3 * 3 * 4  # out, c3 (1x1x2), c2 and the sum at res_add, c1


def test_one_trace_for_five_batch_sizes():
    model = residual_model()
    largest = random_inputs(model, batch=16)
    for name in ("gradient", "guided_backprop", "integrated_gradients", "smoothgrad"):
        analyzer = create_analyzer(name, model, **({"steps": 4} if name == "integrated_gradients" else {}))
        expected = analyzer.analyze(largest)
        for batch in (1, 2, 3, 7):
            x = random_inputs(model, batch=batch)
            np.testing.assert_array_equal(x, largest[:batch])  # the same stream: the first samples
            out = analyzer.analyze(x)
            assert out.shape == (batch, 8, 8, 3)
            # (no pre-activation of these inputs is closer to 0 than 3e-6 of its layer's largest,
            # ~10x float32 rounding: no ReLU can switch between batch sizes)
            if name != "smoothgrad":  # its noise is drawn per batch
                # IG sums 4 path points: 4x the terms
                terms = RESIDUAL_TERMS * (4 if name == "integrated_gradients" else 1)
                assert_float32_close(out, expected[:batch], terms, err_msg=f"{name}, batch {batch}")
        assert analyzer._trace_count == 1, name


def test_wrong_shape_dtype_and_nan_raise_clear_errors():
    model = sequential_cnn()
    analyzer = create_analyzer("gradient", model)
    with pytest.raises(ValueError, match=r"expected \(batch, 8, 8, 3\), got \(8, 8, 3\).*batch axis"):
        analyzer.analyze(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected \(batch, 8, 8, 3\), got \(2, 8, 8, 4\)"):
        analyzer.analyze(np.zeros((2, 8, 8, 4), np.float32))
    with pytest.raises(ValueError, match="dtype"):
        analyzer.analyze(np.zeros((2, 8, 8, 3), np.complex64))
    with pytest.raises(ValueError, match="dtype"):
        analyzer.analyze(np.full((2, 8, 8, 3), "a"))
    bad = np.zeros((2, 8, 8, 3), np.float32)
    bad[0, 1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        analyzer.analyze(bad)
    with pytest.raises(ValueError, match="1 input"):
        analyzer.analyze([bad, bad])
    # integers are accepted as real numbers; the result is float
    assert analyzer.analyze(np.ones((2, 8, 8, 3), np.uint8)).dtype == np.float32


def test_tensor_inputs_and_datasets():
    model = sequential_cnn()
    x = random_inputs(model, batch=10)
    analyzer = create_analyzer("gradient", model)
    expected = analyzer.analyze(x)
    assert_float32_close(analyzer.analyze(tf.constant(x)), expected, SEQ_CNN_TERMS)
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(10))).batch(4)
    # batches of 4, 4 and 2 instead of one of 10: other kernels, other rounding
    assert_float32_close(analyzer.analyze(ds), expected, SEQ_CNN_TERMS)
    assert analyzer._trace_count == 1


def test_neuron_selection_index_checks():
    model = sequential_cnn()
    x = random_inputs(model, batch=3)
    analyzer = create_analyzer("gradient", model, neuron_selection_mode="index")
    per_sample = analyzer.analyze(x, neuron_selection=[0, 4, 2])
    for i, k in enumerate([0, 4, 2]):
        assert_float32_close(per_sample[i], analyzer.analyze(x, neuron_selection=k)[i], SEQ_CNN_TERMS)
    with pytest.raises(ValueError, match=r"out of range.*5 neurons"):
        analyzer.analyze(x, neuron_selection=5)
    with pytest.raises(ValueError, match="one per sample"):
        analyzer.analyze(x, neuron_selection=[1, 2])
    with pytest.raises(ValueError, match="needs `neuron_selection`"):
        analyzer.analyze(x)
    with pytest.raises(ValueError, match="neuron_selection_mode is 'max_activation'"):
        create_analyzer("gradient", model).analyze(x, neuron_selection=1)
    with pytest.raises(ValueError, match="neuron_selection_mode must be one of"):
        create_analyzer("gradient", model, neuron_selection_mode="max")


def test_multi_output_model_explains_chosen_output():
    model = multi_output_model()
    x = random_inputs(model, batch=4)
    for k, width in ((0, 3), (1, 2)):
        got = create_analyzer("gradient", model, output_index=k, neuron_selection_mode="all").analyze(x)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = tf.reduce_sum(model(xt)[k])
        assert_float32_close(got, tape.gradient(y, xt).numpy(), width + 6)  # Dense(width), Dense(6)
        assert model.outputs[k].shape[1] == width
    with pytest.raises(ValueError, match="output_index=2"):
        create_analyzer("gradient", model, output_index=2)


def test_softmax_refused_and_model_wo_softmax():
    inp = keras.Input((4,))
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(5, activation="relu")(inp))
    model = keras.Model(inp, out)
    with pytest.raises(NotAnalyzableModelError, match="softmax.*model_wo_softmax"):
        create_analyzer("gradient", model)
    stripped = model_wo_softmax(model)
    x = np.random.default_rng(0).normal(size=(4, 4)).astype("float32")
    logits = np.log(model(x).numpy())
    np.testing.assert_allclose(
        logits - logits.max(1, keepdims=True),
        stripped(x).numpy() - stripped(x).numpy().max(1, keepdims=True), rtol=1e-4, atol=1e-5,
    )
    xt = tf.constant(x)
    for explained, analyzer in ((stripped, create_analyzer("gradient", stripped)),
                                (model, create_analyzer("gradient", model, disable_model_checks=True))):
        with tf.GradientTape() as tape:  # the probability (checks off) or the logit of the top class
            tape.watch(xt)
            y = explained(xt)
            top = tf.reduce_sum(y * tf.one_hot(tf.argmax(y, axis=1), 3))
        assert_float32_close(analyzer.analyze(x), tape.gradient(top, xt).numpy(), 3 + 3 + 5)
    seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Softmax()])
    with pytest.raises(NotAnalyzableModelError):
        create_analyzer("gradient", seq)
    # a standalone Softmax layer is bypassed too: the stripped model returns the Dense's logits
    np.testing.assert_array_equal(model_wo_softmax(seq)(x).numpy(), seq.layers[0](x).numpy())


def test_lambda_layers_need_permission():
    inp = keras.Input((4,))
    out = keras.layers.Dense(2)(keras.layers.Lambda(lambda t: t * 2.0)(inp))
    model = keras.Model(inp, out)
    with pytest.raises(NotAnalyzableModelError, match="Lambda.*allow_lambda_layers=True"):
        create_analyzer("gradient", model)
    x = np.ones((2, 4), np.float32)
    g = create_analyzer("gradient", model, allow_lambda_layers=True).analyze(x)
    kernel = model.layers[-1].get_weights()[0]
    top = model(x).numpy().argmax(axis=1)
    np.testing.assert_array_equal(g, 2.0 * kernel[:, top].T)  # d(2x @ W)_k / dx = 2 W[:, k], exact
    baseline = create_analyzer("gradient.baseline", model, allow_lambda_layers=True)
    np.testing.assert_array_equal(baseline.analyze(x), g)


class SubclassedNet(keras.Model):
    def __init__(self):
        super().__init__()
        self.d = keras.layers.Dense(3)

    def call(self, x):
        return self.d(x)


def test_subclassed_model_needs_graph_only_for_reverse_analyzers():
    model = SubclassedNet()
    x = np.ones((2, 4), np.float32)
    model(x)
    with pytest.raises(NotAnalyzableModelError, match="functional graph.*gradient.baseline"):
        create_analyzer("guided_backprop", model)
    g = create_analyzer("gradient.baseline", model).analyze(x)
    np.testing.assert_allclose(g[0], model.d.kernel.numpy()[:, np.argmax(model(x).numpy()[0])], rtol=1e-6)


def test_trace_flattens_nested_models_and_keeps_shared_calls():
    model = nested_model()
    graph = trace(model)
    names = [n.layer.name for n in graph.nodes]
    assert names.count("block") == 0  # flattened
    dense_calls = [n for n in graph.nodes if n.layer is model.get_layer("block").layers[0]]
    assert len(dense_calls) == 2 and dense_calls[0].output_ids != dense_calls[1].output_ids
    values = {graph.input_ids[0]: tf.constant(random_inputs(model))}
    for node in graph.nodes:
        values.update(zip(node.output_ids, node.run(values)))
    np.testing.assert_allclose(values[graph.output_ids[0]], model(values[graph.input_ids[0]]), rtol=1e-6)
    eg = get_model_execution_graph(model, keep_input_layers=True)
    assert eg[0]["Xs_nids"] == [-1] and eg[-1]["Ys_nids"] == [[0]]


def test_copy_layer():
    layer = keras.layers.Dense(3, activation="relu")
    layer.build((None, 4))
    layer.set_weights([np.ones((4, 3)), np.full(3, 2.0)])
    plain = copy_layer(layer, keep_bias=False, activation=None)
    x = -np.ones((1, 4), np.float32)
    np.testing.assert_allclose(plain(x), np.full((1, 3), -4.0))
    np.testing.assert_allclose(copy_layer(layer)(x), np.zeros((1, 3)))


def test_reverse_options():
    model = sequential_cnn()
    x = random_inputs(model, batch=2)
    clipped = create_analyzer("gradient", model, reverse_clip_values=(-1e-3, 1e-3)).analyze(x)
    assert np.abs(clipped).max() <= 1e-3 + 1e-9
    graph = trace(model)
    assert len(graph.bottleneck_ids()) == len(graph.nodes) - 1  # a chain: every inner tensor
    plain = create_analyzer("gradient", model)
    gradient = plain.analyze(x)
    kept = create_analyzer("gradient", model, reverse_keep_tensors=True)
    kept_result = kept.analyze(x)  # node by node (keeping tensors forces it): another op order
    assert_float32_close(kept_result, gradient, SEQ_CNN_TERMS)
    assert [layer for _, layer, _ in kept._reversed_tensors] == [n.layer.name for n in graph.nodes]
    # what reaches the last layer's input is its kernel column of the explained neuron (exact)
    top = model(x).numpy().argmax(axis=1)
    last_kernel = model.layers[-1].get_weights()[0]
    np.testing.assert_array_equal(kept._reversed_tensors[-1][2][0], last_kernel[:, top].T)
    np.testing.assert_array_equal(kept._reversed_tensors[0][2][0], kept_result)  # the first layer's: the result
    # Projecting each inner tensor to (-1, 1) divides it by its per-sample max|.|; the gradient
    # is linear in what flows back, so only the last division counts: the one of the tensor
    # entering the first layer (conv2d's output, kept at node 1).
    projected = create_analyzer("gradient", model, reverse_project_bottleneck_layers=True).analyze(x)
    scale = np.abs(kept._reversed_tensors[1][2][0]).reshape(len(x), -1).max(axis=1)
    expected = gradient / scale[:, None, None, None]
    # (u + 1) / 2 * 2 - 1 rounds every projected value to eps32: per stage, 6 stages
    assert_float32_close(projected, expected, 6 * SEQ_CNN_TERMS)
    checked = create_analyzer("gradient", model, reverse_check_finite=True, reverse_check_min_max_values=True)
    assert_float32_close(checked.analyze(x), gradient, SEQ_CNN_TERMS)  # checks change nothing


def test_reverse_model_function():
    model = residual_model()
    x = random_inputs(model, batch=2)
    fn = reverse_model(model, lambda layer: None, default_reverse_mapping=gradient_mapping,
                       head_mapping=tf.ones_like, return_all_reversed_tensors=True)
    result, kept = fn(tf.constant(x))
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.reduce_sum(model(xt))
    assert_float32_close(result[0], tape.gradient(y, xt).numpy(), RESIDUAL_TERMS)
    assert len(kept) == len(trace(model).nodes)


def test_fit_stubs_warn():
    analyzer = create_analyzer("gradient", sequential_cnn())
    with pytest.warns(UserWarning, match="needs no training"):
        analyzer.fit(np.zeros((1, 8, 8, 3)))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analyzer.fit(np.zeros((1, 8, 8, 3)), disable_no_training_warning=True)
        analyzer.fit_generator(None, disable_no_training_warning=True)


def test_unknown_parameter_is_reported():
    with pytest.raises(TypeError, match="unknown parameter.*'stepz'"):
        create_analyzer("gradient", sequential_cnn(), stepz=3)


def test_with_params_keeps_the_fitted_patterns_and_changes_only_what_is_asked():
    """PatternNet fitted once, then in index mode: the same analysis for the neurons it chose."""
    import keras
    import numpy as np

    from innv_core import create_analyzer

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3)])
    x = np.random.default_rng(0).normal(size=(16, 6)).astype("float32")
    fitted = create_analyzer("pattern.net", model)
    fitted.fit(x, batch_size=8)
    indexed = fitted.with_params(neuron_selection_mode="index")
    chosen = model.predict(x, verbose=0).argmax(1)
    np.testing.assert_allclose(indexed.analyze(x, neuron_selection=chosen), fitted.analyze(x), rtol=1e-6)
    assert indexed._neuron_selection_mode == "index" and fitted._neuron_selection_mode == "max_activation"
