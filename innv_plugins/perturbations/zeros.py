"""Perturbation ``zeros``: set the chosen pixels to 0 (the channel mean of standardized data)."""

from __future__ import annotations

import numpy as np

from innv_core.hookspecs import hookimpl
from innv_core.tools.perturbation_functions import region_vectorized


@region_vectorized
def zeros(regions: np.ndarray, axis: tuple[int, ...] | None = None) -> np.ndarray:
    """Zeros in place of ``regions``."""
    return np.zeros_like(regions)


@hookimpl
def innv_register_perturbations(registry):
    registry.add_perturbation("zeros", zeros)
