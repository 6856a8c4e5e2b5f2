"""The LRP gamma rule as first written (Montavon et al., 2019): positive weights raised by ``gamma``.

innv's built-in ``Gamma`` rule is Zennit's generalization to signed inputs and outputs; this
example keeps the original form, for layers whose inputs are non-negative.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core import hookimpl
from innv_core.rule import KernelCall, Rule, Term


class PositiveGamma(Rule):
    """``R_i = sum_j x_i (w_ij + gamma w_ij+) / z_j * R_j`` with ``z_j`` the sum over ``i`` of the
    same numerators plus ``b_j + gamma b_j+`` (0 where ``z_j = 0``).

    Meant for layers with non-negative inputs (after ReLUs). ``gamma=0`` is the z-rule; a growing
    ``gamma`` moves towards z+.

    Args:
        gamma: how much the positive weights (and bias) are raised; ``>= 0``.
        bias: keep the (raised) bias in ``z_j``; False leaves it out.
    """

    def __init__(self, gamma: float = 0.25, bias: bool = True) -> None:
        if not gamma >= 0:
            raise ValueError(f"PositiveGamma needs gamma >= 0, got {gamma!r}.")
        self.gamma, self.bias = float(gamma), bool(bias)

    def _raise(self, w: Any) -> Any:
        return w + self.gamma * tf.nn.relu(w)

    def apply(self, call: KernelCall, R: Any) -> Any:
        weights = call.map_kernels(self._raise, bias=self._raise if self.bias else None)
        return call.propagate(R, [Term(call.x, weights)])


@hookimpl
def innv_register_rules(registry):
    registry.add_rule("PositiveGamma", PositiveGamma)
