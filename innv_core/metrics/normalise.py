"""Quantus' attribution normalisations (``normalise_func``), with its names and behaviour.

Quantus applies ``normalise_func`` to the whole array of attributions given to one call (all
samples at once, ``normalise_axes=None``): a sample's scores can depend on the others in the
call. Metrics here do the same, so that results match Quantus'; pass
``normalise_func_kwargs={"normalise_axes": per_sample_axes(a)}``-style axes (``(1, 2, 3)`` for
images) to normalise each sample on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["normalise_by_average_second_moment_estimate", "normalise_by_max", "normalise_by_negative"]


def _axes(a: np.ndarray, normalise_axes: Sequence[int] | None) -> tuple[int, ...]:
    return tuple(range(a.ndim)) if normalise_axes is None else tuple(normalise_axes)


def normalise_by_max(a: np.ndarray, normalise_axes: Sequence[int] | None = None) -> np.ndarray:
    """``a / max|a|`` over ``normalise_axes`` (all axes by default); all-zero ``a`` unchanged."""
    if not np.any(a):
        return a
    return a / np.max(np.abs(a), axis=_axes(a, normalise_axes), keepdims=True)


def normalise_by_negative(a: np.ndarray, normalise_axes: Sequence[int] | None = None) -> np.ndarray:
    """Positive values divided by the maximum, negative ones by ``|minimum|``: into ``[-1, 1]``
    with the sign kept; all-zero ``a`` unchanged."""
    if not np.any(a):
        return a
    axes = _axes(a, normalise_axes)
    high = a.max(axis=axes, keepdims=True)
    low = a.min(axis=axes, keepdims=True)
    positive = np.divide(a, high, out=np.zeros_like(a), where=(a > 0) & (high != 0))
    negative = np.divide(a, -low, out=np.zeros_like(a), where=(a < 0) & (low != 0))
    return positive + negative


def normalise_by_average_second_moment_estimate(a: np.ndarray,
                                                normalise_axes: Sequence[int] | None = None) -> np.ndarray:
    """``a`` divided by the root of its mean square over ``normalise_axes`` (all by default);
    unchanged where that is zero (Quantus warns and skips the normalisation)."""
    if not np.any(a):
        return a
    axes = _axes(a, normalise_axes)
    root = np.sqrt(np.mean(np.square(a), axis=axes, keepdims=True))
    return a if np.any(root == 0) else a / root
