"""The inputs of one :meth:`~innv_core.metrics.Metric.evaluate` call, checked before any model call.

``x`` is channels-last data ``(n, ...)``; ``a`` the attributions, shaped as ``x`` or as ``x``
without its channel axis (then given a channel axis of 1, as Quantus does); ``s`` binary masks
(segmentations, bounding boxes) shaped as ``x``, as ``x`` without channels, or with one channel;
``y`` one class index per sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidInputError, NeuronSelectionError

__all__ = ["check_attributions", "check_labels", "check_masks", "check_x", "flat_pair"]


def check_x(x: Any) -> np.ndarray:
    """``x`` as a float array with a batch axis, finite."""
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise InvalidInputError(f"x must be a batch (n, features...) with n >= 1, got shape {x.shape}.")
    if not np.issubdtype(x.dtype, np.number):
        raise InvalidInputError(f"x must be numeric, got dtype {x.dtype}.")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise InvalidInputError("x contains NaN or inf: give finite inputs.")
    return x


def check_attributions(a: Any, x: np.ndarray) -> np.ndarray:
    """``a`` as float64 with ``x``'s number of axes (a channel axis of 1 added where ``a`` has
    none), finite."""
    a = np.asarray(a, dtype=np.float64)
    if a.shape == x.shape:
        pass
    elif x.ndim > 2 and a.shape == x.shape[:-1]:
        a = a[..., None]
    elif not (x.ndim > 2 and a.shape == (*x.shape[:-1], 1)):
        raise InvalidInputError(
            f"The attributions' shape {a.shape} fits neither x {x.shape} nor x without its channel "
            f"axis {x.shape[:-1]}: give one attribution per input value or per pixel.")
    if not np.isfinite(a).all():
        raise InvalidInputError("The attributions contain NaN or inf: check the analyzer's output "
                                "(innv's analyzers refuse to return them) or the array given as a.")
    return a


def check_masks(s: Any, x: np.ndarray, metric: str) -> np.ndarray:
    """``s`` as a boolean array with ``x``'s number of axes (one channel where it has none)."""
    if s is None:
        raise InvalidInputError(
            f"{metric} compares attributions with masks: pass s= (innv evaluate: --masks FILE), one "
            f"binary mask per sample, shaped as x {x.shape} or without its channel axis {x.shape[:-1]}.")
    s = np.asarray(s)
    if x.ndim > 2 and s.shape == x.shape[:-1]:
        s = s[..., None]
    if s.shape != x.shape and not (x.ndim > 2 and s.shape == (*x.shape[:-1], 1)):
        raise InvalidInputError(f"The masks' shape {s.shape} fits neither x {x.shape} nor x without "
                                f"its channel axis {x.shape[:-1]}.")
    if not np.isin(s, (0, 1)).all():
        raise InvalidInputError("The masks s must be binary (0/1 or bool).")
    return s.astype(bool)


def check_labels(y: Any, n: int, classes: int | None) -> np.ndarray:
    """``y`` as int64 of shape ``(n,)``, each in ``[0, classes)`` where the count is known."""
    y = np.asarray(y)
    if y.ndim == 0:
        y = np.full(n, y)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise NeuronSelectionError(f"y must be one integer class per sample, shape ({n},); got "
                                   f"shape {y.shape}, dtype {y.dtype}.")
    if classes is not None and (y.min() < 0 or y.max() >= classes):
        wrong = sorted(set(y[(y < 0) | (y >= classes)].tolist()))
        raise NeuronSelectionError(f"y out of range: the model has {classes} outputs, valid classes "
                                   f"are 0..{classes - 1}; got {wrong}.")
    return y.astype(np.int64)


def flat_pair(a: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and the masks ``s`` as ``(n, features)`` rows, a one-channel mask repeated over the
    attributions' channels (and a one-channel map compared with the mask's first channel)."""
    if s.shape != a.shape:
        s = np.broadcast_to(s[..., :1], a.shape) if a.shape[-1] > 1 else s[..., :1]
    return a.reshape(len(a), -1), s.reshape(len(s), -1)
