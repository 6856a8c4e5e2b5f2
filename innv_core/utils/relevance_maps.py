"""From an analysis to the 2-d map a figure shows: channels summed, scaled, and its colour map.

Shared by the relevance grid (:mod:`innv_core.utils.relevance_grid`) and the single heatmaps
(:func:`innv_core.utils.visualizations.save_relevance_map`), so that both say the same thing
about what was done to a map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import invalid_parameter

__all__ = ["NORMALIZATIONS", "SIGNED_CMAP", "UNSIGNED_CMAP", "channel_reduction", "colour_scale",
           "normalized_maps", "unit_image"]

#: Signed relevance: diverging, centred on 0 (white), red positive, blue negative.
SIGNED_CMAP = "RdBu_r"
#: Magnitudes (abs, square): sequential and perceptually uniform, light at 0.
UNSIGNED_CMAP = "magma_r"
#: How the maps are scaled, and what a caption says about it.
NORMALIZATIONS = {
    "image": "each map divided by its own max |R|",
    "column": "each column divided by its max |R| over all rows",
    "percentile": "each map divided by its {p:g}th percentile of |R| and clipped",
}


def normalized_maps(analysis: Any, normalization: str = "image", percentile: float = 99.5) -> np.ndarray:
    """``(N, H, W)`` maps in [-1, 1]: channels summed, then scaled as ``normalization`` says
    (see :data:`NORMALIZATIONS`); an all-zero map stays 0."""
    if normalization not in NORMALIZATIONS:
        raise invalid_parameter("normalization", normalization, f"one of {sorted(NORMALIZATIONS)}")
    R = np.asarray(analysis, dtype=np.float64)
    R = R.sum(axis=-1) if R.ndim == 4 else R
    magnitude = np.abs(R).reshape(len(R), -1)
    if normalization == "image":
        scale = magnitude.max(axis=1)
    elif normalization == "column":
        scale = np.full(len(R), magnitude.max())
    else:
        scale = np.percentile(magnitude, percentile, axis=1)
    scale = np.where(scale > 0, scale, 1.0).reshape(-1, *([1] * (R.ndim - 1)))
    return np.clip(R / scale, -1.0, 1.0)


def channel_reduction(analysis_shape: tuple[int, ...]) -> str:
    """What :func:`normalized_maps` does to the channels of a batch of this shape, for a title:
    "sum over RGB" for 3 channels, "sum over C channels" for others, "" for one or none."""
    if len(analysis_shape) != 4 or analysis_shape[-1] == 1:
        return ""
    return "sum over RGB" if analysis_shape[-1] == 3 else f"sum over {analysis_shape[-1]} channels"


def colour_scale(signed: bool) -> tuple[str, float]:
    """The colour map and the lower end of the scale (the upper is 1) of a normalized map."""
    return (SIGNED_CMAP, -1.0) if signed else (UNSIGNED_CMAP, 0.0)


def unit_image(image: Any) -> np.ndarray:
    """An image scaled to [0, 1] for display (RGB kept, alpha dropped, one channel as grey)."""
    image = np.asarray(image, np.float64)
    if image.ndim == 3:
        image = image[..., 0] if image.shape[-1] == 1 else image[..., :3]
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)
