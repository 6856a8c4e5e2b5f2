"""innv's metrics against Quantus 0.6 (tests/references/gen_quantus.py, same weights and data).

Deterministic metrics match to 1e-4 on the same attributions; faithfulness correlation draws
its random subsets differently and is compared in distribution (2000 runs each).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from innv_core import create_metric

sys.path.insert(0, str(Path(__file__).parent / "references"))
from torch_models import build_torch_reference  # noqa: E402

REF = dict(np.load(Path(__file__).parent / "references" / "quantus_metrics.npz", allow_pickle=False))

#: (reference key, metric, parameters, attributions key, what is compared)
CASES = [
    *[(f"{m}/{k}", m, p, k, "scores") for k in ("a", "a_map") for m, p in (
        ("sparseness", {}), ("complexity", {}), ("effective_complexity", {"eps": 0.3}))],
    ("sparseness/raw", "sparseness", {"normalise": False}, "a", "scores"),
    *[(f"{m}/a_map", m, p, "a_map", "scores") for m, p in (
        ("attribution_localisation", {}), ("top_k_intersection", {"k": 10}),
        ("relevance_rank_accuracy", {}), ("relevance_mass_accuracy", {}), ("auc", {}))],
    ("top_k_intersection_concept/a_map", "top_k_intersection", {"k": 10, "concept_influence": True},
     "a_map", "scores"),
    *[(f"pixel_flipping/{b}", "pixel_flipping", {"features_in_step": 8, "perturb_baseline": b}, "a", "curves")
      for b in ("black", "white", "mean", 0.5)],
    ("pixel_flipping/black_map", "pixel_flipping", {"features_in_step": 16}, "a_map", "curves"),
    ("region_perturbation/morf", "region_perturbation", {"patch_size": 4}, "a", "curves"),
    ("region_perturbation/lerf", "region_perturbation",
     {"patch_size": 4, "order": "lerf", "regions_evaluation": 3}, "a", "curves"),
    *[(f"selectivity/{b}", "selectivity", {"patch_size": 2, "perturb_baseline": b}, "a_map", "curves")
      for b in ("black", "mean")],
    *[(f"faithfulness_estimate/{b}", "faithfulness_estimate", {"features_in_step": 8, "perturb_baseline": b},
       "a", "scores") for b in ("black", "mean")],
    ("non_sensitivity/eps1e-3", "non_sensitivity", {"eps": 1e-3}, "a_sparse", "scores"),
    ("completeness/default", "completeness", {"rtol": 0, "atol": 0}, "a", "scores"),
    ("monotonicity_correlation/black", "monotonicity_correlation",
     {"features_in_step": 16, "perturb_baseline": "black", "nr_samples": 3}, "a_positive", "scores"),
]


@pytest.fixture(scope="module")
def model():
    model, _ = build_torch_reference("cnn")
    np.testing.assert_allclose(model(REF["x"]).numpy(), REF["logits"], atol=1e-5)
    return model


def _compare(got, want, atol=1e-4):
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], atol=atol, rtol=0)


@pytest.mark.parametrize("key,name,params,a_key,what", CASES, ids=[c[0] for c in CASES])
def test_matches_quantus(model, key, name, params, a_key, what):
    metric = create_metric(name, model, **params)
    result = metric.evaluate(REF["x"], REF["y"], a=REF[a_key], s=REF["s"])
    _compare(getattr(result, what), REF[key])


def test_pixel_flipping_on_logits(model):
    result = create_metric("pixel_flipping", model, features_in_step=16).evaluate(
        REF["x"], REF["y"], a=REF["a_map"], softmax=False)
    _compare(result.curves, REF["pixel_flipping/logits"], atol=1e-4)


def test_pointing_game_scores_an_empty_mask_nan():
    """Quantus 0.6 casts NaN into its boolean hits, so an empty mask scores 1.0 there."""
    result = create_metric("pointing_game").evaluate(REF["x"], a=REF["a_map"], s=REF["s"])
    _compare(result.scores[:-1], REF["pointing_game/a_map"][:-1])
    assert REF["s"][-1].sum() == 0 and np.isnan(result.scores[-1]) and REF["pointing_game/a_map"][-1] == 1.0


def test_faithfulness_correlation_in_distribution(model):
    """2000 random subsets each: the two estimates of r differ by less than 0.1 (about three
    standard errors of the difference, sqrt(2) * (1 - r^2) / sqrt(2000) ~ 0.032)."""
    metric = create_metric("faithfulness_correlation", model, nr_runs=2000, subset_size=32,
                           return_aggregate=False, seed=3)
    result = metric.evaluate(REF["x"], REF["y"], a=REF["a"])
    assert np.abs(result.scores - REF["faithfulness_correlation/runs2000"]).max() < 0.1


@pytest.mark.parametrize("name", ["max_sensitivity", "avg_sensitivity"])
@pytest.mark.parametrize("changed", [False, True])
def test_sensitivity_matches_quantus_draw_for_draw(name, changed):
    """The MLP twin (one channel: Quantus' and innv's noise land on the same values), innv's
    gradient analyzer against a torch gradient, the same seeded noise."""
    mlp, _ = build_torch_reference("mlp")
    metric = create_metric(name, mlp, nr_samples=10, lower_bound=0.5,
                           return_nan_when_prediction_changes=changed, seed=17)
    result = metric.evaluate(REF["x_mlp"], REF["y_mlp"], a=REF["a_mlp"], analyzer="gradient")
    _compare(result.scores, REF[f"{name}/nan{int(changed)}"])
    assert result.curves.shape == (8, 10)


def test_random_logit_matches_quantus(model):
    result = create_metric("random_logit", model, num_classes=4).evaluate(REF["x"], REF["y"], analyzer="gradient")
    _compare(result.scores, REF["random_logit/ssim"])


@pytest.mark.parametrize("key,name,params", [
    ("local_lipschitz_estimate", "local_lipschitz_estimate", {"perturb_std": 0.3}),
    ("local_lipschitz_estimate_nonan", "local_lipschitz_estimate",
     {"perturb_std": 0.3, "return_nan_when_prediction_changes": False}),
    ("relative_input_stability", "relative_input_stability", {}),
    ("relative_output_stability", "relative_output_stability", {"return_nan_when_prediction_changes": False}),
])
def test_noise_robustness_matches_quantus_draw_for_draw(key, name, params):
    mlp, _ = build_torch_reference("mlp")
    metric = create_metric(name, mlp, nr_samples=10, seed=23, **params)
    result = metric.evaluate(REF["x_mlp"], REF["y_mlp"], a=REF["a_mlp"], analyzer="gradient")
    want = REF[f"{key}/mlp"]
    np.testing.assert_array_equal(np.isnan(result.scores), np.isnan(want))
    np.testing.assert_allclose(result.scores, want, rtol=1e-5, atol=1e-4)  # ratios up to ~70
