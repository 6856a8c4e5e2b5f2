"""Consistency (Dasgupta et al. 2022): do inputs with the same (discretised) explanation get the same
prediction?"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError
from innv_core.metrics import Metric

__all__ = ["Consistency", "floating_points", "rank", "sign", "top_n_sign"]


# Quantus' discretisations (quantus.functions.discretise_func), each of one flattened map; innv's
# return the bytes themselves (Quantus hashes them), so two maps share a label only if equal.
def floating_points(a: np.ndarray, n: int = 2) -> bytes:
    """The map rounded to ``n`` decimals."""
    return np.asarray(a).round(decimals=n).tobytes()


def sign(a: np.ndarray) -> bytes:
    """The sign of every value."""
    return np.sign(np.asarray(a)).tobytes()


def top_n_sign(a: np.ndarray, n: int = 5) -> bytes:
    """The signs of the first ``n`` values of the flattened map (Quantus' default; its name
    notwithstanding, the *first* ``n``, not the largest)."""
    return np.sign(np.asarray(a))[:n].tobytes()


def rank(a: np.ndarray) -> bytes:
    """The order of the values, largest first."""
    return np.argsort(np.asarray(a))[::-1].tobytes()


class Consistency(Metric):
    """For each sample, the share of the *other* samples of the call with the same discretised
    explanation (``discretise_func`` of the flattened, preprocessed map) that the model gives
    the same predicted class (Quantus 0.6's local consistency; higher is better, as in the
    paper). NaN where no other sample shares the explanation (Quantus: 0).

    ``discretise_func`` defaults to :func:`top_n_sign` (Quantus' default: the signs of the
    first five values of the flattened map, channels last in innv); pass :func:`sign`,
    :func:`rank`, :func:`floating_points` or your own function of a 1-D array returning a
    hashable label. Calls the model once for the predictions; needs no analyzer.
    """

    name = "consistency"
    category = "robustness"
    higher_is_better = True
    needs_model = True
    softmax = True

    def __init__(self, model: Any = None, *, discretise_func: Callable[[np.ndarray], Hashable] | None = None,
                 abs: bool = True, normalise: bool = True, **common: Any) -> None:  # noqa: A002 - Quantus' name
        super().__init__(model, abs=abs, normalise=normalise, **common)
        func = discretise_func or top_n_sign
        if not callable(func):
            raise InvalidParameterError(f"discretise_func must be a function of a 1-D array returning a "
                                        f"hashable label, got {func!r}.")
        self.discretise_func = func

    def score(self, x, y, a, s, *, batch_size, softmax):
        n = len(x)
        ids: dict[Hashable, int] = {}
        try:
            labels = np.array([ids.setdefault(self.discretise_func(row), len(ids))
                               for row in a.reshape(n, -1)])
        except TypeError as error:
            raise InvalidParameterError(f"discretise_func must return a hashable label (bytes, a number, "
                                        f"a tuple): {error}") from error
        predicted = self._predicted(x, batch_size)
        # Counts per group instead of an n x n comparison: the others sharing the explanation,
        # and those of them with the same prediction too.
        _, group, size = np.unique(labels, return_inverse=True, return_counts=True)
        _, pair, pair_size = np.unique(np.stack([labels, predicted]), axis=1, return_inverse=True,
                                       return_counts=True)
        partners = size[group.reshape(-1)] - 1
        agreeing = pair_size[pair.reshape(-1)] - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(partners > 0, agreeing / np.maximum(partners, 1), np.nan), None
