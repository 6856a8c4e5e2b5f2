"""Deconvnet and Guided Backprop: the gradient with a modified backward pass through ReLUs."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from innv_core import layers as kinds
from innv_core.errors import AnalysisWarning
from innv_core.registry import get_registry
from innv_core.reverse import NodeTensors, ReverseState
from innv_plugins.gradient.basic import Gradient


def has_relu(layer: Any) -> bool:
    """True for ReLU layers, ``Activation('relu')`` and kernel layers with a ReLU activation."""
    import keras

    if isinstance(layer, keras.layers.ReLU):
        return (layer.max_value is None and float(layer.negative_slope) == 0.0
                and float(layer.threshold) == 0.0)
    handler = get_registry().layer_handler(type(layer))
    if handler is None or handler.kind not in (kinds.ACTIVATION, kinds.KERNEL):
        return False
    return getattr(getattr(layer, "activation", None), "__name__", "") == "relu"


def relu_mapping(rule: Callable[[Any, Any], Any]) -> Callable:
    """A mapping applying ``rule(R, pre_activation)`` at the ReLU, then the gradient of the rest."""

    def mapping(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
        (R,) = Rs
        if nt.Zs is None:  # a standalone ReLU layer
            return [rule(R, nt.Xs[0])]
        R_z = rule(R, nt.Zs[0])
        return [state.tape.gradient(nt.Zs[0], nt.Xs[0], output_gradients=R_z)]

    mapping.__name__ = f"relu_{rule.__name__}"
    return mapping


def deconvnet_rule(R: Any, pre: Any) -> Any:
    return tf.nn.relu(R)


def guided_rule(R: Any, pre: Any) -> Any:
    return tf.nn.relu(R) * tf.cast(pre > 0, R.dtype)


class _ReLUModified(Gradient):
    """The gradient with ``rule`` at every ReLU; warns when the model has no ReLU to modify."""

    _rule: Callable[[Any, Any], Any]

    def __init__(self, model: Any, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        rule = type(self)._rule
        self._add_conditional_reverse_mapping(has_relu, relu_mapping(rule), name=rule.__name__)

    def _check_model(self) -> None:
        super()._check_model()
        if self._graph is not None and not any(has_relu(n.layer) for n in self._graph.nodes):
            warnings.warn(
                f"{type(self).__name__} modifies the backward pass at ReLUs only, and this model "
                "has none: the analysis equals the plain gradient ('gradient').",
                AnalysisWarning,
                stacklevel=4,
            )


class Deconvnet(_ReLUModified):
    """Deconvnet (Zeiler & Fergus): at ReLUs only positive signals pass backwards.

    Other non-linearities are crossed by their gradient; without ReLUs this is the gradient (warned).
    """

    _rule = staticmethod(deconvnet_rule)


class GuidedBackprop(_ReLUModified):
    """Guided backprop (Springenberg et al.): positive signals through active ReLUs only.

    Other non-linearities are crossed by their gradient; without ReLUs this is the gradient (warned).
    """

    _rule = staticmethod(guided_rule)
