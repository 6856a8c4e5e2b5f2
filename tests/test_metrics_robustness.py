"""Continuity, consistency, relative representation stability, input invariance and focus (with
its mosaics): against Quantus 0.6 (tests/references/gen_quantus_robustness.py, the torch twins of
the small CNN and MLP) and against oracles of their definitions; bad input refused by name."""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from innv_core import create_metric
from innv_core.errors import InvalidInputError, InvalidParameterError, NotAnalyzableModelError
from innv_core.metrics.mosaic import Mosaics, build_single_mosaic, mosaic_creation
from innv_plugins.metrics.robustness.consistency import sign
from innv_plugins.metrics.robustness.continuity import translated

sys.path.insert(0, str(Path(__file__).parent / "references"))
from torch_models import build_torch_reference  # noqa: E402

REF = dict(np.load(Path(__file__).parent / "references" / "quantus_robustness.npz", allow_pickle=False))


@pytest.fixture(scope="module")
def cnn():
    model, _ = build_torch_reference("cnn")
    return model


@pytest.fixture(scope="module")
def mlp():
    model, _ = build_torch_reference("mlp")
    return model


def _compare(got, want, atol=1e-4, rtol=0.0):
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], atol=atol, rtol=rtol)


# -- against Quantus ------------------------------------------------------------------------------
@pytest.mark.parametrize("key,params", [
    ("steps5", {"nr_steps": 5}),
    ("steps5_nan", {"nr_steps": 5, "return_nan_when_prediction_changes": True}),
    ("steps4", {"nr_steps": 4}),  # shifts -4, 0, +4, +8 (out of view)
])
def test_continuity_matches_quantus(cnn, key, params):
    result = create_metric("continuity", cnn, **params).evaluate(REF["x"], REF["y"], analyzer="gradient")
    _compare(result.scores, REF[f"continuity/{key}"], rtol=1e-5)
    assert result.curves.shape == (6, params["nr_steps"]) and len(result.steps) == params["nr_steps"]


@pytest.mark.parametrize("key,func", [("top_n_sign", None), ("sign", sign)])
def test_consistency_matches_quantus_where_defined(cnn, key, func):
    """Quantus scores 0 where no other sample shares the explanation (the last one here); innv NaN."""
    params = {} if func is None else {"discretise_func": func}
    result = create_metric("consistency", cnn, **params).evaluate(REF["x_cons"], REF["y_cons"], a=REF["a_cons"])
    want = REF[f"consistency/{key}"]
    assert np.isnan(result.scores[-1]) and want[-1] == 0 and np.isfinite(result.scores[:-1]).all()
    _compare(result.scores[:-1], want[:-1])
    assert result.higher_is_better


@pytest.mark.parametrize("key,params", [
    ("relu1", {"layer_names": ["dense_1"]}),
    ("relu1_relu2", {"layer_names": ["dense_1", "dense_2"]}),
    ("last", {"layer_indices": [-1], "return_nan_when_prediction_changes": False}),
])
def test_relative_representation_stability_matches_quantus_draw_for_draw(mlp, key, params):
    """Quantus' torch modules 1 and 3 are the ReLUs fused into Keras' dense_1 and dense_2."""
    metric = create_metric("relative_representation_stability", mlp, nr_samples=10, seed=29, **params)
    result = metric.evaluate(REF["x_mlp"], REF["y_mlp"], a=REF["a_mlp"], analyzer="gradient")
    _compare(result.scores, REF[f"relative_representation_stability/{key}"], rtol=1e-5)


@pytest.mark.parametrize("analyzer,name", [("gradient", "gradient"), ("input_t_gradient", "input_x_gradient")])
@pytest.mark.parametrize("shift", [-1, 0.5])
def test_input_invariance_matches_quantus_shifting_every_value(cnn, analyzer, name, shift):
    result = create_metric("input_invariance", cnn, input_shift=shift).evaluate(REF["x"], REF["y"], analyzer=analyzer)
    _compare(result.scores, REF[f"input_invariance/{name}/{shift}/all"])
    assert result.scores.tolist() == [float(analyzer == "gradient")] * 6


