"""Max- and avg-sensitivity (Yeh et al. 2019): how far the explanation moves under small noise."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, check_number, check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.similarity import difference, fro_norm


class MaxSensitivity(Metric):
    """For ``nr_samples`` uniform noises (``[-lower_bound, lower_bound]``, or ``[lower_bound,
    upper_bound]``) added to the input: ``norm_numerator(similarity_func(a, a_noisy)) /
    norm_denominator(a)``, and the largest of them per sample (Quantus 0.6; lower is better).
    ``return_nan_when_prediction_changes`` leaves out (as NaN) noises that change the predicted
    class. ``evaluate`` needs ``analyzer=``: it explains the noisy inputs.

    ``seed`` drives a ``numpy.random.RandomState``, drawn as Quantus draws after
    ``np.random.seed(seed)`` (one ``(n, features)`` array per noise; identical to Quantus' draws
    for data with one channel, in another order of the values for several).
    """

    name = "max_sensitivity"
    category = "robustness"
    higher_is_better = False
    needs_model = True
    needs_analyzer = True
    #: The reduction over noises: NaN (a changed prediction) skipped, or kept when
    #: ``return_nan_when_prediction_changes`` (then one changed prediction makes the score NaN).
    reduce = staticmethod(np.nanmax)
    reduce_strict = staticmethod(np.max)

    def __init__(self, model: Any = None, *, similarity_func: Any = None, norm_numerator: Any = None,
                 norm_denominator: Any = None, nr_samples: int = 200, abs: bool = False,  # noqa: A002
                 normalise: bool = False, lower_bound: float = 0.2, upper_bound: float | None = None,
                 return_nan_when_prediction_changes: bool = False, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.similarity_func = similarity_func or difference
        self.norm_numerator = norm_numerator or fro_norm
        self.norm_denominator = norm_denominator or fro_norm
        self.nr_samples = check_positive_int("nr_samples", nr_samples)
        self.lower_bound = check_number("lower_bound", lower_bound)
        self.upper_bound = None if upper_bound is None else check_number("upper_bound", upper_bound)
        if self.upper_bound is not None and self.upper_bound <= self.lower_bound:
            raise InvalidParameterError(f"upper_bound={upper_bound} must be larger than "
                                        f"lower_bound={lower_bound}.")
        self.nan_when_changed = bool(return_nan_when_prediction_changes)
        self.seed = seed

    def noise(self, rng: np.random.RandomState, shape: tuple[int, ...]) -> np.ndarray:
        """One uniform noise of ``shape``, Quantus' ``uniform_noise``."""
        if self.upper_bound is None:
            return rng.uniform(-self.lower_bound, self.lower_bound, size=shape)
        return rng.uniform(self.lower_bound, self.upper_bound, size=shape)

    def score(self, x, y, a, s, *, batch_size, softmax):
        n = len(x)
        rng = np.random.RandomState(self.seed)
        flat_a = a.reshape(n, -1)
        predicted = self._predicted(x, batch_size) if self.nan_when_changed else None
        ratios = np.full((n, self.nr_samples), np.nan)
        for step in range(self.nr_samples):
            noisy = (x.reshape(n, -1) + self.noise(rng, (n, x[0].size))).reshape(x.shape).astype(x.dtype)
            noisy_a = self.explain(noisy, y, batch_size).reshape(n, -1)
            ratios[:, step] = (self.norm_numerator(self.similarity_func(a=flat_a, b=noisy_a))
                               / self.norm_denominator(flat_a))
            if predicted is not None:
                ratios[self._predicted(noisy, batch_size) != predicted, step] = np.nan
        reduce = type(self).reduce_strict if self.nan_when_changed else type(self).reduce
        with warnings.catch_warnings():  # a row of NaN (every noise changed the class) gives NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return reduce(ratios, axis=1), ratios


class AvgSensitivity(MaxSensitivity):
    """As :class:`MaxSensitivity`, the mean instead of the largest ratio (Quantus 0.6)."""

    name = "avg_sensitivity"
    reduce = staticmethod(np.nanmean)
    reduce_strict = staticmethod(np.mean)
