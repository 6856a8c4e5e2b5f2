"""The w-square rule: relevance split by ``w_ij**2``, independent of the input (no bias)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core.hookspecs import hookimpl
from innv_core.rule import KernelCall, Rule


class WSquareRule(Rule):
    """``R_i = sum_j w_ij**2 / sum_i' w_i'j**2 * R_j`` (DeepTaylor's rule for unbounded inputs)."""

    def apply(self, call: KernelCall, R: Any) -> Any:
        return call.propagate_input_free(R, tf.square)


@hookimpl
def innv_register_rules(registry):
    registry.add_rule("WSquare", WSquareRule)
