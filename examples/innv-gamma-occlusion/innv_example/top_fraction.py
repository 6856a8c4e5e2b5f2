"""A third-party metric: the score's drop when the most relevant ``fraction`` of features is removed.

``top_fraction_drop`` sets the ``fraction`` of each sample's values with the largest attribution
to ``baseline`` and reports ``f(x)_y - f(removed)_y``: one model call per sample, batched
through innv's compiled forward function. Higher is better: a faithful explanation points at
what the score needs. For a linear model the drop is ``sum over the removed values of
w_y * (x - baseline)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core import hookimpl
from innv_core.errors import InvalidParameterError
from innv_core.metrics import Metric


class TopFractionDrop(Metric):
    """``f(x)_y - f(x with its top-``fraction`` values set to ``baseline``)_y`` per sample."""

    name = "top_fraction_drop"
    category = "faithfulness"
    higher_is_better = True
    needs_model = True

    def __init__(self, model: Any = None, *, fraction: float = 0.1, baseline: float = 0.0,
                 abs: bool = False, normalise: bool = False, **common: Any) -> None:  # noqa: A002
        super().__init__(model, abs=abs, normalise=normalise, **common)
        if not 0 < fraction <= 1:
            raise InvalidParameterError(f"fraction must be in (0, 1], got {fraction!r}.")
        self.fraction = float(fraction)
        self.baseline = float(baseline)

    def score(self, x, y, a, s, *, batch_size, softmax):
        n = len(x)
        values = np.broadcast_to(a, x.shape).reshape(n, -1)
        k = max(1, int(round(self.fraction * values.shape[1])))
        top = np.argsort(-values, axis=1)[:, :k]
        removed = x.reshape(n, -1).copy()
        np.put_along_axis(removed, top, self.baseline, axis=1)
        scores = self.class_scores(softmax)
        return scores(x, y, batch_size) - scores(removed.reshape(x.shape), y, batch_size), None


@hookimpl
def innv_register_metrics(registry):
    registry.add_metric(TopFractionDrop.name, TopFractionDrop)
