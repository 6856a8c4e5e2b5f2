"""Max- and avg-sensitivity (Yeh et al. 2019): how far the explanation moves under small noise."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, check_number
from innv_core.metrics.similarity import difference, fro_norm
from innv_plugins.metrics.robustness.noisy import NoisyInputs


class MaxSensitivity(NoisyInputs):
    """For ``nr_samples`` uniform noises (``[-lower_bound, lower_bound]``, or ``[lower_bound,
    upper_bound]``) added to the input: ``norm_numerator(similarity_func(a, a_noisy)) /
    norm_denominator(a)``, and the largest of them per sample (Quantus 0.6; lower is better;
    ``curves`` holds every noise's value). ``return_nan_when_prediction_changes`` leaves out
    noises that change the predicted class. ``evaluate`` needs ``analyzer=``. ``seed``: see
    :mod:`~innv_plugins.metrics.robustness.noisy` (Quantus' draws for one-channel data).
    """

    name = "max_sensitivity"

    def __init__(self, model: Any = None, *, similarity_func: Any = None, norm_numerator: Any = None,
                 norm_denominator: Any = None, nr_samples: int = 200, abs: bool = False,  # noqa: A002
                 normalise: bool = False, lower_bound: float = 0.2, upper_bound: float | None = None,
                 return_nan_when_prediction_changes: bool = False, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, nr_samples=nr_samples, seed=seed, abs=abs, normalise=normalise,
                         return_nan_when_prediction_changes=return_nan_when_prediction_changes, **common)
        self.similarity_func = similarity_func or difference
        self.norm_numerator = norm_numerator or fro_norm
        self.norm_denominator = norm_denominator or fro_norm
        self.lower_bound = check_number("lower_bound", lower_bound)
        self.upper_bound = None if upper_bound is None else check_number("upper_bound", upper_bound)
        if self.upper_bound is not None and self.upper_bound <= self.lower_bound:
            raise InvalidParameterError(f"upper_bound={upper_bound} must be larger than "
                                        f"lower_bound={lower_bound}.")

    def noise(self, rng, shape):
        if self.upper_bound is None:
            return rng.uniform(-self.lower_bound, self.lower_bound, size=shape)
        return rng.uniform(self.lower_bound, self.upper_bound, size=shape)

    def objective(self, x, noisy, a, noisy_a, batch_size):
        n = len(x)
        a, noisy_a = a.reshape(n, -1), noisy_a.reshape(n, -1)
        return self.norm_numerator(self.similarity_func(a=a, b=noisy_a)) / self.norm_denominator(a)


class AvgSensitivity(MaxSensitivity):
    """As :class:`MaxSensitivity`, the mean instead of the largest value (Quantus 0.6)."""

    name = "avg_sensitivity"
    reduce = staticmethod(np.nanmean)
    reduce_strict = staticmethod(np.mean)
