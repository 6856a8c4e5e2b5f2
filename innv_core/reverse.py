"""The reverse engine: run a traced model forwards, then map relevance backwards node by node.

1. forward: every node's inputs and outputs are kept, and for kernel layers with an activation
   the pre-activation ``z`` too (rules reuse it instead of recomputing);
2. head: the selected outputs become the starting tensors;
3. backward: nodes in reverse order; each node's mapping turns the tensors arriving at its
   outputs into tensors for its inputs; where a tensor feeds several nodes, contributions sum.

A mapping is any callable ``mapping(nt: NodeTensors, Rs: list, state: ReverseState) -> list``
(one tensor, or None, per node input). The default is the gradient (a VJP through the tape that
recorded the forward pass). Everything here runs inside one ``tf.function``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import tensorflow as tf

from innv_core import keras_adapter as ka
from innv_core import layers as kinds
from innv_core.graph import ExecutionGraph, Node, trace
from innv_core.linear_part import LinearPart, linear_part_of
from innv_core.signs import nonnegative_tensors


@attrs.frozen
class ReverseOptions:
    """The debugging options of iNNvestigate's ``reverse_model``, as engine parameters.

    Attributes:
        verbose: print each node as it is reversed (at trace time).
        clip_values: ``False`` or ``(min, max)``: clip every reversed tensor.
        project_bottleneck: ``False``, ``True`` (range ``(-1, 1)``) or ``(a, b)``: rescale the
            reversed tensor at each bottleneck (a tensor all paths pass through) per sample
            so that its absolute maximum maps into the range.
        check_min_max: print min/max of every reversed tensor at each call.
        check_finite: raise ``InvalidArgumentError`` naming the node if a reversed tensor is
            not finite.
        keep_tensors: return every reversed tensor (node id -> tensors).
    """

    verbose: bool = False
    clip_values: Any = False
    project_bottleneck: Any = False
    check_min_max: bool = False
    check_finite: bool = False
    keep_tensors: bool = False

    @property
    def needs_nodes(self) -> bool:
        """True if an option needs the node-by-node pass even when every mapping is the gradient."""
        return bool(
            self.verbose or self.clip_values is not False or self.project_bottleneck is not False
            or self.check_min_max or self.check_finite or self.keep_tensors
        )


@attrs.frozen
class NodeTensors:
    """What a mapping sees of one node: its inputs, outputs and (kernel layers) pre-activations."""

    node: Node
    Xs: list[Any]
    Ys: list[Any]
    Zs: list[Any] | None = None

    @property
    def layer(self) -> Any:
        return self.node.layer


class Tapes:
    """The tape of the whole forward pass plus one small tape per node.

    ``gradient`` answers from the node's own tape when the request stays inside one node (its
    outputs or pre-activations with respect to its inputs): a VJP through a tape that recorded
    the whole model would walk every earlier op again, which makes tracing quadratic in depth.
    Anything else (and ``watch``) goes to the tape of the whole pass.
    """

    def __init__(self, tape: Any) -> None:
        self.tape = tape
        self._node_of: dict[int, tuple[Any, set[int]]] = {}

    def record_node(self, node_tape: Any, targets: Sequence[Any], sources: Sequence[Any]) -> None:
        entry = (node_tape, {id(s) for s in sources})
        for t in targets:
            self._node_of[id(t)] = entry

    def watch(self, tensor: Any) -> None:
        self.tape.watch(tensor)

    def gradient(self, target: Any, sources: Any, output_gradients: Any = None) -> Any:
        targets = target if isinstance(target, list | tuple) else [target]
        wrt = sources if isinstance(sources, list | tuple) else [sources]
        entry = self._node_of.get(id(targets[0]))
        local = (
            entry is not None
            and all(self._node_of.get(id(t)) is entry for t in targets)
            and all(id(s) in entry[1] for s in wrt)
        )
        tape = entry[0] if local else self.tape
        return tape.gradient(target, sources, output_gradients=output_gradients)


@attrs.define
class ReverseState:
    """Engine state shared by the mappings of one reverse pass."""

    graph: ExecutionGraph
    tape: Any
    options: ReverseOptions
    extra: dict[str, Any] = attrs.Factory(dict)
    #: Ids of the tensors known to be >= 0 (:func:`innv_core.signs.nonnegative_tensors`).
    nonnegative: frozenset[int] = frozenset()

    def linear_part(self, node: Node) -> LinearPart:
        """The (cached) linear part of a kernel node's layer."""
        return linear_part_of(node.layer, node.handler)


Mapping = Callable[[NodeTensors, list, ReverseState], Sequence[Any]]


# -- forward ---------------------------------------------------------------------------------
@attrs.frozen
class Forward:
    """Tensors of one forward pass: values by tensor id, and per node its :class:`NodeTensors`."""

    values: dict[int, Any]
    node_tensors: dict[int, NodeTensors]


