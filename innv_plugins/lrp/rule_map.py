"""Which rule each kernel node gets: from a name, a class, a list, or (condition, rule) pairs.

**Layer indices.** A user-given layer index (``until_layer_idx``) is, as in iNNvestigate, a
position in ``model.layers`` of the analyzed (top-level) model:

* a **functional** model's ``model.layers`` contains its ``InputLayer`` layers: with one input that
  is ``model.layers[0]`` and the first Dense/Conv layer is 1 (with several inputs Keras lists each
  ``InputLayer`` where its branch is first visited, in Keras 2 and 3 alike);
* a **Sequential** model's ``model.layers`` has no ``InputLayer``: its first layer is 0;
* layers without weights (pooling, ``Flatten``, ``Activation``, ``Dropout``, ...) count;
* a **shared** layer has one position, which all its calls get;
* every layer inside a **nested** model gets the position of the nested model in the top-level
  ``model.layers`` (innv's choice: iNNvestigate 2.1.2 applies no LRP rule to layers inside
  nested models at all).

The bound is inclusive: ``until_layer_idx=k`` covers the positions ``0..k``. Valid values are
``0 .. len(model.layers) - 1``; anything else raises :class:`~innv_core.errors.InvalidParameterError`
when the analyzer is created. :func:`layer_positions` gives the position of every layer.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

from innv_core import keras_adapter as ka
from innv_core import layers as kinds
from innv_core.errors import AnalysisWarning, invalid_parameter
from innv_core.graph import ExecutionGraph, Node
from innv_core.registry import get_registry
from innv_core.rule import Rule
from innv_plugins.lrp.input_layers import input_path, map_bounds
from innv_plugins.rules.bounded import BoundedRule
from innv_plugins.rules.z import ZRule


def make_rule(spec: Any) -> Rule:
    """A rule instance from a registered name, a rule class, an instance, or ``(low, high)``."""
    if isinstance(spec, Rule):
        return spec
    if isinstance(spec, str):
        return get_registry().get("rules", spec)()
    if isinstance(spec, type) and issubclass(spec, Rule):
        return spec()
    if isinstance(spec, tuple) and len(spec) == 2 and not callable(spec[0]):
        return BoundedRule(low=spec[0], high=spec[1])
    raise TypeError(
        f"Cannot make an LRP rule from {spec!r}: give a registered rule name (see `innv list`), "
        "a Rule subclass or instance, or a (low, high) tuple for the bounded rule."
    )


def is_condition_list(rule: Any) -> bool:
    return (
        isinstance(rule, list | tuple) and len(rule) > 0
        and all(isinstance(r, list | tuple) and len(r) == 2 and callable(r[0]) for r in rule)
    )


def layer_positions(model: Any) -> dict[int, int]:
    """``id(layer)`` -> the layer's index as ``until_layer_idx`` counts it (see the module doc).

    Covers the layers of ``model.layers`` and, with their container's position, every layer of a
    nested model (at any depth). A layer that is both in ``model.layers`` and inside a nested model
    keeps its own position; one inside several nested models gets the first of their positions.
    """
    top = list(model.layers)
    out: dict[int, int] = {}
    for position, layer in enumerate(top):
        out.setdefault(id(layer), position)
    for position, layer in enumerate(top):
        if ka.is_nested_model(layer):
            for inner in _layers_within(layer):
                out.setdefault(id(inner), position)
    return out


def _layers_within(model: Any) -> list[Any]:
    """Every layer of ``model``, at any nesting depth."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if ka.is_nested_model(layer):
            out.extend(_layers_within(layer))
    return out


def check_layer_index(name: str, value: Any, model: Any) -> int:
    """``value`` as an int if it is a position in ``model.layers``, else a named error."""
    layers = list(model.layers)
    n = len(layers)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < n:
        shown = [f"{i} {layer.name!r}" for i, layer in enumerate(layers)]
        if n > 8:
            shown = [*shown[:4], "...", *shown[-2:]]
        raise invalid_parameter(
            name, value,
            f"an integer from 0 to {n - 1} (a position in model.layers: {', '.join(shown)})",
            "A functional model's layer 0 is its InputLayer; a Sequential model's is its first "
            "layer. Layers without weights count too.",
        )
    return int(value)


