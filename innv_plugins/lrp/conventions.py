"""Plugin: LRP's attention conventions (AttnLRP, CP-LRP) as values, and the inner epsilon.

A :class:`Convention` says how relevance crosses the non-linear parts of attention inside the
layers LRP opens: the softmax, the fused attention op (``keras.ops.dot_product_attention``) and
products of two or more signals (``q @ k.T``, ``A @ v``, a gated MLP's ``gate * up``). The op
rules of :mod:`innv_plugins.ops` ask the convention of the running analysis
(``context.convention``); the core carries it without looking at it. A third party's convention
is a value plus a registration::

    @hookimpl
    def innv_register_conventions(registry):
        registry.add_convention("mine", Convention("mine", "...", softmax=..., attention=..., product=...))

and then ``LRP(model, rule=..., attention="mine")``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from innv_core.errors import InvalidParameterError
from innv_core.hookspecs import hookimpl
from innv_core.modified_gradient import TINY_EPSILON, divide_gradient, hold

#: ``softmax(x) -> x``: the softmax's input as the softmax reads it.
SoftmaxRule = Callable[[Any], Any]
#: ``attention(query, key, value) -> (query, key, value)``: the fused attention op's operands.
AttentionRule = Callable[[Any, Any, Any], tuple[Any, Any, Any]]
#: ``product(operands, signals, activated) -> (operands, k)``: a product of two or more signals.
ProductRule = Callable[[tuple[Any, ...], Sequence[bool], Sequence[bool]], tuple[tuple[Any, ...], float]]


@attrs.frozen
class Convention:
    """How relevance crosses softmax, fused attention and products of signals in opened layers.

    Attributes:
        name: a short name for messages (the registered name is what ``attention=`` takes).
        description: one line: what the convention does.
        softmax: ``softmax(x) -> x``: what the softmax reads in place of its input ``x``
            (``x`` itself keeps its true gradient; :func:`~innv_core.modified_gradient.hold`
            lets no relevance through it).
        attention: ``attention(query, key, value) -> (query, key, value)``: the operands the
            fused ``dot_product_attention`` reads (held, or with their gradient divided).
        product: ``product(operands, signals, activated) -> (operands, k)`` for a product with
            two or more signal operands; ``operands`` are the op's positional arguments (an
            einsum's equation included), ``signals[i]``: operand ``i`` is computed from the
            layer's inputs, ``activated[i]``: it is also an activation's output (a gate). Returns
            the operands the product reads and the number ``k`` of operands that share its
            relevance (the product's gradient is divided by ``k``; 1 keeps it).
    """

    name: str
    description: str
    softmax: SoftmaxRule
    attention: AttentionRule
    product: ProductRule


def keep(x: Any) -> Any:
    """The softmax by its true gradient."""
    return x


def attnlrp_attention(query: Any, key: Any, value: Any) -> tuple[Any, Any, Any]:
    """AttnLRP on the fused op: softmax by its gradient, uniform rule on its two products, so
    query and key receive 1/4 and the value 1/2 of their true gradient (LXT 2.1)."""
    return divide_gradient(query, 4.0), divide_gradient(key, 4.0), divide_gradient(value, 2.0)


def uniform_product(operands: tuple[Any, ...], signals: Sequence[bool],
                    activated: Sequence[bool]) -> tuple[tuple[Any, ...], float]:
    """AttnLRP's uniform rule (Achtibat et al. 2024, eq. 7): ``k`` signals share equally."""
    return operands, float(sum(signals))


def cp_attention(query: Any, key: Any, value: Any) -> tuple[Any, Any, Any]:
    """CP-LRP on the fused op: query and key held, relevance reaches the values only."""
    return hold(query), hold(key), value


def cp_product(operands: tuple[Any, ...], signals: Sequence[bool],
               activated: Sequence[bool]) -> tuple[tuple[Any, ...], float]:
    """CP-LRP: an activated gate is held (LXT's ``cp_gated_mlp_forward``) when other signals
    remain; the remaining signals share the relevance uniformly."""
    gates = [s and a for s, a in zip(signals, activated)]
    if 0 < sum(gates) < sum(signals):
        operands = tuple(hold(o) if g else o for o, g in zip(operands, gates))
        signals = [s and not g for s, g in zip(signals, gates)]
    return operands, float(sum(signals))


#: AttnLRP (Achtibat et al. 2024, as LXT 2.1 computes it).
ATTNLRP = Convention(
    "attnlrp",
    "AttnLRP: softmax by its gradient, the uniform rule for products of signals",
    softmax=keep, attention=attnlrp_attention, product=uniform_product,
)
#: CP-LRP (Ali et al. 2022, LXT's ``cp`` patches).
CP = Convention(
    "cp",
    "CP-LRP: query and key (the softmax's input) held, an activated gate held in a gated product",
    softmax=hold, attention=cp_attention, product=cp_product,
)


def convention_of(attention: Any) -> Convention:
    """The convention for ``attention=``: a :class:`Convention` value, or a registered name.

    Raises:
        InvalidParameterError: an unknown name (the registered ones are named).
    """
    if isinstance(attention, Convention):
        return attention
    from innv_core.registry import get_registry

    registry = get_registry()
    entries = registry.entries("conventions")
    if isinstance(attention, str) and attention in entries:
        return entries[attention].obj
    known = ", ".join(f"{name!r} ({entries[name].obj.description})" for name in sorted(entries))
    raise InvalidParameterError(
        f"attention={attention!r} is not a registered convention; use one of {known or '(none)'}, "
        "or a Convention value (innv_plugins.lrp.conventions; register your own with the hook "
        "innv_register_conventions, registry.add_convention(name, convention))."
    )


def inner_epsilon_of(rule: Any, inner_epsilon: float | None) -> float:
    """``inner_epsilon``, else the epsilon of an epsilon-like ``rule``, else :data:`TINY_EPSILON`."""
    if inner_epsilon is not None:
        value = float(inner_epsilon)
        if not value >= 0:
            raise InvalidParameterError(f"inner_epsilon must be >= 0, got {inner_epsilon!r}.")
        return value
    epsilon = getattr(rule, "epsilon", None)
    return float(epsilon) if isinstance(epsilon, int | float) and epsilon > 0 else TINY_EPSILON


@hookimpl
def innv_register_conventions(registry):
    registry.add_convention("attnlrp", ATTNLRP)
    registry.add_convention("cp", CP)
