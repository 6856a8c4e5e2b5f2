"""Effective complexity (Nguyen & Martínez 2020): how many features exceed ``eps``; lower is simpler."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import check_number
from innv_core.metrics import Metric


class EffectiveComplexity(Metric):
    """The number of (absolute, normalised) attributions ``> eps`` per sample."""

    name = "effective_complexity"
    category = "complexity"
    higher_is_better = False

    def __init__(self, model: Any = None, *, eps: float = 1e-5, abs: bool = True,  # noqa: A002
                 normalise: bool = True, **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.eps = check_number("eps", eps)

    def score(self, x, y, a, s, *, batch_size, softmax):
        return (a.reshape(len(a), -1) > self.eps).sum(axis=1).astype(np.float64), None