def test_quantus_default_input_invariance_leaves_the_first_value_unshifted(cnn):
    """Quantus 0.6's perturb_batch passes indices[i][1:]: the first value keeps its place, so the
    gradient "fails" where that value crosses a ReLU of the shifted model."""
    assert REF["input_invariance/gradient/-1"].tolist() != REF["input_invariance/gradient/-1/all"].tolist()


@pytest.mark.parametrize("key", ["a", "map"])
def test_focus_matches_quantus(key):
    a = REF["a_mosaic"] if key == "a" else REF["map_mosaic"]
    result = create_metric("focus").evaluate(REF["mosaics"], REF["mosaic/targets"], a=a, s=REF["mosaic/p"])
    _compare(result.scores, REF[f"focus/{key}"])


def test_mosaic_creation_draws_as_quantus():
    mosaics = mosaic_creation(REF["images"], REF["labels"], mosaics_per_class=2, seed=7)
    np.testing.assert_array_equal(mosaics.indices, REF["mosaic/indices"])
    np.testing.assert_array_equal(mosaics.labels, REF["mosaic/labels"])
    np.testing.assert_array_equal(mosaics.s, REF["mosaic/p"])
    np.testing.assert_array_equal(mosaics.y, REF["mosaic/targets"])
    np.testing.assert_array_equal(mosaics.x, REF["mosaics"])
    x, indices, labels, p, y = mosaics  # Quantus' five values
    assert x.shape == (6, 16, 16, 2) and p.shape == (6, 4)


# -- oracles and behaviour ----------------------------------------------------------------------
def test_translated_moves_and_fills():
    x = np.arange(2 * 2 * 4 * 1, dtype=np.float32).reshape(2, 2, 4, 1)
    right = translated(x, 1, 2, "black")
    np.testing.assert_array_equal(right[:, :, 1:], x[:, :, :3])
    np.testing.assert_array_equal(right[:, :, 0, 0], [[0, 0], [8, 8]])  # each sample's minimum
    left = translated(x, -2, 2, 5.0)
    np.testing.assert_array_equal(left[:, :, :2], x[:, :, 2:])
    assert (left[:, :, 2:] == 5).all()
    assert (translated(x, 9, 2, "white") == x.reshape(2, -1).max(1)[:, None, None, None]).all()
    np.testing.assert_array_equal(translated(x, 0, 2, "black"), x)


def test_continuity_oracle_and_batch_size(cnn):
    x, y = REF["x"], REF["y"]
    metric = create_metric("continuity", cnn, nr_steps=5, normalise=False, abs=False, perturb_baseline="white")
    result = metric.evaluate(x, y, analyzer="gradient", batch_size=4)
    from innv_core import create_analyzer

    analyzer = create_analyzer("gradient", cnn, neuron_selection_mode="index")
    a = np.asarray(analyzer.analyze(x, neuron_selection=y))
    want = []
    for shift in (-5, -2, 1, 4, 7):
        moved = translated(x, shift, 2, "white")
        b = np.asarray(analyzer.analyze(moved, neuron_selection=y))
        want.append(np.abs(a - b).reshape(6, -1).sum(1)
                    / (np.linalg.norm((x - moved).reshape(6, -1).astype(np.float64), axis=1) + 1e-9))
    np.testing.assert_allclose(result.curves, np.stack(want, axis=1), rtol=1e-5, atol=1e-6)
    assert result.steps == ("shift -5", "shift -2", "shift +1", "shift +4", "shift +7")
    other = metric.evaluate(x, y, analyzer="gradient", batch_size=64)
    np.testing.assert_allclose(other.scores, result.scores, rtol=1e-6)
    black = create_metric("continuity", cnn, nr_steps=5, normalise=False, abs=False).evaluate(
        x, y, analyzer="gradient")
    assert not np.allclose(black.scores, result.scores)  # the baseline is honoured


