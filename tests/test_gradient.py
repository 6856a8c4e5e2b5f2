"""The gradient family against tf.GradientTape, finite differences and closed forms."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import MODEL_BUILDERS, random_inputs

from innv_core import create_analyzer


def _as_list(x):
    return x if isinstance(x, list) else [x]


def _target_fn(model, mode, index):
    """The scalar function of the inputs whose gradient the analyzer must return (per sample)."""

    def f(xs, chosen):
        y = model(xs if len(xs) > 1 else xs[0], training=False)
        y = tf.reshape(y, (y.shape[0], -1))
        if mode == "all":
            return tf.reduce_sum(y, axis=1)
        return tf.gather(y, chosen, axis=1, batch_dims=1)

    def chosen_for(xs):
        y = model(xs if len(xs) > 1 else xs[0], training=False).numpy().reshape(len(xs[0]), -1)
        if mode == "max_activation":
            return y.argmax(axis=1)
        return np.full(len(y), index)

    return f, chosen_for


def _tape_gradient(model, xs, mode, index):
    f, chosen_for = _target_fn(model, mode, index)
    chosen = chosen_for(xs)
    ts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        target = tf.reduce_sum(f(ts, chosen))
    return [g.numpy() for g in tape.gradient(target, ts)]


def _finite_differences(model, xs, mode, index, n_coords=12, eps=1e-6, seed=0):
    """Central differences at a few random coordinates of each input (float64 model)."""
    f, chosen_for = _target_fn(model, mode, index)
    chosen = chosen_for(xs)
    rng = np.random.default_rng(seed)
    out = []
    for i, x in enumerate(xs):
        coords = [tuple(rng.integers(0, s) for s in x.shape) for _ in range(n_coords)]
        values = []
        for c in coords:
            plus = [v.copy() for v in xs]
            minus = [v.copy() for v in xs]
            plus[i][c] += eps
            minus[i][c] -= eps
            diff = f([tf.constant(v) for v in plus], chosen) - f([tf.constant(v) for v in minus], chosen)
            values.append(diff.numpy()[c[0]] / (2 * eps))
        out.append((coords, np.array(values)))
    return out


@pytest.mark.parametrize("mode", ["max_activation", "index", "all"])
def test_gradient_equals_tape_and_finite_differences(model_name, mode):
    model = MODEL_BUILDERS[model_name](dtype="float64")
    X = random_inputs(model, batch=3)
    xs = _as_list(X)
    kwargs = {"neuron_selection": 1} if mode == "index" else {}
    expected = _tape_gradient(model, xs, mode, 1)
    for name in ("gradient", "gradient.baseline"):
        got = _as_list(create_analyzer(name, model, neuron_selection_mode=mode).analyze(X, **kwargs))
        for g, e, x in zip(got, expected, xs):
            assert g.shape == x.shape and g.dtype == np.float64
            np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)
    # the node-by-node engine path (kept tensors force it) gives the same numbers
    nodewise = create_analyzer("gradient", model, neuron_selection_mode=mode, reverse_keep_tensors=True)
    for g, e in zip(_as_list(nodewise.analyze(X, **kwargs)), expected):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)
    for g, (coords, fd) in zip(expected, _finite_differences(model, xs, mode, 1)):
        np.testing.assert_allclose([g[c] for c in coords], fd, rtol=1e-5, atol=1e-7)


def test_gradient_postprocess_and_input_times_gradient():
    model = MODEL_BUILDERS["sequential_cnn"]()
    x = random_inputs(model)
    g = create_analyzer("gradient", model).analyze(x)
    np.testing.assert_allclose(create_analyzer("gradient", model, postprocess="abs").analyze(x), np.abs(g))
    np.testing.assert_allclose(create_analyzer("gradient", model, postprocess="square").analyze(x), g**2)
    np.testing.assert_allclose(create_analyzer("input_t_gradient", model).analyze(x), g * x, rtol=1e-6)
    with pytest.raises(ValueError, match="postprocess"):
        create_analyzer("gradient", model, postprocess="sqrt")


def _two_layer_relu_net(seed=0):
    rng = np.random.default_rng(seed)
    W1, b1 = rng.normal(size=(4, 6)), rng.normal(size=6) * 0.5
    W2, b2 = rng.normal(size=(6, 3)), rng.normal(size=3) * 0.5
    inp = keras.Input((4,), dtype="float64")
    d1 = keras.layers.Dense(6, activation="relu", dtype="float64")
    d2 = keras.layers.Dense(3, dtype="float64")
    model = keras.Model(inp, d2(d1(inp)))
    d1.set_weights([W1, b1])
    d2.set_weights([W2, b2])
    return model, W1, b1, W2, b2


def test_deconvnet_and_guided_backprop_by_hand():
    model, W1, b1, W2, b2 = _two_layer_relu_net()
    x = np.random.default_rng(3).normal(size=(5, 4))
    k = 2
    z1 = x @ W1 + b1
    top = np.tile(W2[:, k], (5, 1))  # relevance arriving at the hidden ReLU outputs
    expected = {
        "gradient": (top * (z1 > 0)) @ W1.T,
        "deconvnet": np.maximum(top, 0) @ W1.T,
        "guided_backprop": (np.maximum(top, 0) * (z1 > 0)) @ W1.T,
    }
    for name, want in expected.items():
        got = create_analyzer(name, model, neuron_selection_mode="index").analyze(x, neuron_selection=k)
        np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=name)


def test_guided_backprop_on_standalone_relu_layer():
    model, W1, b1, W2, b2 = _two_layer_relu_net()
    inp = keras.Input((4,), dtype="float64")
    lin1 = keras.layers.Dense(6, dtype="float64")
    out = keras.layers.Dense(3, dtype="float64")(keras.layers.ReLU(dtype="float64")(lin1(inp)))
    split = keras.Model(inp, out)
    split.set_weights([W1, b1, W2, b2])
    x = np.random.default_rng(4).normal(size=(5, 4))
    for name in ("deconvnet", "guided_backprop"):
        a = create_analyzer(name, model).analyze(x)
        b = create_analyzer(name, split).analyze(x)
        np.testing.assert_allclose(a, b, rtol=1e-10)


EPS64 = float(np.finfo(np.float64).eps)


def assert_float64_close(actual, expected, n_terms, err_msg=""):
    """Equal up to float64 rounding: each value sums about ``n_terms`` rounded products no larger
    than ``max|expected|``; rounding errors add like a random walk, 4x that covers two differently
    ordered computations."""
    atol = 4 * EPS64 * np.sqrt(n_terms) * np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=0, atol=atol, err_msg=err_msg)


def _quadratic_model(seed=0):
    """``f(x) = W3^T ((A x + a) * (B x + b)) + c``: its gradient is affine in ``x``."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((4,), dtype="float64")
    a = keras.layers.Dense(5, dtype="float64", bias_initializer="random_normal")(inp)
    b = keras.layers.Dense(5, dtype="float64", bias_initializer="random_normal")(inp)
    out = keras.layers.Dense(3, dtype="float64", bias_initializer="random_normal")(
        keras.layers.Multiply(dtype="float64")([a, b]))
    return keras.Model(inp, out)


