"""Sensitivity-n, IROF, infidelity, ROAD and sufficiency: against Quantus 0.6 where it computes
the same (tests/references/gen_quantus_faithfulness.py, same weights and data), against oracles
of their definitions, seeds and bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from innv_core import create_metric
from innv_core.errors import InvalidInputError, InvalidParameterError
from innv_plugins.metrics.faithfulness.road import noisy_linear_imputation

sys.path.insert(0, str(Path(__file__).parent / "references"))
from torch_models import build_torch_reference  # noqa: E402

REF = dict(np.load(Path(__file__).parent / "references" / "quantus_faithfulness.npz", allow_pickle=False))
L = keras.layers


@pytest.fixture(scope="module")
def cnn():
    model, _ = build_torch_reference("cnn")
    return model


@pytest.fixture(scope="module")
def cnn1():
    """The one-channel CNN of the reference script (16 x 16 images), weights from the npz."""
    inp = keras.Input((16, 16, 1))
    conv = L.Conv2D(3, 3, activation="relu")
    dense = L.Dense(4)
    model = keras.Model(inp, dense(L.Flatten()(conv(inp))))
    conv.set_weights([REF["w1/conv/kernel"], REF["w1/conv/bias"]])
    dense.set_weights([REF["w1/dense/kernel"], REF["w1/dense/bias"]])
    np.testing.assert_allclose(model(REF["x1"]).numpy(), REF["logits1"], atol=1e-5)
    return model


def _softmax(model, x, y):
    return keras.ops.convert_to_numpy(keras.ops.softmax(model(x), axis=-1))[np.arange(len(x)), y]


# -- against Quantus ---------------------------------------------------------------------------
@pytest.mark.parametrize("key,params,a_key", [
    ("sufficiency/a", {}, "a"),
    ("sufficiency/a_map", {}, "a_map"),
    ("sufficiency/a_clusters", {}, "a_clusters"),
    ("sufficiency/t0.8", {"threshold": 0.8}, "a_clusters"),
])
def test_sufficiency_matches_quantus(cnn, key, params, a_key):
    result = create_metric("sufficiency", cnn, **params).evaluate(REF["x"], REF["y"], a=REF[a_key])
    np.testing.assert_allclose(result.scores, REF[key], atol=1e-4, rtol=0)


def test_sufficiency_with_a_distance_function_matches_quantus(cnn):
    def cityblock(u, v):
        return float(np.abs(u - v).sum())

    metric = create_metric("sufficiency", cnn, distance_func=cityblock, threshold=0.5)
    np.testing.assert_allclose(metric.evaluate(REF["x"], REF["y"], a=REF["a_clusters"]).scores,
                               REF["sufficiency/cityblock"], atol=1e-4, rtol=0)


@pytest.mark.parametrize("key,params,a_key", [
    ("infidelity/black", {}, "a"),
    ("infidelity/mean", {"perturb_baseline": "mean"}, "a"),
    ("infidelity/sizes", {"perturb_patch_sizes": [2, 4]}, "a"),
    ("infidelity/map", {}, "a_map"),
    ("infidelity/uniform", {"perturb_baseline": "uniform", "n_perturb_samples": 3, "perturb_patch_sizes": [2, 4],
                            "seed": 31}, "a"),
])
def test_infidelity_matches_quantus(cnn, key, params, a_key):
    """Quantus computes in float32: the squared errors (up to 1e5 here) agree to 1e-5 relative."""
    result = create_metric("infidelity", cnn, n_perturb_samples=params.pop("n_perturb_samples", 2),
                           **params).evaluate(REF["x"], REF["y"], a=REF[a_key])
    np.testing.assert_allclose(result.scores, REF[key], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("key,params", [("irof/mean", {}), ("irof/zero", {"perturb_baseline": 0.0}),
                                        ("irof/black", {"perturb_baseline": "black"})])
def test_irof_matches_quantus_on_one_channel(cnn1, key, params):
    """Quantus scored each sample on its own (its baselines are taken over the whole batch)."""
    pytest.importorskip("skimage")
    result = create_metric("irof", cnn1, return_aggregate=False, **params).evaluate(REF["x1"], REF["y1"], a=REF["a1"])
    np.testing.assert_allclose(result.scores, REF[key], atol=1e-4, rtol=0)


def test_irof_segments_are_quantus_slic(cnn1):
    pytest.importorskip("skimage")
    from innv_plugins.metrics.faithfulness.irof import superpixels

    segments = np.stack([superpixels(image, "slic") for image in REF["x1"]])
    np.testing.assert_array_equal(segments, REF["irof/segments"])


def test_irof_with_given_segments_needs_no_scikit_image(cnn1):
    metric = create_metric("irof", cnn1, perturb_baseline=0.0, return_aggregate=False)
    result = metric.evaluate(REF["x1"], REF["y1"], a=REF["a1"], segments=REF["irof/segments"])
    np.testing.assert_allclose(result.scores, REF["irof/zero"], atol=1e-4, rtol=0)


@pytest.mark.parametrize("key,params,seed", [("default", {}, 5), ("noisy", {"noise": 0.5}, 7),
                                             ("few", {"percentages": [10, 50, 90]}, 9)])
def test_road_matches_quantus_draw_for_draw(cnn1, key, params, seed):
    result = create_metric("road", cnn1, seed=seed, **params).evaluate(REF["x1"], REF["y1"], a=REF["a1"])
    np.testing.assert_array_equal(result.curves, REF[f"road/{key}/per_sample"])
    np.testing.assert_allclose(result.curves.mean(axis=0), REF[f"road/{key}"], atol=1e-12)
    assert result.steps[0] == f"{(params.get('percentages') or [1])[0]}%"


def test_noisy_linear_imputation_matches_quantus_on_three_channels():
    image, pixels = REF["imputation/image"][None], REF["imputation/pixels"][None]
    np.testing.assert_allclose(noisy_linear_imputation(image, pixels, noise=0.0)[0], REF["imputation/noise0"],
                               atol=1e-5)
    noisy = noisy_linear_imputation(image, pixels, noise=0.1, rng=np.random.RandomState(13))
    np.testing.assert_allclose(noisy[0], REF["imputation/noise0.1"], atol=1e-5)


# -- oracles of the definitions ----------------------------------------------------------------
@pytest.fixture(scope="module")
def linear():
    """A linear model on (4, 4, 3) images: the gradient times the input is an exact decomposition."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((4, 4, 3))
    model = keras.Model(inp, L.Dense(3)(L.Flatten()(inp)))
    x = np.random.default_rng(1).normal(size=(5, 4, 4, 3)).astype("float32")
    return model, x, model.predict(x, verbose=0).argmax(1)


