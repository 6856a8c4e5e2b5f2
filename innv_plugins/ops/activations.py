"""Plugin: elementwise activations in ``keras.ops`` get the identity rule.

``R_x = R_y`` (AttnLRP's identity rule, eq. 9; LXT's ``identity_rule_implicit``; Zennit's
``Pass``): the gradient ``f'(x)`` is replaced by ``f(x) / x``.
"""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl
from innv_core.modified_gradient import identity_rule
from innv_core.opening import rule_scope

ACTIVATIONS = (
    "relu", "relu6", "gelu", "silu", "swish", "tanh", "sigmoid", "elu", "selu", "softplus",
    "softsign", "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish", "mish", "celu",
    "log_sigmoid", "sparse_plus", "squareplus", "tanh_shrink", "hard_tanh", "soft_shrink",
)


def identity_rule_handler(original: Any, context: Any) -> Any:
    """``original(x, ...)`` with the identity rule."""

    def activation(x: Any, *args: Any, **kwargs: Any) -> Any:
        with rule_scope():
            return context.mark_activated(identity_rule(lambda t: original(t, *args, **kwargs), x))

    activation.__name__ = getattr(original, "__name__", "activation")
    return activation


@hookimpl
def innv_register_ops(registry):
    for name in ACTIVATIONS:
        registry.add_op(name, identity_rule_handler)