def test_continuity_refuses_bad_input(cnn):
    with pytest.raises(InvalidParameterError, match="nr_steps <= 17"):
        create_metric("continuity", cnn).evaluate(REF["x"], REF["y"], analyzer="gradient")  # 28 > 17
    with pytest.raises(InvalidParameterError, match="one value per sample"):
        create_metric("continuity", cnn, perturb_baseline="uniform")
    with pytest.raises(InvalidParameterError, match="direction"):
        create_metric("continuity", cnn, perturb_func_kwargs={"direction": "z"})
    with pytest.raises(InvalidParameterError, match="only 'direction'"):
        create_metric("continuity", cnn, perturb_func_kwargs={"perturb_dx": 3})
    with pytest.raises(InvalidInputError, match="analyzer"):
        create_metric("continuity", cnn, nr_steps=5).evaluate(REF["x"], REF["y"], a=REF["x"])


def test_continuity_along_the_height(cnn):
    result = create_metric("continuity", cnn, nr_steps=5, perturb_func_kwargs={"direction": "y"}).evaluate(
        REF["x"][:, :, ::-1].swapaxes(1, 2).copy(), REF["y"], analyzer="gradient")
    assert np.isfinite(result.scores).all()


def test_consistency_oracle(cnn):
    """Groups by a user's discretisation: the share of the others in the group with the same prediction."""
    x = REF["x_cons"][:6]
    predicted = cnn.predict(x, verbose=0).argmax(1)
    groups = np.array([0, 0, 0, 1, 1, 2])
    a = np.broadcast_to(groups[:, None, None].astype(np.float64) + 1, (6, 8, 8)).copy()
    result = create_metric("consistency", cnn, normalise=False,
                           discretise_func=lambda row: float(row[0])).evaluate(x, a=a)
    want = []
    for i in range(6):
        others = [j for j in range(6) if j != i and groups[j] == groups[i]]
        want.append(np.mean([predicted[j] == predicted[i] for j in others]) if others else np.nan)
    _compare(result.scores, np.array(want))
    with pytest.raises(InvalidParameterError, match="hashable"):
        create_metric("consistency", cnn, discretise_func=lambda row: row).evaluate(x, a=a)
    with pytest.raises(InvalidParameterError, match="function"):
        create_metric("consistency", cnn, discretise_func=3)


def test_relative_representation_stability_choices(mlp):
    x, y, a = REF["x_mlp"], REF["y_mlp"], REF["a_mlp"]
    metric = create_metric("relative_representation_stability", mlp, nr_samples=4, seed=1,
                           layer_names=["dense_2"], return_nan_when_prediction_changes=False)
    assert metric.representation.layers == ("dense_2",)
    one = metric.evaluate(x, y, a=a, analyzer="gradient", batch_size=3).scores
    np.testing.assert_allclose(metric.evaluate(x, y, a=a, analyzer="gradient").scores, one, rtol=1e-6)
    by_index = create_metric("relative_representation_stability", mlp, nr_samples=4, seed=1,
                             layer_indices=[-2], return_nan_when_prediction_changes=False)
    np.testing.assert_allclose(by_index.evaluate(x, y, a=a, analyzer="gradient").scores, one, rtol=1e-6)
    every = create_metric("relative_representation_stability", mlp, nr_samples=2)
    assert every.representation.layers == tuple(layer.name for layer in mlp.layers)
    with pytest.raises(InvalidParameterError, match="not both"):
        create_metric("relative_representation_stability", mlp, layer_names=["dense_1"], layer_indices=[1])
    with pytest.raises(InvalidParameterError, match="name no layer"):
        create_metric("relative_representation_stability", mlp, layer_names=["conv"])
    with pytest.raises(InvalidParameterError, match="name no layer"):
        create_metric("relative_representation_stability", mlp, layer_indices=[9])
    with pytest.raises(InvalidParameterError, match="lists"):
        create_metric("relative_representation_stability", mlp, layer_names="dense_1")


