"""How a perturbation function is called: on whole stacks of regions, or region by region.

A perturbation function replaces the pixels of the regions chosen by
:class:`innv_core.tools.perturbate.Perturbation`. Two calling conventions exist:

* **vectorized** (the built-ins; mark a function with :func:`region_vectorized`):
  ``fn(regions, axis=(1, 2))`` receives every chosen region of the batch at once, an array of
  shape ``(K, region_h, region_w, C)``; ``axis`` names the pixel axes of one region, so a
  reduction over ``axis`` works per region and channel. It returns an array broadcastable to
  ``regions.shape``.
* **plain** (any other callable, as in iNNvestigate): ``fn(values)`` receives the pixels of one
  region in one channel, an array of shape ``(region_h, region_w)``, and returns the replacement
  (same shape, or a scalar). It is called once per chosen region and channel, so prefer the
  vectorized form for anything but quick experiments.

A vectorized function called with one array and no ``axis`` behaves like a plain one, so the
built-ins can be used wherever iNNvestigate expected ``fn(values)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError

REGION_AXES = (1, 2)
_MARK = "innv_region_vectorized"


def region_vectorized(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fn(regions, axis=...)`` as vectorized over a stack of regions (see module doc)."""
    setattr(fn, _MARK, True)
    return fn


def is_region_vectorized(fn: Any) -> bool:
    """Whether ``fn`` follows the vectorized calling convention."""
    return bool(getattr(fn, _MARK, False))


def apply_to_regions(fn: Callable[..., Any], regions: np.ndarray) -> np.ndarray:
    """The replacement for ``regions`` (shape ``(K, h, w, C)``) computed by ``fn``."""
    if is_region_vectorized(fn):
        return _broadcast(fn(regions, axis=REGION_AXES), regions.shape, fn)
    return _apply_per_region(fn, regions)


def _apply_per_region(fn: Callable[..., Any], regions: np.ndarray) -> np.ndarray:
    """Fallback for plain callables: one call per region and channel (iNNvestigate's contract)."""
    out = np.empty(regions.shape, dtype=np.result_type(regions.dtype, np.float32))
    for k in range(regions.shape[0]):
        for c in range(regions.shape[-1]):
            values = regions[k, :, :, c]
            out[k, :, :, c] = _broadcast(fn(values.copy()), values.shape, fn)
    return out


def _broadcast(result: Any, shape: tuple[int, ...], fn: Any) -> np.ndarray:
    result = np.asarray(result)
    try:
        return np.broadcast_to(result, shape)
    except ValueError:
        raise InvalidParameterError(
            f"Perturbation function {fn!r} returned an array of shape {result.shape}, which does "
            f"not broadcast to the shape of its input {shape}. Return the replacement values "
            "(same shape as the input, or a scalar)."
        ) from None
