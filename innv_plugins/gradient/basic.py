"""Gradient, BaselineGradient and InputTimesGradient."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core.analyzer import AnalyzerNetworkBase, ReverseAnalyzerBase
from innv_plugins.gradient import postprocess as post


class Gradient(ReverseAnalyzerBase):
    """The gradient of the selected output w.r.t. the input, by reversing the network.

    Args:
        model: a Keras model.
        postprocess: None, ``"abs"`` or ``"square"``.
    """

    def __init__(self, model: Any, postprocess: str | None = None, **kwargs: Any) -> None:
        self._postprocess = post.check(postprocess)
        super().__init__(model, **kwargs)

    @property
    def signed(self) -> bool:
        return post.is_signed(self._postprocess)

    def _head_mapping(self, y: Any) -> Any:
        return tf.ones_like(y)

    def _postprocess_analysis(self, results: list[Any], inputs: list[Any]) -> list[Any]:
        return post.apply(self._postprocess, results)


class BaselineGradient(AnalyzerNetworkBase):
    """The gradient computed directly with ``tf.GradientTape`` (mainly for checking ``Gradient``)."""

    _needs_graph = False

    def __init__(self, model: Any, postprocess: str | None = None, **kwargs: Any) -> None:
        self._postprocess = post.check(postprocess)
        super().__init__(model, **kwargs)

    @property
    def signed(self) -> bool:
        return post.is_signed(self._postprocess)

    def _create_analysis(self, inputs: list[Any], indices: Any) -> list[Any]:
        return post.apply(self._postprocess, self._selected_gradient(inputs, indices))


class InputTimesGradient(Gradient):
    """Input times gradient (equals LRP-z on ReLU networks)."""

    signed = True  # no postprocessing

    def __init__(self, model: Any, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)

    def _postprocess_analysis(self, results: list[Any], inputs: list[Any]) -> list[Any]:
        return [g * x for g, x in zip(results, inputs)]