def forward(graph: ExecutionGraph, inputs: Sequence[Any], state: ReverseState) -> Forward:
    """Run the nodes in order, keeping inputs, outputs and pre-activations of kernel layers."""
    values = dict(zip(graph.input_ids, graph.prepare_inputs(inputs), strict=True))
    node_tensors = {}
    for node in graph.nodes:
        # Private copies of the inputs, so that a VJP through the tape sees only this node's
        # path from its inputs to its outputs (partial, not total, derivatives).
        masks = [ka.keras_mask(values[t]) for t in node.input_ids]
        Xs = [ka.with_keras_mask(tf.identity(values[t]), m) for t, m in zip(node.input_ids, masks)]
        node_tape = tf.GradientTape(persistent=True, watch_accessed_variables=False)
        with node_tape:
            for x in Xs:
                if x.dtype.is_floating:
                    node_tape.watch(x)
                    state.tape.watch(x)  # also downstream of integer inputs (embeddings)
            Zs = None
            activation = node.activation if node.kind == kinds.KERNEL else None
            if activation is not None:
                Zs = [state.linear_part(node)(Xs[0])]
                Ys = [activation(Zs[0])]
            else:
                Ys = node.run(dict(zip(node.input_ids, Xs)))
        for x, m in zip(Xs, masks):  # the call may drop them; mappings that re-run the node need them
            ka.with_keras_mask(x, m)
        state.tape.record_node(node_tape, Ys + (Zs or []), Xs + (Zs or []))
        values.update(zip(node.output_ids, Ys, strict=True))
        node_tensors[node.nid] = NodeTensors(node, Xs, Ys, Zs)
    return Forward(values, node_tensors)


