"""innv's deletion, insertion and mu_fidelity against xplique 2.0.2 (tests/references/gen_xplique.py:
same CNN weights, inputs and attributions), against oracles of their definitions, and their errors.

Deletion and insertion are deterministic: per-sample curves and xplique's one number match to
1e-4. µ-fidelity draws random subsets: fed the masks xplique drew, it matches to 1e-4; with its
own draws it is compared in distribution (per sample, the mean of 48 runs within 4 standard errors).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.stats import spearmanr

from innv_core import create_metric, get_registry
from innv_core.errors import InvalidInputError, InvalidParameterError
from innv_plugins.metrics.xplique.mu_fidelity import nearest_cells

L = keras.layers
REF = dict(np.load(Path(__file__).parent / "references" / "xplique_metrics.npz", allow_pickle=False))


def sample_mean(x):
    """gen_xplique.py's baseline function: each sample's mean, for every value."""
    return np.broadcast_to(np.mean(x, axis=(1, 2, 3), keepdims=True), x.shape).astype(np.float32)


#: gen_xplique.py's cases: (parameters, attributions key)
CAUSAL = {
    "default": ({}, "a"),
    "map": ({}, "a_map"),
    "all_half": ({"steps": -1, "max_percentage_perturbed": 0.5, "baseline_mode": 0.5}, "a"),
    "softmax": ({"steps": 7, "activation": "softmax"}, "a"),
    "sample_mean": ({"baseline_mode": sample_mean}, "a_map"),
}
MU = {
    "default": ({}, "a"),
    "grid4_map": ({"grid_size": 4, "nb_samples": 50}, "a_map"),
    "pixels_half": ({"grid_size": None, "nb_samples": 50, "baseline_mode": 0.5, "subset_percent": 0.3}, "a"),
    "softmax": ({"nb_samples": 60, "activation": "softmax"}, "a"),
}


@pytest.fixture(scope="module")
def cnn():
    """gen_xplique.py's CNN, rebuilt from its plain weights."""
    inp = keras.Input((12, 12, 3))
    h = L.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inp)
    h = L.AveragePooling2D(2, name="pool")(h)
    model = keras.Model(inp, L.Dense(3, name="dense")(L.Flatten()(h)))
    for name in ("conv", "dense"):
        model.get_layer(name).set_weights([REF[f"w/{name}/kernel"], REF[f"w/{name}/bias"]])
    np.testing.assert_allclose(np.asarray(model(REF["x"])), REF["logits"], atol=1e-5)
    return model


@pytest.mark.parametrize("kind", ["deletion", "insertion"])
@pytest.mark.parametrize("case", list(CAUSAL))
def test_causal_fidelity_matches_xplique(cnn, kind, case):
    params, key = CAUSAL[case]
    result = create_metric(kind, cnn, **params).evaluate(REF["x"], REF["y"], a=REF[key])
    np.testing.assert_allclose(result.curves, REF[f"{kind}/{case}/curves"], atol=1e-4, rtol=0)
    assert result.mean == pytest.approx(float(REF[f"{kind}/{case}/score"]), abs=1e-4)
    assert result.higher_is_better is (kind == "insertion")


def _xplique_subsets(metric, kept, grid):
    """Make ``metric`` draw xplique's recorded subsets (``kept``: (n, runs, H, W), True = kept)."""
    rows, cols = nearest_cells(grid, kept.shape[2]), nearest_cells(grid, kept.shape[3])
    cells = np.zeros((*kept.shape[:2], grid, grid), bool)
    cells[:, :, rows[:, None], cols[None, :]] = ~kept
    cells = cells.reshape(*kept.shape[:2], -1)
    # the subsets at the cells' pixels are xplique's masks: innv's cell of each pixel is TF's
    pixels = cells[:, :, (rows[:, None] * grid + cols[None, :]).ravel()].reshape(kept.shape)
    np.testing.assert_array_equal(pixels, ~kept)
    runs = iter(range(kept.shape[1]))
    metric.subsets = lambda rng, n, count: cells[:, next(runs)]
    return metric


