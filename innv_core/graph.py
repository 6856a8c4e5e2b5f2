"""Graph tracing: a Keras 3 model flattened to the calls of its layers, in execution order.

Each :class:`Node` is one *call* of a layer (a shared layer appears once per call); tensors are
integer ids. Nested Functional/Sequential models are opened up; multi-input and multi-output
models are kept as they are. Also here: the model checks (softmax at the output, Lambda layers,
layers no plugin knows), ``model_wo_softmax``, ``copy_layer`` and ``get_model_execution_graph``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import keras

from innv_core import keras_adapter as ka
from innv_core import layers as kinds
from innv_core.errors import NotAnalyzableModelError
from innv_core.registry import get_registry


@attrs.frozen(eq=False)
class Node:
    """One layer call: the layer, the tensor ids it reads and writes, and how to replay it."""

    nid: int
    layer: Any
    input_ids: tuple[int, ...]
    output_ids: tuple[int, ...]
    _keras_node: Any = attrs.field(repr=False)
    _kt_to_tid: dict[int, int] = attrs.field(repr=False)

    def run(self, values: dict[int, Any]) -> list[Any]:
        """Replay the call with the tensors in ``values`` (tensor id -> tensor)."""
        by_kt = {kt: values[tid] for kt, tid in self._kt_to_tid.items()}
        args, kwargs = ka.fill_in(self._keras_node, by_kt)
        return list(keras.tree.flatten(ka.call_layer(self.layer, args, kwargs)))

    @property
    def handler(self) -> Any:
        """The registered :class:`~innv_core.layers.LayerHandler` of this layer, or None."""
        return get_registry().layer_handler(type(self.layer))

    @property
    def kind(self) -> str | None:
        handler = self.handler
        return handler.kind if handler is not None else None


@attrs.frozen(eq=False)
class ExecutionGraph:
    """A traced model: nodes in execution order, input and output tensor ids."""

    model: Any
    nodes: tuple[Node, ...]
    input_ids: tuple[int, ...]
    output_ids: tuple[int, ...]

    def consumers(self) -> dict[int, list[Node]]:
        """Tensor id -> the nodes reading it."""
        out: dict[int, list[Node]] = {}
        for node in self.nodes:
            for tid in node.input_ids:
                out.setdefault(tid, []).append(node)
        return out

    def producer(self) -> dict[int, Node]:
        """Tensor id -> the node writing it."""
        return {tid: node for node in self.nodes for tid in node.output_ids}

    def kernel_nodes(self) -> list[Node]:
        """Nodes of kernel layers (Dense, Conv, ...) in execution order."""
        return [n for n in self.nodes if n.kind == kinds.KERNEL]

    def bottleneck_ids(self) -> set[int]:
        """Tensors every input-to-output path passes through (the only live tensor at that point)."""
        consumers = self.consumers()
        remaining = {tid: len(nodes) for tid, nodes in consumers.items()}
        live = set(self.input_ids)
        found = set()
        for node in self.nodes:
            for tid in node.input_ids:
                remaining[tid] -= 1
                if remaining[tid] == 0 and tid not in self.output_ids:
                    live.discard(tid)
            live.update(node.output_ids)
            if len(live) == 1 and len(node.output_ids) == 1:
                (tid,) = node.output_ids
                if tid not in self.input_ids and tid not in self.output_ids:
                    found.add(tid)
        return found


def trace(model: Any) -> ExecutionGraph:
    """Flatten ``model`` into an :class:`ExecutionGraph` (nested models opened, shared layers per call).

    Raises:
        NotAnalyzableModelError: for a subclassed model or an unbuilt Sequential (no graph).
    """
    functional = ka.functional_of(model)
    if functional is None:
        raise NotAnalyzableModelError(
            f"Model {getattr(model, 'name', model)!r} ({type(model).__name__}) has no functional "
            "graph (a subclassed model, or a Sequential built without an input shape). "
            "Rebuild it with the functional API or `keras.Sequential([keras.Input(shape), ...])`; "
            "gradient-only analyzers ('gradient.baseline', 'integrated_gradients', 'smoothgrad') "
            "work without a graph."
        )
    counter = itertools.count()
    scope = {id(kt): next(counter) for kt in ka.model_inputs(functional)}
    input_ids = tuple(scope[id(kt)] for kt in ka.model_inputs(functional))
    nodes: list[Node] = []
    _flatten(functional, scope, counter, nodes)
    output_ids = tuple(scope[id(kt)] for kt in ka.model_outputs(functional))
    return ExecutionGraph(model, tuple(nodes), input_ids, output_ids)


def _flatten(functional: Any, scope: dict[int, int], counter: Any, nodes: list[Node]) -> None:
    """Append the nodes of ``functional`` to ``nodes``; ``scope`` maps its Keras tensors to ids."""
    for knode in ka.nodes_in_order(functional):
        op = knode.operation
        in_kts = ka.node_input_tensors(knode)
        if ka.is_nested_model(op):
            inner = ka.functional_of(op)
            inner_scope = {
                id(inner_kt): scope[id(outer_kt)]
                for inner_kt, outer_kt in zip(ka.model_inputs(inner), in_kts, strict=True)
            }
            _flatten(inner, inner_scope, counter, nodes)
            for inner_kt, outer_kt in zip(ka.model_outputs(inner), ka.node_output_tensors(knode)):
                scope[id(outer_kt)] = inner_scope[id(inner_kt)]
            continue
        kt_to_tid = {id(kt): scope[id(kt)] for kt in in_kts}
        for kt in ka.node_output_tensors(knode):
            scope[id(kt)] = next(counter)
        nodes.append(
            Node(
                nid=len(nodes),
                layer=op,
                input_ids=tuple(scope[id(kt)] for kt in in_kts),
                output_ids=tuple(scope[id(kt)] for kt in ka.node_output_tensors(knode)),
                keras_node=knode,
                kt_to_tid=kt_to_tid,
            )
        )


# -- model checks ---------------------------------------------------------------------------
def has_softmax(layer: Any) -> bool:
    """True if the layer is a softmax or ends in a softmax activation."""
    if isinstance(layer, keras.layers.Softmax):
        return True
    activation = getattr(layer, "activation", None)
    return activation is not None and getattr(activation, "__name__", "") == "softmax"


def check_model(
    graph: ExecutionGraph,
    *,
    allow_lambda_layers: bool = False,
    require_known_layers: bool = False,
    analyzer_name: str = "this analyzer",
) -> None:
    """Refuse models the analyzer cannot explain, naming the layer and the remedy."""
    producer = graph.producer()
    for tid in graph.output_ids:
        node = producer.get(tid)
        if node is not None and has_softmax(node.layer):
            raise NotAnalyzableModelError(
                f"The model output comes from a softmax (layer {node.layer.name!r}). Explanations "
                "of probabilities are hard to read, so the softmax must go: use "
                "`innv_core.model_wo_softmax(model)`, or pass `disable_model_checks=True`."
            )
    for node in graph.nodes:
        layer = node.layer
        if isinstance(layer, keras.layers.Lambda) and not allow_lambda_layers:
            raise NotAnalyzableModelError(
                f"Layer {layer.name!r} is a Lambda layer, which {analyzer_name} cannot look inside. "
                "Pass `allow_lambda_layers=True` to treat it by its gradient, or replace it with "
                "a proper layer."
            )
        if require_known_layers and node.handler is None:
            raise NotAnalyzableModelError(
                f"Layer {layer.name!r} of class {type(layer).__module__}.{type(layer).__qualname__} "
                f"is unknown to {analyzer_name}: no plugin registered how to reverse it. Register "
                "it through the `innv_register_layers` hook (see innv_core.layers.LayerHandler), "
                "or pass `disable_model_checks=True` to treat it by its gradient."
            )


# -- model surgery --------------------------------------------------------------------------
def copy_layer(
    layer: Any,
    keep_bias: bool = True,
    name_template: str | None = None,
    weights: Sequence[Any] | None = None,
    reuse_symbolic_tensors: bool = True,
    **kwargs: Any,
) -> Any:
    """A copy of ``layer`` built like it, with its weights (or ``weights``) set.

    ``kwargs`` override config entries (e.g. ``activation=None``). ``keep_bias=False`` drops the
    bias. ``reuse_symbolic_tensors`` has no meaning in Keras 3 and is ignored.
    """
    del reuse_symbolic_tensors
    config = layer.get_config()
    config.update(kwargs)
    if name_template is not None:
        config["name"] = name_template % layer.name if "%s" in name_template else name_template
    else:
        config["name"] = f"{layer.name}_copy_{next(_copy_counter)}"
    if not keep_bias and "use_bias" in config:
        config["use_bias"] = False
    new = type(layer).from_config(config)
    ka.build_like(new, layer)
    if weights is None:
        weights = layer.get_weights()
        if not keep_bias and getattr(layer, "use_bias", False):
            weights = [w for w, v in zip(weights, layer.weights) if v is not layer.bias]
    new.set_weights(list(weights))
    return new


_copy_counter = itertools.count()


def model_wo_softmax(model: Any) -> Any:
    """A copy of ``model`` whose output softmax (activation or Softmax layer) is removed.

    Models without a softmax at the output are returned unchanged.
    """
    graph = trace(model)
    producer = graph.producer()
    targets = {id(producer[t].layer) for t in graph.output_ids if t in producer}
    targets = {t for t in targets if any(has_softmax(n.layer) and id(n.layer) == t for n in graph.nodes)}
    if not targets:
        return model

    def strip(layer: Any) -> Any:
        if id(layer) not in targets:
            return layer.__class__.from_config(layer.get_config())
        if isinstance(layer, keras.layers.Softmax):
            return keras.layers.Activation("linear", name=layer.name)
        config = {**layer.get_config(), "activation": "linear"}
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=strip)
    clone.set_weights(model.get_weights())
    return clone


def get_model_execution_graph(model: Any, keep_input_layers: bool = False) -> dict[Any, dict]:
    """iNNvestigate's execution-graph dictionary: node id -> its layer, tensors and neighbours.

    ``Xs``/``Ys`` are tensor ids (Keras 3 has no reusable symbolic tensors); ``Xs_nids`` are the
    producing node ids (``-1 - i`` for model input ``i``, present as nodes when
    ``keep_input_layers``).
    """
    graph = trace(model)
    producer = graph.producer()
    consumers = graph.consumers()
    input_nid = {tid: -1 - i for i, tid in enumerate(graph.input_ids)}

    def nid_of(tid: int) -> int | None:
        return producer[tid].nid if tid in producer else input_nid.get(tid)

    out: dict[Any, dict] = {}
    if keep_input_layers:
        for tid, nid in input_nid.items():
            out[nid] = _entry(nid, None, [], [tid], [], [[c.nid for c in consumers.get(tid, [])]])
    for node in graph.nodes:
        out[node.nid] = _entry(
            node.nid,
            node.layer,
            list(node.input_ids),
            list(node.output_ids),
            [nid_of(t) for t in node.input_ids],
            [[c.nid for c in consumers.get(t, [])] for t in node.output_ids],
        )
    for entry in out.values():
        entry["Xs_layers"] = [out[n]["layer"] if n in out else None for n in entry["Xs_nids"]]
        entry["Ys_layers"] = [[out[n]["layer"] for n in ns] for ns in entry["Ys_nids"]]
    return out


def _entry(nid, layer, xs, ys, xs_nids, ys_nids) -> dict:
    return {"nid": nid, "layer": layer, "Xs": xs, "Ys": ys, "Xs_nids": xs_nids, "Ys_nids": ys_nids}


LayerCondition = Callable[[Any], bool]
