"""Relevance mass accuracy (Arras et al. 2021): the attribution inside the mask over the total."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.metrics import Metric
from innv_core.metrics.batch import flat_pair


class RelevanceMassAccuracy(Metric):
    """``sum(a inside) / sum(a)`` per sample (NaN for an empty mask)."""

    name = "relevance_mass_accuracy"
    category = "localisation"
    needs_masks = True

    def __init__(self, model: Any = None, *, abs: bool = False, normalise: bool = True,  # noqa: A002
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)

    def score(self, x, y, a, s, *, batch_size, softmax):
        a, s = flat_pair(a, s)
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = (a * s).sum(axis=1) / a.sum(axis=1)
        accuracy[s.sum(axis=1) == 0] = np.nan
        return accuracy, None
