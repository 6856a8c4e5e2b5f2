"""Plugin: the two-component (ReLU) pattern types of Kindermans et al. (ICLR 2018).

A ReLU neuron passes a signal only where it fires, so its pattern is estimated from those samples
alone: ``relu.positive`` (the ``a+`` of the paper, and ``relu``, the default of PatternNet in
iNNvestigate) keeps the samples where the neuron's activation is positive, ``relu.negative``
those where it is not.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core.hookspecs import hookimpl
from innv_plugins.pattern_types.linear import LinearPattern


class ReLUPositivePattern(LinearPattern):
    """The linear estimator over the samples where the neuron fires (activation > 0)."""

    selects_samples = True

    def mask(self, activation: Any) -> Any:
        return tf.cast(activation > 0, activation.dtype)


class ReLUNegativePattern(LinearPattern):
    """The linear estimator over the samples where the neuron is silent (activation <= 0)."""

    selects_samples = True

    def mask(self, activation: Any) -> Any:
        return tf.cast(activation <= 0, activation.dtype)


@hookimpl
def innv_register_pattern_types(registry: Any) -> None:
    registry.add_pattern_type("relu", ReLUPositivePattern)
    registry.add_pattern_type("relu.positive", ReLUPositivePattern)
    registry.add_pattern_type("relu.negative", ReLUNegativePattern)
