"""Perturbation ``mean``: replace each region by its mean, per channel (blurs the region away)."""

from __future__ import annotations

import numpy as np

from innv_core.hookspecs import hookimpl
from innv_core.tools.perturbation_functions import region_vectorized


@region_vectorized
def mean(regions: np.ndarray, axis: tuple[int, ...] | None = None) -> np.ndarray:
    """The mean over ``axis`` (the pixels of one region), kept broadcastable to ``regions``.

    With ``axis=None`` (one region of one channel, iNNvestigate's call) it is the mean of all values.
    """
    return np.mean(regions, axis=axis, keepdims=True)


@hookimpl
def innv_register_perturbations(registry):
    registry.add_perturbation("mean", mean)
