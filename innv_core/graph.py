"""Graph tracing: a Keras 3 model flattened to the calls of its layers, in execution order.

Each :class:`Node` is one *call* of a layer (a shared layer appears once per call); tensors are
integer ids. Nested Functional/Sequential models are opened up; multi-input and multi-output
models are kept as they are. Also here: the model checks (softmax at the output, Lambda layers,
layers no plugin knows), ``model_wo_softmax``, ``copy_layer`` and ``get_model_execution_graph``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
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

    def arguments(self, values: dict[int, Any]) -> tuple[tuple, dict]:
        """The recorded call's ``(args, kwargs)`` with the tensors in ``values`` (tensor id -> tensor)."""
        return ka.fill_in(self._keras_node, {kt: values[tid] for kt, tid in self._kt_to_tid.items()})

    def run(self, values: dict[int, Any]) -> list[Any]:
        """Replay the call with the tensors in ``values`` (tensor id -> tensor)."""
        args, kwargs = self.arguments(values)
        return list(keras.tree.flatten(ka.call_layer(self.layer, args, kwargs)))

    @property
    def output_specs(self) -> list[tuple[tuple, Any]]:
        """``(shape, dtype)`` of each output as Keras traced it (batch axis first, None where unknown)."""
        return [(tuple(kt.shape), kt.dtype) for kt in ka.node_output_tensors(self._keras_node)]

    @property
    def handler(self) -> Any:
        """The registered :class:`~innv_core.layers.LayerHandler` of this call of the layer, or
        None (the layer's handler, or what its ``for_call`` makes of the call's options)."""
        handler = get_registry().layer_handler(type(self.layer))
        if handler is None or handler.for_call is None:
            return handler
        return handler.for_call(self.layer, ka.call_kwargs(self._keras_node)) or handler

    @property
    def activation(self) -> Any | None:
        """The elementwise function a kernel layer applies after its linear part, or None."""
        from innv_core.linear_part import activation_of

        return activation_of(self.layer, self.handler)

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
    #: ``prepare(inputs) -> inputs`` before a replay (the token cut attaches Keras masks there).
    prepare: Callable[[Sequence[Any]], list[Any]] | None = None
    _producer: dict[int, Node] = attrs.field(factory=dict, init=False, repr=False)

    def prepare_inputs(self, inputs: Sequence[Any]) -> list[Any]:
        return list(inputs) if self.prepare is None else self.prepare(inputs)

    def run(self, inputs: Sequence[Any]) -> list[Any]:
        """Replay the graph on ``inputs`` (one per input id); returns the output tensors."""
        values = dict(zip(self.input_ids, self.prepare_inputs(inputs), strict=True))
        for node in self.nodes:
            values.update(zip(node.output_ids, node.run(values), strict=True))
        return [values[t] for t in self.output_ids]

    def consumers(self) -> dict[int, list[Node]]:
        """Tensor id -> the nodes reading it."""
        out: dict[int, list[Node]] = {}
        for node in self.nodes:
            for tid in node.input_ids:
                out.setdefault(tid, []).append(node)
        return out

    def producer(self) -> Mapping[int, Node]:
        """Tensor id -> the node writing it (read-only; built once, the graph is immutable)."""
        if not self._producer:
            self._producer.update({tid: node for node in self.nodes for tid in node.output_ids})
        return MappingProxyType(self._producer)

    def kernel_nodes(self) -> list[Node]:
        """Nodes of kernel layers (Dense, Conv, ...) in execution order."""
        return [n for n in self.nodes if n.kind == kinds.KERNEL]

    def token_limits(self) -> dict[int, int]:
        """Model input position -> the smallest ``input_dim`` of the Embeddings reading it."""
        position = {tid: i for i, tid in enumerate(self.input_ids)}
        limits: dict[int, int] = {}
        for node in self.nodes:
            size = getattr(node.layer, "input_dim", None) or getattr(node.layer, "vocabulary_size", None)
            if node.kind != kinds.EMBEDDING or not isinstance(size, int):
                continue
            for tid in node.input_ids:
                if tid in position:
                    limits[position[tid]] = min(size, limits.get(position[tid], size))
        return limits

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
#: Layers that are the identity at inference: a softmax behind them still ends the model.
_INFERENCE_IDENTITY = (
    keras.layers.Dropout, keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D, keras.layers.GaussianNoise, keras.layers.GaussianDropout,
    keras.layers.AlphaDropout, keras.layers.ActivityRegularization, keras.layers.Identity,
)


