"""Perturbation ``invert``: flip the sign of the chosen pixels."""

from __future__ import annotations

import numpy as np

from innv_core.hookspecs import hookimpl
from innv_core.tools.perturbation_functions import region_vectorized


@region_vectorized
def invert(regions: np.ndarray, axis: tuple[int, ...] | None = None) -> np.ndarray:
    """``-regions``."""
    return np.negative(regions)


@hookimpl
def innv_register_perturbations(registry):
    registry.add_perturbation("invert", invert)
