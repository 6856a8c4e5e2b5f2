"""The z^B rule (DeepTaylor for inputs bounded to ``[low, high]``)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core.hookspecs import hookimpl
from innv_core.rule import KernelCall, Rule, Term, negative, positive


class BoundedRule(Rule):
    """``R_i = sum_j (x_i w_ij - l_i w+_ij - h_i w-_ij) / z^B_j R_j``, ``z^B_j`` their sum over ``i``.

    Args:
        low: lowest input value (a number or an array broadcastable to the input).
        high: highest input value.
    """

    def __init__(self, low: Any = -1, high: Any = 1) -> None:
        self.low, self.high = low, high

    def apply(self, call: KernelCall, R: Any) -> Any:
        low = tf.ones_like(call.x) * tf.cast(self.low, call.x.dtype)
        high = tf.ones_like(call.x) * tf.cast(self.high, call.x.dtype)
        terms = [
            Term(call.x, call.weights()),
            Term(low, call.map_kernels(positive), sign=-1.0),
            Term(high, call.map_kernels(negative), sign=-1.0),
        ]
        return call.propagate(R, terms)


@hookimpl
def innv_register_rules(registry):
    registry.add_rule("Bounded", BoundedRule)
