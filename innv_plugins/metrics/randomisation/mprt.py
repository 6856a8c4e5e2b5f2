"""Model parameter randomisation test (Adebayo et al. 2018): does the explanation depend on the weights?

Also the shared machinery of its variants (:mod:`.smooth_mprt`, :mod:`.efficient_mprt`): the
layer randomisation (:func:`randomised_models`) and :class:`ParameterRandomisation`, which
explains the inputs with each randomised model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
import keras
import numpy as np

from innv_core.errors import InvalidParameterError
from innv_core.metrics import Metric, MetricResult
from innv_core.metrics.similarity import correlation_spearman

ORDERS = ("top_down", "bottom_up", "independent")

#: ``randomise_func(model, layer_order, seed)``: ``(layer name, randomised model)`` pairs.
RandomiseFunc = Callable[[Any, str, int], Iterable[tuple[str, Any]]]


def randomised_models(model: Any, layer_order: str, seed: int) -> Iterator[tuple[str, Any]]:
    """``(layer name, model)`` for each layer with weights, in ``layer_order``: a copy of ``model``
    whose layer (and, cascading, the layers before it in that order; only it for
    ``independent``) has each weight array's entries permuted along its first axis, as
    Quantus 0.6 randomises Keras models (``np.random.seed(seed + 1)`` before each layer).
    The copy is changed in place from one step to the next: use each model before the next."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    original = copy.get_weights()
    layers = [layer for layer in copy.layers if layer.get_weights()]
    if layer_order == "top_down":
        layers = layers[::-1]
    for layer in layers:
        if layer_order == "independent":
            copy.set_weights(original)
        rng = np.random.RandomState(seed + 1)
        layer.set_weights([rng.permutation(w) for w in layer.get_weights()])
        yield layer.name, copy


def reads_weights_live(analyzer: Any, model: Any, x: np.ndarray, y: np.ndarray | None) -> bool:
    """Whether ``analyzer`` remade for a copy of ``model`` follows later changes of the copy's
    weights (its compiled analysis reads the variables, as a gradient does) rather than values
    fixed when it was built (PatternAttribution's kernels times patterns) or random draws
    (SmoothGrad): built on the trained weights, run again after every weight is permuted, and
    compared with an analyzer built fresh for the permuted copy, on one sample. Then MPRT builds
    (and compiles) one analyzer for its randomised copy instead of one per layer."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    selection = {} if y is None else {"neuron_selection": y}
    kept = analyzer.for_model(copy)
    kept.analyze(x, **selection)
    rng = np.random.RandomState(0)
    copy.set_weights([rng.permutation(w) for w in copy.get_weights()])
    reused = np.asarray(kept.analyze(x, **selection), dtype=np.float64)
    fresh = np.asarray(analyzer.for_model(copy).analyze(x, **selection), dtype=np.float64)
    scale = max(float(np.abs(fresh).max()), 1e-12)
    return reused.shape == fresh.shape and bool(np.abs(reused - fresh).max() <= 1e-5 * scale)


class ParameterRandomisation(Metric):
    """What MPRT and its variants share: Quantus' ``layer_order``, ``seed`` and ``skip_layers``,
    the randomised models (``randomise_func``, default :func:`randomised_models`) and, for each,
    the explanation of the inputs by this call's analyzer remade for it
    (:meth:`~innv_core.analyzer.AnalyzerBase.for_model`).

    innv's options: ``randomise_func(model, layer_order, seed)`` yields ``(layer name, model)``
    pairs (another randomisation, or models randomised elsewhere: Quantus' torch ones in the
    tests); ``return_explanations=True`` puts the preprocessed explanations into
    ``result.explanations``, ``(n, 1 + steps, ...)``: the original's first, then one per step.
    """

    category = "randomisation"
    needs_model = True
    needs_analyzer = True

    def __init__(self, model: Any = None, *, layer_order: str, seed: int, skip_layers: bool,
                 randomise_func: RandomiseFunc | None = None, return_explanations: bool = False,
                 **common: Any) -> None:
        super().__init__(model, **common)
        if layer_order not in ORDERS:
            raise InvalidParameterError(f"layer_order must be one of {list(ORDERS)}, got {layer_order!r}.")
        if randomise_func is not None and not callable(randomise_func):
            raise InvalidParameterError("randomise_func must be a function (model, layer_order, seed) "
                                        f"yielding (layer name, model) pairs, got {randomise_func!r}.")
        self.layer_order = layer_order
        self.seed = int(seed)
        self.skip_layers = bool(skip_layers)
        self.randomise_func = randomise_func or randomised_models
        self.return_explanations = bool(return_explanations)
        self._explanations: list[np.ndarray] = []
        self._live: tuple[Any, bool] | None = None

    def _reads_weights_live(self, analyzer: Any, x: np.ndarray, y: np.ndarray | None) -> bool:
        """:func:`reads_weights_live` for ``analyzer``, checked once per analyzer (the last one)."""
        if self._live is None or self._live[0] is not analyzer:
            first = None if y is None else y[:1]
            self._live = (analyzer, reads_weights_live(analyzer, self.model, x[:1], first))
        return self._live[1]

    def evaluate(self, x: Any, y: Any = None, a: Any = None, s: Any = None, **kwargs: Any) -> MetricResult:
        self._explanations = []
        result = super().evaluate(x, y, a, s, **kwargs)
        if self.return_explanations:
            result = attrs.evolve(result, explanations=np.stack(self._explanations, axis=1))
        self._explanations = []
        return result

    def randomised_explanations(self, x: np.ndarray, y: np.ndarray, a: np.ndarray,
                                batch_size: int) -> Iterator[tuple[str, Any, np.ndarray]]:
        """``(layer name, randomised model, preprocessed explanation of x for y)`` per randomised
        model in ``layer_order`` (only the last one with ``skip_layers``); ``a`` is the
        original's. Use the model before the next step."""
        if self.return_explanations:
            self._explanations.append(a)
        original = self._analyzer
        try:
            steps: Iterable[tuple[str, Any]] = self.randomise_func(self.model, self.layer_order, self.seed)
            if self.skip_layers:  # the cascade's end: the generator leaves the copy in its last state
                last: tuple[tuple[str, Any], ...] = ()
                for step in steps:
                    last = (step,)
                steps = last
            live = self._reads_weights_live(original, x, y)
            remade: dict[int, Any] = {}
            for name, randomised in steps:  # the generator mutates one copy: explain before the next
                if not live:
                    self._analyzer = original.for_model(randomised)
                else:  # one analyzer per randomised model object, rebuilt only when the object changes
                    key = id(randomised)
                    if key not in remade:
                        remade = {key: original.for_model(randomised)}
                    self._analyzer = remade[key]
                explanation = self.explain(x, y, batch_size)
                if self.return_explanations:
                    self._explanations.append(explanation)
                yield name, randomised, explanation
        finally:
            self._analyzer = original