@pytest.mark.parametrize("case", list(MU))
def test_mu_fidelity_matches_xplique_on_its_subsets(cnn, case):
    params, key = MU[case]
    kept = REF[f"mu_fidelity/{case}/masks"]
    metric = _xplique_subsets(create_metric("mu_fidelity", cnn, **params), kept,
                              params.get("grid_size", 9) or kept.shape[2])
    result = metric.evaluate(REF["x"], REF["y"], a=REF[key])
    np.testing.assert_allclose(result.scores, REF[f"mu_fidelity/{case}/scores"], atol=1e-4, rtol=0)
    assert result.curves.shape == (len(REF["x"]), kept.shape[1])


@pytest.mark.parametrize("case", list(MU))
def test_mu_fidelity_matches_xplique_in_distribution(cnn, case):
    """innv's own draws against xplique's TensorFlow draws: 48 runs each, per sample."""
    params, key = MU[case]
    xplique = REF[f"mu_fidelity/{case}/repeats"]  # (runs, n)
    runs, n = xplique.shape
    tiled = np.tile(REF["x"], (runs, 1, 1, 1))
    ours = create_metric("mu_fidelity", cnn, seed=7, **params).evaluate(
        tiled, np.tile(REF["y"], runs), a=np.tile(REF[key], (runs,) + (1,) * (REF[key].ndim - 1)),
        batch_size=4096).scores.reshape(runs, n)
    se = np.sqrt(xplique.var(axis=0, ddof=1) / runs + ours.var(axis=0, ddof=1) / runs)
    assert np.all(np.abs(ours.mean(axis=0) - xplique.mean(axis=0)) <= 4 * se)


@pytest.mark.parametrize("cells,size", [(9, 12), (9, 8), (4, 12), (7, 32), (12, 12), (5, 3)])
def test_nearest_cells_is_tf_image_resize(cells, size):
    grid = tf.reshape(tf.range(cells, dtype=tf.float32), (1, cells, 1, 1))
    resized = tf.image.resize(grid, (size, 1), method="nearest").numpy().ravel().astype(int)
    np.testing.assert_array_equal(nearest_cells(cells, size), resized)


# -- the definitions, on data xplique's reference does not cover --------------------------------

@pytest.fixture(scope="module")
def mlp():
    keras.utils.set_random_seed(3)
    inp = keras.Input((6,))
    return keras.Model(inp, L.Dense(3)(L.Dense(8, activation="relu")(inp)))


@pytest.fixture(scope="module")
def series_model():
    keras.utils.set_random_seed(4)
    inp = keras.Input((5, 2))
    return keras.Model(inp, L.Dense(3)(L.Flatten()(L.Dense(4, activation="tanh")(inp))))


def _logit(model, x, y):
    return np.asarray(model(x))[np.arange(len(x)), y]


@pytest.mark.parametrize("kind", ["deletion", "insertion"])
def test_causal_fidelity_follows_rise_on_tabular_data(mlp, kind):
    """Petsiuk et al. 2018: the k most relevant features moved (to the baseline, or from it),
    k = linspace(0, features, steps + 1); the score is the curve's mean trapezoid on [0, 1]."""
    rng = np.random.default_rng(1)
    x, a = rng.normal(size=(4, 6)).astype("float32"), rng.normal(size=(4, 6))
    y = np.array([0, 1, 2, 1])
    result = create_metric(kind, mlp, steps=3, baseline_mode=-0.5).evaluate(x, y, a=a)
    for i in range(len(x)):
        order = np.argsort(-a[i])
        curve = []
        for k in (0, 2, 4, 6):
            moved = x[i].copy() if kind == "deletion" else np.full(6, -0.5, "float32")
            moved[order[:k]] = -0.5 if kind == "deletion" else x[i][order[:k]]
            curve.append(_logit(mlp, moved[None], y[i:i + 1])[0])
        np.testing.assert_allclose(result.curves[i], curve, atol=1e-5)
        assert result.scores[i] == pytest.approx(np.trapezoid(curve, dx=1 / 3), abs=1e-5)


