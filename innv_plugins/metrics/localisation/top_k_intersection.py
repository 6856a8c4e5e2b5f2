"""Top-k intersection (Theiner et al. 2021): the share of the k largest attributions inside the mask."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.batch import flat_pair


class TopKIntersection(Metric):
    """Of the ``k`` features with the largest attributions, the share inside the mask (NaN for an
    empty mask); ``concept_influence`` divides by the mask's share of the sample."""

    name = "top_k_intersection"
    category = "localisation"
    needs_masks = True

    def __init__(self, model: Any = None, *, k: int = 1000, concept_influence: bool = False,
                 abs: bool = False, normalise: bool = True, **common: Any) -> None:  # noqa: A002
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.k = check_positive_int("k", k)
        self.concept_influence = bool(concept_influence)

    def check(self, x, a):
        if self.k > a[0].size:
            raise InvalidParameterError(f"k={self.k} is larger than the {a[0].size} attributions "
                                        "of a sample: choose a smaller k.")

    def score(self, x, y, a, s, *, batch_size, softmax):
        a, s = flat_pair(a, s)
        top = np.argsort(-a, axis=1)[:, :self.k]
        share = np.take_along_axis(s, top, axis=1).mean(axis=1)
        sizes = s.sum(axis=1)
        if self.concept_influence:
            share = share * s.shape[1] / np.maximum(sizes, 1)
        share[sizes == 0] = np.nan
        return share, None
