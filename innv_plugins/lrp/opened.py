"""LRP through a layer the engine opens (attention, keras-hub blocks, a user's subclassed layer).

The layer is called again with LRP's gradient rules inside (:mod:`innv_core.opening`), and
:func:`innv_core.modified_gradient.relevance_through` turns the relevance at its outputs into
relevance at its inputs. See ``docs/opening-layers.md``.
"""

from __future__ import annotations

from typing import Any

from innv_core.modified_gradient import relevance_through
from innv_core.opening import OpeningContext, open_call
from innv_core.registry import get_registry
from innv_core.reverse import Mapping, NodeTensors, ReverseState
from innv_plugins.lrp.conventions import Convention


def _forward(node: Any, epsilon: float, convention: Convention, strict: bool) -> Any:
    """``forward(Xs)``: the node's outputs, computed opened (gradient rules inside)."""
    registry = get_registry()

    def forward(Xs: list[Any]) -> list[Any]:
        context = OpeningContext(epsilon, convention, [x for x in Xs if x.dtype.is_floating])
        values = dict(zip(node.input_ids, Xs))
        return open_call(node.layer, lambda: node.run(values), context, registry, strict=strict)

    return forward


def opened_mapping(epsilon: float, convention: Convention, strict: bool = True) -> Mapping:
    """The mapping of an opened node: ``epsilon`` for its linear maps, the ``convention`` (how
    relevance crosses softmax and products of signals, asked by the op rules), and
    (``strict``) refusal of operations no rule covers."""

    def mapping(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
        return relevance_through(_forward(nt.node, epsilon, convention, strict), nt.Xs, Rs, nt.Ys)

    mapping.__name__ = f"opened_{convention.name}"
    return mapping