def test_mu_fidelity_follows_bhatt_on_series(series_model):
    """Bhatt et al. 2020 (def. 3) as xplique cuts series: a subset of time cells x features, the
    drop of the score against the subset's summed attribution, Spearman's correlation."""
    rng = np.random.default_rng(2)
    x, a = rng.normal(size=(3, 5, 2)).astype("float32"), rng.normal(size=(3, 5, 2))
    y = np.array([2, 0, 1])
    metric = create_metric("mu_fidelity", series_model, grid_size=3, nb_samples=20, seed=5)
    result = metric.evaluate(x, y, a=a)
    draws = np.random.default_rng(5)
    time_cell = nearest_cells(3, 5)
    subsets = [draws.random((3, 6)) < 0.2 for _ in range(20)]
    for i in range(len(x)):
        drops, sums = [], []
        for subset in subsets:
            chosen = subset[i].reshape(3, 2)[time_cell]  # (5, 2): the series' values in the subset
            perturbed = np.where(chosen, 0.0, x[i]).astype("float32")
            drops.append(_logit(series_model, x[i:i + 1], y[i:i + 1])[0]
                         - _logit(series_model, perturbed[None], y[i:i + 1])[0])
            sums.append(a[i][chosen].sum())
        np.testing.assert_allclose(result.curves[i], drops, atol=1e-5)
        assert result.scores[i] == pytest.approx(spearmanr(drops, sums)[0], abs=1e-6)


def test_mu_fidelity_scores_zero_where_the_correlation_is_undefined(mlp):
    x = np.random.default_rng(3).normal(size=(2, 6)).astype("float32")
    result = create_metric("mu_fidelity", mlp, nb_samples=10, seed=0).evaluate(x, [0, 1], a=np.ones((2, 6)) * 0)
    np.testing.assert_array_equal(result.scores, [0.0, 0.0])


def test_seed_not_batch_size_fixes_the_scores(cnn):
    x, y, a = REF["x"], REF["y"], REF["a"]
    metric = create_metric("mu_fidelity", cnn, nb_samples=30, seed=3)
    first = metric.evaluate(x, y, a=a, batch_size=7).scores
    np.testing.assert_array_equal(metric.evaluate(x, y, a=a, batch_size=64).scores, first)
    np.testing.assert_array_equal(
        create_metric("mu_fidelity", cnn, nb_samples=30, seed=3, batch_size=None).evaluate(x, y, a=a).scores,
        first)
    assert not np.array_equal(create_metric("mu_fidelity", cnn, nb_samples=30, seed=4).evaluate(
        x, y, a=a).scores, first)


def test_registered_as_faithfulness_metrics():
    for name in ("deletion", "insertion", "mu_fidelity"):
        cls = get_registry().get("metrics", name)
        assert cls.category == "faithfulness" and cls.needs_model


@pytest.mark.parametrize("name,params,match", [
    ("deletion", {"activation": "sigmoid"}, "adds no sigmoid"),
    ("insertion", {"operator": lambda f, x, y: f(x)}, "operator= is not taken"),
    ("deletion", {"max_percentage_perturbed": 0.0}, "max_percentage_perturbed"),
    ("deletion", {"steps": 0}, "steps"),
    ("insertion", {"baseline_mode": "black"}, "baseline_mode"),
    ("mu_fidelity", {"subset_percent": 1.0}, "subset_percent"),
    ("mu_fidelity", {"nb_samples": 1}, "nb_samples"),
    ("mu_fidelity", {"grid_size": 0}, "grid_size"),
    ("mu_fidelity", {"perturb_baseline": "black"}, "unknown parameter"),
    ("deletion", {"inputs": np.zeros((1, 12, 12, 3))}, "pass the data to evaluate"),
])
def test_bad_parameters_are_refused_at_creation(cnn, name, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        create_metric(name, cnn, **params)


@pytest.mark.parametrize("name,params,match", [
    ("deletion", {"baseline_mode": lambda x: np.zeros((2, 2))}, "does not broadcast"),
    ("mu_fidelity", {"baseline_mode": lambda x: np.full(x.shape, np.nan)}, "NaN"),
])
def test_bad_input_is_refused_before_any_model_call(cnn, name, params, match):
    metric = create_metric(name, cnn, **params)
    metric.score = lambda *args, **kwargs: pytest.fail("the model was called")
    with pytest.raises(InvalidInputError, match=match):
        metric.evaluate(REF["x"], REF["y"], a=REF["a"])


def test_mu_fidelity_refuses_data_xplique_cannot_cut():
    inp = keras.Input((2, 4, 4, 1))
    model = keras.Model(inp, L.Dense(2)(L.Flatten()(inp)))
    metric = create_metric("mu_fidelity", model)
    metric.score = lambda *args, **kwargs: pytest.fail("the model was called")
    with pytest.raises(InvalidInputError, match="tabular data"):
        metric.evaluate(np.zeros((2, 2, 4, 4, 1)), [0, 1], a=np.ones((2, 2, 4, 4, 1)))
