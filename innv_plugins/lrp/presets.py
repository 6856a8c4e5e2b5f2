"""iNNvestigate's sequential presets: epsilon for Dense layers, alpha-beta for convolutions."""

from __future__ import annotations

from typing import Any

from innv_core import layers as kinds
from innv_core.registry import get_registry
from innv_plugins.lrp.analyzer import LRP, refuse_fixed
from innv_plugins.rules.epsilon import EpsilonRule


def is_dense(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.layers.Dense | keras.layers.EinsumDense)


def is_kernel(layer: Any) -> bool:
    handler = get_registry().layer_handler(type(layer))
    return handler is not None and handler.kind == kinds.KERNEL


class LRPSequentialPresetA(LRP):
    """Dense layers: epsilon (``epsilon=0.1``); other kernel layers: alpha1beta0."""

    _conv_rule = "Alpha1Beta0"
    _input_layer_rule: Any = None

    def __init__(self, model: Any, epsilon: float = 1e-1, *args: Any, **kwargs: Any) -> None:
        refuse_fixed(type(self).__name__, kwargs, "rule")
        rule = [(is_dense, EpsilonRule(epsilon=epsilon)), (is_kernel, self._conv_rule)]
        if self._input_layer_rule is not None:
            kwargs.setdefault("input_layer_rule", self._input_layer_rule)
        super().__init__(model, *args, rule=rule, **kwargs)


class LRPSequentialPresetB(LRPSequentialPresetA):
    """Dense layers: epsilon (``epsilon=0.1``); other kernel layers: alpha2beta1."""

    _conv_rule = "Alpha2Beta1"


class LRPSequentialPresetAFlat(LRPSequentialPresetA):
    """Preset A with the flat rule at the input layer."""

    _input_layer_rule = "Flat"


class LRPSequentialPresetBFlat(LRPSequentialPresetB):
    """Preset B with the flat rule at the input layer."""

    _input_layer_rule = "Flat"


class LRPSequentialPresetBFlatUntilIdx(LRPSequentialPresetBFlat):
    """Preset B-flat, plus the flat rule for every kernel layer at ``model.layers[0..until_layer_idx]``.

    Args:
        model: a Keras model.
        epsilon: the epsilon of the Dense layers' rule.
        until_layer_idx: a position in ``model.layers`` (inclusive bound), counted as iNNvestigate
            counts it: a functional model's ``model.layers[0]`` is its ``InputLayer`` (so its
            first Dense/Conv layer is 1), a Sequential model's ``model.layers`` has none (its
            first layer is 0); layers without weights count; every layer inside a nested model
            gets the nested model's position. Must be an int from 0 to ``len(model.layers) - 1``
            (else :class:`~innv_core.errors.InvalidParameterError` at creation); ``None`` (the
            default, as in iNNvestigate) adds nothing to preset B-flat. See
            :mod:`innv_plugins.lrp.rule_map`.

    Like iNNvestigate's class it derives from preset B-flat, so the kernel layers reading the
    input get the flat rule whatever the index.
    """

    def __init__(
        self, model: Any, epsilon: float = 1e-1, *args: Any, until_layer_idx: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("until_layer_rule", "Flat")
        super().__init__(model, epsilon, *args, until_layer_idx=until_layer_idx, **kwargs)
