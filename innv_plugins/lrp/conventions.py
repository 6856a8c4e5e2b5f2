"""The two LRP options for layers the engine opens or unrolls: attention convention, epsilon."""

from __future__ import annotations

from typing import Any

from innv_core.errors import InvalidParameterError
from innv_core.modified_gradient import TINY_EPSILON

#: ``attention=`` values: AttnLRP (Achtibat et al. 2024) and CP-LRP (Ali et al. 2022).
ATTENTION_CONVENTIONS = ("attnlrp", "cp")


def check_attention(attention: Any) -> str:
    """The attention convention, or an error naming the choices."""
    if attention not in ATTENTION_CONVENTIONS:
        raise InvalidParameterError(
            f"attention={attention!r} is not a convention innv knows; use 'attnlrp' (AttnLRP: "
            "softmax by its gradient, uniform rule for the products) or 'cp' (CP-LRP: query and "
            "key held constant)."
        )
    return attention


def inner_epsilon_of(rule: Any, inner_epsilon: float | None) -> float:
    """``inner_epsilon``, else the epsilon of an epsilon-like ``rule``, else :data:`TINY_EPSILON`."""
    if inner_epsilon is not None:
        value = float(inner_epsilon)
        if not value >= 0:
            raise InvalidParameterError(f"inner_epsilon must be >= 0, got {inner_epsilon!r}.")
        return value
    epsilon = getattr(rule, "epsilon", None)
    return float(epsilon) if isinstance(epsilon, int | float) and epsilon > 0 else TINY_EPSILON
