"""ROAD (Rong et al. 2022): remove the most relevant pixels by noisy linear imputation; is the class kept?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import spsolve

from innv_core.errors import InvalidParameterError, check_number
from innv_core.metrics import Metric

#: The neighbours of a pixel (row and column offsets) and their weights in the imputation.
NEIGHBOURS = ((1, 1, 1 / 12), (0, 1, 1 / 6), (-1, 1, 1 / 12), (1, -1, 1 / 12), (0, -1, 1 / 6),
              (-1, -1, 1 / 12), (1, 0, 1 / 6), (-1, 0, 1 / 6))


def noisy_linear_imputation(x: np.ndarray, removed: np.ndarray, noise: float = 0.01,
                            rng: np.random.RandomState | None = None) -> np.ndarray:
    """``x`` (``(n, H, W, C)``) with the pixels ``removed`` (``(n, k)`` flat pixel indices, each
    row distinct) replaced, in every channel, by the weighted mean of their 8 neighbours (1/6
    direct, 1/12 diagonal, neighbours outside the image left out): one sparse linear system for
    all removed pixels of all samples, solved with :func:`scipy.sparse.linalg.spsolve`; then
    ``noise`` times a standard normal draw added to each imputed value. ``rng`` draws a
    ``(C, k)`` table per sample, in sample order (as Quantus 0.6 draws from ``np.random``)."""
    n, height, width, channels = x.shape
    k = removed.shape[1]
    out = x.reshape(n, height * width, channels).astype(np.float64)
    if k == 0:
        return out.reshape(x.shape)
    unknown = np.full((n, height * width), -1, dtype=np.int64)
    variables = np.arange(n * k).reshape(n, k)
    unknown[np.arange(n)[:, None], removed] = variables
    rows, cols = removed // width, removed % width
    sample = np.broadcast_to(np.arange(n)[:, None], removed.shape)
    entries_i, entries_j, entries_w = [], [], []
    b = np.zeros((n * k, channels))
    weight_sum = np.zeros(n * k)
    for dr, dc, weight in NEIGHBOURS:
        r, c = rows + dr, cols + dc
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        var, s = variables[inside], sample[inside]
        neighbour = r[inside] * width + c[inside]
        weight_sum[var] += weight
        other = unknown[s, neighbour]
        free = other >= 0
        entries_i.append(var[free])
        entries_j.append(other[free])
        entries_w.append(np.full(free.sum(), weight))
        b[var[~free]] -= weight * out[s[~free], neighbour[~free]]
    entries_i.append(variables.ravel())
    entries_j.append(variables.ravel())
    entries_w.append(-weight_sum)
    system = coo_matrix((np.concatenate(entries_w), (np.concatenate(entries_i), np.concatenate(entries_j))),
                        shape=(n * k, n * k)).tocsc()
    solution = spsolve(system, b).reshape(n, k, channels)
    if noise:
        rng = rng if rng is not None else np.random.RandomState()
        draws = np.stack([rng.standard_normal((channels, k)) for _ in range(n)])  # Quantus' order
        solution = solution + noise * draws.transpose(0, 2, 1)
    out[np.arange(n)[:, None], removed] = solution
    return out.reshape(x.shape)


class ROAD(Metric):
    """For each percentage ``p`` of ``percentages`` (1, 3, ..., 99 by default): replace the
    ``int(pixels * p / 100)`` most relevant pixels (attributions summed over channels) by noisy
    linear imputation from their neighbours (``noise``: the standard deviation of the added
    noise), each percentage from the original input, and record 1 if the model still predicts
    ``y``, else 0 (``curves``, one column per percentage, named in ``result.steps``). ``scores``
    is each sample's mean over the percentages; Quantus 0.6 returns the accuracy per percentage
    over the samples of its first batch, ``result.curves.mean(axis=0)`` here (over all samples).
    Lower is better (the class is lost early). ``seed`` fixes the noise: after
    ``np.random.seed(seed)`` Quantus draws the same for up to ``batch_size`` samples.
    Quantus 0.6 indexes the pixels of one channel only and fails on more; innv imputes every channel.
    """

    name = "road"
    category = "faithfulness"
    higher_is_better = False
    needs_model = True
    softmax = True

    def __init__(self, model: Any = None, *, percentages: Sequence[float] | None = None, noise: float = 0.01,
                 abs: bool = False, normalise: bool = True, perturb_func_kwargs: dict[str, Any] | None = None,  # noqa: A002
                 seed: int | None = None, **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.percentages = list(range(1, 100, 2)) if percentages is None else list(percentages)
        if not self.percentages:
            raise InvalidParameterError("percentages must name at least one percentage.")
        for p in self.percentages:
            check_number("percentages", p, minimum=0.0)
            if p >= 100:
                raise InvalidParameterError(f"percentages must lie in [0, 100), got {p}: imputing every "
                                            "pixel leaves nothing to impute from.")
        kwargs = dict(perturb_func_kwargs or {})
        self.noise = check_number("noise", kwargs.pop("noise", noise), minimum=0.0)
        if kwargs:
            raise InvalidParameterError(f"perturb_func_kwargs {sorted(kwargs)} are not used by ROAD's "
                                        "noisy linear imputation; it takes noise.")
        self.seed = seed

    def check(self, x, a):
        if x.ndim != 4:
            raise InvalidParameterError(f"road imputes pixels of images (n, H, W, C); x has shape {x.shape}.")

    def score(self, x, y, a, s, *, batch_size, softmax):
        n = len(x)
        pixels = a.sum(axis=-1).reshape(n, -1)  # one value per pixel
        order = np.argsort(-pixels, axis=1, kind="stable")
        forward = self.class_scores(softmax)
        rng = np.random.RandomState(self.seed)
        curves = np.zeros((n, len(self.percentages)))
        for t, p in enumerate(self.percentages):
            removed = order[:, :int(pixels.shape[1] * p / 100)]
            for i in range(0, n, batch_size):  # one sparse system per chunk; the draws in sample order
                part = slice(i, i + batch_size)
                imputed = noisy_linear_imputation(x[part], removed[part], self.noise, rng)
                curves[part, t] = forward.outputs(imputed, batch_size).argmax(axis=1) == y[part]
        self.steps = tuple(f"{p}%" for p in self.percentages)
        return curves.mean(axis=1), curves
