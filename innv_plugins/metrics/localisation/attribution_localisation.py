"""Attribution localisation (Kohlbrenner et al. 2020): the share of attribution inside the mask."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import check_number
from innv_core.metrics import Metric
from innv_core.metrics.batch import flat_pair


class AttributionLocalisation(Metric):
    """``sum(a inside) / sum(a)`` per sample (``1e-9`` added to the total, as Quantus 0.6); NaN
    for an empty mask or a share above 1 (attributions of mixed sign).

    ``weighted`` multiplies by the mask's share of the sample, as Quantus intends (Quantus 0.6
    computes that share from ``x_batch[2:]``, all samples but the first two, a slip innv does
    not copy). ``positive_attributions`` clips negative attributions to 0 first. ``max_size``
    is accepted for compatibility (Quantus only warns above it).
    """

    name = "attribution_localisation"
    category = "localisation"
    needs_masks = True

    def __init__(self, model: Any = None, *, weighted: bool = False, max_size: float = 1.0,
                 positive_attributions: bool = False, abs: bool = True,  # noqa: A002
                 normalise: bool = True, **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.weighted = bool(weighted)
        self.max_size = check_number("max_size", max_size, minimum=0.0)
        self.positive_attributions = bool(positive_attributions)

    def score(self, x, y, a, s, *, batch_size, softmax):
        if self.positive_attributions:
            a = np.clip(a, 0, None)
        a, s = flat_pair(a, s)
        box = s.sum(axis=1)
        share = (a * s).sum(axis=1) / (a.sum(axis=1) + 1e-9)
        share[(box == 0) | (share > 1)] = np.nan
        if self.weighted:
            share = share * box / s.shape[1]
        return share, None
