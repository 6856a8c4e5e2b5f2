"""Pixel flipping (Bach et al. 2015): the class score as the most relevant features are removed."""

from __future__ import annotations

from typing import Any

from scipy.integrate import trapezoid

from innv_core.errors import check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.perturbed import Replacement, check_features_in_step, perturbation_curves, ranked_steps


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
        check_features_in_step(self.features_in_step, x.shape[1:])

    def score(self, x, y, a, s, *, batch_size, softmax):
        steps = ranked_steps(a, x, self.features_in_step)
        curves = perturbation_curves(self.class_scores(softmax), x, y, steps, self.replacement, batch_size)
        return trapezoid(curves, dx=1, axis=1), curves
