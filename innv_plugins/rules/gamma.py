"""The gamma rule: contributions of the output's own sign favoured by ``gamma`` (Zennit's definition).

Montavon et al. (2019) give ``R_i = sum_j x_i (w_ij + gamma w+_ij) / sum_i' x_i' (w_i'j + gamma w+_i'j) R_j``
for positive inputs. Zennit 1.0 generalizes it to inputs of any sign and to negative outputs,
and innv follows Zennit exactly: where the pre-activation ``z_j > 0`` the contributions that
push ``z_j`` up are favoured,

    ``z+_j = x+ (W + gamma W+) + (b + gamma b+)  +  x- (W + gamma W-)``,

where ``z_j < 0`` those that push it down,

    ``z-_j = x+ (W + gamma W-) + (b + gamma b-)  +  x- (W + gamma W+)``,

and ``R_i`` is each input's share of the chosen denominator (stabilized by ``epsilon`` with the
denominator's sign, as Zennit's ``stabilizer``). ``gamma = 0`` is the z-rule; ``gamma -> inf``
approaches z+ (alpha=1, beta=0). Relevance where ``z_j = 0`` is dropped, as in Zennit.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core.errors import check_number
from innv_core.hookspecs import hookimpl
from innv_core.rule import KernelCall, Rule, Term, negative, positive, stabilizer


class GammaRule(Rule):
    """LRP-gamma as Zennit defines it (signed inputs and outputs, see the module doc).

    Args:
        gamma: how much the contributions of the output's sign are favoured, a number >= 0
            (Zennit's default 0.25).
        epsilon: the denominator's stabilizer (Zennit's ``stabilizer``, 1e-6), a number >= 0.
        bias: count the bias (its favoured part) in the denominator, as Zennit does.

    Raises:
        InvalidParameterError: ``gamma`` or ``epsilon`` not a finite number >= 0.
    """

    def __init__(self, gamma: float = 0.25, epsilon: float = 1e-6, bias: bool = True) -> None:
        self.gamma = check_number("gamma", gamma, minimum=0.0, fix="Zennit's default is gamma=0.25.")
        self.epsilon = check_number("epsilon", epsilon, minimum=0.0, fix="Zennit's default is 1e-6.")
        self.bias = bool(bias)

    def _favour(self, call: KernelCall, clamp: Any, with_bias: bool) -> dict[str, Any]:
        """Weights ``w + gamma * clamp(w)``; the bias alike if ``with_bias`` (else zero)."""
        modify = lambda w: w + self.gamma * clamp(w)  # noqa: E731
        return call.map_kernels(modify, bias=modify if with_bias and self.bias else None)

    def _share(self, call: KernelCall, R: Any, up: Any, down: Any) -> Any:
        x_pos, x_neg = call.x_positive, call.x_negative  # x_neg None (no term) when x >= 0
        terms = [Term(x_pos, self._favour(call, up, True)), Term(x_neg, self._favour(call, down, False))]
        return call.propagate(R, terms, stabilizer(self.epsilon))

    def apply(self, call: KernelCall, R: Any) -> Any:
        rising = tf.cast(call.z > 0, R.dtype)
        falling = tf.cast(call.z < 0, R.dtype)
        return (self._share(call, R * rising, positive, negative)
                + self._share(call, R * falling, negative, positive))


@hookimpl
def innv_register_rules(registry):
    registry.add_rule("Gamma", GammaRule)
