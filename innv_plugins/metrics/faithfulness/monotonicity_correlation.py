"""Monotonicity correlation (Nguyen & Martínez 2020): attribution against the effect's variance."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import check_number, check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.perturbed import (
    Replacement,
    check_features_in_step,
    perturbation_curves,
    ranked_steps,
)
from innv_core.metrics.similarity import correlation_spearman


class MonotonicityCorrelation(Metric):
    """For each group of ``features_in_step`` features (smallest attribution first): replace it
    ``nr_samples`` times by ``perturb_baseline`` (``"uniform"`` by default: random values) and
    take the mean squared change of the score, divided by the squared score (when above
    ``eps``); the score is the Spearman correlation (``similarity_func``) of the groups'
    attributions with these variances (Quantus 0.6). ``curves`` holds the variances."""

    name = "monotonicity_correlation"
    category = "faithfulness"
    needs_model = True
    softmax = True

    def __init__(self, model: Any = None, *, similarity_func: Any = None, eps: float = 1e-5,
                 nr_samples: int = 100, features_in_step: int = 1, abs: bool = True,  # noqa: A002
                 normalise: bool = True, perturb_baseline: Any = "uniform",
                 perturb_func_kwargs: dict[str, Any] | None = None, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.similarity_func = similarity_func or correlation_spearman
        self.eps = check_number("eps", eps, minimum=0.0)
        self.nr_samples = check_positive_int("nr_samples", nr_samples)
        self.features_in_step = check_positive_int("features_in_step", features_in_step)
        self.replacement = Replacement.of(perturb_baseline, perturb_func_kwargs, seed)

    def check(self, x, a):
        check_features_in_step(self.features_in_step, x.shape[1:])

    def score(self, x, y, a, s, *, batch_size, softmax):
        scores = self.class_scores(softmax)
        n = len(x)
        steps = ranked_steps(a, x, self.features_in_step, descending=False)
        count = steps.shape[1]
        repeats = self.nr_samples if self.replacement.baseline == "uniform" else 1  # else all equal
        y_pred = scores(x, y, batch_size)
        perturbed = perturbation_curves(scores, x, y, np.repeat(steps, repeats, axis=1),
                                        self.replacement, batch_size, cumulative=False)
        inverse = np.where(np.abs(y_pred) >= self.eps, 1.0 / np.maximum(np.abs(y_pred), 1e-300), 1.0) ** 2
        variances = ((perturbed.reshape(n, count, repeats) - y_pred[:, None, None]) ** 2).mean(axis=2)
        variances = variances * inverse[:, None]
        values = np.broadcast_to(a, x.shape).reshape(n, -1)
        sums = np.take_along_axis(values, steps.reshape(n, -1), axis=1).reshape(steps.shape).sum(axis=2)
        return np.asarray(self.similarity_func(a=sums, b=variances, batched=True)), variances
