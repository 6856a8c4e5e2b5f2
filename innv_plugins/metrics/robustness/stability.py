"""Relative input and output stability (Agarwal et al. 2022): explanation change per input/output change."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import check_number
from innv_core.metrics.normalise import normalise_by_average_second_moment_estimate
from innv_plugins.metrics.robustness.noisy import NoisyInputs


def _relative_norm(change: np.ndarray, reference: np.ndarray, eps: float) -> np.ndarray:
    """``|| change / reference ||`` per sample, a zero reference replaced by ``eps``."""
    n = len(change)
    return np.linalg.norm((change / (reference + (reference == 0) * eps)).reshape(n, -1), axis=1)


class RelativeInputStability(NoisyInputs):
    """The largest ``||(e_x - e_x') / e_x|| / ||(x - x') / x||`` over ``nr_samples`` uniform
    noises in ``[0.02, 0.2)`` (Quantus 0.6; zeros replaced by ``eps_min``; lower is better). NaN
    where a noise changes the predicted class (``return_nan_when_prediction_changes``, True by
    default; then one changed prediction makes the sample NaN, as Quantus' ``np.max``).
    ``evaluate`` needs ``analyzer=``. Quantus' ``normalise_func`` here defaults to
    ``normalise_by_average_second_moment_estimate`` (used only with ``normalise=True``).
    """

    name = "relative_input_stability"
    reduce = staticmethod(np.max)

    def __init__(self, model: Any = None, *, nr_samples: int = 200, abs: bool = False,  # noqa: A002
                 normalise: bool = False, normalise_func: Any = None, eps_min: float = 1e-6,
                 return_nan_when_prediction_changes: bool = True, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, nr_samples=nr_samples, seed=seed, abs=abs, normalise=normalise,
                         normalise_func=normalise_func or normalise_by_average_second_moment_estimate,
                         return_nan_when_prediction_changes=return_nan_when_prediction_changes, **common)
        self.eps_min = check_number("eps_min", eps_min, minimum=0.0)

    def noise(self, rng, shape):
        return rng.uniform(0.02, 0.2, size=shape)

    def objective(self, x, noisy, a, noisy_a, batch_size):
        explanation = _relative_norm(a - noisy_a, a, self.eps_min)
        change = _relative_norm(x.astype(np.float64) - noisy, x.astype(np.float64), self.eps_min)
        return explanation / (change + (change == 0) * self.eps_min)


class RelativeOutputStability(RelativeInputStability):
    """As :class:`RelativeInputStability`, relative to the change of the model's logits
    ``||h(x) - h(x')||`` instead of the input's (Quantus 0.6)."""

    name = "relative_output_stability"

    def objective(self, x, noisy, a, noisy_a, batch_size):
        forward = self.class_scores(False)
        explanation = _relative_norm(a - noisy_a, a, self.eps_min)
        change = np.linalg.norm(forward.outputs(x, batch_size) - forward.outputs(noisy, batch_size), axis=1)
        return explanation / (change + (change == 0) * self.eps_min)
