"""AUC (Fawcett 2006): how well the attributions rank mask features above the others."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from innv_core.metrics import Metric
from innv_core.metrics.batch import flat_pair


class AUC(Metric):
    """The area under the ROC curve of the attributions as a score for "inside the mask": the
    Mann-Whitney probability that a mask feature outranks an outside one, ties counting half
    (what Quantus' ``sklearn.metrics.roc_curve`` + ``auc`` compute). NaN for a mask that is
    empty or covers everything."""

    name = "auc"
    category = "localisation"
    needs_masks = True

    def __init__(self, model: Any = None, *, abs: bool = False, normalise: bool = True,  # noqa: A002
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)

    def score(self, x, y, a, s, *, batch_size, softmax):
        a, s = flat_pair(a, s)
        ranks = rankdata(a, axis=1)  # average ranks: ties count half
        inside = s.sum(axis=1).astype(np.float64)
        outside = s.shape[1] - inside
        with np.errstate(invalid="ignore", divide="ignore"):
            u = (ranks * s).sum(axis=1) - inside * (inside + 1) / 2
            auc = u / (inside * outside)
        auc[(inside == 0) | (outside == 0)] = np.nan
        return auc, None
