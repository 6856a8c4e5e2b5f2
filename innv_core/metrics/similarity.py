"""Quantus' ``similarity_func`` choices, row by row: ``a`` and ``b`` are ``(n, k)``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

__all__ = ["correlation_pearson", "correlation_spearman", "difference", "distance_euclidean", "fro_norm",
           "lipschitz_constant", "ssim"]


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


def difference(a: np.ndarray, b: np.ndarray, **kwargs: object) -> np.ndarray:
    """``a - b`` (Quantus' default ``similarity_func`` of the sensitivity metrics)."""
    return np.asarray(a) - np.asarray(b)


def fro_norm(a: np.ndarray) -> np.ndarray:
    """The Euclidean norm of each row."""
    return np.linalg.norm(a, axis=-1)


def ssim(a: np.ndarray, b: np.ndarray, batched: bool = True, win_size: int = 7) -> np.ndarray:
    """The structural similarity of each row pair (flattened maps), as Quantus computes it with
    scikit-image's ``structural_similarity``: a uniform window of ``win_size``, sample
    covariances, ``K1 = 0.01``, ``K2 = 0.03``, the data range of the pair, the border of half a
    window left out of the mean."""
    from scipy.ndimage import uniform_filter1d

    a, b = np.atleast_2d(np.asarray(a, np.float64)), np.atleast_2d(np.asarray(b, np.float64))
    if a.shape[1] < win_size:
        raise ValueError(f"ssim needs at least win_size={win_size} values per map, got {a.shape[1]}")
    data_range = np.abs(np.maximum(a.max(1), b.max(1)) - np.minimum(a.min(1), b.min(1)))[:, None]

    def mean(v: np.ndarray) -> np.ndarray:
        return uniform_filter1d(v, size=win_size, axis=1, mode="reflect")

    ua, ub = mean(a), mean(b)
    norm = win_size / (win_size - 1)
    va, vb = norm * (mean(a * a) - ua * ua), norm * (mean(b * b) - ub * ub)
    vab = norm * (mean(a * b) - ua * ub)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ua * ub + c1) * (2 * vab + c2)) / ((ua ** 2 + ub ** 2 + c1) * (va + vb + c2))
    pad = (win_size - 1) // 2
    result = s[:, pad:a.shape[1] - pad].mean(axis=1)
    return result if batched else result[0]


def distance_euclidean(a: np.ndarray, b: np.ndarray, **kwargs: object) -> np.ndarray:
    """The Euclidean distance of each row pair."""
    return np.sqrt(((np.asarray(a) - np.asarray(b)) ** 2).sum(axis=-1))


def lipschitz_constant(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray,
                       norm_numerator: Callable[..., np.ndarray] = distance_euclidean,
                       norm_denominator: Callable[..., np.ndarray] = distance_euclidean,
                       **kwargs: object) -> np.ndarray:
    """``norm_numerator(a, b) / (norm_denominator(c, d) + 1e-10)``: the explanation's change
    over the input's, row by row (Quantus' ``lipschitz_constant``)."""
    return norm_numerator(a=a, b=b) / (norm_denominator(a=c, b=d) + 1e-10)
