"""Deletion and insertion (Petsiuk et al. 2018, RISE), as xplique 2.0's ``CausalFidelity``."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, check_positive_int
from innv_core.metrics.perturbed import path_curves
from innv_plugins.metrics.xplique.base import XpliqueMetric

__all__ = ["CausalFidelity"]


class CausalFidelity(XpliqueMetric):
    """The score of class ``y`` along the path from ``x`` to the baseline (deletion) or back
    (insertion), the most relevant features moved first.

    Features are pixels for images ``(n, H, W, C)`` (all channels move together; attributions
    with channels are averaged over them, as xplique does) and single values otherwise
    (attributions without the channel axis count for every channel). The curve has ``steps + 1``
    points: after the ``k`` most relevant features moved, ``k`` in
    ``np.linspace(0, max_features, steps + 1)`` cast to integers, ``max_features`` the floor of
    ``max_percentage_perturbed`` times the features (``steps=-1``: one step per feature). Each
    point starts afresh from the start (xplique; the same as moving cumulatively). ``scores``
    is the area under each sample's curve on ``[0, 1]`` (trapezoidal, xplique's AUC), ``curves``
    the curves. Ties in the attributions are broken as xplique does (the reverse of numpy's
    ``argsort``).
    """

    causal_mode = ""

    def __init__(self, model: Any = None, *, batch_size: int | None = 64, baseline_mode: Any = 0.0,
                 steps: int = 10, max_percentage_perturbed: float = 1.0, operator: Any = None,
                 activation: str | None = None, **common: Any) -> None:
        super().__init__(model, batch_size=batch_size, baseline_mode=baseline_mode, operator=operator,
                         activation=activation, **common)
        # (self.steps names the curve columns of a result, Metric's attribute)
        self.nb_steps = -1 if steps == -1 else check_positive_int("steps", steps)
        value = max_percentage_perturbed
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
                0.0 < value <= 1.0):
            raise InvalidParameterError(
                f"max_percentage_perturbed must be in ]0, 1] (a share of the features), got {value!r}.")
        self.max_percentage_perturbed = float(value)

    def perturbations_per_sample(self, shape):
        return self.counts(shape).size

    @staticmethod
    def layout(shape: tuple[int, ...]) -> tuple[int, int]:
        """``(features, values per feature)`` of one sample of ``shape``."""
        if len(shape) > 2:  # images (H, W, C) and beyond: the last axis is the channels
            return int(np.prod(shape[:-1])), int(shape[-1])
        return int(np.prod(shape)), 1

    def counts(self, shape: tuple[int, ...]) -> np.ndarray:
        """How many features have moved at each point of the curve."""
        features, _ = self.layout(shape)
        most = int(np.floor(features * self.max_percentage_perturbed))
        steps = most if self.nb_steps == -1 else self.nb_steps
        return np.linspace(0, most, steps + 1, dtype=np.int32)

    def order(self, a: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``(n, features)``: each sample's features, most relevant first."""
        features, width = self.layout(x.shape[1:])
        values = a.mean(axis=-1) if width > 1 else np.broadcast_to(a, x.shape)  # a has x's axes
        return np.argsort(values.reshape(len(x), features), axis=-1)[:, ::-1]

    def score(self, x, y, a, s, *, batch_size, softmax):
        n = len(x)
        _, width = self.layout(x.shape[1:])
        order, counts = self.order(a, x), self.counts(x.shape[1:])
        channels = np.arange(width)

        def selected(t: int) -> np.ndarray:
            chosen = order[:, :counts[t]]
            return (chosen[:, :, None] * width + channels).reshape(n, -1)

        start, end = (x, self._end) if self.causal_mode == "deletion" else (self._end, x)
        curves = path_curves(self.class_scores(softmax), start, end, y, selected, counts.size, batch_size,
                             cumulative=False)
        return np.mean(curves[:, :-1] + curves[:, 1:], axis=1) * 0.5, curves
