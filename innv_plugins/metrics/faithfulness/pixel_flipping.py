"""Pixel flipping (Bach et al. 2015): the class score as the most relevant features are removed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.integrate import trapezoid

from innv_core.errors import InvalidParameterError, check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.baselines import baseline_values, check_baseline, uniform_draws


class PixelFlipping(Metric):
    """Replace the ``features_in_step`` most relevant input values by ``perturb_baseline``, step
    after step until all are replaced, and record the score of class ``y`` after each step
    (probabilities: Quantus' ``softmax=True``). Lower is better: a faithful explanation makes
    the score fall fast.

    ``curves`` holds the ``ceil(features / features_in_step)`` scores per sample (what Quantus
    returns by default); ``scores`` their area (trapezoidal, unit spacing: Quantus'
    ``return_auc_per_sample=True``). Attributions without a channel axis count for every
    channel of their pixel. ``features_in_step`` must divide the pixels per channel (as Quantus
    asserts). ``seed`` fixes the draws of ``perturb_baseline="uniform"``.
    """

    name = "pixel_flipping"
    category = "faithfulness"
    higher_is_better = False
    needs_model = True
    softmax = True

    def __init__(self, model: Any = None, *, features_in_step: int = 1, abs: bool = False,  # noqa: A002
                 normalise: bool = True, perturb_baseline: Any = "black",
                 perturb_func_kwargs: dict[str, Any] | None = None, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.features_in_step = check_positive_int("features_in_step", features_in_step)
        self.perturb_baseline = check_baseline(perturb_baseline)
        kwargs = dict(perturb_func_kwargs or {})
        unknown = set(kwargs) - {"uniform_low", "uniform_high"}
        if unknown:
            raise InvalidParameterError(f"perturb_func_kwargs {sorted(unknown)} are not used by the "
                                        "baseline replacement; it takes uniform_low, uniform_high.")
        self.uniform = (float(kwargs.get("uniform_low", 0.0)), float(kwargs.get("uniform_high", 1.0)))
        self.seed = seed

    def check(self, x, a):
        pixels = math.prod(x.shape[1:-1]) if x.ndim > 2 else x.shape[1]
        if pixels % self.features_in_step:
            raise InvalidParameterError(
                f"features_in_step={self.features_in_step} does not divide the {pixels} "
                f"{'pixels per channel' if x.ndim > 2 else 'features'} of x {x.shape[1:]}: choose a divisor.")

    def score(self, x, y, a, s, *, batch_size, softmax):
        n = len(x)
        flat_x = x.reshape(n, -1).astype(np.float64)
        order = np.argsort(-np.broadcast_to(a, x.shape).reshape(n, -1), axis=1)
        steps = math.ceil(flat_x.shape[1] / self.features_in_step)
        draws = None
        if self.perturb_baseline == "uniform":
            draws = uniform_draws(self.seed, n, steps, *self.uniform)
        scores = self.class_scores(softmax)
        rows = np.arange(n)[:, None]
        group = max(1, batch_size // n) * 4  # steps per model call group
        curves, pending, current = [], [], flat_x
        for step in range(steps):
            index = order[:, step * self.features_in_step:(step + 1) * self.features_in_step]
            current = current.copy()
            current[rows, index] = baseline_values(self.perturb_baseline, current, index.shape[1],
                                                   None if draws is None else draws[:, step])
            pending.append(current)
            if len(pending) == group or step == steps - 1:
                stacked = np.concatenate(pending).reshape(-1, *x.shape[1:])
                scored = scores(stacked, np.tile(y, len(pending)), batch_size)
                curves.append(scored.reshape(len(pending), n).T)
                pending = []
        curves = np.concatenate(curves, axis=1)
        return trapezoid(curves, dx=1, axis=1), curves