def assign_rules(
    graph: ExecutionGraph,
    rule: Any,
    input_layer_rule: Any = None,
    until_layer_idx: int | None = None,
    until_layer_rule: Any = None,
    bn_layer_rule: Any = None,
) -> dict[int, Rule]:
    """Node id -> rule for every kernel node, and for BatchNorm nodes when ``bn_layer_rule`` is set.

    BatchNorm nodes without a rule pass relevance unchanged (innv's default, see
    :func:`bn_rule`). Precedence for kernel nodes: ``input_layer_rule`` for kernel layers reading
    a model input (through preprocessing, see :mod:`innv_plugins.lrp.input_layers`), then
    ``until_layer_rule`` for kernel layers at the positions ``0..until_layer_idx`` of
    ``graph.model.layers`` (iNNvestigate's numbering, see the module doc), then ``rule``.

    Raises:
        InvalidParameterError: ``until_layer_idx`` is not None and not a position in
            ``graph.model.layers``.
    """
    if until_layer_idx is not None:
        until_layer_idx = check_layer_index("until_layer_idx", until_layer_idx, graph.model)
    positions = layer_positions(graph.model)
    kernel_nodes = graph.kernel_nodes()
    base = _base_rules(kernel_nodes, rule)
    out: dict[int, Rule] = {}
    reads_input = False
    for node in kernel_nodes:
        chosen = base[node.nid]
        position = positions.get(id(node.layer))
        if (until_layer_rule is not None and until_layer_idx is not None and position is not None
                and position <= until_layer_idx):
            chosen = make_rule(until_layer_rule)
        path = input_path(node, graph) if input_layer_rule is not None else None
        if path is not None:
            reads_input = True
            chosen = input_rule(input_layer_rule, node, path) or chosen
        out[node.nid] = chosen
    if input_layer_rule is not None and not reads_input:
        warn_unused_input_rule(graph)
    if bn_layer_rule is not None:
        for node in graph.nodes:
            if node.kind == kinds.BATCHNORM:
                out[node.nid] = bn_rule(node, rule, bn_layer_rule)
    return out


def warn_unused_input_rule(graph: ExecutionGraph) -> None:
    """``input_layer_rule`` was given, but no kernel layer of the model's graph reads an input."""
    first = [n.layer.name for n in graph.nodes if set(n.input_ids) & set(graph.input_ids)]
    warnings.warn(
        "input_layer_rule has no layer to apply to: no Dense/Conv layer reads a model input (the "
        f"input goes first to {', '.join(first[:3]) or 'no layer'}; kernel layers inside layers "
        "LRP opens, such as a ViT's patch embedding, get the epsilon rule of inner_epsilon). "
        "The analysis is the same as without it.",
        AnalysisWarning,
        stacklevel=5,
    )


def input_rule(spec: Any, node: Node, path: list[Node]) -> Rule | None:
    """The rule of a kernel layer reading the input through ``path`` (None: no rule for it).

    ``spec`` is a rule, ``(low, high)``, or a list of ``(condition, rule)`` pairs (the first
    whose ``condition(layer)`` holds; None if none does). A bounded rule's ``(low, high)``,
    given for the model input, is mapped to the range of the layer's own input.
    """
    if is_condition_list(spec):
        spec = next((r for condition, r in spec if condition(node.layer)), None)
        if spec is None:
            return None
    made = make_rule(spec)
    if isinstance(made, BoundedRule) and path:
        made = copy.copy(made)
        made.low, made.high = map_bounds(made.low, made.high, path)
    return made


#: ``bn_layer_rule`` value giving BatchNorm the rule iNNvestigate gives it (the model's rule).
AS_INNVESTIGATE = "innvestigate"


def bn_rule(node: Node, rule: Any, bn_layer_rule: Any) -> Rule:
    """The rule of a BatchNorm node for a ``bn_layer_rule`` that is not None.

    ``bn_layer_rule`` is a rule (name, class, instance), or :data:`AS_INNVESTIGATE` for what
    iNNvestigate does when its ``bn_layer_rule`` is None: a single rule applies to BatchNorm too
    (as to the diagonal linear map ``x * scale + shift``); a condition list is searched for
    BatchNorm; a per-kernel-layer list (and a condition list without a match) leaves BatchNorm
    the z-rule. With ``bn_layer_rule=None`` innv gives BatchNorm no rule: LRP folds it into the
    layer before it or passes relevance through it, so a conserving rule conserves on residual
    networks (an alpha-beta rule applied to BatchNorm multiplies the relevance at every BatchNorm
    where its input is positive).
    """
    if not (isinstance(bn_layer_rule, str) and bn_layer_rule == AS_INNVESTIGATE):
        return make_rule(bn_layer_rule)
    if is_condition_list(rule):
        for condition, r in rule:
            if condition(node.layer):
                return make_rule(r)
        return ZRule()
    if isinstance(rule, list):
        return ZRule()
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
