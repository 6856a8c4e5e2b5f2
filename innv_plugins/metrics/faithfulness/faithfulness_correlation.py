"""Faithfulness correlation (Bhatt et al. 2020): random subsets' attribution against their effect."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.perturbed import Replacement, perturbation_curves
from innv_core.metrics.similarity import correlation_pearson


class FaithfulnessCorrelation(Metric):
    """For ``nr_runs`` random subsets of ``subset_size`` features per sample: the correlation
    (Pearson's by default) between the subset's summed attribution and the score's drop when the
    subset is replaced by ``perturb_baseline`` (Quantus 0.6, including its default
    ``return_aggregate=True``: ``scores`` is then the one mean). ``seed`` fixes the subsets
    (the same for any ``batch_size``); ``curves`` holds the drops, one per run."""

    name = "faithfulness_correlation"
    category = "faithfulness"
    needs_model = True

    def __init__(self, model: Any = None, *, similarity_func: Any = None, nr_runs: int = 100,
                 subset_size: int = 224, abs: bool = False, normalise: bool = True,  # noqa: A002
                 perturb_baseline: Any = "black", perturb_func_kwargs: dict[str, Any] | None = None,
                 return_aggregate: bool = True, seed: int | None = None, **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, return_aggregate=return_aggregate, **common)
        self.similarity_func = similarity_func or correlation_pearson
        self.nr_runs = check_positive_int("nr_runs", nr_runs)
        self.subset_size = check_positive_int("subset_size", subset_size)
        self.replacement = Replacement.of(perturb_baseline, perturb_func_kwargs, seed)
        self.seed = seed

    def check(self, x, a):
        if self.subset_size >= x[0].size:
            raise InvalidParameterError(f"subset_size={self.subset_size} must be smaller than the "
                                        f"{x[0].size} values of a sample: choose a smaller subset.")

    def subsets(self, n: int, features: int) -> np.ndarray:
        """``(n, nr_runs, subset_size)``: the random subsets, drawn without replacement (one
        ``(n, features)`` draw per run, so memory stays that of the batch)."""
        rng = np.random.default_rng(self.seed)
        runs = [np.argpartition(rng.random((n, features)), self.subset_size - 1, axis=1)[:, :self.subset_size]
                for _ in range(self.nr_runs)]
        return np.stack(runs, axis=1)

    def score(self, x, y, a, s, *, batch_size, softmax):
        scores = self.class_scores(softmax)
        values = np.broadcast_to(a, x.shape).reshape(len(x), -1)
        steps = self.subsets(len(x), values.shape[1])
        drops = scores(x, y, batch_size)[:, None] - perturbation_curves(
            scores, x, y, steps, self.replacement, batch_size, cumulative=False)
        sums = np.take_along_axis(values, steps.reshape(len(x), -1), axis=1).reshape(steps.shape).sum(axis=2)
        return np.asarray(self.similarity_func(a=sums, b=drops, batched=True)), drops
