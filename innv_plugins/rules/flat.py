"""The flat rule: relevance spread uniformly over each output's receptive field (no bias)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core.hookspecs import hookimpl
from innv_core.rule import KernelCall, Rule


class FlatRule(Rule):
    """``R_i = sum_j 1 / n_j * R_j`` with ``n_j`` the number of inputs of output ``j``."""

    def apply(self, call: KernelCall, R: Any) -> Any:
        return call.propagate_input_free(R, tf.ones_like)


@hookimpl
def innv_register_rules(registry):
    registry.add_rule("Flat", FlatRule)
