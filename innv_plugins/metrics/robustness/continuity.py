"""Continuity (Montavon et al. 2018): the strongest change of the explanation per change of the input."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidInputError, InvalidParameterError, check_positive_int
from innv_core.metrics.baselines import baseline_values, check_baseline
from innv_core.metrics.similarity import distance_euclidean
from innv_plugins.metrics.robustness.noisy import NoisyInputs

#: The directions of translation: the axis of ``(n, H, W, C)`` images moved (``x``: along the width).
DIRECTIONS = ("x", "y")


def translated(x: np.ndarray, shift: int, axis: int, baseline: str | float) -> np.ndarray:
    """``x`` moved by ``shift`` positions along ``axis`` (towards higher indices when positive),
    the uncovered positions filled with each sample's ``perturb_baseline`` value."""
    n, size = len(x), x.shape[axis]
    fill = baseline_values(baseline, x.reshape(n, -1).astype(np.float64), 1)[:, 0]
    out = np.empty_like(x)
    out[...] = fill.reshape((n,) + (1,) * (x.ndim - 1)).astype(x.dtype)
    k = min(abs(shift), size)
    source = [slice(None)] * x.ndim
    target = [slice(None)] * x.ndim
    source[axis], target[axis] = (slice(0, size - k), slice(k, size)) if shift > 0 else (slice(k, size),
                                                                                           slice(0, size - k))
    out[tuple(target)] = x[tuple(source)]
    return out


class Continuity(NoisyInputs):
    """The largest ``||a(x) - a(x')||_1 / (||x - x'||_2 + 1e-9)`` over ``nr_steps`` translations
    ``x'`` of the image along its width (Quantus 0.6; lower is better). The translations run from
    ``-W`` in steps of ``(2W + 1) // nr_steps`` (the first is ``-W + step``), the uncovered
    columns filled with ``perturb_baseline`` (each sample's minimum for ``"black"``).
    ``return_nan_when_prediction_changes`` makes a step NaN where the translation changes the
    predicted class (then the sample's score is NaN, as Quantus' ``np.max``). ``curves`` holds
    every step's ratio, ``result.steps`` names the translations. ``evaluate`` needs ``analyzer=``.

    ``perturb_func_kwargs={"direction": "y"}`` translates along the height instead.
    """

    name = "continuity"
    reduce = staticmethod(np.max)

    def __init__(self, model: Any = None, *, nr_steps: int = 28, abs: bool = True,  # noqa: A002 - Quantus' name
                 normalise: bool = True, perturb_baseline: Any = "black",
                 perturb_func_kwargs: dict[str, Any] | None = None,
                 return_nan_when_prediction_changes: bool = False, **common: Any) -> None:
        self.nr_steps = check_positive_int("nr_steps", nr_steps)
        super().__init__(model, nr_samples=self.nr_steps, abs=abs, normalise=normalise,
                         return_nan_when_prediction_changes=return_nan_when_prediction_changes, **common)
        self.perturb_baseline = check_baseline(perturb_baseline)
        if self.perturb_baseline == "uniform":
            raise InvalidParameterError("continuity fills the uncovered columns with one value per sample: "
                                        "use perturb_baseline 'black', 'white', 'mean' or a number.")
        kwargs = dict(perturb_func_kwargs or {})
        self.direction = kwargs.pop("direction", "x")
        if kwargs:
            raise InvalidParameterError(f"continuity's perturb_func_kwargs takes only 'direction' "
                                        f"('x' or 'y'), got {sorted(kwargs)}.")
        if self.direction not in DIRECTIONS:
            raise InvalidParameterError(f"direction must be 'x' (along the width) or 'y' (along the "
                                        f"height), got {self.direction!r}.")
        self._shifts: list[int] = []

    def _axis(self, x: np.ndarray) -> int:
        return x.ndim - 2 if self.direction == "x" else x.ndim - 3

    def check(self, x, a):
        if x.ndim < 3 or (self.direction == "y" and x.ndim < 4):
            need = "images (n, H, W, C)" + ("" if self.direction == "y" else " or series (n, T, C)")
            raise InvalidInputError(f"continuity translates {need}, got x of shape {x.shape}.")
        width = x.shape[self._axis(x)]
        step = (2 * width + 1) // self.nr_steps
        if step == 0:
            raise InvalidParameterError(
                f"nr_steps={self.nr_steps} is more than the {2 * width + 1} translations of an input "
                f"{width} wide: every step would move the image out of view; use nr_steps <= "
                f"{2 * width + 1}.")
        self._shifts = [-width + step * (i + 1) for i in range(self.nr_steps)]

    def score(self, x, y, a, s, *, batch_size, softmax):
        scores, curves = super().score(x, y, a, s, batch_size=batch_size, softmax=softmax)
        self.steps = tuple(f"shift {shift:+d}" for shift in self._shifts)
        return scores, curves

    def perturb(self, x, rng, step):
        return translated(x, self._shifts[step], self._axis(x), self.perturb_baseline)

    def objective(self, x, noisy, a, noisy_a, batch_size):
        n = len(x)
        change = np.abs(a - noisy_a).reshape(n, -1).sum(axis=1)
        moved = distance_euclidean(x.reshape(n, -1).astype(np.float64),
                                   noisy.reshape(n, -1).astype(np.float64))
        return change / (moved + 1e-9)
