"""Efficient MPRT (Hedström et al. 2023): how much more complex is the explanation of a randomised model?"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import entropy

from innv_core.errors import InvalidParameterError
from innv_core.metrics.normalise import normalise_by_average_second_moment_estimate as SECOND_MOMENT
from innv_core.metrics.similarity import correlation_spearman
from innv_plugins.metrics.randomisation.mprt import ParameterRandomisation


def discrete_entropy(a: np.ndarray, n_bins: int = 100, **kwargs: Any) -> np.ndarray:
    """The entropy of each row's histogram of ``n_bins`` equal bins between its minimum and
    maximum (Quantus' ``discrete_entropy``: ``np.histogram``, then ``scipy.stats.entropy``)."""
    a = np.atleast_2d(a)
    return np.array([entropy(np.histogram(row, bins=int(n_bins))[0]) for row in a])


def _iqr(a: np.ndarray) -> float:
    return float(np.percentile(a, 75) - np.percentile(a, 25))


def _width_rule(a: np.ndarray, width: float) -> int:
    return int((a.max() - a.min()) / max(width, 1e-6))


#: Quantus' rules for the number of bins (``complexity_func_kwargs={"rule": name}``), of all
#: preprocessed attributions of the call; ``n`` is the number of values per explanation.
N_BINS_RULES = {
    "Freedman Diaconis": lambda a, n: _width_rule(a, 2 * _iqr(a) / np.power(n, 1 / 3)),
    "Scotts": lambda a, n: _width_rule(a, 3.5 * np.std(a) / np.power(n, 1 / 3)),
    "Square Root": lambda a, n: int(np.sqrt(n)),
    "Sturges Formula": lambda a, n: int(np.log2(n) + 1),
    "Rice": lambda a, n: int(2 * np.power(n, 1 / 3)),
}

#: complexity_func_kwargs that choose the number of bins (not passed to complexity_func).
_BIN_CHOICE = ("rule", "n_bins_default", "min_n_bins", "max_n_bins", "debug")


class EfficientMPRT(ParameterRandomisation):
    """The relative rise in explanation complexity from the original to the fully randomised
    model, ``(c(e_random) - c(e)) / c(e)`` per sample (Hedström et al. 2023, eMPRT; higher is
    better: a sound explanation of a network without its learnt weights is noise, more complex).
    ``complexity_func`` (default :func:`discrete_entropy`) gets the flattened explanations
    ``(n, k)`` and ``complexity_func_kwargs`` and returns ``(n,)``. Quantus 0.6's defaults:
    bottom-up cascading randomisation, ``skip_layers=True`` (only the fully randomised model is
    explained), no normalisation (``normalise_func``, when asked: the average second-moment
    estimate), no ``abs``. Without ``n_bins`` in ``complexity_func_kwargs`` it is 100
    (``n_bins_default``), or ``rule``'s choice (:data:`N_BINS_RULES`, clipped to
    ``[min_n_bins, max_n_bins]`` = ``[10, 200]``) of this call's attributions.

    ``curves`` has the complexity of the original's explanation, then of each explained
    randomised model (``result.steps``: ``"original"`` and the layers). ``a`` is taken as the
    original model's explanation (computed by the analyzer when not given). With
    ``compute_extra_scores=True`` the metric keeps Quantus' ``scores_extra`` (a dict of per-sample
    lists: the deltas and fractions of explanation and model-output complexity, where the model's
    complexity is the entropy of its class probabilities) after each call.
    ``randomise_func`` and ``return_explanations`` are innv's (as for ``mprt``).

    Where innv differs: Quantus 0.6 explains the original model again and uses ``a_batch`` only
    to pick the bins (the same scores when ``a`` is the analyzer's); its rules count the values
    per explanation with ``a[0].ndim`` (the number of axes, so ``"Square Root"`` gives 1 bin,
    then 10) where innv counts them (``a[0].size``); and it stores the chosen ``n_bins`` in the
    metric, so that later calls reuse the first call's bins; innv chooses them per call.
    A zero original complexity (a constant explanation) scores NaN.
    """

    name = "efficient_mprt"
    higher_is_better = True
    softmax = True  # Quantus' __call__ default; used for the model complexity of scores_extra only

    def __init__(self, model: Any = None, *, complexity_func: Any = None,
                 complexity_func_kwargs: dict[str, Any] | None = None, similarity_func: Any = None,
                 layer_order: str = "bottom_up", seed: int = 42, compute_extra_scores: bool = False,
                 skip_layers: bool = True, abs: bool = False, normalise: bool = False,  # noqa: A002
                 normalise_func: Any = None, **common: Any) -> None:
        super().__init__(model, layer_order=layer_order, seed=seed, skip_layers=skip_layers, abs=abs,
                         normalise=normalise, normalise_func=normalise_func or SECOND_MOMENT, **common)
        if complexity_func is not None and not callable(complexity_func):
            raise InvalidParameterError(f"complexity_func must be a function of (n, k) explanations, "
                                        f"got {complexity_func!r}.")
        self.complexity_func = complexity_func or discrete_entropy
        self.complexity_func_kwargs = dict(complexity_func_kwargs or {})
        rule = self.complexity_func_kwargs.get("rule")
        if rule is not None and rule not in N_BINS_RULES:
            raise InvalidParameterError(f"complexity_func_kwargs rule must be one of {list(N_BINS_RULES)}, "
                                        f"got {rule!r}.")
        self.similarity_func = similarity_func or correlation_spearman
        self.compute_extra_scores = bool(compute_extra_scores)
        self.scores_extra: dict[str, list[float]] | None = None

    def n_bins(self, a: np.ndarray) -> int:
        """The number of bins for preprocessed attributions ``a`` (all samples of the call)."""
        kwargs = self.complexity_func_kwargs
        if "n_bins" in kwargs:
            return int(kwargs["n_bins"])
        rule = kwargs.get("rule")
        if rule is None:
            return int(kwargs.get("n_bins_default", 100))
        chosen = N_BINS_RULES[rule](a, a[0].size)
        return max(min(chosen, int(kwargs.get("max_n_bins", 200))), int(kwargs.get("min_n_bins", 10)))

    def complexity(self, a: np.ndarray, n_bins: int) -> np.ndarray:
        """``complexity_func`` of each sample's flattened explanation."""
        kwargs = {k: v for k, v in self.complexity_func_kwargs.items() if k not in _BIN_CHOICE}
        kwargs["n_bins"] = n_bins
        return np.asarray(self.complexity_func(a.reshape(len(a), -1), **kwargs), dtype=np.float64)

    def score(self, x, y, a, s, *, batch_size, softmax):
        n_bins = self.n_bins(a)
        names, columns = ["original"], [self.complexity(a, n_bins)]
        models = [self._model_complexity(self.model, x, batch_size)] if self.compute_extra_scores else []
        for name, randomised, other in self.randomised_explanations(x, y, a, batch_size):
            if self.compute_extra_scores:
                models.append(self._model_complexity(randomised, x, batch_size))
            names.append(name)
            columns.append(self.complexity(other, n_bins))
        self.steps = tuple(names)
        curves = np.stack(columns, axis=1)
        first, last = curves[:, 0], curves[:, -1]
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(first != 0, (last - first) / np.where(first != 0, first, 1.0), np.nan)
        if self.compute_extra_scores:
            self.scores_extra = self._extra(curves, np.stack(models, axis=1))
        return scores, curves

    @staticmethod
    def _model_complexity(model: Any, x: np.ndarray, batch_size: int) -> np.ndarray:
        from innv_core.metrics.forward import ClassScores

        p = ClassScores(model, True).outputs(x, batch_size)
        return entropy(p / p.sum(axis=1, keepdims=True), axis=1)

    def _extra(self, explanation: np.ndarray, model: np.ndarray) -> dict[str, list[float]]:
        """Quantus' ``scores_extra``, from the per-step complexities ``(n, 1 + steps)``."""
        def fraction(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(a != 0, b / np.where(a != 0, a, 1.0), np.nan)

        explained = fraction(explanation[:, 0], explanation[:, -1])
        modelled = fraction(model[:, 0], model[:, -1])
        correlation = [float(self.similarity_func(m, e, batched=False)) for m, e in zip(model, explanation)]
        extra = {
            "scores_delta_explanation": explanation[:, -1] - explanation[:, 0],
            "scores_fraction_explanation": explained,
            "scores_delta_model": model[:, -1] - model[:, 0],
            "scores_fraction_model": modelled,
            "scores_delta_explanation_vs_models": fraction(modelled, explained),
            "scores_average_complexity": explanation[:, 1:].mean(axis=1),
            "scores_correlation_model_vs_explanation_complexity": np.asarray(correlation),
        }
        return {k: np.asarray(v, dtype=np.float64).tolist() for k, v in extra.items()}
