"""Pixel flipping (Bach et al. 2015): the class score as the most relevant features are removed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.integrate import trapezoid

from innv_core.errors import InvalidParameterError, check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.perturbed import Replacement, perturbation_curves


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
        self.replacement = Replacement.of(perturb_baseline, perturb_func_kwargs, seed)

    def check(self, x, a):
        pixels = math.prod(x.shape[1:-1]) if x.ndim > 2 else x.shape[1]
        if pixels % self.features_in_step:
            raise InvalidParameterError(
                f"features_in_step={self.features_in_step} does not divide the {pixels} "
                f"{'pixels per channel' if x.ndim > 2 else 'features'} of x {x.shape[1:]}: choose a divisor.")

    def score(self, x, y, a, s, *, batch_size, softmax):
        n = len(x)
        order = np.argsort(-np.broadcast_to(a, x.shape).reshape(n, -1), axis=1)
        steps = order.reshape(n, -1, self.features_in_step)  # features_in_step divides them (check)
        curves = perturbation_curves(self.class_scores(softmax), x, y, steps, self.replacement, batch_size)
        return trapezoid(curves, dx=1, axis=1), curves
