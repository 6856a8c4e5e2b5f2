"""What the noise-based robustness metrics share: explain noisy copies of the input, compare.

For ``nr_samples`` noises (drawn from a ``numpy.random.RandomState(seed)`` as Quantus draws
them after ``np.random.seed(seed)``: one ``(n, features)`` array per noise), the metric's
:meth:`NoisyInputs.objective` compares the noisy explanation with the original one; noises
that change the predicted class count as NaN where ``return_nan_when_prediction_changes``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from innv_core.errors import check_positive_int
from innv_core.metrics import Metric


class NoisyInputs(Metric):
    """Base of max/avg-sensitivity, local Lipschitz estimate and the relative stabilities."""

    category = "robustness"
    higher_is_better = False
    needs_model = True
    needs_analyzer = True
    #: The reduction over noises when NaN are skipped, and when they are kept.
    reduce: ClassVar[Callable[..., np.ndarray]] = staticmethod(np.nanmax)
    reduce_strict: ClassVar[Callable[..., np.ndarray]] = staticmethod(np.max)

    def __init__(self, model: Any = None, *, nr_samples: int, return_nan_when_prediction_changes: bool,
                 seed: int | None = None, **common: Any) -> None:
        super().__init__(model, **common)
        self.nr_samples = check_positive_int("nr_samples", nr_samples)
        self.nan_when_changed = bool(return_nan_when_prediction_changes)
        self.seed = seed

    def noise(self, rng: np.random.RandomState, shape: tuple[int, ...]) -> np.ndarray:
        """One noise of ``shape`` (``(n, features)``), added to the flattened inputs."""
        raise NotImplementedError(f"{type(self).__name__} must implement noise()")

    def perturb(self, x: np.ndarray, rng: np.random.RandomState, step: int) -> np.ndarray:
        """The perturbed copy of ``x`` of ``step``: by default ``x`` plus :meth:`noise`."""
        n = len(x)
        return (x.reshape(n, -1) + self.noise(rng, (n, x[0].size))).reshape(x.shape).astype(x.dtype)

    def objective(self, x: np.ndarray, noisy: np.ndarray, a: np.ndarray, noisy_a: np.ndarray,
                  batch_size: int) -> np.ndarray:
        """One value per sample comparing the explanation of ``noisy`` with that of ``x``."""
        raise NotImplementedError(f"{type(self).__name__} must implement objective()")

    def score(self, x, y, a, s, *, batch_size, softmax):
        n = len(x)
        rng = np.random.RandomState(self.seed)
        predicted = self._predicted(x, batch_size) if self.nan_when_changed else None
        values = np.full((n, self.nr_samples), np.nan)
        for step in range(self.nr_samples):
            noisy = self.perturb(x, rng, step)
            noisy_a = self.explain(noisy, y, batch_size)
            values[:, step] = self.objective(x, noisy, a, noisy_a, batch_size)
            if predicted is not None:
                values[self._predicted(noisy, batch_size) != predicted, step] = np.nan
        reduce = type(self).reduce_strict if self.nan_when_changed else type(self).reduce
        with warnings.catch_warnings():  # every noise changed the class: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return reduce(values, axis=1), values
