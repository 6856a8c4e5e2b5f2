"""Bad inputs get a named InvalidInputError before anything is computed, for every model kind."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import multi_input_model, random_inputs

from innv_core import create_analyzer
from innv_core.errors import InnvError, InvalidInputError, InvalidParameterError, NeuronSelectionError
from innv_core.inputs import InputChecker, InputSpec

L = keras.layers


def _functional():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,))
    return keras.Model(inp, L.Dense(3)(L.Dense(5, activation="relu")(inp)))


def _sequential_built_by_calling():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([L.Dense(5, activation="relu"), L.Dense(3)])
    model(np.zeros((2, 6), np.float32))
    return model


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.d1 = L.Dense(5, activation="relu")
        self.d2 = L.Dense(3)

    def call(self, x):
        return self.d2(self.d1(x))


def _subclassed():
    keras.utils.set_random_seed(0)
    model = Subclassed()
    model(np.zeros((1, 6), np.float32))
    return model


def _unbuilt_subclassed():
    keras.utils.set_random_seed(0)
    return Subclassed()


KINDS = {
    "functional": _functional,
    "sequential_called": _sequential_built_by_calling,
    "subclassed": _subclassed,
    "subclassed_unbuilt": _unbuilt_subclassed,
}

BAD = {
    "wrong feature size": (np.zeros((2, 7), np.float32), "shape"),
    "no batch axis": (np.zeros((6,), np.float32), "batch axis"),
    "extra axis": (np.zeros((2, 6, 1), np.float32), "shape"),
    "NaN": (np.array([[0.0, np.nan, 0, 0, 0, 0]], np.float32), "NaN"),
    "inf": (np.array([[0.0, np.inf, 0, 0, 0, 0]], np.float32), "infinite"),
    "empty batch": (np.zeros((0, 6), np.float32), "Empty batch"),
    "strings": (np.full((2, 6), "a"), "dtype"),
    "complex": (np.zeros((2, 6), np.complex64), "dtype"),
    "object": (object(), "numeric"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("name", ["gradient.baseline", "integrated_gradients"])
def test_every_model_kind_checks_inputs(kind, name):
    analyzer = create_analyzer(name, KINDS[kind](), **({"steps": 3} if name == "integrated_gradients" else {}))
    good = np.random.default_rng(0).normal(size=(2, 6)).astype(np.float32)
    first = analyzer.analyze(good)
    for label, (x, pattern) in BAD.items():
        if kind.startswith("subclassed") and label == "no batch axis":
            pattern = "shape"
        with pytest.raises(InvalidInputError, match=pattern):
            analyzer.analyze(x)
    np.testing.assert_array_equal(analyzer.analyze(good), first)  # still working, no retrace
    assert analyzer._trace_count == 1


class ConvSubclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = L.Conv2D(2, 3)

    def call(self, x):
        return keras.ops.mean(self.conv(x), axis=(1, 2))


def test_subclassed_model_refusing_the_data_gives_a_named_error():
    # no declared inputs: the first batch fixes the specs, and the model is called on one sample
    analyzer = create_analyzer("gradient.baseline", ConvSubclassed())
    with pytest.raises(InvalidInputError, match=r"cannot be called on inputs of shape\(s\) \[\(2, 6\)\]"):
        analyzer.analyze(np.zeros((2, 6), np.float32))
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 1)).astype(np.float32)
    expected = create_analyzer("gradient.baseline", analyzer._model).analyze(x)
    np.testing.assert_array_equal(analyzer.analyze(x), expected)  # the refused batch set nothing


def test_errors_are_innv_errors_and_value_errors():
    analyzer = create_analyzer("gradient", _functional())
    with pytest.raises(InnvError) as info:
        analyzer.analyze(np.zeros((2, 7), np.float32))
    assert isinstance(info.value, ValueError) and isinstance(info.value, InvalidInputError)
    assert "expected (batch, 6), got (2, 7)" in str(info.value)


def test_dict_inputs_by_name_and_wrong_keys():
    model = multi_input_model()
    x = random_inputs(model, batch=2)
    analyzer = create_analyzer("gradient", model)
    by_list = analyzer.analyze(x)
    by_dict = analyzer.analyze({"c": x[1], "a": x[0]})
    for a, name in zip(by_list, ["a", "c"]):
        np.testing.assert_array_equal(a, by_dict[name])
    with pytest.raises(InvalidInputError, match=r"missing \['c'\]"):
        analyzer.analyze({"a": x[0]})
    with pytest.raises(InvalidInputError, match=r"unknown \['b'\]"):
        analyzer.analyze({"a": x[0], "c": x[1], "b": x[1]})
    with pytest.raises(InvalidInputError, match="same batch size"):
        analyzer.analyze([x[0][:1], x[1]])
    with pytest.raises(InvalidInputError, match="2 input"):
        analyzer.analyze(x[0])


def test_dataset_with_dicts_and_per_sample_neuron_selection():
    model = multi_input_model()
    x = random_inputs(model, batch=5)
    analyzer = create_analyzer("gradient", model, neuron_selection_mode="index")
    idx = np.array([0, 2, 1, 1, 0])
    direct = analyzer.analyze(x, neuron_selection=idx)
    ds = tf.data.Dataset.from_tensor_slices(({"a": x[0], "c": x[1]}, np.zeros(5))).batch(2)
    from_ds = analyzer.analyze(ds, neuron_selection=idx)
    for a, b in zip(direct, [from_ds["a"], from_ds["c"]]):
        # batches of 2 instead of 5: float32 sums in another order, a few ulps of the largest value
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6 * np.abs(a).max())
    with pytest.raises(NeuronSelectionError, match="5 samples"):
        analyzer.analyze(ds, neuron_selection=idx[:4])
    with pytest.raises(InvalidInputError, match="empty"):
        analyzer.analyze(ds.take(0))


def test_neuron_selection_of_wrong_rank_or_range():
    analyzer = create_analyzer("gradient", _functional(), neuron_selection_mode="index")
    x = np.ones((2, 6), np.float32)
    with pytest.raises(NeuronSelectionError, match="shape \\(2, 1\\)"):
        analyzer.analyze(x, neuron_selection=np.array([[0], [1]]))
    with pytest.raises(NeuronSelectionError, match="out of range"):
        analyzer.analyze(x, neuron_selection=3)
    with pytest.raises(NeuronSelectionError, match="integers"):
        analyzer.analyze(x, neuron_selection=1.5)
    assert isinstance(NeuronSelectionError("x"), InvalidParameterError)


def _token_model(mask_zero=False):
    keras.utils.set_random_seed(0)
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    h = L.Embedding(10, 4, mask_zero=mask_zero)(tokens)
    h = L.Flatten()(h)
    return keras.Model(tokens, L.Dense(3)(h))


def test_token_ids_out_of_range_are_refused():
    analyzer = create_analyzer("lrp.epsilon", _token_model())
    ok = analyzer.analyze(np.array([[1, 2, 3, 4, 9]]))
    assert ok.shape == (1, 5)
    for bad, where in ((-1, "from -1"), (10, "to 10")):
        ids = np.array([[1, 2, 3, 4, bad]])
        with pytest.raises(InvalidInputError, match=rf"\[0, 10\).*{where}"):
            analyzer.analyze(ids)
    with pytest.raises(InvalidInputError, match="whole numbers"):
        analyzer.analyze(np.array([[1.5, 2, 3, 4, 5]]))


def test_integer_inputs_feeding_no_embedding_are_refused_by_the_gradient_family():
    from innv_core.errors import NotAnalyzableModelError

    ids = keras.Input((5,), dtype="int32")
    model = keras.Model(ids, L.Dense(3)(keras.ops.cast(ids, "float32")))
    for name in ("gradient", "input_t_gradient", "integrated_gradients", "smoothgrad",
                 "guided_backprop", "deconvnet", "deep_lift.wrapper"):
        with pytest.raises(NotAnalyzableModelError, match=r"integers and feed no Embedding directly"):
            create_analyzer(name, model)


def test_token_inputs_are_analyzed_in_embedding_space_by_every_family():
    # per token, summing to the logit (z-rule / input x gradient; the Dense bias is zero)
    model = _token_model()
    ids = np.array([[1, 2, 3, 4, 5], [9, 8, 7, 6, 5]])
    logits = model(ids).numpy()
    for name in ("lrp.z", "input_t_gradient", "deep_lift.wrapper"):
        relevance = create_analyzer(name, model).analyze(ids)
        assert relevance.shape == ids.shape
        np.testing.assert_allclose(relevance.sum(1), logits.max(1), rtol=1e-5)


def test_input_checker_unit():
    checker = InputChecker([InputSpec("x", (None, 3), "float32")])
    out = checker.check(np.ones((2, 5, 3), np.float64))
    assert out[0].dtype == np.float32 and out[0].shape == (2, 5, 3)
    with pytest.raises(InvalidInputError, match=r"expected \(batch, any, 3\)"):
        checker.check(np.ones((2, 5, 4)))
    inferred = InputChecker(None, None)
    inferred.check([np.ones((2, 4)), np.ones((2, 3), np.int64)])
    assert [s.shape for s in inferred.specs] == [(4,), (3,)]
    assert inferred.specs[1].dtype == np.int64
    with pytest.raises(InvalidInputError, match="2 input"):
        inferred.check(np.ones((2, 4)))


def test_integrated_gradients_reference_of_wrong_shape_is_refused_at_creation():
    model = _functional()
    with pytest.raises(InvalidParameterError, match=r"reference_inputs has shape \(7,\)"):
        create_analyzer("integrated_gradients", model, reference_inputs=np.zeros(7))
    with pytest.raises(InvalidParameterError, match="NaN"):
        create_analyzer("integrated_gradients", model, reference_inputs=np.full(6, np.nan))
    ok = create_analyzer("integrated_gradients", model, reference_inputs=np.ones((1, 6)), steps=8)
    x = np.full((1, 6), 1.0, np.float32)
    from innv_core.errors import AnalysisWarning

    with pytest.warns(AnalysisWarning, match="exactly zero"):  # x == reference: nothing to attribute
        np.testing.assert_array_equal(ok.analyze(x), np.zeros_like(x))


def test_pattern_computer_refuses_nan_data():
    from innv_core.tools.pattern import PatternComputer

    model = _functional()
    x = np.random.default_rng(0).normal(size=(8, 6)).astype(np.float32)
    x[3, 2] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        PatternComputer(model, pattern_type="linear").compute(x)
