"""Selectivity (Montavon et al. 2018): the score as patches are removed, most relevant first."""

from __future__ import annotations

from typing import Any

from scipy.integrate import trapezoid

from innv_core.errors import check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.perturbed import Replacement, check_patch, perturbation_curves
from innv_plugins.metrics.faithfulness.region_perturbation import ordered_patches


class Selectivity(Metric):
    """Remove every ``patch_size`` square, most relevant (summed attribution) first, and record
    the score of class ``y`` after each removal (``curves``, Quantus 0.6); ``scores`` is the
    area under each curve (lower is better: the score falls fast). ``patch_size`` must divide
    the image (Quantus pads instead). ``seed`` fixes ``"uniform"`` draws.
    """

    name = "selectivity"
    category = "faithfulness"
    higher_is_better = False
    needs_model = True
    softmax = True

    def __init__(self, model: Any = None, *, patch_size: int = 8, abs: bool = False,  # noqa: A002
                 normalise: bool = True, perturb_baseline: Any = "black",
                 perturb_func_kwargs: dict[str, Any] | None = None, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.patch_size = check_positive_int("patch_size", patch_size)
        self.replacement = Replacement.of(perturb_baseline, perturb_func_kwargs, seed)

    def check(self, x, a):
        check_patch(self.patch_size, x.shape[1:], self.name)

    def score(self, x, y, a, s, *, batch_size, softmax):
        steps = ordered_patches(a, x, self.patch_size, "morf")
        curves = perturbation_curves(self.class_scores(softmax), x, y, steps, self.replacement, batch_size)
        return trapezoid(curves, dx=1, axis=1), curves
