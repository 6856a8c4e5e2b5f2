"""Non-sensitivity (Nguyen & Martínez 2020): do zero attributions mark exactly the features without effect?"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import check_number, check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.perturbed import Replacement, check_features_in_step, perturbation_curves


class NonSensitivity(Metric):
    """Replace each group of ``features_in_step`` features (in their order in the input), one
    group at a time, by ``perturb_baseline``; count the groups where "the attributions are all
    below ``eps``" and "the class score moved by less than ``eps``" disagree (Quantus 0.6; lower
    is better). With ``features_in_step=1`` (Quantus' default, the only size Quantus 0.6 runs
    with) this is Quantus' count over features.
    """

    name = "non_sensitivity"
    category = "axiomatic"
    higher_is_better = False
    needs_model = True
    softmax = True

    def __init__(self, model: Any = None, *, eps: float = 1e-5, features_in_step: int = 1,
                 abs: bool = True, normalise: bool = True, perturb_baseline: Any = "black",  # noqa: A002
                 perturb_func_kwargs: dict[str, Any] | None = None, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.eps = check_number("eps", eps, minimum=0.0)
        self.features_in_step = check_positive_int("features_in_step", features_in_step)
        self.replacement = Replacement.of(perturb_baseline, perturb_func_kwargs, seed)

    def check(self, x, a):
        check_features_in_step(self.features_in_step, x.shape[1:])

    def score(self, x, y, a, s, *, batch_size, softmax):
        n = len(x)
        scores = self.class_scores(softmax)
        steps = np.broadcast_to(np.arange(x[0].size).reshape(1, -1, self.features_in_step),
                                (n, x[0].size // self.features_in_step, self.features_in_step))
        moved = perturbation_curves(scores, x, y, steps, self.replacement, batch_size, cumulative=False)
        no_effect = np.abs(moved - scores(x, y, batch_size)[:, None]) < self.eps
        values = np.broadcast_to(a, x.shape).reshape(n, -1)
        no_attribution = (values < self.eps).reshape(steps.shape).all(axis=2)
        return (no_effect ^ no_attribution).sum(axis=1).astype(np.float64), no_effect.astype(np.float64)
