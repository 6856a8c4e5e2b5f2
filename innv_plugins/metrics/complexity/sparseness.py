"""Sparseness (Chalasani et al. 2020): the Gini index of the attributions; higher is sparser."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.metrics import Metric


class Sparseness(Metric):
    """Gini index of each sample's (absolute, normalised) attributions, as Quantus 0.6
    (``1e-7`` added to every value first, so an all-zero map scores 0)."""

    name = "sparseness"
    category = "complexity"
    higher_is_better = True

    def __init__(self, model: Any = None, *, abs: bool = True, normalise: bool = True,  # noqa: A002
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)

    def score(self, x, y, a, s, *, batch_size, softmax):
        flat = np.sort(a.reshape(len(a), -1) + 1e-7, axis=1)
        n = flat.shape[1]
        rank = np.arange(1, n + 1)
        return ((2 * rank - n - 1) * flat).sum(axis=1) / (n * flat.sum(axis=1)), None
