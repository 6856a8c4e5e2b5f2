"""Infidelity (Yeh et al. 2019): does ``a · I`` predict the score's drop under perturbations ``I``?"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.baselines import baseline_values
from innv_core.metrics.perturbed import Replacement, check_patch, patch_indices


def mse(a: np.ndarray, b: np.ndarray, batched: bool = True, **kwargs: Any) -> np.ndarray:
    """The mean squared difference of each row pair (Quantus' ``mse``)."""
    return np.mean((np.asarray(a) - np.asarray(b)) ** 2, axis=-1 if batched else None)


class Infidelity(Metric):
    """For each ``patch_size`` of ``perturb_patch_sizes``, the image's patches (all channels, row
    by row) are replaced by ``perturb_baseline`` one after the other, cumulatively (as Quantus 0.6
    does); after each patch, the perturbation is ``I = x - x_perturbed``. The score is
    ``loss_func`` (mean squared error) between the score's drops ``f(x) - f(x - I)`` and
    ``sum(a * I)`` over the patches, averaged over the patch sizes and ``n_perturb_samples``
    repetitions (logits: Quantus' ``softmax=False``). Lower is better; ``curves`` holds the
    squared differences of the first repetition and patch size.

    The repetitions differ only with ``perturb_baseline="uniform"`` (one draw per sample and
    patch, from ``numpy.random.RandomState(seed)`` in Quantus' order: after
    ``np.random.seed(seed)``, Quantus draws the same values for up to ``batch_size`` samples);
    with other baselines they are identical and computed once. Each patch size must divide
    the image (Quantus pads instead).
    """

    name = "infidelity"
    category = "faithfulness"
    higher_is_better = False
    needs_model = True
    softmax = False

    def __init__(self, model: Any = None, *, loss_func: str | Callable[..., np.ndarray] = "mse",
                 perturb_patch_sizes: Sequence[int] | None = None, n_perturb_samples: int = 10,
                 abs: bool = False, normalise: bool = False, perturb_baseline: Any = "black",  # noqa: A002
                 perturb_func_kwargs: dict[str, Any] | None = None, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        if isinstance(loss_func, str):
            if loss_func != "mse":
                raise InvalidParameterError(f"loss_func must be 'mse' or a function, got {loss_func!r}.")
            loss_func = mse
        if not callable(loss_func):
            raise InvalidParameterError(f"loss_func must be 'mse' or a function, got {loss_func!r}.")
        self.loss_func = loss_func
        sizes = [4] if perturb_patch_sizes is None else list(perturb_patch_sizes)
        if not sizes:
            raise InvalidParameterError("perturb_patch_sizes must name at least one patch size.")
        self.perturb_patch_sizes = [check_positive_int("perturb_patch_sizes", p) for p in sizes]
        self.n_perturb_samples = check_positive_int("n_perturb_samples", n_perturb_samples)
        self.replacement = Replacement.of(perturb_baseline, perturb_func_kwargs, seed)
        self.seed = seed

    def check(self, x, a):
        for patch_size in self.perturb_patch_sizes:
            check_patch(patch_size, x.shape[1:], self.name)

    def score(self, x, y, a, s, *, batch_size, softmax):
        scores = self.class_scores(softmax)
        n = len(x)
        flat = x.reshape(n, -1).astype(np.float64)
        values = np.broadcast_to(a, x.shape).reshape(n, -1)
        original = scores(x, y, batch_size)
        patches = {p: patch_indices(x.shape[1:], p) for p in self.perturb_patch_sizes}
        uniform = self.replacement.baseline == "uniform"
        rng = np.random.RandomState(self.seed) if uniform else None
        runs = self.n_perturb_samples if uniform else 1
        results, first = np.zeros((n, runs)), None
        for run in range(runs):
            losses = []
            for size in self.perturb_patch_sizes:
                draws = None if rng is None else rng.uniform(
                    self.replacement.low, self.replacement.high, size=(len(patches[size]), n))
                drops, explained = _drops_and_sums(scores, x, y, flat, values, original, patches[size],
                                                   self.replacement.baseline, draws, batch_size)
                losses.append(np.asarray(self.loss_func(a=drops, b=explained, batched=True), np.float64))
                if first is None:
                    first = (drops - explained) ** 2
            results[:, run] = np.mean(np.stack(losses, axis=1), axis=1)
        return results.mean(axis=1), first


def _drops_and_sums(scores: Callable[..., np.ndarray], x: np.ndarray, y: np.ndarray, flat: np.ndarray,
                    values: np.ndarray, original: np.ndarray, patches: np.ndarray, baseline: Any,
                    draws: np.ndarray | None, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n, patches)`` twice: the score's drop and ``sum(a * (x - x_perturbed))`` after each patch
    is replaced (the earlier ones kept), the perturbed inputs of many patches per model call."""
    n = len(x)
    group = max(1, (4 * batch_size) // n)
    drops, sums, pending, current = [], [], [], flat.copy()
    for k, index in enumerate(patches):
        current = current.copy()
        step_draws = None if draws is None else draws[k]
        current[:, index] = baseline_values(baseline, current, len(index), step_draws)
        pending.append(current)
        if len(pending) == group or k == len(patches) - 1:
            stacked = np.stack(pending)
            scored = scores(stacked.reshape(-1, *x.shape[1:]), np.tile(y, len(pending)), batch_size)
            drops.append(original[:, None] - scored.reshape(len(pending), n).T)
            sums.append(np.einsum("nf,pnf->np", values, flat[None] - stacked))
            pending = []
    return np.concatenate(drops, axis=1), np.concatenate(sums, axis=1)