def test_input_invariance_on_a_dense_model(mlp):
    x, y = REF["x_mlp"], REF["y_mlp"]
    metric = create_metric("input_invariance", mlp, input_shift=2.5)
    np.testing.assert_allclose(metric.shifted_model(x + 2.5), mlp(x), atol=1e-5)
    assert metric.evaluate(x, y, analyzer="gradient").scores.tolist() == [1.0] * 8
    assert metric.evaluate(x, y, analyzer="input_t_gradient").scores.tolist() == [0.0] * 8
    assert mlp.get_layer("dense_1").get_weights()[1].tolist() != \
        metric.shifted_model.get_layer("dense_1").get_weights()[1].tolist()  # a copy was shifted


def _model(first, shape=(8, 8, 2)):
    inputs = keras.Input(shape)
    h = first(inputs)
    return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(h)))


@pytest.mark.parametrize("first,match", [
    (lambda t: keras.layers.Conv2D(3, 3, padding="same")(t), "pads its input"),
    (lambda t: keras.layers.Conv2D(3, 3, use_bias=False)(t), "no bias"),
    (lambda t: keras.layers.Rescaling(0.5)(t), "Rescaling"),
    (lambda t: keras.layers.Add()([keras.layers.Conv2D(2, 1)(t), t]), "2 layers read the input"),
])
def test_input_invariance_refuses_models_whose_bias_cannot_absorb_the_shift(first, match):
    with pytest.raises(NotAnalyzableModelError, match=match):
        create_metric("input_invariance", _model(first))


def test_input_invariance_accepts_a_one_wide_same_convolution():
    model = _model(lambda t: keras.layers.Conv2D(3, 1, padding="same", activation="relu")(t))
    metric = create_metric("input_invariance", model)
    x = np.random.default_rng(0).normal(size=(3, 8, 8, 2)).astype(np.float32)
    np.testing.assert_allclose(metric.shifted_model(x - 1), model(x), atol=1e-5)
    with pytest.raises(InvalidParameterError, match="number"):
        create_metric("input_invariance", model, input_shift="black")


def test_focus_oracle_and_checks():
    a = np.zeros((2, 4, 6, 1))
    a[0, :2, :3] = 1.0  # all positive relevance top left
    a[0, 2:, 3:] = -5.0  # negative relevance does not count
    a[1] = 1.0
    s = np.array([[1, 0, 0, 0], [0, 1, 1, 0]])
    result = create_metric("focus", normalise=False).evaluate(np.zeros((2, 4, 6, 1)), a=a, s=s)
    np.testing.assert_allclose(result.scores, [1.0, 0.5], atol=1e-8)
    with pytest.raises(InvalidInputError, match="mosaic_creation"):
        create_metric("focus").evaluate(np.zeros((2, 4, 6, 1)), a=a)
    with pytest.raises(InvalidInputError, match=r"shape \(2, 4\)"):
        create_metric("focus").evaluate(np.zeros((2, 4, 6, 1)), a=a, s=np.ones((2, 3)))
    with pytest.raises(InvalidInputError, match="image mosaics"):
        create_metric("focus").evaluate(np.zeros((2, 6)), a=np.ones((2, 6)), s=s)


def test_mosaic_helpers():
    images = np.arange(4 * 2 * 2 * 1).reshape(4, 2, 2, 1)
    mosaic = build_single_mosaic(images)
    assert mosaic.shape == (4, 4, 1)
    np.testing.assert_array_equal(mosaic[2:, :2], images[2])
    one = mosaic_creation(REF["images"], REF["labels"], 3, seed=0)
    two = mosaic_creation(REF["images"], REF["labels"], 3, seed=0)
    assert isinstance(one, Mosaics) and one.x.shape == (9, 16, 16, 2)
    np.testing.assert_array_equal(one.indices, two.indices)
    assert (one.s.sum(axis=1) == 2).all()
    assert all(REF["labels"][i] == t for row, p, t in zip(one.indices, one.s, one.y) for i, k in zip(row, p) if k)
    with pytest.raises(InvalidInputError, match="two classes"):
        mosaic_creation(REF["images"], np.zeros(9, int), 2)
    with pytest.raises(InvalidInputError, match="one label per image"):
        mosaic_creation(REF["images"], np.zeros(3, int), 2)
    with pytest.raises(InvalidInputError, match="four images"):
        build_single_mosaic(images[:3])
