"""Results come back in the structure of the inputs (issue 28, point 1): a dict in gives a dict
with the same keys, a list a list in the same order, a single array an array; references too."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import multi_input_model, random_inputs

from innv_core import create_analyzer
from innv_core.analyzer import AnalyzerBase
from innv_core.errors import InvalidParameterError

L = keras.layers


def _oracle_gradients(model, xs):
    """The gradient of each sample's largest output with respect to each input, by tf.GradientTape."""
    ts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        tape.watch(ts)
        y = model(ts)
        top = tf.reduce_sum(tf.reduce_max(y, axis=1))
    return [g.numpy() for g in tape.gradient(top, ts)]


def test_a_dict_in_gives_a_dict_with_the_same_keys_and_each_inputs_own_analysis():
    model = multi_input_model()  # inputs "a" (5,) and "c" (4, 4, 2), in that order
    xa, xc = random_inputs(model, batch=3)
    want_a, want_c = _oracle_gradients(model, [xa, xc])
    out = create_analyzer("gradient", model).analyze({"c": xc, "a": xa})
    assert isinstance(out, dict) and list(out) == ["c", "a"]  # the user's keys, in the user's order
    assert out["a"].shape == (3, 5) and out["c"].shape == (3, 4, 4, 2)
    np.testing.assert_allclose(out["a"], want_a, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out["c"], want_c, rtol=1e-5, atol=1e-7)


def test_lists_and_tuples_keep_their_order_and_a_single_array_stays_an_array():
    model = multi_input_model()
    xa, xc = random_inputs(model, batch=2)
    analyzer = create_analyzer("gradient", model)
    as_list = analyzer.analyze([xa, xc])
    as_tuple = analyzer.analyze((xa, xc))
    assert isinstance(as_list, list) and isinstance(as_tuple, tuple)
    assert [a.shape for a in as_list] == [xa.shape, xc.shape] == [a.shape for a in as_tuple]
    for a, b in zip(as_list, _oracle_gradients(model, [xa, xc])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)

    keras.utils.set_random_seed(0)
    single = keras.Sequential([keras.Input((4,), name="x"), L.Dense(3)])
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    one = create_analyzer("gradient", single)
    assert isinstance(one.analyze(x), np.ndarray) and isinstance(one.analyze(tf.constant(x)), np.ndarray)
    assert isinstance(one.analyze([x]), list) and len(one.analyze([x])) == 1
    by_name = one.analyze({single.inputs[0].name: x})
    assert list(by_name) == [single.inputs[0].name]
    np.testing.assert_array_equal(by_name[single.inputs[0].name], one.analyze(x))


