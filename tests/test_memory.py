"""Memory budgets of the path methods (innv_core.memory): chunk sizes follow the budget, results don't."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from innv_core import create_analyzer
from innv_core.memory import bytes_per_sample, points_per_step

L = keras.layers


def small_cnn():
    keras.utils.set_random_seed(0)
    x = keras.Input((8, 8, 3))
    h = L.Conv2D(4, 3, padding="same", activation="relu")(x)  # 8*8*4 floats
    h = L.Flatten()(h)  # 256 floats
    return keras.Model(x, L.Dense(5)(h))  # 5 floats


def test_bytes_per_sample_counts_every_layer_output_twice():
    assert bytes_per_sample(small_cnn()) == 2 * 4 * (8 * 8 * 4 + 256 + 5)


@pytest.mark.parametrize(("budget", "batch", "cap", "expected"), [
    (1, 4, None, 1),  # nothing fits: still one point per step
    (10**12, 4, None, 16),  # everything fits: all points at once
    (10**12, 4, 3, 3),  # an explicit steps_per_chunk is the ceiling
    (1000 * 4 * 5, 4, None, 5),  # room for 20 copies of a 1000-byte sample: 5 points of 4
])
def test_points_per_step(budget, batch, cap, expected):
    got = points_per_step(budget, 1000, tf.constant(batch), n_points=16, cap=cap)
    assert int(got) == expected


@pytest.mark.parametrize("name", ["integrated_gradients", "smoothgrad"])
def test_the_budget_changes_the_chunks_not_the_result(name):
    model = small_cnn()
    x = np.random.default_rng(1).normal(size=(3, 8, 8, 3)).astype(np.float32)
    kwargs = {"steps": 7} if name == "integrated_gradients" else {"augment_by_n": 7, "seed": 3}
    tight = create_analyzer(name, model, memory_budget=1, **kwargs)  # one point per step
    roomy = create_analyzer(name, model, **kwargs)  # all 7 at once
    a, b = tight.analyze(x), roomy.analyze(x)  # SmoothGrad: each point's noise from (seed, point)
    assert np.abs(b).max() > 0
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * np.abs(b).max())
