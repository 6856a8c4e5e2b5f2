"""Quantus' ``similarity_func`` choices, row by row: ``a`` and ``b`` are ``(n, k)``."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = ["correlation_pearson", "correlation_spearman"]


def correlation_pearson(a: np.ndarray, b: np.ndarray, batched: bool = True) -> np.ndarray:
    """Pearson's r of each row of ``a`` with the same row of ``b`` (NaN for a constant row)."""
    a, b = np.atleast_2d(np.asarray(a, np.float64)), np.atleast_2d(np.asarray(b, np.float64))
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    r = np.clip(r, -1.0, 1.0)
    return r if batched else r[0]


def correlation_spearman(a: np.ndarray, b: np.ndarray, batched: bool = True) -> np.ndarray:
    """Spearman's rank correlation of each row pair (Pearson's r of the average ranks)."""
    ranks = rankdata(np.atleast_2d(a), axis=1), rankdata(np.atleast_2d(b), axis=1)
    return correlation_pearson(*ranks, batched)
