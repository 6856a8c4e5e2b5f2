"""Step-wise perturbation, shared by pixel flipping, region perturbation, selectivity, ...

At step ``t`` the features ``steps[:, t]`` of each sample (flat indices into its values, in
channels-last order) are replaced by the baseline, computed from the sample as it is at that
step (Quantus' cumulative perturbation), and the class scores of all steps are computed in
large compiled chunks. The loop runs over steps only, never over samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from innv_core.errors import InvalidParameterError
from innv_core.metrics.baselines import baseline_values, check_baseline, uniform_draws

__all__ = ["Replacement", "check_patch", "patch_indices", "perturbation_curves"]


def check_patch(patch_size: int, shape: tuple[int, ...], metric: str) -> None:
    """Refuse a patch size that does not divide the image ``(H, W[, C])`` (or data that are not
    images): Quantus pads such images; innv asks for a divisor instead."""
    if len(shape) < 2:
        raise InvalidParameterError(f"{metric} perturbs square patches of images; x has shape {shape} "
                                    "per sample: use pixel_flipping for other data.")
    height, width = shape[0], shape[1]
    if height % patch_size or width % patch_size:
        raise InvalidParameterError(
            f"patch_size={patch_size} does not divide the image ({height} x {width}): choose a "
            f"divisor of both sides (e.g. {np.gcd(height, width)}).")


def patch_indices(shape: tuple[int, ...], patch_size: int) -> np.ndarray:
    """``(patches, values per patch)``: the flat indices of each ``patch_size`` square (all
    channels) of an image of ``shape`` ``(H, W[, C])``, patches in row-major order."""
    index = np.arange(int(np.prod(shape))).reshape(shape[0], shape[1], -1)
    rows, cols = shape[0] // patch_size, shape[1] // patch_size
    blocks = index.reshape(rows, patch_size, cols, patch_size, -1).transpose(0, 2, 1, 3, 4)
    return blocks.reshape(rows * cols, -1)


@attrs.frozen
class Replacement:
    """What perturbed features become: Quantus' ``perturb_baseline`` and
    ``perturb_func_kwargs`` (``uniform_low``/``uniform_high``), and innv's ``seed``."""

    baseline: str | float
    low: float = 0.0
    high: float = 1.0
    seed: int | None = None

    @classmethod
    def of(cls, perturb_baseline: Any, perturb_func_kwargs: dict[str, Any] | None,
           seed: int | None) -> Replacement:
        """Checked parameters (named errors for an unknown baseline or keyword)."""
        kwargs = dict(perturb_func_kwargs or {})
        unknown = set(kwargs) - {"uniform_low", "uniform_high"}
        if unknown:
            raise InvalidParameterError(f"perturb_func_kwargs {sorted(unknown)} are not used by the "
                                        "baseline replacement; it takes uniform_low, uniform_high.")
        return cls(check_baseline(perturb_baseline), float(kwargs.get("uniform_low", 0.0)),
                   float(kwargs.get("uniform_high", 1.0)), seed)

    def draws(self, n: int, steps: int) -> np.ndarray | None:
        """The uniform draws of one call (None for other baselines)."""
        return uniform_draws(self.seed, n, steps, self.low, self.high) if self.baseline == "uniform" else None


def perturbation_curves(scores: Callable[..., np.ndarray], x: np.ndarray, y: np.ndarray,
                        steps: np.ndarray, replacement: Replacement, batch_size: int) -> np.ndarray:
    """``(n, steps)``: the score of ``y`` after each cumulative step of ``steps`` (``(n, steps,
    k)`` flat indices into each sample's values)."""
    n, count = len(x), steps.shape[1]
    draws = replacement.draws(n, count)
    rows = np.arange(n)[:, None]
    group = max(1, (4 * batch_size) // n)  # steps scored per compiled call group
    current = x.reshape(n, -1).astype(np.float64)
    curves, pending = [], []
    for t in range(count):
        index = steps[:, t]
        current = current.copy()
        current[rows, index] = baseline_values(replacement.baseline, current, index.shape[1],
                                               None if draws is None else draws[:, t])
        pending.append(current)
        if len(pending) == group or t == count - 1:
            stacked = np.concatenate(pending).reshape(-1, *x.shape[1:])
            scored = scores(stacked, np.tile(y, len(pending)), batch_size)
            curves.append(scored.reshape(len(pending), n).T)
            pending = []
    return np.concatenate(curves, axis=1)