def test_a_dataset_of_dicts_gives_a_dict_also_with_a_strategy():
    model = multi_input_model()
    xa, xc = random_inputs(model, batch=5)
    analyzer = create_analyzer("gradient", model)
    want = analyzer.analyze([xa, xc])
    ds = tf.data.Dataset.from_tensor_slices(({"c": xc, "a": xa}, np.zeros(5))).batch(2)
    for out in (analyzer.analyze(ds), analyzer.analyze(ds, strategy=tf.distribute.get_strategy()),
                analyzer.analyze({"c": xc, "a": xa}, strategy=tf.distribute.get_strategy())):
        assert list(out) == ["c", "a"]
        np.testing.assert_allclose(out["a"], want[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["c"], want[1], rtol=1e-5, atol=1e-6)


def _hub_style_classifier(T=6, vocabulary=20):
    """keras-hub's text classifiers take ``{"token_ids", "padding_mask", "segment_ids"}``; Keras
    orders ``model.inputs`` by key: padding_mask, segment_ids, token_ids."""
    keras.utils.set_random_seed(0)
    inputs = {"token_ids": keras.Input((T,), dtype="int32", name="token_ids"),
              "padding_mask": keras.Input((T,), dtype="int32", name="padding_mask"),
              "segment_ids": keras.Input((T,), dtype="int32", name="segment_ids")}
    h = L.Add()([L.Embedding(vocabulary, 4)(inputs["token_ids"]), L.Embedding(2, 4)(inputs["segment_ids"])])
    mask = L.Reshape((T, 1))(L.Lambda(lambda m: keras.ops.cast(m, "float32"))(inputs["padding_mask"]))
    h = L.Multiply()([h, mask])
    out = L.Dense(3)(L.Flatten()(L.Dense(5, activation="relu")(h)))
    return keras.Model(inputs, out)


@pytest.mark.parametrize("name", ["lrp.epsilon", "integrated_gradients"])
def test_keras_hub_style_dict_is_indexed_by_name(name):
    model = _hub_style_classifier()
    order = [t.name for t in model.inputs]
    assert order[0] != "token_ids"  # the case of the issue: out[0] was the padding mask's zeros
    ids = np.array([[3, 4, 5, 6, 0, 0], [1, 2, 3, 4, 5, 6]], "int32")
    X = {"token_ids": ids, "padding_mask": (ids != 0).astype("int32"), "segment_ids": np.zeros_like(ids)}
    analyzer = create_analyzer(name, model, allow_lambda_layers=True)
    out = analyzer.analyze(X)
    assert list(out) == ["token_ids", "padding_mask", "segment_ids"]
    assert out["token_ids"].shape == ids.shape and np.abs(out["token_ids"]).max() > 0
    assert not np.any(out["token_ids"][ids == 0])  # padded tokens are masked out by the model
    assert not np.any(out["padding_mask"])  # an integer input feeding no Embedding: zeros
    positional = analyzer.analyze([X[k] for k in order])
    np.testing.assert_array_equal(out["token_ids"], positional[order.index("token_ids")])


@pytest.mark.parametrize("name", ["integrated_gradients", "deep_lift.wrapper"])
def test_reference_inputs_by_name(name):
    model = multi_input_model()
    xa, xc = random_inputs(model, batch=2)
    ra, rc = np.full((5,), 0.5, "float32"), np.full((1, 4, 4, 2), -0.25, "float32")
    by_list = create_analyzer(name, model, reference_inputs=[ra, rc]).analyze([xa, xc])
    analyzer = create_analyzer(name, model, reference_inputs={"c": rc, "a": ra})
    by_dict = analyzer.analyze({"a": xa, "c": xc})
    reloaded = AnalyzerBase.load(*analyzer.save()).analyze({"a": xa, "c": xc})  # saved as plain data
    np.testing.assert_array_equal(reloaded["c"], by_dict["c"])
    np.testing.assert_allclose(by_dict["a"], by_list[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(by_dict["c"], by_list[1], rtol=1e-6, atol=1e-8)
    zero = create_analyzer(name, model, reference_inputs=0).analyze([xa, xc])
    assert np.abs(by_list[0] - zero[0]).max() > 1e-4  # the reference mattered
    with pytest.raises(InvalidParameterError, match=r"reference_inputs must have exactly .*missing \['c'\]"):
        create_analyzer(name, model, reference_inputs={"a": ra})


def test_pattern_fit_takes_a_dict_of_inputs():
    model = multi_input_model()
    xa, xc = random_inputs(model, batch=8)
    by_list = create_analyzer("pattern.net", model)
    by_list.fit([xa, xc], batch_size=4)
    by_dict = create_analyzer("pattern.net", model)
    by_dict.fit({"c": xc, "a": xa}, batch_size=4)
    for p, q in zip(by_list._patterns, by_dict._patterns):
        np.testing.assert_allclose(q, p, rtol=1e-6, atol=1e-9)
    out = by_dict.analyze({"c": xc, "a": xa})
    np.testing.assert_array_equal(out["a"], by_list.analyze([xa, xc])[0])


def test_structure_restores_what_was_given():
    from innv_core.inputs import InputStructure

    names = ["a", "b"]
    assert InputStructure.of({"b": 1, "a": 2}).restore([10, 20], names) == {"b": 20, "a": 10}
    assert InputStructure.of([1, 2]).restore([10, 20], names) == [10, 20]
    assert InputStructure.of((1, 2)).restore([10, 20], names) == (10, 20)
    assert InputStructure.of(np.zeros(3)).restore([10], ["a"]) == 10
