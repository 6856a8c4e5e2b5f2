"""Smooth MPRT (Hedström et al. 2023): MPRT on explanations averaged over noisy inputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, check_positive_int
from innv_core.metrics import MetricResult, batch
from innv_core.metrics.normalise import normalise_by_average_second_moment_estimate as SECOND_MOMENT
from innv_plugins.metrics.randomisation.mprt import MPRT


class SmoothMPRT(MPRT):
    """MPRT whose explanations are "denoised": each is the mean of the explanations of
    ``nr_samples`` copies of the input, all but the last with Gaussian noise of standard
    deviation ``noise_magnitude`` times the sample's value range (the last copy is the input
    itself). Quantus 0.6's defaults: bottom-up cascading randomisation, ``nr_samples=50``,
    ``noise_magnitude=0.1``, normalised by the average second-moment estimate (Binder et al.
    2022), ``abs=True``. ``curves``, ``scores`` and lower-is-better as :class:`MPRT`.

    ``a``, when given, is the original model's explanation as it is (Quantus compares its
    ``a_batch`` without smoothing it); computed by the analyzer it is smoothed too. The noise
    is drawn as Quantus draws it after ``np.random.seed(seed)``: one ``randn`` of the batch's
    shape per noisy copy, a set of copies for ``a`` (when computed), one for the unrandomised
    model (Quantus' "original" comparison, not part of innv's curves: its draws are made and
    left unused) and one per explained randomised model. The whole batch is drawn at once, so
    the same seed gives the same scores on any ``batch_size`` (and Quantus' draws when its
    ``batch_size`` holds the batch and the inputs have no channel axis: Quantus draws channels
    first). The noisy inputs are cast to the inputs' dtype.
    """

    name = "smooth_mprt"

    def __init__(self, model: Any = None, *, similarity_func: Any = None, layer_order: str = "bottom_up",
                 seed: int = 42, nr_samples: int = 50, noise_magnitude: float = 0.1,
                 return_average_correlation: bool = False, return_last_correlation: bool = False,
                 skip_layers: bool = False, abs: bool = True, normalise: bool = True,  # noqa: A002
                 normalise_func: Any = None, **common: Any) -> None:
        if return_average_correlation and return_last_correlation:
            raise InvalidParameterError("return_average_correlation and return_last_correlation "
                                        "cannot both be True: pick one (or neither: the last layer's).")
        super().__init__(model, similarity_func=similarity_func, layer_order=layer_order, seed=seed,
                         return_average_correlation=return_average_correlation,
                         return_last_correlation=return_last_correlation, skip_layers=skip_layers, abs=abs,
                         normalise=normalise, normalise_func=normalise_func or SECOND_MOMENT, **common)
        self.nr_samples = check_positive_int("nr_samples", nr_samples)
        noise_magnitude = float(noise_magnitude)
        if not np.isfinite(noise_magnitude) or noise_magnitude < 0:
            raise InvalidParameterError(f"noise_magnitude must be a number >= 0, got {noise_magnitude}.")
        self.noise_magnitude = noise_magnitude
        self._noise: np.random.RandomState | None = None

    def evaluate(self, x: Any, y: Any = None, a: Any = None, s: Any = None, **kwargs: Any) -> MetricResult:
        self._noise = np.random.RandomState(self.seed)
        try:
            return super().evaluate(x, y, a, s, **kwargs)
        finally:
            self._noise = None

    def _draws(self, x: np.ndarray) -> Iterator[np.ndarray | None]:
        """One set of noise, drawn one copy at a time: ``nr_samples - 1`` arrays shaped as ``x``,
        then None (the last copy is the input itself)."""
        axes = tuple(range(1, x.ndim))
        std = self.noise_magnitude * (x.max(axis=axes, keepdims=True) - x.min(axis=axes, keepdims=True))
        rng = self._noise if self._noise is not None else np.random.RandomState(self.seed)
        for _ in range(self.nr_samples - 1):
            yield rng.randn(*x.shape) * std
        yield None

    def explain(self, x: np.ndarray, y: np.ndarray | None, batch_size: int,
                preprocess: bool = True) -> np.ndarray:
        """The mean of the analyzer's explanations of the noisy copies of ``x`` (one run per copy,
        each over the whole batch), preprocessed as Quantus does after smoothing."""
        total = None
        for noise in self._draws(x):
            copy = x if noise is None else (x + noise).astype(x.dtype)
            part = super().explain(copy, y, batch_size, preprocess=False).astype(np.float64) / self.nr_samples
            total = part if total is None else total + part
        return self.preprocess(batch.check_attributions(total, x)) if preprocess else total

    def score(self, x, y, a, s, *, batch_size, softmax):
        for _ in self._draws(x):  # Quantus' unrandomised comparison: its noise is drawn, not used
            pass
        return super().score(x, y, a, s, batch_size=batch_size, softmax=softmax)
