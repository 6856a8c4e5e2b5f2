"""Pointing game (Zhang et al. 2018): does the largest attribution fall inside the mask?"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.metrics import Metric
from innv_core.metrics.batch import flat_pair


class PointingGame(Metric):
    """1.0 if a maximal attribution lies inside the mask, else 0.0 (NaN for an empty mask).
    ``weighted``: a hit scores ``1 - mask share of the map``, as Quantus 0.6."""

    name = "pointing_game"
    category = "localisation"
    needs_masks = True

    def __init__(self, model: Any = None, *, weighted: bool = False, abs: bool = False,  # noqa: A002
                 normalise: bool = True, **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.weighted = bool(weighted)

    def score(self, x, y, a, s, *, batch_size, softmax):
        a, s = flat_pair(a, s)
        hit = np.any(s & (a == a.max(axis=1, keepdims=True)), axis=1).astype(np.float64)
        if self.weighted:
            hit = np.where(hit > 0, 1 - s.sum(axis=1) / s.shape[1], hit)
        hit[s.sum(axis=1) == 0] = np.nan
        return hit, None
