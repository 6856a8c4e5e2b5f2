"""Focus (Arias-Duart et al. 2022): the share of positive relevance on the mosaic's target-class images."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidInputError
from innv_core.metrics import Metric, MetricResult


def check_positions(s: Any, x: np.ndarray) -> np.ndarray:
    """``s`` as ``(n, 4)`` 0/1 integers: which quadrants of each mosaic hold the target class."""
    if s is None:
        raise InvalidInputError(
            "focus scores mosaics: pass s=, one row (top left, top right, bottom left, bottom right) "
            "of 0/1 per mosaic, 1 where the quadrant shows the target class "
            "(innv_core.metrics.mosaic.mosaic_creation builds mosaics and these rows).")
    s = np.asarray(s)
    if s.shape != (len(x), 4) or not np.isin(s, (0, 1)).all():
        raise InvalidInputError(f"focus takes s of shape ({len(x)}, 4), 0/1 per quadrant (top left, top "
                                f"right, bottom left, bottom right); got shape {s.shape}.")
    return s.astype(np.int64)


class Focus(Metric):
    """For mosaics of four images (:func:`innv_core.metrics.mosaic.mosaic_creation`), the positive
    relevance on the quadrants ``s`` marks as the target class's, over all positive relevance
    (plus 1e-9) (Quantus 0.6; higher is better). ``s``: ``(n, 4)`` 0/1 per quadrant, top left,
    top right, bottom left, bottom right (Quantus' ``custom_batch``); ``y`` the target class.
    The quadrants split the height and width at ``H // 2`` and ``W // 2``. Quantus'
    ``mosaic_shape`` is accepted and unused, as there.
    """

    name = "focus"
    category = "localisation"

    def __init__(self, model: Any = None, *, mosaic_shape: Any = None, abs: bool = False,  # noqa: A002
                 normalise: bool = True, **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.mosaic_shape = mosaic_shape

    def evaluate(self, x: Any, y: Any = None, a: Any = None, s: Any = None, **kwargs: Any) -> MetricResult:
        """As :meth:`Metric.evaluate`; ``s`` (the target quadrants, ``(n, 4)``) checked first."""
        x = np.asarray(x)
        if x.ndim != 4:
            raise InvalidInputError(f"focus scores image mosaics (n, H, W, C); got x of shape {x.shape}.")
        return super().evaluate(x, y, a, check_positions(s, x), **kwargs)

    def score(self, x, y, a, s, *, batch_size, softmax):
        n, height, width = a.shape[:3]
        half_h, half_w = height // 2, width // 2
        masks = np.zeros(a.shape, dtype=np.float64)
        for k, (rows, cols) in enumerate(((slice(None, half_h), slice(None, half_w)),
                                          (slice(None, half_h), slice(half_w, None)),
                                          (slice(half_h, None), slice(None, half_w)),
                                          (slice(half_h, None), slice(half_w, None)))):
            masks[:, rows, cols] = s[:, k].reshape(n, 1, 1, 1)
        positive = np.clip(a, 0, None).reshape(n, -1)
        return (masks.reshape(n, -1) * positive).sum(axis=1) / (positive.sum(axis=1) + 1e-9), None