class MPRT(ParameterRandomisation):
    """Randomise the model's layers one after another (``layer_order``, top-down by default,
    cascading) and after each step compare (``similarity_func``, Spearman by default) the
    explanation of the randomised model with the original one. ``curves`` has one column per
    randomised layer (``result.steps`` names them); ``scores`` is the mean over layers with
    ``return_average_correlation``, else the last layer's correlation (Quantus 0.6 returns the
    dictionary of layers by default: that is ``curves``). Lower is better: a sound explanation
    changes when the weights do. ``evaluate`` needs ``analyzer=`` (remade for each randomised
    model with :meth:`~innv_core.analyzer.AnalyzerBase.for_model`); ``randomise_func`` and
    ``return_explanations`` are innv's (:class:`ParameterRandomisation`).

    Where innv differs: Quantus 0.6 clones a Keras model without copying its weights (Keras'
    ``clone_model`` initialises new ones), so its TensorFlow MPRT starts from a randomly
    initialised network; and its average includes the unrandomised "original" comparison (it
    tests for a key ``"orig"`` that is named ``"original"``). innv copies the weights and averages
    over the randomised layers only.
    """

    name = "mprt"
    higher_is_better = False

    def __init__(self, model: Any = None, *, similarity_func: Any = None, layer_order: str = "top_down",
                 seed: int = 42, return_average_correlation: bool = False,
                 return_last_correlation: bool = False, skip_layers: bool = False, abs: bool = True,  # noqa: A002
                 normalise: bool = True, **common: Any) -> None:
        super().__init__(model, layer_order=layer_order, seed=seed, skip_layers=skip_layers, abs=abs,
                         normalise=normalise, **common)
        if return_average_correlation and (return_last_correlation or skip_layers):
            raise InvalidParameterError("return_average_correlation needs every layer: it cannot be "
                                        "combined with return_last_correlation or skip_layers.")
        self.similarity_func = similarity_func or correlation_spearman
        self.return_average_correlation = bool(return_average_correlation)

    def score(self, x, y, a, s, *, batch_size, softmax):
        n = len(x)
        names, columns = [], []
        for name, _, other in self.randomised_explanations(x, y, a, batch_size):
            similarity = self.similarity_func(a.reshape(n, -1), other.reshape(n, -1), batched=True)
            columns.append(np.asarray(similarity))
            names.append(name)
        self.steps = tuple(names)
        curves = np.stack(columns, axis=1)
        return (curves.mean(axis=1) if self.return_average_correlation else curves[:, -1]), curves
