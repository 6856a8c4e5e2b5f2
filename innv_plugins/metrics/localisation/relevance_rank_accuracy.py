"""Relevance rank accuracy (Arras et al. 2021): the share of the |mask| top-ranked features inside it."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.metrics import Metric
from innv_core.metrics.batch import flat_pair


class RelevanceRankAccuracy(Metric):
    """With ``K`` the mask's size: the share of the ``K`` largest attributions that lie inside
    the mask (NaN for an empty mask)."""

    name = "relevance_rank_accuracy"
    category = "localisation"
    needs_masks = True

    def __init__(self, model: Any = None, *, abs: bool = False, normalise: bool = True,  # noqa: A002
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)

    def score(self, x, y, a, s, *, batch_size, softmax):
        a, s = flat_pair(a, s)
        sizes = s.sum(axis=1)
        ranked = np.take_along_axis(s, np.argsort(-a, axis=1), axis=1)
        within = np.arange(s.shape[1])[None, :] < sizes[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = (ranked & within).sum(axis=1) / sizes
        accuracy[sizes == 0] = np.nan
        return accuracy, None
