"""Plugin: divisions (``divide``, ``true_divide`` and ``/``) by a signal hold the denominator.

``a / b`` is linear in ``a``; when ``b`` is computed from the signal too, it is a normalisation
(``p / sum(p)``: a mixture-of-experts router renormalising its top-k weights; ``x / norm(x)``),
and LRP takes the denominator as a constant of the forward pass, as it does for LayerNorm's
standard deviation (Ali et al. 2022; LXT): all of the quotient's relevance goes to the numerator.
"""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl
from innv_core.modified_gradient import hold
from innv_core.opening import rule_scope

DIVISIONS = ("divide", "true_divide")


def held_denominator_handler(original: Any, context: Any) -> Any:
    """``original(a, b)`` with ``b`` held when it is a signal."""

    def divide(a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
        with rule_scope():
            return original(a, hold(b) if context.is_signal(b) else b, *args, **kwargs)

    divide.__name__ = getattr(original, "__name__", "divide")
    return divide


@hookimpl
def innv_register_ops(registry):
    for name in DIVISIONS:
        registry.add_op(name, held_denominator_handler)
