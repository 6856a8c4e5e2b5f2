"""Monotonicity (Arya et al. 2019): does the score rise with each feature put back, least relevant first?"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.perturbed import Replacement, check_features_in_step, insertion_curves, ranked_steps


class Monotonicity(Metric):
    """Start from the baseline (every feature replaced by ``perturb_baseline``), put the input's
    features back ``features_in_step`` at a time in order of increasing attribution, and score
    1.0 if the class score never decreases, else 0.0 (``curves``: the scores).

    This is the paper's definition. Quantus 0.6 replaces features of the baseline by the
    baseline again instead of restoring the input's values, so its curve is constant and every
    sample scores True; innv does not copy that.
    """

    name = "monotonicity"
    category = "faithfulness"
    needs_model = True
    softmax = True

    def __init__(self, model: Any = None, *, features_in_step: int = 1, abs: bool = True,  # noqa: A002
                 normalise: bool = True, perturb_baseline: Any = "black",
                 perturb_func_kwargs: dict[str, Any] | None = None, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.features_in_step = check_positive_int("features_in_step", features_in_step)
        self.replacement = Replacement.of(perturb_baseline, perturb_func_kwargs, seed)

    def check(self, x, a):
        check_features_in_step(self.features_in_step, x.shape[1:])

    def score(self, x, y, a, s, *, batch_size, softmax):
        steps = ranked_steps(a, x, self.features_in_step, descending=False)
        curves = insertion_curves(self.class_scores(softmax), x, y, steps, self.replacement, batch_size)
        return np.all(np.diff(curves, axis=1) >= 0, axis=1).astype(np.float64), curves
