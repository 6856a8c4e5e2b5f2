"""Complexity (Bhatt et al. 2020): the entropy of the attributions' share per feature; lower is simpler."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.metrics import Metric


class Complexity(Metric):
    """Entropy of ``|a_i| / sum |a|`` per sample (``1e-12`` inside the log, as Quantus 0.6); an
    all-zero map has no shares and scores NaN (left out of ``result.mean``)."""

    name = "complexity"
    category = "complexity"
    higher_is_better = False

    def __init__(self, model: Any = None, *, abs: bool = True, normalise: bool = True,  # noqa: A002
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)

    def score(self, x, y, a, s, *, batch_size, softmax):
        flat = a.reshape(len(a), -1)
        with np.errstate(invalid="ignore", divide="ignore"):  # an all-zero map has no shares: NaN
            share = flat / np.abs(flat).sum(axis=1, keepdims=True)
        return -(share * np.log(share + 1e-12)).sum(axis=1), None
