"""Plugin: the ``linear`` pattern type, the linear estimator of Kindermans et al. (ICLR 2018).

For a neuron ``y = w^T x`` the signal direction is ``a = cov(x, y) / (w^T cov(x, y))``: the
covariance of input and output, scaled so that ``w^T a = 1``. It is the optimal pattern when the
data is a linear mix of signal and distractors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidInputError
from innv_core.hookspecs import hookimpl
from innv_core.tools.pattern import Moments, PatternType


class LinearPattern(PatternType):
    """``a = cov(x, y) / (w^T cov(x, y))`` over the samples the mask keeps (all of them here).

    With a mask (subclasses), ``cov`` is ``E_mask[x y] - E_mask[x] E[y]``, the mean of ``y``
    taken over all samples, as in iNNvestigate 1.x. A neuron with ``w^T cov = 0`` (e.g. never
    active) keeps the covariance unscaled.
    """

    def pattern(self, moments: Moments | None, kernel: np.ndarray) -> np.ndarray:
        if moments is None:
            raise InvalidInputError(
                f"{type(self).__name__} needs the layer's moments; compute them from data."
            )
        # In place where possible: for large Dense layers these arrays take hundreds of MB.
        cov = moments.mean_xy
        cov -= moments.mean_x_times(moments.mean_y)
        scale = moments.per_neuron(cov, kernel)
        cov /= scale + (scale == 0)
        return cov


@hookimpl
def innv_register_pattern_types(registry: Any) -> None:
    registry.add_pattern_type("linear", LinearPattern)
