"""Input invariance (Kindermans et al. 2017): is the explanation unchanged when a constant shift of the
input is absorbed by the first layer's bias?

Kindermans et al. compare a network ``f1`` with ``f2(x) = f1(x - m)``: ``f2`` is ``f1`` with its first
layer's bias ``b`` replaced by ``b - W m``, so the two compute the same function of their inputs, and
a method is input invariant if its explanation of ``f2`` at ``x + m`` equals its explanation of
``f1`` at ``x``. That model exists in Keras only if the first layer's linear part maps the constant
``m`` to a constant per output channel: a ``Dense`` layer or an ``N``-d convolution without padding
(``padding="valid"``, or ``"same"`` with a 1-wide kernel) with a bias, reading the model's input and
nothing else. innv builds that model exactly (a copy with the weights; the bias lowered by
``m * sum(kernel)`` per output channel, before the activation) and refuses any other first layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, NotAnalyzableModelError, check_number
from innv_core.metrics import Metric

__all__ = ["InputInvariance", "shifted_model"]


def _first_layer(model: Any) -> Any:
    """The one kernel layer that reads the model's input, or an error saying why there is none."""
    import keras

    from innv_core.graph import trace

    graph = trace(model)
    readers = graph.consumers().get(graph.input_ids[0], [])
    layer = readers[0].layer if len(readers) == 1 else None
    fix = ("Input invariance needs a model whose first layer is a Dense or a convolution without "
           "padding (padding='valid'), with a bias, reading the input alone")
    if layer is None:
        raise NotAnalyzableModelError(f"{fix}; here {len(readers)} layers read the input "
                                      f"({[node.layer.name for node in readers]}).")
    kernels = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
    if not isinstance(layer, kernels):
        raise NotAnalyzableModelError(f"{fix}; here it is {layer.name!r} ({type(layer).__name__}). Move "
                                      "preprocessing (rescaling, normalisation) out of the model.")
    if sum(node.layer is layer for node in graph.nodes) != 1:
        raise NotAnalyzableModelError(f"{fix}; {layer.name!r} is called more than once (a shared layer).")
    if not getattr(layer, "use_bias", False):
        raise NotAnalyzableModelError(f"{fix}; {layer.name!r} has no bias to absorb the shift.")
    padding = getattr(layer, "padding", "valid")
    if padding != "valid" and not (padding == "same" and all(k == 1 for k in layer.kernel_size)):
        raise NotAnalyzableModelError(
            f"{fix}; {layer.name!r} pads its input (padding={padding!r}), so a constant shift does "
            "not move its output by a constant at the borders and no bias absorbs it.")
    return layer


def shifted_model(model: Any, input_shift: float) -> Any:
    """A copy of ``model`` (with its weights) computing ``model(x - input_shift)`` on ``x``: its
    first layer's bias lowered by ``input_shift * sum(kernel)`` per output channel."""
    import keras

    _first_layer(model)  # refuse before copying
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    layer = _first_layer(copy)
    kernel = np.asarray(layer.kernel.numpy(), dtype=np.float64)
    bias = np.asarray(layer.bias.numpy(), dtype=np.float64)
    absorbed = input_shift * kernel.reshape(-1, kernel.shape[-1]).sum(axis=0)
    layer.bias.assign((bias - absorbed).astype(layer.bias.dtype))
    return copy


class InputInvariance(Metric):
    """1 where the explanation of ``x + input_shift`` on the model whose first bias absorbs the
    shift equals that of ``x`` on the model (``np.isclose`` with ``atol=1e-4``, every value), else
    0 (Quantus 0.6; higher is better). The gradient passes; gradient x input and methods with a
    fixed reference point do not (Kindermans et al. 2017). ``evaluate`` needs ``analyzer=`` (remade
    for the shifted model with ``analyzer.for_model``); see the module for which models qualify.
    """

    name = "input_invariance"
    category = "axiomatic"
    needs_model = True
    needs_analyzer = True

    def __init__(self, model: Any = None, *, abs: bool = False, normalise: bool = False,  # noqa: A002
                 input_shift: float = -1, **common: Any) -> None:
        super().__init__(model, abs=abs, normalise=normalise, **common)
        if isinstance(input_shift, str):
            raise InvalidParameterError(f"input_shift must be a number (added to every input value), "
                                        f"got {input_shift!r}.")
        self.input_shift = check_number("input_shift", input_shift)
        self.shifted_model = shifted_model(self.model, self.input_shift)

    def score(self, x, y, a, s, *, batch_size, softmax):
        original = self._analyzer
        try:
            self._analyzer = original.for_model(self.shifted_model)
            shifted = self.explain((x + self.input_shift).astype(x.dtype), y, batch_size)
        finally:
            self._analyzer = original
        axes = tuple(range(1, a.ndim))
        return np.all(np.isclose(a, shifted, atol=1e-4), axis=axes).astype(np.float64), None
