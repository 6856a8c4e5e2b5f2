"""Which rule each kernel node gets: from a name, a class, a list, or (condition, rule) pairs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from innv_core import layers as kinds
from innv_core.graph import ExecutionGraph, Node
from innv_core.registry import get_registry
from innv_core.rule import Rule


def make_rule(spec: Any) -> Rule:
    """A rule instance from a registered name, a rule class, an instance, or ``(low, high)``."""
    if isinstance(spec, Rule):
        return spec
    if isinstance(spec, str):
        return get_registry().get("rules", spec)()
    if isinstance(spec, type) and issubclass(spec, Rule):
        return spec()
    if isinstance(spec, tuple) and len(spec) == 2 and not callable(spec[0]):
        return get_registry().get("rules", "Bounded")(low=spec[0], high=spec[1])
    raise TypeError(
        f"Cannot make an LRP rule from {spec!r}: give a registered rule name (see `innv list`), "
        "a Rule subclass or instance, or a (low, high) tuple for the bounded rule."
    )


def is_condition_list(rule: Any) -> bool:
    return (
        isinstance(rule, list | tuple) and len(rule) > 0
        and all(isinstance(r, list | tuple) and len(r) == 2 and callable(r[0]) for r in rule)
    )


def is_input_node(node: Node, graph: ExecutionGraph) -> bool:
    """True for a node that reads a model input directly."""
    return any(t in graph.input_ids for t in node.input_ids)


def assign_rules(
    graph: ExecutionGraph,
    rule: Any,
    input_layer_rule: Any = None,
    until_layer_idx: int | None = None,
    until_layer_rule: Any = None,
    bn_layer_rule: Any = None,
) -> dict[int, Rule]:
    """Node id -> rule for every kernel node and every BatchNorm node.

    Precedence: ``input_layer_rule`` for kernel layers reading a model input, then
    ``until_layer_rule`` for kernel layers among the layer calls ``0..until_layer_idx`` (every
    layer call counts, in execution order, input layers excluded: iNNvestigate's numbering), then
    ``rule``.
    """
    kernel_nodes = graph.kernel_nodes()
    base = _base_rules(kernel_nodes, rule)
    out: dict[int, Rule] = {}
    for node in kernel_nodes:
        chosen = base[node.nid]
        if until_layer_rule is not None and until_layer_idx is not None and node.nid <= until_layer_idx:
            chosen = make_rule(until_layer_rule)
        if input_layer_rule is not None and is_input_node(node, graph):
            chosen = make_rule(input_layer_rule)
        out[node.nid] = chosen
    for node in graph.nodes:
        if node.kind == kinds.BATCHNORM:
            out[node.nid] = _bn_rule(node, rule, bn_layer_rule)
    return out


def _bn_rule(node: Node, rule: Any, bn_layer_rule: Any) -> Rule:
    """BatchNorm's rule: ``bn_layer_rule``, else the model's rule as iNNvestigate does.

    A single rule applies to BatchNorm too; a condition list is searched for BatchNorm; a
    per-kernel-layer list (and a condition list without a match) leaves BatchNorm the z-rule.
    """
    if bn_layer_rule is not None:
        return make_rule(bn_layer_rule)
    if is_condition_list(rule):
        for condition, r in rule:
            if condition(node.layer):
                return make_rule(r)
        return make_rule("Z")
    if isinstance(rule, list):
        return make_rule("Z")
    return make_rule(rule)


def _base_rules(kernel_nodes: Sequence[Node], rule: Any) -> dict[int, Rule]:
    if rule is None:
        raise ValueError(
            "LRP needs a rule: LRP(model, rule='Epsilon'), a Rule class, a list of rules (one per "
            "kernel layer) or a list of (condition, rule) pairs; or use a named analyzer such as "
            "'lrp.epsilon'."
        )
    if is_condition_list(rule):
        out = {}
        for node in kernel_nodes:
            for condition, r in rule:
                if condition(node.layer):
                    out[node.nid] = make_rule(r)
                    break
            else:
                raise ValueError(
                    f"No condition of the rule list matches kernel layer {node.layer.name!r}; add a "
                    "catch-all (lambda layer: True, rule) at the end."
                )
        return out
    if isinstance(rule, list):
        if len(rule) != len(kernel_nodes):
            raise ValueError(
                f"A list of rules needs one rule per kernel layer: the model has {len(kernel_nodes)} "
                f"({', '.join(n.layer.name for n in kernel_nodes)}), the list has {len(rule)}."
            )
        return {node.nid: make_rule(r) for node, r in zip(kernel_nodes, rule)}
    made = make_rule(rule)
    return {node.nid: made for node in kernel_nodes}
