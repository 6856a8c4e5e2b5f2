"""The LRP-z rule: relevance split in proportion to the contributions ``x_i w_ij`` (+ bias)."""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl
from innv_core.rule import KernelCall, Rule, Term


class ZRule(Rule):
    """``R_i = sum_j x_i w_ij / z_j * R_j`` with the bias in ``z`` (0 where ``z = 0``)."""

    def apply(self, call: KernelCall, R: Any) -> Any:
        return call.propagate_own(R)


class ZIgnoreBiasRule(Rule):
    """As :class:`ZRule` with the bias left out of ``z`` (conserves relevance)."""

    def apply(self, call: KernelCall, R: Any) -> Any:
        if not call.has_bias:
            return call.propagate_own(R)
        return call.propagate(R, [Term(call.x, call.without_bias())])


@hookimpl
def innv_register_rules(registry):
    registry.add_rule("Z", ZRule)
    registry.add_rule("ZIgnoreBias", ZIgnoreBiasRule)
