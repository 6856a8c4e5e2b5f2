"""The LRP-epsilon rule: LRP-z with ``z + epsilon * sign(z)`` in the denominator."""

from __future__ import annotations

from typing import Any

from innv_core.errors import check_number
from innv_core.hookspecs import hookimpl
from innv_core.rule import KernelCall, Rule, Term, stabilizer


class EpsilonRule(Rule):
    """``R_i = sum_j x_i w_ij / (z_j + eps sign(z_j)) R_j``, sign(0) = +1; absorbs weak relevance.

    Args:
        epsilon: the stabilizer (iNNvestigate's default 1e-7), a finite number > 0.
        bias: count the bias in ``z``.

    Raises:
        InvalidParameterError: ``epsilon`` is not a finite number > 0.
    """

    def __init__(self, epsilon: float = 1e-7, bias: bool = True) -> None:
        self.epsilon = check_number(
            "epsilon", epsilon, minimum=0.0, strict=True,
            fix="Use a small positive stabilizer such as 1e-7 (iNNvestigate's default) or 0.1.",
        )
        self.bias = bool(bias)

    def apply(self, call: KernelCall, R: Any) -> Any:
        stabilize = stabilizer(self.epsilon)
        if self.bias or not call.has_bias:
            return call.propagate_own(R, stabilize)
        return call.propagate(R, [Term(call.x, call.without_bias())], stabilize)


class EpsilonIgnoreBiasRule(EpsilonRule):
    """:class:`EpsilonRule` without the bias."""

    def __init__(self, epsilon: float = 1e-7) -> None:
        super().__init__(epsilon=epsilon, bias=False)


@hookimpl
def innv_register_rules(registry):
    registry.add_rule("Epsilon", EpsilonRule)
    registry.add_rule("EpsilonIgnoreBias", EpsilonIgnoreBiasRule)
