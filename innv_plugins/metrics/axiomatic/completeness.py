"""Completeness (Sundararajan et al. 2017): do the attributions sum to the output's change?"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import check_number
from innv_core.metrics import Metric
from innv_core.metrics.perturbed import Replacement


class Completeness(Metric):
    """1.0 where ``sum(a)`` equals ``output_func(f(x) - f(baseline))`` (the class logit, the
    baseline every value replaced by ``perturb_baseline``) within ``rtol``/``atol``, else 0.0;
    ``curves`` holds the two sides, ``(n, 2)``.

    Quantus 0.6 compares the two floats with ``==``, so the score is False for every real
    explanation; innv compares within a tolerance (``rtol=1e-5``, ``atol=1e-6`` by default; pass
    ``rtol=0, atol=0`` for Quantus' exact test). Quantus' defaults are kept, ``normalise=True``
    included, although normalised attributions cannot sum to the output change: pass
    ``normalise=False`` to test the axiom (Integrated Gradients then scores 1 with enough steps).
    """

    name = "completeness"
    category = "axiomatic"
    needs_model = True

    def __init__(self, model: Any = None, *, abs: bool = False, normalise: bool = True,  # noqa: A002
                 output_func: Any = None, perturb_baseline: Any = "black",
                 perturb_func_kwargs: dict[str, Any] | None = None, rtol: float = 1e-5,
                 atol: float = 1e-6, seed: int | None = None, **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.output_func = output_func or (lambda v: v)
        self.replacement = Replacement.of(perturb_baseline, perturb_func_kwargs, seed)
        self.rtol = check_number("rtol", rtol, minimum=0.0)
        self.atol = check_number("atol", atol, minimum=0.0)

    def score(self, x, y, a, s, *, batch_size, softmax):
        scores = self.class_scores(softmax)
        baseline = self.replacement.filled(x.reshape(len(x), -1).astype(np.float64)).reshape(x.shape)
        change = np.asarray(self.output_func(scores(x, y, batch_size) - scores(baseline, y, batch_size)))
        total = a.reshape(len(a), -1).sum(axis=1)
        complete = np.isclose(total, change, rtol=self.rtol, atol=self.atol)
        return complete.astype(np.float64), np.stack([total, change], axis=1)