@pytest.mark.parametrize("steps", [2, 7, 64])
def test_integrated_gradients_closed_form_on_a_quadratic(steps):
    """An affine gradient averaged over points placed symmetrically on [0, 1] (innv's
    ``linspace(0, 1, steps)``, steps >= 2) is the gradient at the midpoint: IG is exact and
    complete. Dropping the last point, or shifting the points, moves the mean away from 1/2."""
    model = _quadratic_model()
    (A, a), (B, b), (W3, c) = [model.layers[i].get_weights() for i in (1, 2, 4)]
    rng = np.random.default_rng(5)
    x, ref = rng.normal(size=(6, 4)), rng.normal(size=4)
    f = lambda v: ((v @ A + a) * (v @ B + b)) @ W3 + c  # noqa: E731
    k = f(x).argmax(axis=1)
    mid = (x + ref) / 2
    grad_mid = (np.einsum("ij,nj,jn->ni", A, mid @ B + b, W3[:, k])
                + np.einsum("ij,nj,jn->ni", B, mid @ A + a, W3[:, k]))
    want = grad_mid * (x - ref)
    got = create_analyzer("integrated_gradients", model, steps=steps, reference_inputs=ref,
                          steps_per_chunk=3).analyze(x)  # 7 steps: chunks of 3, 3 and 1
    n_terms = steps * (3 + 5 + 4)
    assert_float64_close(got, want, n_terms)
    delta = f(x)[np.arange(6), k] - f(ref[None])[0, k]
    assert_float64_close(got.sum(axis=1), delta, n_terms * 4)  # completeness, to rounding


