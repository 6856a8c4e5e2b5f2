"""What xplique 2.0's fidelity metrics share: its parameters (``batch_size``, ``baseline_mode``,
``operator``, ``activation``) on innv's :class:`~innv_core.metrics.Metric`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from innv_core.errors import InvalidInputError, InvalidParameterError, check_positive_int
from innv_core.metrics import Metric, MetricResult

__all__ = ["XpliqueMetric"]

_ACTIVATIONS = (None, "softmax")


class XpliqueMetric(Metric):
    """An xplique metric: created with xplique's parameter names and defaults, evaluated as
    every innv metric (``evaluate(x, y, a)``, ``y`` class indices where xplique takes one-hot
    targets; one score per sample, whose mean is xplique's single number).

    ``baseline_mode`` is a number or a function of the inputs ``x`` (``(n, ...)``) returning an
    array that broadcasts to ``x``. ``activation`` is None (the model's logits: a final softmax
    is removed, as for every innv metric) or ``"softmax"``. ``batch_size`` is the default of
    :meth:`evaluate` (None: all perturbed inputs in one call).
    """

    category = "faithfulness"
    needs_model = True

    def __init__(self, model: Any = None, *, batch_size: int | None = 64, baseline_mode: Any = 0.0,
                 operator: Any = None, activation: str | None = None, abs: bool = False,  # noqa: A002
                 normalise: bool = False, **common: Any) -> None:
        data = sorted({"inputs", "targets"} & set(common))
        if data:
            raise InvalidParameterError(
                f"{self.name} is created for the model only: pass the data to evaluate(x, y, a) (x for "
                f"xplique's inputs, y the class indices for its one-hot targets), not {data}.")
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.batch_size = None if batch_size is None else check_positive_int("batch_size", batch_size)
        if operator is not None:
            raise InvalidParameterError(
                f"{self.name} scores the model's output for class y; xplique's operator= is not taken "
                "(wrap the model so that its outputs are what you want scored).")
        if activation not in _ACTIVATIONS:
            hint = (" (innv adds no sigmoid: end the model in one and keep activation=None)"
                    if activation == "sigmoid" else "")
            raise InvalidParameterError(f"activation must be None or 'softmax', got {activation!r}{hint}.")
        self.activation = activation
        self.softmax = activation == "softmax"
        self.baseline_mode = _checked_baseline(baseline_mode)
        self._end: np.ndarray | None = None

    def evaluate(self, x: Any, y: Any = None, a: Any = None, s: Any = None, *, analyzer: Any = None,
                 batch_size: int | None = None, softmax: bool | None = None) -> MetricResult:
        """As :meth:`Metric.evaluate`; ``batch_size`` defaults to the one given at creation."""
        batch_size = self.batch_size if batch_size is None else batch_size
        if batch_size is None:
            batch_size = max(1, len(np.asarray(x))) * self.perturbations_per_sample(np.shape(x)[1:])
        return super().evaluate(x, y, a, s, analyzer=analyzer, batch_size=batch_size, softmax=softmax)

    def perturbations_per_sample(self, shape: tuple[int, ...]) -> int:
        """How many perturbed inputs one sample of ``shape`` needs (``batch_size=None``)."""
        raise NotImplementedError

    def check(self, x, a):
        self._end = self.baseline_of(x)

    def baseline_of(self, x: np.ndarray) -> np.ndarray:
        """``baseline_mode`` for ``x``, broadcast to its shape; a named error if it does not fit."""
        if not callable(self.baseline_mode):
            return np.full(x.shape, self.baseline_mode)
        value = np.asarray(self.baseline_mode(x), dtype=np.float64)
        try:
            value = np.broadcast_to(value, x.shape)
        except ValueError:
            raise InvalidInputError(f"baseline_mode(x) has shape {value.shape}, which does not broadcast "
                                    f"to x {x.shape}: return one value, or one per input value.") from None
        if not np.isfinite(value).all():
            raise InvalidInputError("baseline_mode(x) contains NaN or inf: return finite values.")
        return value


def _checked_baseline(value: Any) -> float | Callable[[np.ndarray], Any]:
    if callable(value):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if np.isfinite(value):
            return float(value)
    raise InvalidParameterError(f"baseline_mode must be a finite number or a function of x returning "
                                f"the baseline, got {value!r}.")
