"""The identity rule as a gradient rule (innv_core.modified_gradient.identity_rule), in float64.

``identity_rule(fn, x, eps)`` is ``fn(x)`` forwards, with the gradient ``fn(x) / (x + eps *
sign0(x))`` (``sign0(0) = +1``, 0 where the denominator is 0), so the relevance it passes back
through :func:`relevance_through` is ``R * x / (x + eps * sign0(x))``: ``R`` itself as
``eps -> 0``. A large epsilon makes the stabilizer visible: dropping it, or flipping its sign or
the sign of 0, changes every value below.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from innv_core.modified_gradient import TINY_EPSILON, identity_rule, relevance_through, sign0

EPS = 0.5
#: Negative, zero (both signs) and positive inputs; none where |x| == EPS.
X = np.array([-4.0, -1.0, -0.3, -1e-3, -0.0, 0.0, 1e-3, 0.3, 1.0, 4.0])
R = np.random.default_rng(0).normal(size=X.shape)
FUNCTIONS = {
    "tanh": tf.math.tanh, "sigmoid": tf.math.sigmoid, "gelu": tf.nn.gelu, "silu": tf.nn.silu,
    "exp": tf.math.exp, "softplus": tf.math.softplus,
}


def sign0_np(x: np.ndarray) -> np.ndarray:
    """The oracle's sign with sign(0) = +1 (also for -0.0, as ``x >= 0`` is True there)."""
    return np.where(x >= 0, 1.0, -1.0)


def _gradient(fn, x: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    xt = tf.constant(x, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = identity_rule(fn, xt, epsilon)
    return y.numpy(), tape.gradient(y, xt).numpy()


def _relevance(fn, x: np.ndarray, r: np.ndarray, epsilon: float) -> np.ndarray:
    xt = tf.constant(x, tf.float64)
    forward = lambda xs: [identity_rule(fn, xs[0], epsilon)]  # noqa: E731
    (rx,) = relevance_through(forward, [xt], [tf.constant(r, tf.float64)], [fn(xt)])
    return rx.numpy()


def test_sign0_is_plus_one_at_zero():
    z = tf.constant([-2.0, -0.0, 0.0, 3.0], tf.float64)
    np.testing.assert_array_equal(sign0(z).numpy(), [-1.0, 1.0, 1.0, 1.0])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("epsilon", [EPS, TINY_EPSILON, 0.0])
def test_the_forward_value_is_exactly_fn(name, epsilon):
    fn = FUNCTIONS[name]
    y, _ = _gradient(fn, X, epsilon)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, fn(tf.constant(X, tf.float64)).numpy())


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_gradient_is_fn_over_the_stabilized_input(name):
    fn = FUNCTIONS[name]
    fx = fn(tf.constant(X, tf.float64)).numpy()
    _, g = _gradient(fn, X, EPS)
    expected = fx / (X + EPS * sign0_np(X))
    np.testing.assert_allclose(g, expected, rtol=1e-13, atol=0)
    if name == "sigmoid":  # at x = 0: sigmoid(0) / (+EPS) = 1, not -1 (sign0) nor 0 (no stabilizer)
        np.testing.assert_allclose(g[X == 0], 0.5 / EPS, rtol=1e-15)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_relevance_is_r_x_over_the_stabilized_input(name):
    rx = _relevance(FUNCTIONS[name], X, R, EPS)
    expected = R * X / (X + EPS * sign0_np(X))
    np.testing.assert_allclose(rx, expected, rtol=1e-12, atol=1e-300)
    assert np.all(rx[X == 0] == 0.0)
    # the large stabilizer absorbs a visible share: the test is not R in, R out
    assert np.abs(rx - R).max() > 0.1


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_vanishing_epsilon_passes_the_relevance_unchanged(name):
    nonzero = X != 0
    for epsilon, rtol in ((TINY_EPSILON, 1e-5), (0.0, 1e-12)):
        rx = _relevance(FUNCTIONS[name], X, R, epsilon)
        np.testing.assert_allclose(rx[nonzero], R[nonzero], rtol=rtol)
        assert np.all(rx[~nonzero] == 0.0)
