"""Sensitivity-n (Ancona et al. 2018): do the attributions of random n-subsets predict their effect?"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, check_number, check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.perturbed import Replacement, check_features_in_step, perturbation_curves
from innv_core.metrics.similarity import correlation_pearson


def random_subsets(rng: np.random.Generator, n: int, features: int, size: int, runs: int) -> np.ndarray:
    """``(n, runs, size)``: ``runs`` subsets of ``size`` distinct features per sample, uniform."""
    picks = [np.argpartition(rng.random((n, features)), size - 1, axis=1)[:, :size] for _ in range(runs)]
    return np.stack(picks, axis=1)


class SensitivityN(Metric):
    """For each subset size ``n = features_in_step * j`` (``j = 1 .. int(n_max_percentage *
    features / features_in_step)``; features: the input values of a sample), draw ``nr_runs``
    subsets of ``n`` features uniformly at random, replace each by ``perturb_baseline``, and
    correlate (``similarity_func``, Pearson's r) the subsets' summed attributions with the
    score's drops (probabilities: Quantus' ``softmax=True``). ``curves`` holds the correlation
    per sample and ``n``; ``scores`` their mean over ``n`` (NaN correlations, e.g. of a
    constant score, left out), aggregated over the samples by default (Quantus'
    ``return_aggregate=True``). Higher is better. ``seed`` fixes the subsets, for any ``batch_size``.

    This is the paper's definition. Quantus 0.6 removes the features cumulatively in order of
    attribution instead of random subsets, correlates across the samples of its first batch
    only, and pairs the drop after removing ``n`` features with the attribution of the last
    ``features_in_step`` of them, not of all ``n``; innv does not copy that.
    """

    name = "sensitivity_n"
    category = "faithfulness"
    needs_model = True
    softmax = True

    def __init__(self, model: Any = None, *, similarity_func: Any = None, n_max_percentage: float = 0.8,
                 features_in_step: int = 1, abs: bool = False, normalise: bool = True,  # noqa: A002
                 perturb_baseline: Any = "black", perturb_func_kwargs: dict[str, Any] | None = None,
                 return_aggregate: bool = True, nr_runs: int = 100, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, return_aggregate=return_aggregate, **common)
        self.similarity_func = similarity_func or correlation_pearson
        self.n_max_percentage = check_number("n_max_percentage", n_max_percentage, minimum=0.0, strict=True)
        if self.n_max_percentage > 1:
            raise InvalidParameterError("n_max_percentage is a share of the features, in (0, 1]; got "
                                        f"{n_max_percentage}.")
        self.features_in_step = check_positive_int("features_in_step", features_in_step)
        self.nr_runs = check_positive_int("nr_runs", nr_runs, minimum=2)
        self.replacement = Replacement.of(perturb_baseline, perturb_func_kwargs, seed)
        self.seed = seed

    def sizes(self, features: int) -> np.ndarray:
        """The subset sizes ``n`` evaluated for samples of ``features`` values."""
        steps = int(self.n_max_percentage * features // self.features_in_step)
        return self.features_in_step * np.arange(1, steps + 1)

    def check(self, x, a):
        check_features_in_step(self.features_in_step, x.shape[1:])
        if len(self.sizes(x[0].size)) == 0:
            raise InvalidParameterError(
                f"n_max_percentage={self.n_max_percentage} of {x[0].size} features is less than "
                f"features_in_step={self.features_in_step}: no subset size to evaluate.")

    def score(self, x, y, a, s, *, batch_size, softmax):
        scores = self.class_scores(softmax)
        n = len(x)
        values = np.broadcast_to(a, x.shape).reshape(n, -1)
        original = scores(x, y, batch_size)
        rng = np.random.default_rng(self.seed)
        sizes = self.sizes(values.shape[1])
        curves = np.full((n, len(sizes)), np.nan)
        for j, size in enumerate(sizes):  # over subset sizes; every sample and run in the model calls
            subsets = random_subsets(rng, n, values.shape[1], int(size), self.nr_runs)
            perturbed = perturbation_curves(scores, x, y, subsets, self.replacement, batch_size,
                                            cumulative=False)
            drops = original[:, None] - perturbed
            picked = np.take_along_axis(values, subsets.reshape(n, -1), axis=1)
            sums = picked.reshape(subsets.shape).sum(axis=2)
            curves[:, j] = np.asarray(self.similarity_func(a=sums, b=drops, batched=True))
        with warnings.catch_warnings():  # a sample whose every correlation is NaN scores NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(curves, axis=1), curves
