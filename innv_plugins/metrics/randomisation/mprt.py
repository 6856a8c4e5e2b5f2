"""Model parameter randomisation test (Adebayo et al. 2018): does the explanation depend on the weights?"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

from innv_core.errors import InvalidParameterError
from innv_core.metrics import Metric
from innv_core.metrics.similarity import correlation_spearman

ORDERS = ("top_down", "bottom_up", "independent")


def randomised_models(model: Any, order: str, seed: int) -> Iterator[tuple[str, Any]]:
    """``(layer name, model)`` for each layer with weights, in ``order``: a copy of ``model``
    whose layer (and, cascading, the layers before it in that order; only it for
    ``independent``) has each weight array's entries permuted along its first axis, as
    Quantus 0.6 randomises Keras models (``np.random.seed(seed + 1)`` before each layer)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    original = copy.get_weights()
    layers = [layer for layer in copy.layers if layer.get_weights()]
    if order == "top_down":
        layers = layers[::-1]
    for layer in layers:
        if order == "independent":
            copy.set_weights(original)
        rng = np.random.RandomState(seed + 1)
        layer.set_weights([rng.permutation(w) for w in layer.get_weights()])
        yield layer.name, copy


class MPRT(Metric):
    """Randomise the model's layers one after another (``layer_order``, top-down by default,
    cascading) and after each step compare (``similarity_func``, Spearman by default) the
    explanation of the randomised model with the original one. ``curves`` has one column per
    randomised layer (``result.steps`` names them); ``scores`` is the mean over layers with
    ``return_average_correlation``, else the last layer's correlation (Quantus 0.6 returns the
    dictionary of layers by default: that is ``curves``). Lower is better: a sound explanation
    changes when the weights do. ``evaluate`` needs ``analyzer=`` (remade for each randomised
    model with :meth:`~innv_core.analyzer.AnalyzerBase.for_model`).

    Where innv differs: Quantus 0.6 clones a Keras model without copying its weights (Keras'
    ``clone_model`` initialises new ones), so its TensorFlow MPRT starts from a randomly
    initialised network; and its average includes the unrandomised "original" comparison (it
    tests for a key ``"orig"`` that is named ``"original"``). innv copies the weights and averages
    over the randomised layers only.
    """

    name = "mprt"
    category = "randomisation"
    higher_is_better = False
    needs_model = True
    needs_analyzer = True

    def __init__(self, model: Any = None, *, similarity_func: Any = None, layer_order: str = "top_down",
                 seed: int = 42, return_average_correlation: bool = False,
                 return_last_correlation: bool = False, skip_layers: bool = False, abs: bool = True,  # noqa: A002
                 normalise: bool = True, **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        if layer_order not in ORDERS:
            raise InvalidParameterError(f"layer_order must be one of {list(ORDERS)}, got {layer_order!r}.")
        if return_average_correlation and (return_last_correlation or skip_layers):
            raise InvalidParameterError("return_average_correlation needs every layer: it cannot be "
                                        "combined with return_last_correlation or skip_layers.")
        self.similarity_func = similarity_func or correlation_spearman
        self.layer_order = layer_order
        self.seed = int(seed)
        self.return_average_correlation = bool(return_average_correlation)
        self.skip_layers = bool(skip_layers)

    def score(self, x, y, a, s, *, batch_size, softmax):
        n, original = len(x), self._analyzer
        names, columns = [], []
        layers = sum(1 for layer in self.model.layers if layer.get_weights())
        try:  # the generator mutates one copy: explain each step before the next
            steps = randomised_models(self.model, self.layer_order, self.seed)
            for index, (name, randomised) in enumerate(steps):
                if self.skip_layers and index < layers - 1:
                    continue
                self._analyzer = original.for_model(randomised)
                other = self.explain(x, y, batch_size).reshape(n, -1)
                columns.append(np.asarray(self.similarity_func(a.reshape(n, -1), other, batched=True)))
                names.append(name)
        finally:
            self._analyzer = original
        self.steps = tuple(names)
        curves = np.stack(columns, axis=1)
        return (curves.mean(axis=1) if self.return_average_correlation else curves[:, -1]), curves
