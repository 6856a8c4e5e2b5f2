"""Local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018): explanation change per input change."""

from __future__ import annotations

from typing import Any

from innv_core.errors import check_number
from innv_core.metrics.similarity import distance_euclidean, lipschitz_constant
from innv_plugins.metrics.robustness.noisy import NoisyInputs


class LocalLipschitzEstimate(NoisyInputs):
    """The largest ``norm_numerator(a, a_noisy) / (norm_denominator(x, x_noisy) + 1e-10)`` over
    ``nr_samples`` Gaussian noises (``perturb_mean``, ``perturb_std``) (Quantus 0.6; lower is
    better). ``return_nan_when_prediction_changes`` leaves out noises that change the predicted
    class. ``evaluate`` needs ``analyzer=``.
    """

    name = "local_lipschitz_estimate"
    softmax = True

    def __init__(self, model: Any = None, *, similarity_func: Any = None, norm_numerator: Any = None,
                 norm_denominator: Any = None, nr_samples: int = 200, abs: bool = False,  # noqa: A002
                 normalise: bool = True, perturb_mean: float = 0.0, perturb_std: float = 0.1,
                 return_nan_when_prediction_changes: bool = False, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, nr_samples=nr_samples, seed=seed, abs=abs, normalise=normalise,
                         return_nan_when_prediction_changes=return_nan_when_prediction_changes, **common)
        self.similarity_func = similarity_func or lipschitz_constant
        self.norm_numerator = norm_numerator or distance_euclidean
        self.norm_denominator = norm_denominator or distance_euclidean
        self.perturb_mean = check_number("perturb_mean", perturb_mean)
        self.perturb_std = check_number("perturb_std", perturb_std, minimum=0.0)

    def noise(self, rng, shape):
        return rng.normal(self.perturb_mean, self.perturb_std, size=shape)

    def objective(self, x, noisy, a, noisy_a, batch_size):
        n = len(x)
        return self.similarity_func(a=a.reshape(n, -1), b=noisy_a.reshape(n, -1), c=x.reshape(n, -1),
                                    d=noisy.reshape(n, -1), norm_numerator=self.norm_numerator,
                                    norm_denominator=self.norm_denominator)
