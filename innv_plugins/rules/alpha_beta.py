"""The alpha-beta rule: positive and negative contributions weighted separately."""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from innv_core.errors import InvalidParameterError, check_number
from innv_core.hookspecs import hookimpl
from innv_core.rule import KernelCall, Rule, Term, divide, negative, positive, stabilizer


class AlphaBetaRule(Rule):
    """``R_i = sum_j (alpha z+_ij / z+_j - beta z-_ij / z-_j) R_j``.

    ``z+`` collects the positive contributions (``w+ x+`` and ``w- x-``, and the positive bias
    part when ``bias``), ``z-`` the negative ones. Requires ``alpha - beta = 1``, ``alpha >= 1``,
    ``beta >= 0`` (then relevance is conserved up to the bias).

    ``epsilon`` > 0 stabilizes both denominators (``z+ + epsilon``, ``z- - epsilon``, Zennit's
    ``stabilizer``, 1e-6 in its composites): on deep networks a denominator of 1e-30 would
    otherwise overflow float32. 0 (the default, as iNNvestigate) divides safely (0 where the
    denominator is 0).

    Raises:
        InvalidParameterError: ``alpha`` or ``beta`` missing, not finite, or violating the above;
            ``epsilon`` not a finite number >= 0.
    """

    def __init__(
        self, alpha: float = None, beta: float = None, bias: bool = True, epsilon: float = 0.0
    ) -> None:
        if alpha is None or beta is None:
            raise InvalidParameterError(
                "AlphaBetaRule needs alpha and beta (e.g. alpha=2, beta=1); "
                f"got alpha={alpha!r}, beta={beta!r}."
            )
        given = alpha, beta
        try:
            alpha, beta = float(alpha), float(beta)
        except (TypeError, ValueError):
            alpha = beta = math.nan
        if not (math.isfinite(alpha) and math.isfinite(beta)) or (
            abs(alpha - beta - 1.0) > 1e-12 or alpha < 1.0 or beta < 0.0
        ):
            raise InvalidParameterError(
                "AlphaBetaRule needs alpha - beta = 1, alpha >= 1 and beta >= 0 (finite numbers); "
                f"got alpha={given[0]!r}, beta={given[1]!r}."
            )
        self.alpha, self.beta, self.bias = alpha, beta, bool(bias)
        self.epsilon = check_number("epsilon", epsilon, minimum=0.0, fix="Zennit's stabilizer is 1e-6.")

    def _part(self, call: KernelCall, R: Any, sign_fn: Any, other_fn: Any) -> Any:
        """Relevance of the contributions of one sign (``sign_fn`` = positive or negative)."""
        bias = sign_fn if self.bias else None
        terms = [Term(call.x_positive, call.map_kernels(sign_fn, bias=bias))]
        if call.x_negative is not None:  # None when x >= 0: the term vanishes
            terms.append(Term(call.x_negative, call.map_kernels(other_fn)))
        return call.propagate(R, terms, stabilizer(self.epsilon))

    def _apply_nonnegative(self, call: KernelCall, R: Any) -> Any:
        """``x >= 0``: one forward ``z+ = x W+ (+ b+)``; ``z- = z - z+`` from the stored ``z``
        (minus the bias where it is ignored); one transposed map per weight sign."""
        w_pos = call.map_kernels(positive, bias=positive if self.bias else None)
        w_neg = call.map_kernels(negative)
        z_pos = call.linear(call.x, w_pos)
        z_neg = call.z - z_pos
        if call.has_bias and not self.bias:
            z_neg = z_neg - tf.convert_to_tensor(call.weights()[call.linear.handler.bias])
        s_pos = divide(R, z_pos, stabilizer(self.epsilon))
        s_neg = divide(R, z_neg, stabilizer(self.epsilon))
        g = self.alpha * call.transpose(s_pos, w_pos) - self.beta * call.transpose(s_neg, w_neg)
        return call.x * g

    def apply(self, call: KernelCall, R: Any) -> Any:
        if self.beta and call.x_nonnegative:
            return self._apply_nonnegative(call, R)
        out = self.alpha * self._part(call, R, positive, negative)
        if self.beta:
            out = out - self.beta * self._part(call, R, negative, positive)
        return out


class AlphaBetaIgnoreBiasRule(AlphaBetaRule):
    def __init__(self, alpha: float = None, beta: float = None) -> None:
        super().__init__(alpha, beta, bias=False)


class Alpha2Beta1Rule(AlphaBetaRule):
    def __init__(self) -> None:
        super().__init__(2, 1, bias=True)


class Alpha2Beta1IgnoreBiasRule(AlphaBetaRule):
    def __init__(self) -> None:
        super().__init__(2, 1, bias=False)


class Alpha1Beta0Rule(AlphaBetaRule):
    def __init__(self) -> None:
        super().__init__(1, 0, bias=True)


class Alpha1Beta0IgnoreBiasRule(AlphaBetaRule):
    def __init__(self) -> None:
        super().__init__(1, 0, bias=False)


@hookimpl
def innv_register_rules(registry):
    registry.add_rule("AlphaBeta", AlphaBetaRule)
    registry.add_rule("AlphaBetaIgnoreBias", AlphaBetaIgnoreBiasRule)
    registry.add_rule("Alpha2Beta1", Alpha2Beta1Rule)
    registry.add_rule("Alpha2Beta1IgnoreBias", Alpha2Beta1IgnoreBiasRule)
    registry.add_rule("Alpha1Beta0", Alpha1Beta0Rule)
    registry.add_rule("Alpha1Beta0IgnoreBias", Alpha1Beta0IgnoreBiasRule)
