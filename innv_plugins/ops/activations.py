"""Plugin: elementwise activations in ``keras.ops`` get the identity rule.

``R_x = R_y`` (AttnLRP's identity rule, eq. 9; LXT's ``identity_rule_implicit``; Zennit's
``Pass``): the gradient ``f'(x)`` is replaced by ``f(x) / x``. An activation's output is marked
as such (a gate, if it is multiplied: CP-LRP holds it), and ``ops.cast`` keeps the mark:
keras-hub's SwiGLU MLPs (Llama, Mistral, Mixtral, Phi-3, Qwen) run their SiLU in float32 and cast
the gate back to the compute dtype, which in a float64 or bfloat16 model is a new tensor.
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


def cast_handler(original: Any, context: Any) -> Any:
    """``original(x, dtype)``, still marked as an activation's output if ``x`` was."""

    def cast(x: Any, *args: Any, **kwargs: Any) -> Any:
        y = original(x, *args, **kwargs)
        return context.mark_activated(y) if context.is_activated(x) else y

    cast.__name__ = getattr(original, "__name__", "cast")
    return cast


@hookimpl
def innv_register_ops(registry):
    for name in ACTIVATIONS:
        registry.add_op(name, identity_rule_handler)
    registry.add_op("cast", cast_handler)
