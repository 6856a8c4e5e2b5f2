"""Faithfulness estimate (Alvarez-Melis & Jaakkola 2018): do larger attributions mark larger effects?"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.perturbed import (
    Replacement,
    check_features_in_step,
    perturbation_curves,
    ranked_steps,
)
from innv_core.metrics.similarity import correlation_pearson


class FaithfulnessEstimate(Metric):
    """The correlation (``similarity_func``, Pearson's by default) between the attribution of
    each group of ``features_in_step`` features (largest first) and the score's drop when only
    that group is replaced by ``perturb_baseline`` (Quantus 0.6). ``curves`` holds the drops."""

    name = "faithfulness_estimate"
    category = "faithfulness"
    needs_model = True

    def __init__(self, model: Any = None, *, similarity_func: Any = None, features_in_step: int = 1,
                 abs: bool = False, normalise: bool = True, perturb_baseline: Any = "black",  # noqa: A002
                 perturb_func_kwargs: dict[str, Any] | None = None, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.similarity_func = similarity_func or correlation_pearson
        self.features_in_step = check_positive_int("features_in_step", features_in_step)
        self.replacement = Replacement.of(perturb_baseline, perturb_func_kwargs, seed)

    def check(self, x, a):
        check_features_in_step(self.features_in_step, x.shape[1:])

    def score(self, x, y, a, s, *, batch_size, softmax):
        scores = self.class_scores(softmax)
        steps = ranked_steps(a, x, self.features_in_step)
        drops = scores(x, y, batch_size)[:, None] - perturbation_curves(
            scores, x, y, steps, self.replacement, batch_size, cumulative=False)
        values = np.broadcast_to(a, x.shape).reshape(len(x), -1)
        sums = np.take_along_axis(values, steps.reshape(len(x), -1), axis=1).reshape(steps.shape).sum(axis=2)
        return np.asarray(self.similarity_func(a=sums, b=drops, batched=True)), drops
