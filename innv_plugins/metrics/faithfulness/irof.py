"""IROF (Rieger & Hansen 2020): the score as superpixels are removed, most relevant first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.integrate import trapezoid

from innv_core.errors import InvalidInputError, InvalidParameterError
from innv_core.metrics import Metric
from innv_core.metrics.baselines import baseline_values
from innv_core.metrics.perturbed import Replacement

METHODS = ("slic", "felzenszwalb")


def superpixels(image: np.ndarray, method: str) -> np.ndarray:
    """The superpixel labels ``(H, W)`` of one image ``(H, W, C)``, as Quantus 0.6 computes them
    (scikit-image's ``slic(image, start_label=0)`` or ``felzenszwalb(image)`` with their defaults,
    in float64)."""
    try:
        from skimage.segmentation import felzenszwalb, slic
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(f"irof's segmentation_method={method!r} needs scikit-image: pip install "
                          "\"innv[metrics]\" (or pass segments= to evaluate, or a function as "
                          "segmentation_method).") from error
    image = image.astype(np.float64)
    return slic(image, start_label=0) if method == "slic" else felzenszwalb(image)


class IROF(Metric):
    """Iterative removal of features: segment each image into superpixels, order them by their
    mean attribution (largest first), replace them one after the other (cumulatively, every
    channel) by ``perturb_baseline`` (``"mean"``: the image's mean as it is at that step), and
    record the class score divided by the unperturbed one (``curves``; NaN after a sample's last
    superpixel). The score is the area over that curve as Quantus 0.6 computes it: the number of
    superpixels ``L`` minus the curve's area (trapezoidal, unit steps). Higher is better.

    ``segmentation_method``: ``"slic"`` or ``"felzenszwalb"`` (scikit-image, ``pip install
    "innv[metrics]"``) or a function ``image (H, W, C) -> labels (H, W)``; or pass precomputed
    labels as ``evaluate(..., segments=...)`` (``(n, H, W)`` integers). Quantus 0.6 fails on
    images with more than one channel; on one-channel images innv's scores equal its own
    (each sample scored on its own: Quantus takes the ``"mean"``/``"black"``/``"white"``
    baselines over the whole batch and pads shorter curves with zeros).
    """

    name = "irof"
    category = "faithfulness"
    needs_model = True
    softmax = True

    def __init__(self, model: Any = None, *,
                 segmentation_method: str | Callable[[np.ndarray], np.ndarray] = "slic",
                 abs: bool = False, normalise: bool = True, perturb_baseline: Any = "mean",  # noqa: A002
                 perturb_func_kwargs: dict[str, Any] | None = None, return_aggregate: bool = True,
                 seed: int | None = None, **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, return_aggregate=return_aggregate, **common)
        if not callable(segmentation_method) and segmentation_method not in METHODS:
            raise InvalidParameterError(f"segmentation_method must be one of {list(METHODS)} or a function "
                                        "of an image (H, W, C) returning labels (H, W); got "
                                        f"{segmentation_method!r}.")
        self.segmentation_method = segmentation_method
        self.replacement = Replacement.of(perturb_baseline, perturb_func_kwargs, seed)
        self._segments: np.ndarray | None = None

    def evaluate(self, x: Any, y: Any = None, a: Any = None, s: Any = None, *, segments: Any = None,
                 **kwargs: Any):
        """As :meth:`Metric.evaluate`; ``segments``: precomputed superpixel labels ``(n, H, W)``."""
        shape = np.shape(x)
        if len(shape) != 4:
            raise InvalidInputError(f"irof segments images (n, H, W, C); x has shape {shape}.")
        if segments is not None:
            segments = np.asarray(segments)
            if segments.shape != shape[:3] or not np.issubdtype(segments.dtype, np.integer):
                raise InvalidInputError(f"segments must be integer labels shaped (n, H, W) = {shape[:3]}, "
                                        f"got shape {segments.shape}, dtype {segments.dtype}.")
        elif isinstance(self.segmentation_method, str):
            superpixels(np.zeros((2, 2, 1)), self.segmentation_method)  # scikit-image there?
        self._segments = segments
        try:
            return super().evaluate(x, y, a, s, **kwargs)
        finally:
            self._segments = None

    def segment(self, x: np.ndarray) -> np.ndarray:
        """``(n, H, W)`` labels ``0..L-1`` per sample (given, or from ``segmentation_method``),
        each sample with at least two superpixels."""
        if self._segments is not None:
            labels = self._segments
        elif callable(self.segmentation_method):
            labels = np.stack([np.asarray(self.segmentation_method(image)) for image in x])
        else:
            labels = np.stack([superpixels(image, self.segmentation_method) for image in x])
        if labels.shape != x.shape[:3]:
            raise InvalidInputError(f"The segmentation gave labels of shape {labels.shape[1:]} for images "
                                    f"{x.shape[1:3]}: it must label every pixel.")
        dense = np.stack([np.unique(row, return_inverse=True)[1].reshape(row.shape) for row in labels])
        few = [i for i, row in enumerate(dense) if row.max() < 1]
        if few:
            shown = ", ".join(map(str, few[:8])) + (f" and {len(few) - 8} more" if len(few) > 8 else "")
            raise InvalidInputError(f"Samples {shown} have one superpixel only: irof needs at least two "
                                    "(SLIC finds one in noise and flat images). Pass segments=(n, H, W) "
                                    "labels, segmentation_method=\"felzenszwalb\" or a function.")
        return dense

    def score(self, x, y, a, s, *, batch_size, softmax):
        n, height, width, _ = x.shape
        labels = self.segment(x).reshape(n, height * width)
        counts = labels.max(axis=1) + 1
        values = np.broadcast_to(a, x.shape).reshape(n, height * width, -1).mean(axis=2)
        means = np.full((n, counts.max()), -np.inf)
        for k in range(counts.max()):  # over superpixel labels, not samples
            inside = labels == k
            sums = (values * inside).sum(axis=1)
            has = inside.any(axis=1)
            means[has, k] = sums[has] / inside.sum(axis=1)[has]
        order = np.argsort(-means, axis=1, kind="stable")  # padded labels (-inf) come last
        forward = self.class_scores(softmax)
        original = forward(x, y, batch_size)
        flat = x.reshape(n, height * width, -1).astype(np.float64)
        draws = self.replacement.draws(n, counts.max())
        curves = np.full((n, counts.max()), np.nan)
        group = max(1, (4 * batch_size) // n)
        pending, current = [], flat
        for t in range(counts.max()):  # over steps; every sample in each model call
            mask = (labels == order[:, t:t + 1]) & (t < counts)[:, None]
            value = baseline_values(self.replacement.baseline, current.reshape(n, -1), 1,
                                    None if draws is None else draws[:, t])
            current = np.where(mask[..., None], value[:, :, None], current)
            pending.append(current)
            if len(pending) == group or t == counts.max() - 1:
                start = t + 1 - len(pending)
                stacked = np.stack(pending).reshape(-1, *x.shape[1:])
                scored = forward(stacked, np.tile(y, len(pending)), batch_size).reshape(len(pending), n).T
                curves[:, start:t + 1] = scored / original[:, None]
                pending = []
        curves[np.arange(counts.max())[None, :] >= counts[:, None]] = np.nan
        area = np.array([trapezoid(row[:c], dx=1) for row, c in zip(curves, counts)])
        return counts - area, curves
