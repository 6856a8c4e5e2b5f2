"""Opening a composite layer: call it again with LRP's gradient rules inside.

While :func:`opening` is active, (1) every sublayer whose class innv knows runs its gradient rule
instead of its ``call`` (kernel layers: the epsilon rule of their linear part, then the identity
rule for their activation; LayerNorm-like layers: the standard deviation held; activations: the
identity rule; ``Softmax`` runs its own ``call``, whose ``keras.ops.softmax`` gets the registered
op rule), and (2) the ``keras.ops`` functions registered through ``innv_register_ops`` are
replaced by their op handlers in every Keras module that exposes them, and the tensor operators
computing the same thing (``*``, ``@``, ``/``: :data:`OPERATORS`) by the same handlers. The
analyzer's convention (how relevance crosses softmax and products of signals) travels in
:class:`OpeningContext` to the op handlers; this module never looks at it. Afterwards
:func:`check_ops` refuses non-linear operations on a signal path that no rule covered. See
``docs/opening-layers.md``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import tensorflow as tf

from innv_core import layers as kinds
from innv_core import modified_gradient as mg
from innv_core.errors import NotAnalyzableModelError
from innv_core.linear_part import activation_of, linear_part_of

#: The name scope of every operation a gradient rule creates (the check skips them).
RULE_SCOPE = "innv_rule"

#: Elementwise or normalizing operations that are not linear in their float inputs.
NONLINEAR_OPS = frozenset({
    "Exp", "Expm1", "Log", "Log1p", "Tanh", "Sigmoid", "Erf", "Erfc", "Relu", "Relu6", "Elu",
    "Selu", "Softplus", "Softsign", "LeakyRelu", "Sqrt", "Rsqrt", "Square", "Pow", "Sin", "Cos",
    "Softmax", "LogSoftmax", "Reciprocal", "Inv", "Abs", "Sign", "Round", "Floor", "Ceil",
    "Atan", "Asinh", "Sinh", "Cosh", "Tan", "Acos", "Asin", "SquaredDifference",
})
#: Operations that are linear in each operand: non-linear only when two operands are signals.
PRODUCT_OPS = frozenset({"Mul", "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum"})
#: Divisions: non-linear when the denominator is a signal.
DIVISION_OPS = frozenset({"RealDiv", "Div", "DivNoNan", "FloorDiv", "TruncateDiv"})
#: Operations innv cannot look into.
OPAQUE_OPS = frozenset({"While", "StatelessWhile", "If", "StatelessIf", "PartitionedCall",
                        "StatefulPartitionedCall", "PyFunc", "EagerPyFunc"})
_BARRIERS = frozenset({"StopGradient", "PreventGradient", "Const", "ReadVariableOp",
                       "VarHandleOp", "Placeholder", "Shape", "Size", "Rank"})

_LOCK = threading.RLock()

#: ``keras.ops`` functions and the tensor operators that compute the same thing: a handler
#: registered for the function also handles ``a * b`` (``a @ b``, ``a / b``) written with Python
#: operators inside an opened layer (keras-hub's Gemma MLP: ``gelu(x1) * x2``).
OPERATORS = {"multiply": "mul", "matmul": "matmul", "divide": "truediv"}

_IN_OPERATOR = threading.local()


@attrs.define
class OpeningContext:
    """What op handlers and sublayer rules need while one layer is opened.

    Attributes:
        epsilon: the epsilon rule's stabilizer for the linear maps inside.
        convention: the analyzer's convention for the op handlers (e.g. LRP's AttnLRP or
            CP-LRP); opaque here: the core passes it on and never looks at it.
        sources: the opened layer's float inputs (what the relevance is computed for).
    """

    epsilon: float
    convention: Any
    sources: Sequence[Any] = ()
    _memo: dict[int, bool] = attrs.field(factory=dict, repr=False)
    _activated: set[int] = attrs.field(factory=set, repr=False)

    def mark_activated(self, value: Any) -> Any:
        """Note that ``value`` is an activation's output (a gate, if it is multiplied)."""
        self._activated.add(id(value))
        return value

    def is_activated(self, value: Any) -> bool:
        return id(value) in self._activated

    def is_signal(self, value: Any) -> bool:
        """True if ``value`` is computed from the sources (not behind a ``stop_gradient``).

        Weights, constants, Python numbers and boolean or integer tensors are not signals.
        """
        if not isinstance(value, tf.Tensor) or not value.dtype.is_floating:
            return False
        if tf.executing_eagerly() or not hasattr(value, "op"):
            return True  # no graph to look at (functions run eagerly): assume the worst
        source_ids = {id(s) for s in self.sources}
        return _depends(value, source_ids, self._memo)

    def signals(self, values: Sequence[Any]) -> int:
        """How many of ``values`` are signals."""
        return sum(self.is_signal(v) for v in values)


