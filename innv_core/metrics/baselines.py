"""``perturb_baseline``: what a perturbed feature is replaced with, by Quantus' names.

Quantus computes a named baseline from the array being perturbed, per sample (``batched``):
``"black"`` its minimum, ``"white"`` its maximum, ``"mean"`` its mean (of the array as it is at
that step, already perturbed features included), ``"uniform"`` draws in
``[uniform_low, uniform_high)`` (0 and 1 by default; one draw per sample and step,
shared by the features replaced in that step, as Quantus' batched perturbation does). A
number is used as it is. Quantus' ``"random"`` was removed in 0.6 in favour of
``"uniform"``; it is refused here the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError

__all__ = ["BASELINES", "baseline_values", "check_baseline", "uniform_draws"]

#: The named baselines.
BASELINES = ("black", "white", "mean", "uniform")


def check_baseline(value: Any) -> str | float:
    """``perturb_baseline`` as a known name (lower case) or a float; a named error otherwise."""
    if isinstance(value, str):
        if value.lower() in BASELINES:
            return value.lower()
        hint = " ('random' was removed in Quantus 0.6: use 'uniform')" if value.lower() == "random" else ""
        raise InvalidParameterError(
            f"Unknown perturb_baseline {value!r}{hint}; use one of {list(BASELINES)} or a number.")
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if np.isfinite(value):
            return float(value)
    raise InvalidParameterError(
        f"perturb_baseline must be one of {list(BASELINES)} or a finite number, got {value!r}.")


def baseline_values(baseline: str | float, flat: np.ndarray, count: int,
                    draws: np.ndarray | None = None) -> np.ndarray:
    """The replacement values, shape ``(n, count)``, for ``count`` features of each row of
    ``flat`` (``(n, features)``, the array as it is now); ``draws`` (``(n,)``) are this step's
    uniform draws for ``"uniform"`` (see :func:`uniform_draws`)."""
    n = flat.shape[0]
    if baseline == "uniform":
        if draws is None:
            raise ValueError("the 'uniform' baseline needs this step's draws")
        value = np.asarray(draws, dtype=np.float64)
    elif isinstance(baseline, float):
        value = np.full(n, baseline)
    else:
        value = {"black": np.min, "white": np.max, "mean": np.mean}[baseline](flat, axis=1)
    return np.repeat(value[:, None], count, axis=1)


def uniform_draws(seed: int | None, n: int, steps: int, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """The ``(n, steps)`` table of uniform draws of one call: fixed by ``seed`` and the sample's
    position, not by how the model calls are batched."""
    return np.random.default_rng(seed).uniform(low, high, size=(n, steps))