def _weights(model, y, shape):
    kernel = model.layers[-1].get_weights()[0]  # (48, 3)
    return kernel[:, y].T.reshape(len(y), *shape)


def test_sensitivity_n_against_an_oracle(cnn):
    """Ancona et al.: per sample and subset size n, Pearson's r over random n-subsets between the
    subset's attribution and the score's drop when it is replaced by the baseline (the same draws:
    one uniform table per size and run, the n smallest entries of a sample's row)."""
    x, y, a = REF["x"][:3], REF["y"][:3], REF["a"][:3]
    metric = create_metric("sensitivity_n", cnn, n_max_percentage=0.1, features_in_step=4, nr_runs=6,
                           return_aggregate=False, normalise=False, perturb_baseline=0.0, seed=8)
    result = metric.evaluate(x, y, a=a, batch_size=5)
    rng = np.random.default_rng(8)
    features = x[0].size
    sizes = 4 * np.arange(1, int(0.1 * features // 4) + 1)
    want = np.zeros((3, len(sizes)))
    for j, size in enumerate(sizes):
        tables = [rng.random((3, features)) for _ in range(6)]
        for i in range(3):
            drops, sums = [], []
            for table in tables:
                subset = np.argsort(table[i])[:size]
                perturbed = x[i].reshape(-1).copy()
                perturbed[subset] = 0.0
                drops.append(_softmax(cnn, x[i:i + 1], y[i:i + 1])[0]
                             - _softmax(cnn, perturbed.reshape(1, *x.shape[1:]), y[i:i + 1])[0])
                sums.append(a[i].reshape(-1)[subset].sum())
            want[i, j] = np.corrcoef(sums, drops)[0, 1]
    np.testing.assert_allclose(result.curves, want, atol=1e-5)
    np.testing.assert_allclose(result.scores, want.mean(axis=1), atol=1e-5)
    assert metric.evaluate(x, y, a=a, batch_size=64).scores == pytest.approx(result.scores, abs=1e-7)


def test_sensitivity_n_is_one_for_an_exact_decomposition(linear):
    model, x, y = linear
    a = _weights(model, y, x.shape[1:]) * x  # gradient x input, baseline 0: sum over a subset = the drop
    result = create_metric("sensitivity_n", model, n_max_percentage=0.5, features_in_step=8, nr_runs=5,
                           normalise=False, perturb_baseline=0.0, return_aggregate=False, seed=1).evaluate(
        x, y, a=a, softmax=False)
    np.testing.assert_allclose(result.curves, 1.0, atol=1e-5)


def test_infidelity_is_zero_for_an_exact_decomposition(linear):
    model, x, y = linear
    a = _weights(model, y, x.shape[1:])  # the gradient: a . I is the drop for every perturbation I
    for baseline in ("black", "mean", 0.3):
        result = create_metric("infidelity", model, perturb_patch_sizes=[2, 4], perturb_baseline=baseline).evaluate(
            x, y, a=a)
        np.testing.assert_allclose(result.scores, 0.0, atol=1e-8)
    assert result.curves.shape == (5, 4)


def test_irof_on_rgb_against_an_oracle(linear):
    """Rieger & Hansen: remove superpixels (every channel) by decreasing mean attribution, the
    image's current mean as baseline; the score L - area of f(x_t)/f(x)."""
    model, x, y = linear
    rng = np.random.default_rng(4)
    a = rng.normal(size=x.shape[:3])  # one value per pixel
    segments = np.stack([np.repeat(np.repeat(rng.permutation(4).reshape(2, 2), 2, 0), 2, 1) for _ in x])
    segments[0] = np.where(segments[0] == 3, 2, segments[0])  # three superpixels in the first sample
    result = create_metric("irof", model, return_aggregate=False).evaluate(x, y, a=a, segments=segments)
    a = a / np.abs(a).max()
    for i in range(len(x)):
        labels = np.unique(segments[i])
        order = sorted(labels, key=lambda k: -a[i][segments[i] == k].mean())
        current, curve = x[i].astype(np.float64).copy(), []
        for k in order:
            current[segments[i] == k] = current.mean()
            curve.append(_softmax(model, current[None].astype("float32"), y[i:i + 1])[0]
                         / _softmax(model, x[i:i + 1], y[i:i + 1])[0])
        assert result.scores[i] == pytest.approx(len(order) - np.trapezoid(curve), abs=1e-5)
        np.testing.assert_allclose(result.curves[i, :len(order)], curve, atol=1e-6)
    assert np.isnan(result.curves[0, 3]) and not np.isnan(result.curves[1]).any()


def test_irof_segments_rgb_with_slic(linear):
    pytest.importorskip("skimage")
    model, x, y = linear
    big = np.kron(x, np.ones((1, 4, 4, 1), dtype="float32"))[:, :16, :16]
    inp = keras.Input((16, 16, 3))
    wide = keras.Model(inp, L.Dense(3)(L.Flatten()(inp)))
    result = create_metric("irof", wide, segmentation_method="felzenszwalb").evaluate(big, np.zeros(5, int),
                                                                                     a=np.abs(big))
    assert result.scores.shape == (1,) and np.isfinite(result.scores).all()


def test_road_imputes_every_channel_and_follows_the_seed(linear):
    model, x, y = linear
    a = np.random.default_rng(2).normal(size=x.shape)
    metric = create_metric("road", model, percentages=[10, 40, 70], noise=0.3, seed=4)
    first = metric.evaluate(x, y, a=a, batch_size=2)
    np.testing.assert_array_equal(first.curves, metric.evaluate(x, y, a=a, batch_size=64).curves)
    assert first.steps == ("10%", "40%", "70%") and first.scores == pytest.approx(first.curves.mean(axis=1))
    imputed = noisy_linear_imputation(x[:1], np.array([[5]]), noise=0.0)  # pixel (1, 1): 8 neighbours
    neighbours = x[0, 0:3, 0:3].astype(np.float64)
    weights = np.array([[1, 2, 1], [2, 0, 2], [1, 2, 1]])[..., None] / 12
    np.testing.assert_allclose(imputed[0, 1, 1], (neighbours * weights).sum(axis=(0, 1)), atol=1e-6)
    np.testing.assert_array_equal(np.delete(imputed[0].reshape(16, 3), 5, axis=0),
                                  np.delete(x[0].reshape(16, 3), 5, axis=0))


def test_sufficiency_against_an_oracle(linear):
    model, x, y = linear
    a = np.random.default_rng(5).normal(size=x.shape)
    a[1] = a[0] + 0.01
    a[3] = a[2] + 0.01
    result = create_metric("sufficiency", model, distance_func="euclidean", threshold=0.2, normalise=False,
                           abs=False).evaluate(x, y, a=a)
    flat = a.reshape(5, -1)
    d = np.linalg.norm(flat[:, None] - flat[None], axis=2)
    d = d / d.max()
    predicted = model.predict(x, verbose=0).argmax(1)
    for i in range(5):
        others = [j for j in range(5) if j != i and d[i, j] <= 0.2]
        want = np.mean([predicted[j] == predicted[i] for j in others]) if others else 0.0
        assert result.scores[i] == pytest.approx(want)


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,params,kwargs,error,match", [
    ("infidelity", {"perturb_patch_sizes": [3]}, {}, InvalidParameterError, "does not divide"),
    ("sensitivity_n", {"features_in_step": 5}, {}, InvalidParameterError, "does not divide"),
    ("sensitivity_n", {"n_max_percentage": 0.01, "features_in_step": 16}, {}, InvalidParameterError,
     "no subset size"),
    ("irof", {}, {"segments": np.zeros((5, 3, 3), int)}, InvalidInputError, "segments must be"),
    ("irof", {}, {"segments": np.zeros((5, 4, 4), int)}, InvalidInputError, "one superpixel"),
    ("irof", {}, {"x": np.zeros((5, 48), "float32")}, InvalidInputError, "segments images"),
    ("sufficiency", {}, {"x": "first"}, InvalidParameterError, "at least two"),
])
def test_bad_input_is_refused(linear, name, params, kwargs, error, match):
    model, x, y = linear
    call = {"x": x, "y": y, "a": np.ones(x.shape), **kwargs}
    if isinstance(call["x"], str):
        call.update(x=x[:1], y=y[:1], a=np.ones(x[:1].shape))
    with pytest.raises(error, match=match):
        create_metric(name, model, **params).evaluate(**call)


