"""Which kernel layer gets which rule: the input layer rule looks through Flatten/Reshape/Permute."""

from __future__ import annotations

import keras
import numpy as np

from innv_core import create_analyzer
from innv_plugins.lrp.analyzer import LRP

L = keras.layers


def test_input_layer_rule_reaches_the_first_dense_behind_flatten():
    keras.utils.set_random_seed(0)
    inp = keras.Input((3, 4))
    h = L.Dense(5, activation="relu", name="first")(L.Dropout(0.1)(L.Flatten()(inp)))
    model = keras.Model(inp, L.Dense(2, name="last")(h))
    analyzer = LRP(model, rule="Epsilon", input_layer_rule="Flat")
    assert type(analyzer.rules["first"]).__name__ == "FlatRule"
    assert type(analyzer.rules["last"]).__name__ == "EpsilonRule"
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    flat = analyzer.analyze(x)
    # the flat rule spreads the first layer's relevance evenly over its 12 inputs
    first_relevance = create_analyzer("lrp.epsilon", model, reverse_keep_tensors=True)
    first_relevance.analyze(x)
    kept = {name: arrays for _, name, arrays in first_relevance._reversed_tensors}
    total = kept["last"][0].sum(axis=1)  # relevance arriving at the first layer's output
    np.testing.assert_allclose(flat, np.broadcast_to((total / 12)[:, None, None], x.shape), rtol=1e-5)
