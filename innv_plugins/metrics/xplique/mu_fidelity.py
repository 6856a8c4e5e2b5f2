"""µ-fidelity (Bhatt et al. 2020, def. 3), as xplique 2.0's ``MuFidelity``."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidInputError, InvalidParameterError, check_positive_int
from innv_core.metrics.perturbed import path_curves
from innv_core.metrics.similarity import correlation_spearman
from innv_plugins.metrics.xplique.base import XpliqueMetric

__all__ = ["MuFidelity", "nearest_cells"]


def nearest_cells(cells: int, size: int) -> np.ndarray:
    """``(size,)``: the grid cell of each position when ``cells`` cells are resized to ``size``
    by nearest neighbour, as ``tf.image.resize(..., method="nearest")`` does (half-pixel
    centres, float32 arithmetic)."""
    scale = np.float32(cells) / np.float32(size)
    source = np.floor((np.arange(size, dtype=np.float32) + np.float32(0.5)) * scale).astype(np.int64)
    return np.clip(source, 0, cells - 1)


class MuFidelity(XpliqueMetric):
    """For ``nb_samples`` random subsets per sample: Spearman's correlation between the summed
    attribution of the subset and the drop of the score of class ``y`` when the subset is set to
    ``baseline_mode`` (xplique 2.0; higher is better). ``scores`` holds each sample's
    correlation (0 where it is undefined, as xplique; their mean is xplique's one number),
    ``curves`` the drops, one per subset.

    Images ``(n, H, W, C)`` are cut in a ``grid_size`` x ``grid_size`` grid (None: ``H`` cells per
    side) resized to the image by nearest neighbour, all channels of a pixel together; series
    ``(n, T, F)`` in ``grid_size`` steps along time; tabular data ``(n, F)`` by feature. Each
    cell is in the subset with probability ``subset_percent`` (xplique's draw: the subset's size
    varies). The subsets are drawn for each sample on its own from ``seed`` (the same for any
    ``batch_size``); xplique draws them with TensorFlow, so the same seed gives other subsets there.
    """

    name = "mu_fidelity"
    higher_is_better = True

    def __init__(self, model: Any = None, *, batch_size: int | None = 64, grid_size: int | None = 9,
                 subset_percent: float = 0.2, baseline_mode: Any = 0.0, nb_samples: int = 200,
                 operator: Any = None, activation: str | None = None, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, batch_size=batch_size, baseline_mode=baseline_mode, operator=operator,
                         activation=activation, **common)
        self.grid_size = None if grid_size is None else check_positive_int("grid_size", grid_size)
        value = subset_percent
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
                0.0 < value < 1.0):
            raise InvalidParameterError(
                f"subset_percent must be in ]0, 1[ (the share of the input set to the baseline), "
                f"got {value!r}.")
        self.subset_percent = float(value)
        self.nb_samples = check_positive_int("nb_samples", nb_samples, minimum=2)
        self.seed = seed

    def perturbations_per_sample(self, shape):
        return self.nb_samples

    def check(self, x, a):
        if x.ndim not in (2, 3, 4):
            raise InvalidInputError(f"{self.name} takes tabular data (n, F), series (n, T, F) or images "
                                    f"(n, H, W, C), as xplique; x has shape {x.shape}.")
        super().check(x, a)

    def cells_of(self, shape: tuple[int, ...]) -> tuple[int, np.ndarray]:
        """The number of cells and the cell of each feature of one sample of ``shape``: of each
        pixel for images (row-major), of each value otherwise (flat)."""
        if len(shape) == 1:
            return shape[0], np.arange(shape[0])
        grid = self.grid_size or shape[0]
        rows = nearest_cells(grid, shape[0])
        if len(shape) == 2:  # series: grid steps along time, every feature its own cell
            return grid * shape[1], (rows[:, None] * shape[1] + np.arange(shape[1])).ravel()
        cols = nearest_cells(grid, shape[1])
        return grid * grid, (rows[:, None] * grid + cols[None, :]).ravel()

    def subsets(self, rng: np.random.Generator, n: int, cells: int) -> np.ndarray:
        """``(n, cells)``, True for the cells of one subset of each sample (drawn from ``rng``)."""
        return rng.random((n, cells)) < self.subset_percent

    def score(self, x, y, a, s, *, batch_size, softmax):
        n = len(x)
        cells, cell = self.cells_of(x.shape[1:])
        if x.ndim == 4:  # a pixel's attribution: the sum over its channels (one value without them)
            values, width = a.sum(axis=-1).reshape(n, -1), x.shape[-1]
        else:  # one value per feature; attributions without the channel axis count for each
            values, width = np.broadcast_to(a, x.shape).reshape(n, -1), 1
        index = (np.arange(n)[:, None] * cells + cell[None, :]).ravel()
        per_cell = np.bincount(index, weights=values.ravel(), minlength=n * cells).reshape(n, cells)
        rng = np.random.default_rng(self.seed)
        sums = np.empty((n, self.nb_samples))

        def selected(t: int) -> np.ndarray:
            chosen = self.subsets(rng, n, cells)
            sums[:, t] = (per_cell * chosen).sum(axis=1)
            return np.repeat(chosen[:, cell], width, axis=1)

        scores = self.class_scores(softmax)
        drops = scores(x, y, batch_size)[:, None] - path_curves(
            scores, x, self._end, y, selected, self.nb_samples, batch_size, cumulative=False)
        correlation = correlation_spearman(drops, sums)
        return np.where(np.isnan(correlation), 0.0, correlation), drops
