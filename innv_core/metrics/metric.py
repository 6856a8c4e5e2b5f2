"""The base of every metric: Quantus 0.6's parameters and preprocessing, innv's checks.

A metric is created for a model (``None`` for metrics that never call it) with Quantus'
``__init__`` parameters and defaults, then :meth:`Metric.evaluate` scores attributions: given
as ``a``, or computed inside by an innv analyzer (``analyzer="lrp.epsilon"`` or an instance).
Preprocessing is Quantus': ``normalise_func`` (default :func:`~.normalise.normalise_by_max`)
over all attributions of the call when ``normalise``, then ``abs``. A subclass sets the class
attributes and implements :meth:`Metric.score`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from innv_core.errors import InvalidInputError, InvalidParameterError, check_positive_int
from innv_core.metrics import batch
from innv_core.metrics.normalise import normalise_by_max
from innv_core.metrics.result import MetricResult

__all__ = ["Metric"]


#: Quantus parameters innv does not take, and why.
_NOT_TAKEN = {
    "display_progressbar": "innv shows no progress bar for metrics",
    "default_plot_func": "plot result.curves yourself (innv_core.utils.visualizations)",
    "perturb_func": "innv replaces values by perturb_baseline; give a number or a name",
    "explain_func": "pass analyzer= to evaluate() instead",
}


def _unknown_message(name: str, unknown: dict[str, Any]) -> str:
    notes = [f"{key}: {_NOT_TAKEN[key]}" for key in unknown if key in _NOT_TAKEN]
    return (f"{name} got unknown parameter(s) {sorted(unknown)}"
            + (f" ({'; '.join(notes)})" if notes else "")
            + f". Its parameters: help(innv_core.create_metric({name!r}).__init__) or docs/evaluating.md.")


class Metric:
    """A metric of explanation quality (subclass it to add one; register it by name).

    Class attributes:
        name: the registered name (snake_case of Quantus' class name).
        category: ``faithfulness``, ``robustness``, ``localisation``, ``complexity``,
            ``randomisation`` or ``axiomatic``.
        higher_is_better: Quantus' ``score_direction``.
        needs_model: the metric calls the model (``model`` may then not be None).
        needs_masks: ``evaluate`` needs ``s``.
        needs_analyzer: ``evaluate`` needs ``analyzer=`` (the metric explains other inputs or classes).
        softmax: Quantus' default of its ``softmax`` argument (scores are probabilities).
    """

    name: ClassVar[str] = ""
    category: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    needs_model: ClassVar[bool] = False
    needs_masks: ClassVar[bool] = False
    needs_analyzer: ClassVar[bool] = False
    softmax: ClassVar[bool] = False

    def __init__(self, model: Any = None, *, abs: bool, normalise: bool,  # noqa: A002 - Quantus' name
                 normalise_func: Callable[..., np.ndarray] | None = None,
                 normalise_func_kwargs: dict[str, Any] | None = None,
                 return_aggregate: bool = False, aggregate_func: Callable[..., Any] | None = None,
                 disable_warnings: bool = False, **unknown: Any) -> None:
        if unknown:
            raise InvalidParameterError(_unknown_message(self.name, unknown))
        if self.needs_model and model is None:
            raise InvalidParameterError(f"{self.name} calls the model: pass it, create_metric("
                                        f"{self.name!r}, model, ...).")
        self.model = model
        self.abs = bool(abs)
        self.normalise = bool(normalise)
        func = normalise_func or normalise_by_max
        if not callable(func):
            raise InvalidParameterError(f"normalise_func must be a function of an array, got {func!r}.")
        self.normalise_func = functools.partial(func, **(normalise_func_kwargs or {}))
        self.return_aggregate = bool(return_aggregate)
        self.aggregate_func = aggregate_func or np.mean
        self.disable_warnings = bool(disable_warnings)  # innv's metrics warn once, not per sample
        self._forward: dict[bool, Any] = {}
        self._analyzer: Any = None
        self.steps: tuple[str, ...] | None = None  # a score() may name the columns of its curves

    # -- the call ----------------------------------------------------------------------------
    def evaluate(self, x: Any, y: Any = None, a: Any = None, s: Any = None, *, analyzer: Any = None,
                 batch_size: int = 64, softmax: bool | None = None) -> MetricResult:
        """Score the attributions ``a`` of ``x`` (or those ``analyzer`` computes for class ``y``).

        Args:
            x: inputs, channels last, ``(n, ...)``.
            y: the explained class per sample (default: the model's prediction).
            a: attributions shaped as ``x`` or ``x`` without its channel axis.
            s: binary masks, for localisation metrics.
            analyzer: instead of ``a``: a registered analyzer name or an analyzer instance.
            batch_size: inputs per model call.
            softmax: score probabilities instead of logits (default: the metric's, as Quantus').

        Raises:
            InvalidInputError, NeuronSelectionError, InvalidParameterError: before any model call.
        """
        batch_size = check_positive_int("batch_size", batch_size)
        x = batch.check_x(x)
        y = self._labels(x, y, batch_size)
        if a is None and analyzer is None:
            raise InvalidInputError("Give either the attributions a= or an analyzer= to compute them.")
        if self.needs_analyzer and analyzer is None:
            raise InvalidInputError(f"{self.name} explains perturbed inputs or other classes: pass "
                                    "analyzer= (a registered name or an analyzer instance).")
        self._analyzer = None if analyzer is None else self._analyzer_of(analyzer)
        given = a is not None
        a = self.explain(x, y, batch_size, preprocess=False) if a is None else a
        a = batch.check_attributions(a, x)
        if given and self.needs_analyzer:
            self._check_like_analyzer(x, y, a)
        s = batch.check_masks(s, x, self.name) if self.needs_masks else s
        self.check(x, a)
        a = self.preprocess(a)
        softmax = self.softmax if softmax is None else bool(softmax)
        self.steps = None
        scores, curves = self.score(x, y, a, s, batch_size=batch_size, softmax=softmax)
        scores = np.asarray(scores, dtype=np.float64)
        if self.return_aggregate:
            scores = np.atleast_1d(np.asarray(self.aggregate_func(scores), dtype=np.float64))
        return MetricResult(self.name, scores, curves, self.higher_is_better, self.steps)

    def check(self, x: np.ndarray, a: np.ndarray) -> None:
        """Refuse parameters that do not fit these inputs (a patch larger than the image, ...);
        runs before any model call. Subclasses extend it."""

    def score(self, x: np.ndarray, y: np.ndarray | None, a: np.ndarray, s: np.ndarray | None, *,
              batch_size: int, softmax: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """The scores ``(n,)`` and the curves ``(n, steps)`` or None, of preprocessed ``a``."""
        raise NotImplementedError(f"{type(self).__name__} must implement score()")

    # -- helpers for subclasses --------------------------------------------------------------
    def class_scores(self, softmax: bool) -> Any:
        """The compiled :class:`~innv_core.metrics.forward.ClassScores` of the model (built once)."""
        if softmax not in self._forward:
            from innv_core.metrics.forward import ClassScores

            self._forward[softmax] = ClassScores(self.model, softmax)
        return self._forward[softmax]

    def _labels(self, x: np.ndarray, y: Any, batch_size: int) -> np.ndarray | None:
        if self.model is None:
            return None if y is None else batch.check_labels(y, len(x), None)
        forward = self.class_scores(False)
        if tuple(x.shape[1:]) != forward.input_shape and None not in forward.input_shape:
            raise InvalidInputError(f"x has shape {x.shape[1:]} per sample; the model takes "
                                    f"{forward.input_shape}.")
        if y is None:
            y = self._predicted(x, batch_size)
        return batch.check_labels(y, len(x), forward.classes)

    def _predicted(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        """The predicted class of each row, through the compiled forward function."""
        return self.class_scores(False).outputs(x, batch_size).argmax(axis=1)

    def _check_like_analyzer(self, x: np.ndarray, y: np.ndarray | None, a: np.ndarray) -> None:
        """``a`` and the analyzer's explanations are compared: refuse ``a`` shaped otherwise
        (e.g. without the channel axis the analyzer gives), from one explained sample."""
        # the plain analysis (a subclass's explain may draw noise: its random stream stays as it is)
        probe = Metric.explain(self, x[:1], None if y is None else y[:1], 1, preprocess=False)
        if probe.shape[1:] != a.shape[1:]:
            raise InvalidInputError(
                f"{self.name} compares a with the analyzer's explanations of other inputs or classes, "
                f"but a has shape {a.shape[1:]} per sample and the analyzer gives {probe.shape[1:]}: "
                "pass a shaped as the analyzer's output (e.g. analyzer.analyze(x)), or a=None to "
                "let the analyzer compute it.")

    def preprocess(self, a: np.ndarray) -> np.ndarray:
        """Quantus' preprocessing: ``normalise_func`` over the whole array if ``normalise``,
        then ``abs``."""
        if self.normalise:
            a = self.normalise_func(a)
        return np.abs(a) if self.abs else a

    def explain(self, x: np.ndarray, y: np.ndarray | None, batch_size: int,
                preprocess: bool = True) -> np.ndarray:
        """The attributions of this call's analyzer for ``x`` and class ``y``, checked and (as
        Quantus' ``explain_batch``) preprocessed; for metrics that explain perturbed inputs."""
        analyzer = self._analyzer
        if analyzer is None:
            raise InvalidInputError(f"{self.name} needs analyzer= to explain its inputs.")

        def part(i: int) -> np.ndarray:
            chunk = x[i:i + batch_size]
            if y is None:
                return np.asarray(analyzer.analyze(chunk))
            return np.asarray(analyzer.analyze(chunk, neuron_selection=y[i:i + batch_size]))

        a = np.concatenate([part(i) for i in range(0, len(x), batch_size)])
        return self.preprocess(batch.check_attributions(a, x)) if preprocess else a

    def _analyzer_of(self, analyzer: Any) -> Any:
        if not isinstance(analyzer, str):
            return analyzer
        if self.model is None:
            raise InvalidParameterError(f"analyzer={analyzer!r} needs the model: create the "
                                        "metric with it, create_metric(name, model, ...).")
        from innv_core.create import create_analyzer

        return create_analyzer(analyzer, self.model, neuron_selection_mode="index")
