"""The linear part of a kernel layer, callable with replaced weights.

LRP rules need ``z = W x + b`` with modified ``W`` and ``b`` (``W+``, ``W**2``, ones, no bias).
:class:`LinearPart` builds once, per layer, a copy of the layer without activation and calls it
through Keras' ``stateless_call`` with whatever weight tensors the rule gives.
"""

from __future__ import annotations

import weakref
from typing import Any

import keras
import tensorflow as tf

from innv_core import keras_adapter as ka
from innv_core.layers import LayerHandler


class LinearPart:
    """``z = linear(x, weights)`` for one kernel layer; weights default to the layer's own."""

    def __init__(self, layer: Any, handler: LayerHandler) -> None:
        self.layer = layer
        self.handler = handler
        if handler.linear is not None:
            self._copy = None
        else:
            with tf.init_scope():  # the copy's variables must be created eagerly, once
                self._copy = _linear_copy(layer)

    def weights(self) -> dict[str, Any]:
        """The layer's own weights by handler name (bias absent if the layer has none)."""
        if self.handler.weights is not None:
            return dict(self.handler.weights(self.layer))
        out = {}
        for name in self.handler.weight_names():
            value = getattr(self.layer, name, None)
            if value is not None:
                out[name] = value
        return out

    @property
    def has_bias(self) -> bool:
        return self.handler.bias is not None and self.handler.bias in self.weights()

    def __call__(self, x: Any, weights: dict[str, Any] | None = None) -> Any:
        """The pre-activation for input ``x``; missing weights are taken from the layer."""
        values = self.weights()
        if weights:
            values.update(weights)
        if self.handler.linear is not None:
            return self.handler.linear(self.layer, x, values)
        by_id = {id(getattr(self.layer, name)): value for name, value in values.items()
                 if getattr(self.layer, name, None) is not None}
        # The copy has the same class and config, hence its variables in the layer's order.
        trainable = [by_id.get(id(v), v) for v in self.layer.trainable_variables]
        non_trainable = [by_id.get(id(v), v) for v in self.layer.non_trainable_variables]
        out, _ = self._copy.stateless_call(trainable, non_trainable, x)
        return out


def _linear_copy(layer: Any) -> Any:
    config = layer.get_config()
    if "activation" in config:
        config["activation"] = "linear"
    config["name"] = f"{layer.name}_linear"
    copy = type(layer).from_config(config)
    ka.build_like(copy, layer)
    return copy


def activation_of(layer: Any, handler: LayerHandler | None = None) -> Any | None:
    """The layer's activation function, or None if it has none or it is linear (the handler's
    ``activation`` where it has one, else ``layer.activation``)."""
    if handler is not None and handler.activation is not None:
        return handler.activation(layer)
    activation = getattr(layer, "activation", None)
    if activation is None or activation is keras.activations.linear:
        return None
    if getattr(activation, "__name__", "") == "linear":
        return None
    return activation


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def linear_part_of(layer: Any, handler: LayerHandler) -> LinearPart:
    """The :class:`LinearPart` of ``layer``, built once per layer and reused by every analyzer."""
    part = _CACHE.get(layer)
    if part is None or part.handler is not handler:
        part = _CACHE[layer] = LinearPart(layer, handler)
    return part