def has_softmax(layer: Any) -> bool:
    """True if the layer (or op) is a softmax or ends in a softmax activation.

    Covers ``keras.layers.Softmax``, ``Activation("softmax")``, ``Dense(activation="softmax")``
    (any layer with a softmax ``activation``) and ``keras.ops.softmax`` used in a functional model.
    """
    if isinstance(layer, keras.layers.Softmax):
        return True
    if type(layer).__name__ in ("Softmax", "LogSoftmax") and type(layer).__module__.startswith("keras"):
        return True
    activation = getattr(layer, "activation", None)
    return activation is not None and getattr(activation, "__name__", "") in ("softmax", "log_softmax")


def softmax_layer_of(graph: ExecutionGraph, tid: int) -> Any | None:
    """The softmax layer that ends the path to tensor ``tid`` (through inference-identity layers)."""
    producer = graph.producer()
    node = producer.get(tid)
    while node is not None:
        if has_softmax(node.layer):
            return node.layer
        if not isinstance(node.layer, _INFERENCE_IDENTITY) or len(node.input_ids) != 1:
            return None
        node = producer.get(node.input_ids[0])
    return None


def check_model(
    graph: ExecutionGraph,
    *,
    allow_lambda_layers: bool = False,
    require_known_layers: bool = False,
    analyzer_name: str = "this analyzer",
    output_index: int | None = None,
    openable: Callable[[Any], bool] | None = None,
) -> None:
    """Refuse models the analyzer cannot explain, naming the layers and the remedy.

    ``openable(layer)``: layers without a handler that the analyzer opens instead (LRP).

    Only the explained output (``output_index``; all outputs if None) must not end in a softmax.
    Unknown layers are listed all at once (class, count, first names).
    """
    out_ids = graph.output_ids if output_index is None else graph.output_ids[output_index:output_index + 1]
    for tid in out_ids:
        layer = softmax_layer_of(graph, tid)
        if layer is not None:
            raise NotAnalyzableModelError(
                f"The explained model output comes from a softmax (layer {layer.name!r}). "
                "Explanations of probabilities are hard to read, so the softmax must go: use "
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
    if require_known_layers:
        unknown = unknown_layers(graph, openable)
        if unknown:
            raise NotAnalyzableModelError(
                f"{analyzer_name} does not know how to propagate relevance through "
                f"{describe_unknown(unknown)}. "
                "Teach innv each class through the `innv_register_layers` hook (see "
                "innv_core.layers.LayerHandler), or pass `disable_model_checks=True` to treat them "
                "by their gradient (relevance is then not conserved)."
            )


def few(names: list[str], n: int = 3) -> str:
    """The first ``n`` names, comma-separated, with an ellipsis if there are more."""
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


def describe_unknown(unknown: dict[str, list[str]]) -> str:
    """``N layer(s) of K class(es): Cls xN (first names); ...`` for :func:`unknown_layers`' result."""
    listing = "; ".join(f"{cls} x{len(names)} ({few(names)})" for cls, names in unknown.items())
    return f"{sum(map(len, unknown.values()))} layer(s) of {len(unknown)} class(es): {listing}"


def unknown_layers(
    graph: ExecutionGraph, openable: Callable[[Any], bool] | None = None
) -> dict[str, list[str]]:
    """Qualified class name -> names of the layers no plugin registered a handler for (and
    that ``openable`` does not accept)."""
    out: dict[str, list[str]] = {}
    for node in graph.nodes:
        if node.handler is None and not (openable is not None and openable(node.layer)):
            cls = type(node.layer)
            names = out.setdefault(f"{cls.__module__}.{cls.__qualname__}", [])
            if node.layer.name not in names:
                names.append(node.layer.name)
    return out


def nonlinearities(graph: ExecutionGraph) -> dict[str, list[str]]:
    """Activation name -> the layers applying it (activation layers and ``activation=`` of others).

    A ``ReLU`` layer with a slope, threshold or ceiling counts as ``"relu_variant"``; linear
    activations are left out.
    """
    out: dict[str, list[str]] = {}
    for node in graph.nodes:
        layer = node.layer
        if isinstance(layer, keras.layers.ReLU):
            plain = not layer.negative_slope and not layer.threshold and layer.max_value is None
            name = "relu" if plain else "relu_variant"
        elif (activation := node.activation or getattr(layer, "activation", None)) is not None:
            name = getattr(activation, "__name__", str(activation))  # "linear" is left out below
        elif node.kind == kinds.ACTIVATION:
            name = type(layer).__name__.lower()
        else:
            continue
        if name != "linear":
            out.setdefault(name, []).append(layer.name)
    return out


def require_relu_network(graph: ExecutionGraph, analyzer_name: str) -> None:
    """Refuse a model with non-linearities other than ReLU (for methods defined on ReLU nets)."""
    others = {k: v for k, v in nonlinearities(graph).items() if k != "relu"}
    for node in graph.nodes:  # attention, recurrent and subclassed layers: not ReLU networks
        if node.kind in (kinds.COMPOSITE, kinds.RECURRENT) or (
            node.handler is None and not ka.is_keras_layer(node.layer)
        ):
            others.setdefault(type(node.layer).__name__, []).append(node.layer.name)
    if others:
        listing = "; ".join(f"{k} ({few(v)})" for k, v in others.items())
        raise NotAnalyzableModelError(
            f"{analyzer_name} is defined for ReLU networks only, and this model also uses: "
            f"{listing}. Use an LRP analyzer (e.g. 'lrp.epsilon' or 'lrp.epsilon_plus'), or pass "
            f"`disable_model_checks=True` to apply it anyway (the result is then not what "
            f"{analyzer_name} is defined to compute)."
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
    """A copy of ``model`` without the softmax that ends any of its outputs.

    Finds the softmax through layers that are the identity at inference (Dropout,
    GaussianNoise, ...) and inside nested models; a ``Softmax`` layer becomes a linear
    ``Activation``, a softmax ``activation=`` becomes linear. Every other layer is shared with
    ``model`` (not rebuilt from its config), so Lambda and custom layers need no deserialization.
    Models without a softmax at an output are returned unchanged.
    """
    graph = trace(model)
    targets = {id(layer): layer for tid in graph.output_ids
               if (layer := softmax_layer_of(graph, tid)) is not None}
    if not targets:
        return model
    return _rebuild_without(model, targets)


def _rebuild_without(model: Any, targets: dict[int, Any]) -> Any:
    """``model`` re-wired with each target layer replaced by its linear version (others shared)."""

    def replace(layer: Any) -> Any:
        if id(layer) in targets:
            return _linear_version(layer)
        if ka.is_nested_model(layer) and any(id(sub) in targets for sub in ka.all_layers(layer)):
            return _rebuild_without(layer, targets)
        return layer

    return keras.models.clone_model(model, clone_function=replace)


@keras.saving.register_keras_serializable(package="innv")
class PassThrough(keras.layers.Layer):
    """Returns its input (accepting the call arguments of the layer it replaces, e.g. ``mask``).

    Stands where a layer was removed (a softmax, a fused BatchNorm); saved and loaded by Keras.
    """

    def call(self, inputs: Any, mask: Any = None) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


def _linear_version(layer: Any) -> Any:
    if not hasattr(layer, "activation") or isinstance(layer, keras.layers.Softmax):
        return PassThrough(name=f"{layer.name}_wo_softmax")
    config = {**layer.get_config(), "activation": "linear", "name": f"{layer.name}_wo_softmax"}
    new = type(layer).from_config(config)
    ka.build_like(new, layer)
    new.set_weights(layer.get_weights())
    return new


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