@pytest.mark.parametrize("model_name_", ["sequential_cnn", "residual", "multi_input"])
def test_integrated_gradients_is_the_mean_over_innvestigates_path_points(model_name_):
    """innv's (and iNNvestigate's) IG: the gradient averaged with equal weights at
    ``ref + a (x - ref)``, ``a`` in ``linspace(0, 1, steps)`` (both ends included), times
    ``x - ref``, the neuron chosen on ``x``; steps not a multiple of the chunk size."""
    model = MODEL_BUILDERS[model_name_](dtype="float64")
    xs = _as_list(random_inputs(model, batch=3))
    rng = np.random.default_rng(0)
    refs = [rng.normal(size=x.shape[1:]) for x in xs]
    steps = 10
    got = _as_list(create_analyzer("integrated_gradients", model, steps=steps, steps_per_chunk=3,
                                   reference_inputs=refs if len(xs) > 1 else refs[0])
                   .analyze(xs if len(xs) > 1 else xs[0]))
    f, chosen_for = _target_fn(model, "max_activation", None)
    chosen = chosen_for(xs)
    total = [np.zeros_like(x) for x in xs]
    for alpha in np.linspace(0, 1, steps):
        points = [tf.constant(r + alpha * (x - r)) for x, r in zip(xs, refs)]
        with tf.GradientTape() as tape:
            tape.watch(points)
            y = tf.reduce_sum(f(points, chosen))
        total = [t + g.numpy() for t, g in zip(total, tape.gradient(y, points))]
    for g, t, x, r in zip(got, total, xs, refs):
        assert_float64_close(g, t / steps * (x - r), steps * 200)  # <= 200 products per gradient value


def test_smoothgrad_seeded_and_converges_to_gradient():
    model = MODEL_BUILDERS["sequential_cnn"](dtype="float64")
    x = random_inputs(model)
    a = create_analyzer("smoothgrad", model, augment_by_n=8, noise_scale=0.5, seed=7).analyze(x)
    b = create_analyzer("smoothgrad", model, augment_by_n=8, noise_scale=0.5, seed=7).analyze(x)
    c = create_analyzer("smoothgrad", model, augment_by_n=8, noise_scale=0.5, seed=8).analyze(x)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-6
    g = create_analyzer("gradient", model).analyze(x)
    errors = []
    for scale in (1.0, 1e-2, 1e-4):
        s = create_analyzer("smoothgrad", model, augment_by_n=16, noise_scale=scale, seed=1).analyze(x)
        errors.append(np.abs(s - g).max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-6 * max(1.0, np.abs(g).max())


def test_input_and_random():
    model = MODEL_BUILDERS["sequential_cnn"]()
    x = random_inputs(model, batch=64)
    np.testing.assert_array_equal(create_analyzer("input", model).analyze(x), x)
    r = create_analyzer("random", model, stddev=2.0, seed=3).analyze(x)
    assert r.shape == x.shape
    assert abs(r.std() - 2.0) < 0.05 and abs(r.mean()) < 0.05
    np.testing.assert_array_equal(r, create_analyzer("random", model, stddev=2.0, seed=3).analyze(x))
