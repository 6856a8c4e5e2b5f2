"""The z+ rule: only positive contributions, bias ignored (= alpha1beta0 ignoring the bias)."""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl
from innv_core.rule import KernelCall, Term, positive
from innv_plugins.rules.alpha_beta import AlphaBetaRule


class ZPlusRule(AlphaBetaRule):
    """``R_i = sum_j z+_ij / z+_j R_j`` without bias (equals Alpha1Beta0IgnoreBias)."""

    def __init__(self) -> None:
        super().__init__(1, 0, bias=False)


class ZPlusFastRule(ZPlusRule):
    """z+ for non-negative inputs (e.g. after a ReLU): one pass with ``w+`` only."""

    def apply(self, call: KernelCall, R: Any) -> Any:
        return call.propagate(R, [Term(call.x, call.map_kernels(positive))])


@hookimpl
def innv_register_rules(registry):
    registry.add_rule("ZPlus", ZPlusRule)
    registry.add_rule("ZPlusFast", ZPlusFastRule)