@pytest.mark.parametrize("name,params,match", [
    ("irof", {"segmentation_method": "quickshift"}, "segmentation_method"),
    ("road", {"percentages": [50, 100]}, r"\[0, 100\)"),
    ("road", {"perturb_func_kwargs": {"sigma": 1}}, "not used"),
    ("infidelity", {"loss_func": "mae"}, "loss_func"),
    ("infidelity", {"perturb_patch_sizes": []}, "at least one"),
    ("sensitivity_n", {"n_max_percentage": 1.5}, "n_max_percentage"),
    ("sensitivity_n", {"nr_runs": 1}, "nr_runs"),
    ("sufficiency", {"distance_func": 3}, "distance_func"),
])
def test_bad_parameters_are_refused_at_creation(linear, name, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        create_metric(name, linear[0], **params)


def test_the_five_are_registered_as_faithfulness_metrics():
    from innv_core import get_registry

    for name in ("sensitivity_n", "irof", "infidelity", "road", "sufficiency"):
        cls = get_registry().get("metrics", name)
        assert cls.name == name and cls.category == "faithfulness"


def test_irof_without_scikit_image_names_the_extra(linear, monkeypatch):
    model, x, y = linear
    monkeypatch.setitem(sys.modules, "skimage.segmentation", None)  # import fails as if not installed
    with pytest.raises(ImportError, match=r'pip install "innv\[metrics\]"'):
        create_metric("irof", model).evaluate(x, y, a=np.ones(x.shape))
