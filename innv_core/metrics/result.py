"""What a metric returns: one score per sample, and the curve behind it for curve metrics."""

from __future__ import annotations

import attrs
import numpy as np

__all__ = ["MetricResult"]


@attrs.frozen
class MetricResult:
    """The result of :meth:`~innv_core.metrics.Metric.evaluate`.

    Attributes:
        metric: the metric's registered name.
        scores: one score per sample, shape ``(n,)`` (NaN where the score is undefined, e.g. an
            empty mask); with ``return_aggregate=True`` the one aggregated value, shape ``(1,)``.
        curves: ``(n, steps)`` for curve metrics (pixel flipping, region perturbation, ...), else None.
        higher_is_better: the metric's direction (Quantus' ``score_direction``).
        steps: what each column of ``curves`` is, where it has names (MPRT: the layers).
        explanations: the explanations behind the scores, where the metric was asked to keep
            them (MPRT's ``return_explanations=True``: ``(n, 1 + steps, ...)``, the original
            model's first), else None.
    """

    metric: str
    scores: np.ndarray
    curves: np.ndarray | None = None
    higher_is_better: bool = True
    steps: tuple[str, ...] | None = None
    explanations: np.ndarray | None = None

    @property
    def mean(self) -> float:
        """The mean over samples, NaN scores left out."""
        return float(np.nanmean(self.scores)) if np.isfinite(self.scores).any() else float("nan")

    @property
    def sem(self) -> float:
        """The standard error of :attr:`mean` (0 for a single finite score)."""
        finite = self.scores[np.isfinite(self.scores)]
        return float(finite.std(ddof=1) / np.sqrt(len(finite))) if len(finite) > 1 else 0.0