def _depends(value: Any, source_ids: set[int], memo: dict[int, bool]) -> bool:
    """Walk the graph back from ``value`` (iteratively) to see if it reaches a source."""
    stack = [value]
    while stack:
        t = stack[-1]
        key = id(t)
        if key in memo:
            stack.pop()
            continue
        if key in source_ids:
            memo[key] = True
            stack.pop()
            continue
        op = t.op
        if op.type in _BARRIERS or not t.dtype.is_floating:
            memo[key] = False
            stack.pop()
            continue
        pending = [i for i in op.inputs if id(i) not in memo]
        if pending:
            stack.extend(pending)
            continue
        memo[key] = any(memo[id(i)] for i in op.inputs)
        stack.pop()
    return memo[id(value)]


def rule_scope() -> Any:
    """The name scope of rule operations (:func:`check_ops` skips what is created inside)."""
    return tf.name_scope(RULE_SCOPE)


# -- sublayer rules -----------------------------------------------------------------------
def sublayer_rule(layer: Any, handler: Any, context: OpeningContext) -> Callable[..., Any] | None:
    """The gradient-rule replacement of a sublayer's ``call``, or None to keep it."""
    import keras

    kind = handler.kind if handler is not None else None
    original = layer.call
    if kind == kinds.KERNEL:
        linear = linear_part_of(layer, handler)
        activation = activation_of(layer, handler)

        def kernel_rule(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            with rule_scope():
                z = mg.epsilon_linear(linear(inputs), context.epsilon)
                return z if activation is None else context.mark_activated(mg.identity_rule(activation, z))

        return kernel_rule
    if kind == kinds.NORMALIZATION and handler.linearized is not None:

        def normalization_rule(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            with rule_scope():
                return handler.linearized(layer, inputs)

        return normalization_rule
    if isinstance(layer, keras.layers.Softmax):
        # its call runs keras.ops.softmax, which the registered op rule replaces; over several
        # axes Keras computes exp(x - logsumexp(x)) instead, so those axes are flattened into one
        axes = layer.axis if isinstance(layer.axis, tuple | list) else (layer.axis,)
        return None if len(axes) <= 1 else _joint_softmax(tuple(axes))
    if kind == kinds.ACTIVATION:

        def activation_rule(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            with rule_scope():
                y = mg.identity_rule(lambda t: original(t, *args, **kwargs), inputs)
                return context.mark_activated(y)

        return activation_rule
    return None


def _joint_softmax(axes: tuple[int, ...]) -> Callable[..., Any]:
    """A ``Softmax`` layer's call over several ``axes``: ``keras.ops.softmax`` of those axes
    flattened into one (the same values; the op rule of ``softmax`` then applies)."""
    from keras import ops
    from keras.src.layers.activations.softmax import _large_negative_number

    def softmax_rule(inputs: Any, mask: Any = None) -> Any:
        rank = len(inputs.shape)
        joint = sorted(a % rank for a in axes)
        perm = [i for i in range(rank) if i not in joint] + joint
        inverse = [perm.index(i) for i in range(rank)]
        if mask is not None:
            mask = ops.cast(mask, "bool")
            inputs = ops.where(mask, inputs, _large_negative_number(inputs.dtype))
        x = ops.transpose(inputs, perm)
        shape = ops.shape(x)
        flat = ops.reshape(x, (*shape[: rank - len(joint)], -1))
        y = ops.transpose(ops.reshape(ops.softmax(flat, axis=-1), shape), inverse)
        return y if mask is None else ops.where(mask, y, 0.0)

    return softmax_rule


def prepare_sublayers(layer: Any, registry: Any) -> None:
    """Create the linear parts of ``layer``'s kernel sublayers now (eagerly): created inside a
    ``tf.function`` they would hold new variables and make TensorFlow trace it twice."""
    for sub in layer._flatten_layers(include_self=False, recursive=True):
        handler = registry.layer_handler(type(sub))
        if handler is not None and handler.kind == kinds.KERNEL:
            linear_part_of(sub, handler)


@contextlib.contextmanager
def _sublayer_rules(layer: Any, context: OpeningContext, registry: Any) -> Iterator[None]:
    replaced = []
    try:
        for sub in layer._flatten_layers(include_self=False, recursive=True):
            rule = sublayer_rule(sub, registry.layer_handler(type(sub)), context)
            if rule is not None and "call" not in vars(sub):
                object.__setattr__(sub, "call", rule)
                replaced.append(sub)
        yield
    finally:
        for sub in replaced:
            del vars(sub)["call"]


# -- op handlers --------------------------------------------------------------------------
_LOCATIONS: dict[int, tuple[int, list[tuple[Any, str]]]] = {}


def _locations(function: Any) -> list[tuple[Any, str]]:
    """Every (Keras module, attribute) bound to ``function`` (cached until a module is imported)."""
    cached = _LOCATIONS.get(id(function))
    if cached is not None and cached[0] == len(sys.modules):
        return cached[1]
    name = getattr(function, "__name__", None)
    found = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith(("keras", "keras_hub")):
            continue
        if getattr(module, name, None) is function:
            found.append((module, name))
    _LOCATIONS[id(function)] = (len(sys.modules), found)
    return found


def _held_by_layers(layer: Any, functions: dict[int, Any]) -> list[tuple[Any, str, Any]]:
    """``(layer, attribute, function)`` where ``layer`` or a sublayer holds one of ``functions``
    as an attribute (keras-hub's decoders keep ``self.activation = ops.silu``): module patches do
    not reach those."""
    held = []
    for sub in layer._flatten_layers(include_self=True, recursive=True):
        for attribute, value in list(vars(sub).items()):
            if callable(value) and id(value) in functions and functions[id(value)] is value:
                held.append((sub, attribute, value))
    return held


def _guarded(rule: Callable[[Any, Any], Any], original: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    """``rule(a, b)``, but operators used by the rule's own code run ``original``."""

    def operator(a: Any, b: Any) -> Any:
        if getattr(_IN_OPERATOR, "active", False):
            return original(a, b)
        _IN_OPERATOR.active = True
        try:
            return rule(a, b)
        finally:
            _IN_OPERATOR.active = False

    return operator


def _operator_patches(name: str, handler: Any, context: OpeningContext) -> list[tuple[Any, str, Any]]:
    """``(tf.Tensor, dunder, replacement)`` for the Python operators meaning op ``name``."""
    base = OPERATORS.get(name)
    if base is None:
        return []
    forward, reflected = (vars(tf.Tensor)[f"__{d}{base}__"] for d in ("", "r"))
    forward_rule = handler(forward, context)
    reflected_rule = handler(lambda a, b: reflected(b, a), context)  # ``other <op> self``
    return [
        (tf.Tensor, f"__{base}__", _guarded(forward_rule, forward)),
        (tf.Tensor, f"__r{base}__", _guarded(lambda t, other: reflected_rule(other, t), reflected)),
    ]


@contextlib.contextmanager
def _op_handlers(handlers: dict[str, Any], context: OpeningContext, layer: Any = None) -> Iterator[None]:
    from keras.src import ops

    patched, replacements = [], {}
    try:
        for name, handler in handlers.items():
            for owner, attribute, replacement in _operator_patches(name, handler, context):
                patched.append((owner, attribute, vars(owner)[attribute]))
                setattr(owner, attribute, replacement)
            original = getattr(ops, name, None)
            if original is None:
                continue
            replacement = handler(original, context)
            replacements.setdefault(id(original), (original, replacement))
            for module, attribute in _locations(original):
                setattr(module, attribute, replacement)
                patched.append((module, attribute, original))
        if layer is not None:
            originals = {key: original for key, (original, _) in replacements.items()}
            for sub, attribute, original in _held_by_layers(layer, originals):
                object.__setattr__(sub, attribute, replacements[id(original)][1])
                patched.append((sub, attribute, original))
        yield
    finally:
        for owner, attribute, original in reversed(patched):
            if isinstance(owner, type | type(sys)):
                setattr(owner, attribute, original)
            else:
                object.__setattr__(owner, attribute, original)


def op_handlers(registry: Any) -> dict[str, Any]:
    """Op name -> the handler the registry resolves it to."""
    return {name: entry.obj for name, entry in registry.entries("ops").items()}


@contextlib.contextmanager
def opening(layer: Any, context: OpeningContext, registry: Any) -> Iterator[None]:
    """Sublayer rules and op handlers for the duration of one call of ``layer``."""
    handlers = op_handlers(registry)
    with _LOCK, _sublayer_rules(layer, context, registry), _op_handlers(handlers, context, layer):
        yield


# -- nothing silent -----------------------------------------------------------------------
@attrs.frozen
class Uncovered:
    """An operation of an opened layer that no rule covers."""

    op_type: str
    op_name: str
    why: str


def in_rule_scope(op: Any) -> bool:
    """True if ``op`` was created inside a rule (name scopes are made unique with ``_<n>``)."""
    return any(part == RULE_SCOPE or part.startswith(RULE_SCOPE + "_") for part in op.name.split("/")[:-1])


def uncovered_ops(ops: Sequence[Any], context: OpeningContext) -> list[Uncovered]:
    """The operations among ``ops`` that are non-linear on a signal path outside every rule."""
    found = []
    for op in ops:
        if in_rule_scope(op):
            continue
        float_inputs = [t for t in op.inputs if t.dtype.is_floating]
        signals = [context.is_signal(t) for t in float_inputs]
        if op.type in NONLINEAR_OPS and any(signals):
            found.append(Uncovered(op.type, op.name, "a non-linear operation on the signal"))
        elif op.type in PRODUCT_OPS and sum(signals) >= 2:
            found.append(Uncovered(op.type, op.name, "a product of two signals outside keras.ops"))
        elif op.type in DIVISION_OPS and len(signals) == 2 and signals[1]:
            found.append(Uncovered(op.type, op.name, "a division by a signal"))
        elif op.type in OPAQUE_OPS and any(context.is_signal(t) for t in op.inputs):
            found.append(Uncovered(op.type, op.name, "a loop or function innv cannot look into"))
    return found


def refuse_uncovered(layer: Any, uncovered: list[Uncovered]) -> None:
    """Raise :class:`NotAnalyzableModelError` naming what the opened ``layer`` does uncovered."""
    if not uncovered:
        return
    kinds_seen: dict[str, Uncovered] = {}
    for u in uncovered:
        kinds_seen.setdefault(u.op_type, u)
    listing = "; ".join(f"{u.op_type} ({u.why}, e.g. {u.op_name!r})" for u in kinds_seen.values())
    cls = type(layer)
    raise NotAnalyzableModelError(
        f"LRP opened layer {layer.name!r} ({cls.__module__}.{cls.__qualname__}) and found "
        f"operations no relevance rule covers: {listing}. Teach innv the keras.ops function "
        "behind it with an op handler (hook innv_register_ops), or the sublayer's class with a "
        "LayerHandler (hook innv_register_layers); see docs/opening-layers.md. With "
        "disable_model_checks=True these operations keep their true gradient."
    )


def open_call(
    layer: Any,
    call: Callable[[], Sequence[Any]],
    context: OpeningContext,
    registry: Any,
    strict: bool = True,
) -> list[Any]:
    """Run ``call()`` (which calls ``layer``) opened; refuse uncovered operations if ``strict``."""
    graph = None if tf.executing_eagerly() else tf.compat.v1.get_default_graph()
    before = len(graph.get_operations()) if graph is not None else 0
    with opening(layer, context, registry):
        outputs = list(call())
    if graph is not None and strict:
        refuse_uncovered(layer, uncovered_ops(graph.get_operations()[before:], context))
    return outputs


def opens_by_default(layer: Any) -> bool:
    """True for layers LRP opens without a handler: subclassed layers defined outside Keras
    (keras-hub's blocks, a user's own layers). Keras' own layers need a handler."""
    from innv_core.keras_adapter import is_keras_layer

    return not is_keras_layer(layer)
