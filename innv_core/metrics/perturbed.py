"""Step-wise perturbation, shared by pixel flipping, region perturbation, selectivity, ...

At step ``t`` the features ``steps[:, t]`` of each sample (flat indices into its values, in
channels-last order) are replaced by the baseline, computed from the sample as it is at that
step (Quantus' cumulative perturbation), and the class scores of all steps are computed in
large compiled chunks. :func:`path_curves` is the general form: each step moves chosen values
(indices or a boolean mask) from a start array to an end array, cumulatively or each step on
its own (insertion, xplique's deletion and insertion, µ-fidelity). The loop runs over steps
only, never over samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from innv_core.errors import InvalidParameterError
from innv_core.metrics.baselines import baseline_values, check_baseline, uniform_draws

__all__ = ["Replacement", "check_features_in_step", "check_patch", "insertion_curves", "patch_indices",
           "path_curves", "perturbation_curves", "ranked_steps"]


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


def check_features_in_step(features_in_step: int, shape: tuple[int, ...]) -> None:
    """Refuse a ``features_in_step`` that does not divide the pixels per channel of images
    ``(H, W, C)`` (as Quantus asserts) or the features of flat data."""
    pixels = int(np.prod(shape[:-1])) if len(shape) > 1 else shape[0]
    if pixels % features_in_step:
        kind = "pixels per channel" if len(shape) > 1 else "features"
        raise InvalidParameterError(f"features_in_step={features_in_step} does not divide the {pixels} "
                                    f"{kind} of x {shape}: choose a divisor.")


def ranked_steps(a: np.ndarray, x: np.ndarray, features_in_step: int, descending: bool = True) -> np.ndarray:
    """``(n, steps, features_in_step)``: each sample's feature indices by attribution (largest
    first unless ``descending=False``), ``features_in_step`` per step; attributions without a
    channel axis count for every channel of their pixel."""
    values = np.broadcast_to(a, x.shape).reshape(len(x), -1)
    return np.argsort(-values if descending else values, axis=1).reshape(len(x), -1, features_in_step)


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

    def filled(self, flat: np.ndarray) -> np.ndarray:
        """``flat`` (``(n, features)``) with every value replaced by the baseline."""
        draws = self.draws(len(flat), 1)
        return baseline_values(self.baseline, flat, flat.shape[1], None if draws is None else draws[:, 0])

    def draws(self, n: int, steps: int) -> np.ndarray | None:
        """The uniform draws of one call (None for other baselines)."""
        return uniform_draws(self.seed, n, steps, self.low, self.high) if self.baseline == "uniform" else None


def perturbation_curves(scores: Callable[..., np.ndarray], x: np.ndarray, y: np.ndarray,
                        steps: np.ndarray, replacement: Replacement, batch_size: int,
                        cumulative: bool = True) -> np.ndarray:
    """``(n, steps)``: the score of ``y`` after each step of ``steps`` (``(n, steps, k)`` flat
    indices into each sample's values): cumulative (step ``t`` keeps the earlier steps'
    replacements, Quantus' pixel flipping) or each step on its own from ``x`` (faithfulness
    estimate and correlation)."""
    flat = x.reshape(len(x), -1).astype(np.float64)
    draws = replacement.draws(len(x), steps.shape[1])

    def step(current: np.ndarray, t: int) -> np.ndarray:
        index = steps[:, t]
        current = (current if cumulative else flat).copy()
        current[_rows(x), index] = baseline_values(replacement.baseline, current, index.shape[1],
                                                   None if draws is None else draws[:, t])
        return current

    return _scored_steps(scores, x, y, flat, step, steps.shape[1], batch_size)


def insertion_curves(scores: Callable[..., np.ndarray], x: np.ndarray, y: np.ndarray,
                     steps: np.ndarray, replacement: Replacement, batch_size: int) -> np.ndarray:
    """``(n, steps)``: the score of ``y`` as the features of ``steps`` are put back, step by
    step, into the baseline (all features replaced at the start)."""
    start = replacement.filled(x.reshape(len(x), -1).astype(np.float64)).reshape(x.shape)
    return path_curves(scores, start, x, y, lambda t: steps[:, t], steps.shape[1], batch_size)


def path_curves(scores: Callable[..., np.ndarray], start: np.ndarray, end: np.ndarray, y: np.ndarray,
                selected: Callable[[int], np.ndarray], count: int, batch_size: int,
                cumulative: bool = True) -> np.ndarray:
    """``(n, count)``: the score of ``y`` after each of ``count`` steps from ``start`` towards
    ``end`` (an array that broadcasts to ``start``'s shape): at step ``t`` the values
    ``selected(t)`` of each sample take ``end``'s values. ``selected(t)`` is an ``(n, k)`` array
    of flat indices (channels-last order) or an ``(n, features)`` boolean mask; it is called once
    per step, in order. Cumulative (step ``t`` keeps the earlier steps' values) or each step on
    its own from ``start`` (xplique's deletion and insertion, µ-fidelity's random subsets)."""
    first = start.reshape(len(start), -1).astype(np.float64)
    target = np.broadcast_to(end, start.shape).reshape(len(start), -1).astype(np.float64)

    def step(current: np.ndarray, t: int) -> np.ndarray:
        chosen = np.asarray(selected(t))
        current = (current if cumulative else first).copy()
        if chosen.dtype == bool:
            np.copyto(current, target, where=chosen)
        else:
            current[_rows(start), chosen] = np.take_along_axis(target, chosen, axis=1)
        return current

    return _scored_steps(scores, start, y, first, step, count, batch_size)


def _rows(x: np.ndarray) -> np.ndarray:
    return np.arange(len(x))[:, None]


def _scored_steps(scores: Callable[..., np.ndarray], x: np.ndarray, y: np.ndarray, start: np.ndarray,
                  step: Callable[[np.ndarray, int], np.ndarray], count: int, batch_size: int) -> np.ndarray:
    """Run ``step`` ``count`` times from ``start`` and score every result, many steps per
    compiled call (the loop is over steps, never over samples)."""
    n = len(x)
    group = max(1, (4 * batch_size) // n)
    curves, pending, current = [], [], start
    for t in range(count):
        current = step(current, t)
        pending.append(current)
        if len(pending) == group or t == count - 1:
            stacked = np.concatenate(pending).reshape(-1, *x.shape[1:])
            scored = scores(stacked, np.tile(y, len(pending)), batch_size)
            curves.append(scored.reshape(len(pending), n).T)
            pending = []
    return np.concatenate(curves, axis=1)
