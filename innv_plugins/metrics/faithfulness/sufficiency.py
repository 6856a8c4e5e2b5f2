"""Sufficiency (Dasgupta et al. 2022): do samples with a similar explanation get the same prediction?"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from innv_core.errors import InvalidParameterError, check_number
from innv_core.metrics import Metric


class Sufficiency(Metric):
    """For each sample: the share of the *other* samples of the call whose explanation lies within
    ``threshold`` of its own (``distance_func``, a :func:`scipy.spatial.distance.cdist` name or
    function, the standardised Euclidean distance by default; the distance matrix divided by
    ``normalise_func``, its largest entry by default, as Quantus 0.6 does) that the model predicts
    in the same class; 0 when no other sample is that close. Higher is better.

    Quantus 0.6's ``Sufficiency`` and ``BatchSufficiency`` compute the same (they differ only in a
    shape passed to its model wrapper); both compare a sample with the others of its batch of
    ``batch_size``. innv compares it with every sample of the call, whatever ``batch_size``
    (the same for up to ``batch_size`` samples).
    """

    name = "sufficiency"
    category = "faithfulness"
    needs_model = True
    softmax = True

    def __init__(self, model: Any = None, *, threshold: float = 0.6,
                 distance_func: str | Callable[..., float] = "seuclidean", abs: bool = True,  # noqa: A002
                 normalise: bool = True, **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.threshold = check_number("threshold", threshold)
        if not (callable(distance_func) or isinstance(distance_func, str)):
            raise InvalidParameterError(f"distance_func must be a scipy.spatial.distance.cdist metric "
                                        f"name or a function of two vectors, got {distance_func!r}.")
        self.distance_func = distance_func

    def check(self, x, a):
        if len(x) < 2:
            raise InvalidParameterError("sufficiency compares each sample with the others of the call: "
                                        "give at least two samples.")

    def similar(self, a: np.ndarray) -> np.ndarray:
        """``(n, n)``: 1 where two explanations lie within ``threshold`` (a sample not with itself)."""
        flat = a.reshape(len(a), -1)
        with np.errstate(divide="ignore", invalid="ignore"):  # seuclidean: constant features
            distances = self.normalise_func(cdist(flat, flat, self.distance_func))
        close = (distances <= self.threshold).astype(np.float64)
        np.fill_diagonal(close, 0.0)
        return close

    def score(self, x, y, a, s, *, batch_size, softmax):
        close = self.similar(a)
        predicted = self.class_scores(softmax).outputs(x, batch_size).argmax(axis=1)
        same = predicted[None, :] == predicted[:, None]
        counts = close.sum(axis=1)
        return (same * close).sum(axis=1) / np.where(counts == 0, np.inf, counts), None