# -- default mapping -------------------------------------------------------------------------
def gradient_mapping(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
    """Vector-Jacobian product through the recorded forward pass: ``R_x = (dY/dX)^T R``."""
    grads = state.tape.gradient(nt.Ys, nt.Xs, output_gradients=Rs)
    return [_zeros_if_none(g, x) for g, x in zip(grads, nt.Xs)]


def _zeros_if_none(grad: Any, x: Any) -> Any:
    if grad is not None:
        return grad
    return tf.zeros_like(x) if x.dtype.is_floating else None


# -- backward --------------------------------------------------------------------------------
def backward(
    fwd: Forward,
    head: dict[int, Any],
    choose: Callable[[Node], Mapping],
    state: ReverseState,
    stop_at: frozenset[int] = frozenset(),
) -> tuple[list[Any], dict[int, list[Any]]]:
    """Reverse every node; returns the tensors at the model inputs and, if kept, all of them.

    ``head`` maps output tensor ids to their starting tensors; ``stop_at`` holds tensor ids at
    which the mapping stops (nothing flows further back from them).
    """
    graph, options = state.graph, state.options
    incoming: dict[int, list[Any]] = {tid: [r] for tid, r in head.items()}
    bottlenecks = graph.bottleneck_ids() if options.project_bottleneck is not False else set()
    kept: dict[int, list[Any]] = {}
    for node in reversed(graph.nodes):
        if not any(incoming.get(t) for t in node.output_ids):
            continue
        nt = fwd.node_tensors[node.nid]
        Rs = [_sum(incoming.get(t), y) for t, y in zip(node.output_ids, nt.Ys)]
        if any(t in stop_at for t in node.output_ids):
            continue
        mapping = choose(node)
        if options.verbose:
            print(f"[innv reverse] node {node.nid}: {node.layer.name} "
                  f"({type(node.layer).__name__}) with {getattr(mapping, '__name__', mapping)}")
        Rx = list(mapping(nt, Rs, state))
        if len(Rx) != len(node.input_ids):
            raise ValueError(
                f"Mapping {mapping!r} for layer {node.layer.name!r} returned {len(Rx)} tensors "
                f"for {len(node.input_ids)} inputs."
            )
        Rx = [_postprocess(r, tid, node, options, bottlenecks) for r, tid in zip(Rx, node.input_ids)]
        if options.keep_tensors:
            kept[node.nid] = Rx
        for tid, r in zip(node.input_ids, Rx):
            if r is not None:
                incoming.setdefault(tid, []).append(r)
    results = [_sum(incoming.get(t), fwd.values[t]) for t in graph.input_ids]
    return results, kept


def _sum(parts: list[Any] | None, like: Any) -> Any:
    if not parts:
        return tf.zeros_like(like) if like.dtype.is_floating else None
    return parts[0] if len(parts) == 1 else tf.add_n(parts)


def _postprocess(r: Any, tid: int, node: Node, options: ReverseOptions, bottlenecks: set) -> Any:
    if r is None:
        return None
    if options.clip_values is not False:
        low, high = options.clip_values
        r = tf.clip_by_value(r, low, high)
    if tid in bottlenecks:
        r = project(r, (-1.0, 1.0) if options.project_bottleneck is True else options.project_bottleneck)
    if options.check_finite:
        r = tf.debugging.check_numerics(r, f"reversed tensor of layer {node.layer.name!r} (node {node.nid})")
    if options.check_min_max:
        tf.print("[innv reverse] node", node.nid, node.layer.name, "min", tf.reduce_min(r),
                 "max", tf.reduce_max(r))
    return r


def project(x: Any, output_range: tuple[float, float]) -> Any:
    """Scale each sample so that its absolute maximum maps into ``output_range`` (0 stays centred)."""
    axes = list(range(1, len(x.shape)))
    absmax = tf.reduce_max(tf.abs(x), axis=axes, keepdims=True)
    unit = tf.math.divide_no_nan(x, absmax)
    low, high = output_range
    return (unit + 1.0) / 2.0 * (high - low) + low


# -- iNNvestigate's public entry point -------------------------------------------------------
def reverse_model(
    model: Any,
    reverse_mappings: Any,
    default_reverse_mapping: Mapping | None = None,
    head_mapping: Callable[[Any], Any] | None = None,
    stop_mapping_at_tensors: Sequence[int] = (),
    verbose: bool = False,
    return_all_reversed_tensors: bool = False,
    clip_all_reversed_tensors: Any = False,
    project_bottleneck_tensors: Any = False,
    execution_trace: ExecutionGraph | None = None,
    reapply_on_copied_layers: bool = False,
) -> Callable[..., Any]:
    """Build a compiled function that reverses ``model`` with the given mappings.

    Keras 3 adaptation: instead of symbolic tensors, this returns a ``tf.function``
    ``f(*inputs)`` (batch dimension free) giving the reversed tensors at the model inputs, and
    with ``return_all_reversed_tensors`` also a dict node id -> reversed input tensors.

    Args:
        model: a Keras model with a functional graph.
        reverse_mappings: a callable ``layer -> mapping or None``, or a dict layer -> mapping.
        default_reverse_mapping: mapping for layers without one (default: the gradient).
        head_mapping: ``y -> R`` for the model outputs (default: identity).
        stop_mapping_at_tensors: tensor ids (see :func:`innv_core.graph.trace`) where to stop.
        execution_trace: a graph from :func:`innv_core.graph.trace` to reuse.
        reapply_on_copied_layers: no meaning in Keras 3 (the engine never re-applies copied
            layers; it keeps the forward tensors); accepted and ignored.
    """
    del reapply_on_copied_layers
    graph = execution_trace if execution_trace is not None else trace(model)
    lookup = reverse_mappings.get if isinstance(reverse_mappings, dict) else reverse_mappings
    default = default_reverse_mapping or gradient_mapping
    options = ReverseOptions(
        verbose=verbose, clip_values=clip_all_reversed_tensors,
        project_bottleneck=project_bottleneck_tensors, keep_tensors=return_all_reversed_tensors,
    )
    stop = frozenset(stop_mapping_at_tensors)
    head = None if head_mapping is None else (lambda ys: [head_mapping(y) for y in ys])

    def choose(node: Node) -> Mapping:
        return lookup(node.layer) or default

    signature = [tf.TensorSpec((None, *x.shape[1:]), x.dtype) for x in model.inputs]

    @tf.function(input_signature=signature)
    def reversed_fn(*inputs: Any) -> Any:
        result, kept = run_reverse(graph, inputs, choose, options, head, stop)
        return (result, kept) if return_all_reversed_tensors else result

    return reversed_fn


def run_reverse(
    graph: ExecutionGraph,
    inputs: Sequence[Any],
    choose: Callable[[Node], Mapping],
    options: ReverseOptions,
    head_mapping: Callable[..., Any] | None = None,
    stop_at: frozenset[int] = frozenset(),
    extra: dict[str, Any] | None = None,
    output_ids: Sequence[int] | None = None,
    prepare: Callable[[Forward, ReverseState], None] | None = None,
    nonnegative_inputs: Sequence[int] = (),
) -> tuple[list[Any], dict[int, list[Any]]]:
    """Forward then backward in one go (call inside a ``tf.function``).

    ``head_mapping(ys)`` gets the list of output tensors and returns the starting tensors.
    ``prepare(fwd, state)``, if given, runs right after the forward pass and still on the
    recording tape: analyzers that need more forward quantities (DeepLIFT's reference pass)
    compute them there and leave them in ``state.extra`` for their mappings.
    ``nonnegative_inputs`` are the ids of model inputs declared >= 0 (the start of the sign
    analysis whose result rules read as ``KernelCall.x_nonnegative``).
    """
    inputs = [tf.convert_to_tensor(x) for x in inputs]  # numpy when functions run eagerly
    with tf.GradientTape(persistent=True, watch_accessed_variables=False) as tape:
        for x in inputs:
            if x.dtype.is_floating:
                tape.watch(x)
        signs = nonnegative_tensors(graph, nonnegative_inputs)
        state = ReverseState(graph, Tapes(tape), options, extra=dict(extra or {}), nonnegative=signs)
        fwd = forward(graph, inputs, state)
        if prepare is not None:
            prepare(fwd, state)
    ids = list(output_ids if output_ids is not None else graph.output_ids)
    ys = [fwd.values[t] for t in ids]
    starts = head_mapping(ys) if head_mapping is not None else ys
    head = dict(zip(ids, starts))
    return backward(fwd, head, choose, state, stop_at)
