"""Plugin: products (``einsum``, ``matmul``, ``multiply``, ``dot``, ``tensordot``).

A product of a signal with weights or constants is linear: its true gradient is the z-rule.
A product of two or more signals (``q @ k.T``, ``A @ v``, a gated MLP's ``gate * up``) gets
AttnLRP's uniform rule (Achtibat et al. 2024, eq. 7; LXT's ``divide_gradient``): each signal
operand receives ``1/k`` of the relevance, i.e. ``1/k`` of its true gradient (the rule the
analysis' convention gives, ``context.convention.product``). Under CP-LRP, an
operand that is an activation's output (the gate of a gated MLP) is held instead, as LXT's
``cp_gated_mlp_forward`` does, and the other operands share the relevance.
"""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl
from innv_core.modified_gradient import divide_gradient
from innv_core.opening import rule_scope

PRODUCTS = ("einsum", "matmul", "multiply", "dot", "tensordot")
#: Graph ops that keep a value (up to rounding): an activation's output cast or renamed is still
#: a gate. keras-hub's Llama-type decoders run the gate's activation in float32 and cast it back
#: to the compute dtype (float64, bfloat16, float16): without this, CP-LRP shared their gated
#: product between gate and up branch instead of holding the gate (0.3 from LXT in float64).
_VALUE_KEEPING = frozenset({"Cast", "Identity"})


def is_gate(context: Any, value: Any) -> bool:
    """``value`` is an activation's output, possibly behind casts or identities."""
    while not context.is_activated(value):
        try:
            op = value.op
        except AttributeError:  # eager tensors, Python numbers
            return False
        if op.type not in _VALUE_KEEPING:
            return False
        value = op.inputs[0]
    return True


def uniform_product_handler(original: Any, context: Any) -> Any:
    """``original(*operands)``; with two or more signal operands the convention's product rule
    chooses the operands (some held) and ``k``, the number sharing the relevance (the gradient
    is divided by ``k``)."""

    def product(*args: Any, **kwargs: Any) -> Any:
        with rule_scope():
            signals = [context.is_signal(a) for a in args]
            k = 1.0
            if sum(signals) >= 2:
                activated = [s and is_gate(context, a) for a, s in zip(args, signals)]
                args, k = context.convention.product(tuple(args), signals, activated)
            out = original(*args, **kwargs)
            return divide_gradient(out, float(k)) if k != 1 else out

    product.__name__ = getattr(original, "__name__", "product")
    return product


@hookimpl
def innv_register_ops(registry):
    for name in PRODUCTS:
        registry.add_op(name, uniform_product_handler)
