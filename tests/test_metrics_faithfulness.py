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
