"""Pattern computation (Kindermans et al., ICLR 2018): the signal directions PatternNet projects on.

For every layer with a kernel, a neuron ``j`` computes ``y_j = w_j^T x`` from an input patch ``x``
(the whole input for Dense, one receptive field for a convolution). A *pattern type* says which
samples count (all of them, or only those where the neuron fires) and how to turn the moments of
``x`` and ``y`` over these samples into a pattern ``a_j`` (e.g. ``cov(x, y) / w^T cov(x, y)``).

:class:`PatternComputer` gathers the moments of every kernel layer in **one** streaming pass over
the data, inside one compiled ``tf.function``: per batch, each layer's sums are vector-Jacobian
products with respect to its kernel (``sum_n x_n y_n^T`` is the kernel gradient with output
gradient ``y``), so no patch matrix is ever built and every moment comes out in the kernel's own
shape. The sums are accumulated in float64 variables; memory does not grow with the data.

Pattern types are plugins (``innv_register_pattern_types``) deriving from :class:`PatternType`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import attrs
import keras
import numpy as np
import tensorflow as tf

from innv_core import inputs as input_checks
from innv_core import layers as kinds
from innv_core.errors import InvalidInputError, NotAnalyzableModelError, invalid_parameter
from innv_core.graph import ExecutionGraph, Node, trace
from innv_core.linear_part import linear_part_of
from innv_core.registry import get_registry
from innv_core.tf_logging import ignore_own_retracing

ignore_own_retracing("PatternComputer._accumulate")

__all__ = [
    "Moments",
    "PatternType",
    "PatternComputer",
    "PatternLayer",
    "pattern_layers",
    "get_pattern_type",
]


# -- the moments and the pattern type interface ------------------------------------------------
def _safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b`` with ``b == 0`` replaced by 1 (iNNvestigate's convention for patterns)."""
    return a / (b + (b == 0))


@attrs.frozen(eq=False)
class Moments:
    """Float64 sums over the neuron-wise samples of one kernel layer, for one pattern type.

    A neuron-wise sample is one (input sample, output position) pair: a Dense layer on a
    ``(batch, features)`` input has ``batch`` of them, a Conv2D with output ``(batch, H, W, C)``
    has ``batch * H * W``. Shapes follow the kernel: *neuron shape* is the kernel's trailing
    ``neuron_ndim`` axes (the output channels), *kernel shape* the whole kernel.

    Attributes:
        n: the number of neuron-wise samples seen (all of them).
        count: neuron shape; the samples the pattern type's mask let through.
        sum_x: kernel shape (or, for types using every sample, the kernel shape with the last
            axis 1: the same for every neuron); the sum of the input patches over counted samples.
        sum_y: neuron shape; the sum of ``y = w^T x`` (no bias) over **all** samples.
        sum_xy: kernel shape; the sum of ``x * y`` over counted samples.
        neuron_ndim: how many trailing kernel axes index the neurons (1; 2 for depthwise convs).
    """

    n: float
    count: np.ndarray
    sum_x: np.ndarray
    sum_y: np.ndarray
    sum_xy: np.ndarray
    neuron_ndim: int = 1

    @property
    def mean_x(self) -> np.ndarray:
        """``E_mask[x]`` per neuron (kernel shape, or broadcastable to it)."""
        return _safe_divide(self.sum_x, self.count)

    @property
    def mean_y(self) -> np.ndarray:
        """``E[y]`` per neuron over **all** samples, also for masked types (as iNNvestigate 1.x)."""
        return self.sum_y / self.n if self.n else np.zeros_like(self.sum_y)

    @property
    def mean_xy(self) -> np.ndarray:
        """``E_mask[x y]`` per neuron (kernel shape)."""
        return _safe_divide(self.sum_xy, self.count)

    def mean_x_times(self, per_neuron: np.ndarray) -> np.ndarray:
        """``E_mask[x] * v`` for a per-neuron ``v`` (kernel shape), with one array allocated."""
        return self.sum_x * _safe_divide(per_neuron, self.count)

    def per_neuron(self, kernel_like: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """``w_j^T v_j`` for every neuron ``j``: the product with the kernel summed over each patch."""
        neurons = kernel.shape[kernel.ndim - self.neuron_ndim:]
        letters = "jk"[: self.neuron_ndim]
        return np.einsum(
            f"i{letters},i{letters}->{letters}",
            kernel.reshape(-1, *neurons), np.asarray(kernel_like).reshape(-1, *neurons),
        )


class PatternType:
    """How one kind of pattern is estimated. Subclass it and register it by name::

        class MyPattern(PatternType):
            def pattern(self, moments, kernel):
                return moments.mean_xy / np.linalg.norm(moments.mean_xy)

        @hookimpl
        def innv_register_pattern_types(registry):
            registry.add_pattern_type("mine", MyPattern)

    Attributes:
        needs_data: False for types computed without data (e.g. ``"dummy"``).
        selects_samples: True if :meth:`mask` picks the samples that count; the moments are then
            taken only where the mask is 1 (``sum_y`` and ``n`` always use every sample).
    """

    needs_data: bool = True
    selects_samples: bool = False

    def mask(self, activation: Any) -> Any:
        """0/1 mask (same shape and dtype) of the samples that count, from the neuron's output.

        ``activation`` is the neuron's output after its nonlinearity: the layer's own activation,
        or the first activation layer it feeds (through BatchNormalization, Dropout, Add, ...),
        else the layer's output itself. Called inside the compiled pass, only when
        ``selects_samples`` is True.
        """
        raise NotImplementedError(f"{type(self).__name__} selects samples but defines no mask().")

    def pattern(self, moments: Moments | None, kernel: np.ndarray) -> np.ndarray:
        """The pattern (kernel shape) from the layer's moments (None if ``needs_data`` is False)."""
        raise NotImplementedError(f"{type(self).__name__} must implement pattern(moments, kernel).")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def get_pattern_type(pattern_type: Any) -> PatternType:
    """A :class:`PatternType` instance for a registered name, a class or an instance."""
    if isinstance(pattern_type, PatternType):
        return pattern_type
    if isinstance(pattern_type, type) and issubclass(pattern_type, PatternType):
        return pattern_type()
    if isinstance(pattern_type, str):
        return get_registry().get("pattern_types", pattern_type)()
    raise TypeError(
        f"pattern_type must be a registered name ('linear', 'relu', ...), a PatternType subclass "
        f"or instance, or a tuple of them; got {pattern_type!r}."
    )


# -- which layers get a pattern ----------------------------------------------------------------
@attrs.frozen(eq=False)
class PatternLayer:
    """A layer with a kernel that gets a pattern, with every call of it in the model.

    Attributes:
        layer: the Keras layer.
        nodes: its calls (a shared layer is called several times; moments are summed over calls).
        neuron_ndim: trailing kernel axes indexing the neurons (2 for depthwise convolutions).
    """

    layer: Any
    nodes: tuple[Node, ...]
    neuron_ndim: int

    @property
    def kernel_name(self) -> str:
        return self.nodes[0].handler.kernels[0]

    def kernel(self) -> np.ndarray:
        """The kernel's current value."""
        return keras.ops.convert_to_numpy(getattr(self.layer, self.kernel_name))


def _neuron_ndim(layer: Any) -> int:
    """How many trailing kernel axes index the neurons; raises for layers without patterns."""
    L = keras.layers
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise NotAnalyzableModelError(
            f"Layer {layer.name!r} uses data_format={layer.data_format!r}; patterns are only "
            "computed for channels_last layers. Rebuild the model with data_format='channels_last'."
        )
    if isinstance(layer, L.Dense | L.Conv1D | L.Conv2D | L.Conv3D):
        return 1
    if isinstance(layer, L.DepthwiseConv1D | L.DepthwiseConv2D):
        return 2
    raise NotAnalyzableModelError(
        f"Layer {layer.name!r} ({type(layer).__name__}) has a kernel but no pattern can be computed "
        "for it: supported are Dense, Conv1D/2D/3D and DepthwiseConv1D/2D (each output neuron a "
        "linear function of one input patch). Transposed, separable and einsum layers are not. "
        "Replace the layer, or use an analyzer that needs no patterns."
    )


def pattern_layers(graph: ExecutionGraph) -> list[PatternLayer]:
    """The layers with a kernel, once each, in the order of their first call (the pattern order)."""
    by_layer: dict[int, list[Node]] = {}
    for node in graph.kernel_nodes():
        by_layer.setdefault(id(node.layer), []).append(node)
    return [
        PatternLayer(nodes[0].layer, tuple(nodes), _neuron_ndim(nodes[0].layer))
        for nodes in by_layer.values()
    ]


#: Layers an activation search walks through: they keep the shape and apply no nonlinearity.
_SEARCH_SAFE_KINDS = (kinds.BATCHNORM, kinds.IDENTITY)


def _activation_tensor(graph: ExecutionGraph, node: Node, consumers: dict[int, list[Node]]) -> int:
    """The tensor id whose sign says whether the neurons of ``node`` fire.

    The layer's own output if it has an activation; else the output of the first activation
    layer down a single-consumer chain of BatchNormalization, Dropout-like and Add layers
    (as iNNvestigate's activation search); else the layer's own output.
    """
    (tid,) = node.output_ids
    if node.activation is not None:
        return tid
    current = tid
    while len(consumers.get(current, ())) == 1:
        nxt = consumers[current][0]
        if len(nxt.output_ids) != 1:
            break
        if nxt.kind == kinds.ACTIVATION:
            return nxt.output_ids[0]
        if nxt.kind not in _SEARCH_SAFE_KINDS and not isinstance(nxt.layer, keras.layers.Add):
            break
        current = nxt.output_ids[0]
    return tid


# -- the accumulators --------------------------------------------------------------------------
class _Sums:
    """Float64 variables holding the running sums of one layer for one pattern type."""

    def __init__(self, kernel_shape: tuple[int, ...], neuron_ndim: int, selects: bool) -> None:
        neuron_shape = kernel_shape[len(kernel_shape) - neuron_ndim:]
        x_shape = kernel_shape if selects else (*kernel_shape[:-1], 1)
        self.selects = selects
        self.count = _zeros_variable(neuron_shape)
        self.sum_x = _zeros_variable(x_shape)
        self.sum_xy = _zeros_variable(kernel_shape)


class _LayerSums:
    """The sums of one layer: ``n`` and ``sum_y`` (shared) and one :class:`_Sums` per type."""

    def __init__(self, player: PatternLayer, types: Sequence[PatternType]) -> None:
        shape = tuple(getattr(player.layer, player.kernel_name).shape)
        self.neuron_ndim = player.neuron_ndim
        self.neuron_shape = shape[len(shape) - player.neuron_ndim:]
        self.channels = int(np.prod(self.neuron_shape))
        self.n = _zeros_variable(())
        self.sum_y = _zeros_variable(self.neuron_shape)
        self.by_type = [_Sums(shape, player.neuron_ndim, t.selects_samples) for t in types]

    def variables(self) -> list[tf.Variable]:
        return [self.n, self.sum_y, *(v for s in self.by_type for v in (s.count, s.sum_x, s.sum_xy))]

    def moments(self, i: int) -> Moments:
        sums, n = self.by_type[i], float(self.n.numpy())
        count = sums.count.numpy() if sums.selects else np.full(self.neuron_shape, n)
        return Moments(
            n=n, count=count, sum_x=sums.sum_x.numpy(), sum_y=self.sum_y.numpy(),
            sum_xy=sums.sum_xy.numpy(), neuron_ndim=self.neuron_ndim,
        )


def _zeros_variable(shape: tuple[int, ...]) -> tf.Variable:
    return tf.Variable(tf.zeros(shape, tf.float64), trainable=False)


@attrs.frozen(eq=False)
class _KernelCall:
    """One kernel node's forward pass inside the compiled step, with the tape recording ``y(w)``."""

    index: int
    node: Node
    x: Any
    y: Any
    w: Any
    tape: Any
    output: Any

    def kernel_vjp(self, g: Any) -> Any:
        """``sum_n x_n g_n^T`` (kernel-shaped): the kernel gradient of ``y = w^T x`` given ``dL/dy = g``."""
        return self.tape.gradient(self.y, self.w, output_gradients=g)


# -- the computer ------------------------------------------------------------------------------
class PatternComputer:
    """Computes a pattern for each layer with a kernel of a model, in one pass over the data.

    Args:
        model: a Keras 3 model with a functional graph.
        pattern_type: a registered name (``"linear"``, ``"relu"``, ``"relu.positive"``,
            ``"relu.negative"``, ``"dummy"``), a :class:`PatternType`, or a tuple of them (then
            ``compute`` returns one list of patterns per type, all from the same pass).
        compute_layers_in_parallel: accepted for iNNvestigate compatibility and ignored: the
            moments of all layers are always gathered in the same pass, so ``False`` computes
            exactly the same. (In iNNvestigate ``False`` meant one pass over the data per layer,
            to save memory; its 1.x releases refuse it as "Not supported". One pass per layer
            would need data that can be iterated once per layer, which a plain generator
            cannot, and innv keeps only the float64 sums between batches anyway.)
        gpus: not supported (raises if given); to use several devices, build and call the
            computer inside a ``tf.distribute`` strategy scope yourself.

    Example::

        computer = PatternComputer(model, pattern_type="relu")
        patterns = computer.compute(X_train, batch_size=64, verbose=1)
        analyzer = PatternNet(model, patterns=patterns)
    """

    def __init__(
        self,
        model: Any,
        pattern_type: Any = "linear",
        compute_layers_in_parallel: bool = True,
        gpus: Any = None,
    ) -> None:
        if gpus is not None:
            raise NotImplementedError(
                f"PatternComputer(gpus={gpus!r}) is not supported. Leave gpus=None; to spread the "
                "computation over devices, create and use the computer inside a tf.distribute "
                "strategy scope."
            )
        if not isinstance(compute_layers_in_parallel, bool | np.bool_):
            raise invalid_parameter(
                "compute_layers_in_parallel", compute_layers_in_parallel, "True or False",
                "It has no effect in innv (all layers are computed in one pass); leave it out.",
            )
        self.model = model
        self.compute_layers_in_parallel = bool(compute_layers_in_parallel)
        self._single = not isinstance(pattern_type, list | tuple)
        requested = [pattern_type] if self._single else list(pattern_type)
        if not requested:
            raise ValueError("pattern_type is an empty tuple; name at least one pattern type.")
        self.pattern_types = [get_pattern_type(t) for t in requested]
        self._graph = trace(model)
        self.layers = pattern_layers(self._graph)
        if not self.layers:
            raise NotAnalyzableModelError(
                f"Model {getattr(model, 'name', model)!r} has no layer with a kernel (Dense, Conv, "
                "...), so there is nothing to compute patterns for."
            )
        # Types computed from the same statistics share accumulators (e.g. "relu" and "relu.positive").
        self._stat_types: list[PatternType] = []
        self._stat_index: list[int | None] = []
        for t in self.pattern_types:
            if not t.needs_data:
                self._stat_index.append(None)
                continue
            same = [i for i, s in enumerate(self._stat_types) if type(s) is type(t) and vars(s) == vars(t)]
            if not same:
                self._stat_types.append(t)
            self._stat_index.append(same[0] if same else len(self._stat_types) - 1)
        consumers = self._graph.consumers()
        self._activation_ids = {
            n.nid: _activation_tensor(self._graph, n, consumers) for p in self.layers for n in p.nodes
        }
        self._layer_index = {id(p.layer): i for i, p in enumerate(self.layers)}
        self._sums: list[_LayerSums] | None = None
        self._step: Any = None

    # -- public API ----------------------------------------------------------------------------
    def compute(self, X: Any, batch_size: int = 32, verbose: int = 0, strategy: Any = None) -> list:
        """The patterns for the data ``X`` (an array, a list of arrays, or a ``tf.data.Dataset``).

        ``strategy`` (a ``tf.distribute.Strategy``, innv addition) splits every batch over its
        replicas and sums their moments; the result equals the single-device one.
        """
        return self.compute_generator(self._as_generator(X, batch_size, strategy), verbose=verbose,
                                      strategy=strategy)

    def compute_generator(self, generator: Any, **kwargs: Any) -> list:
        """The patterns for the batches of ``generator``.

        ``generator`` may be a ``BatchSequence``/``PyDataset``, a ``tf.data.Dataset`` or any
        iterable of batches; labels (``(x, y)`` batches) are ignored.

        Keyword Args:
            steps / steps_per_epoch: use only this many batches.
            verbose: show a Keras progress bar.
            max_queue_size, workers, use_multiprocessing: accepted for compatibility; unused.

        Returns:
            One pattern (numpy array shaped like the kernel) per layer with a kernel, in the order
            of their first call; for a tuple of pattern types, one such list per type.
        """
        moments = self.compute_moments_generator(generator, **kwargs)
        kernels = [p.kernel() for p in self.layers]
        out = []
        for t, i in zip(self.pattern_types, self._stat_index):
            per_layer = moments[i] if i is not None else [None] * len(kernels)
            out.append([
                np.asarray(t.pattern(m, k), dtype=k.dtype) for m, k in zip(per_layer, kernels)
            ])
        return out[0] if self._single else out

    def compute_moments(self, X: Any, batch_size: int = 32, verbose: int = 0) -> list[list[Moments]]:
        """The moments behind the patterns, for ``X``: see :meth:`compute_moments_generator`."""
        return self.compute_moments_generator(self._as_generator(X, batch_size), verbose=verbose)

    def compute_moments_generator(self, generator: Any, **kwargs: Any) -> list[list[Moments]]:
        """One pass over ``generator``: per pattern type that needs data, one :class:`Moments` per layer.

        The list follows the distinct statistics: pattern types that share a class (``"relu"`` and
        ``"relu.positive"``) share one entry.
        """
        steps = kwargs.pop("steps", None)
        steps_per_epoch = kwargs.pop("steps_per_epoch", None)
        steps = steps if steps is not None else steps_per_epoch
        verbose = kwargs.pop("verbose", 0)
        strategy = kwargs.pop("strategy", None)
        for ignored in ("max_queue_size", "workers", "use_multiprocessing", "epochs"):
            kwargs.pop(ignored, None)
        if kwargs:
            raise TypeError(f"compute_generator() got unknown argument(s) {sorted(kwargs)}.")
        if not self._stat_types:
            return []
        self._prepare()
        run = self._run if strategy is None else functools.partial(self._run_distributed, strategy)
        if run(generator, steps, verbose) == 0:
            raise ValueError("The data given to the PatternComputer is empty: no batch was seen.")
        return [[s.moments(i) for s in self._sums] for i in range(len(self._stat_types))]

    # -- the pass ------------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Zero the accumulators; create them and the compiled step (eagerly) on first use.

        They are kept for the next pass (no retracing) and freed with the computer; in float64
        they take twice (types selecting samples: four times) the memory of the kernels.
        """
        if self._sums is not None:
            for sums in self._sums:
                for variable in sums.variables():
                    variable.assign(tf.zeros_like(variable))
            return
        for p in self.layers:
            for node in p.nodes:
                linear_part_of(node.layer, node.handler)
        self._sums = [_LayerSums(p, self._stat_types) for p in self.layers]
        specs = [tf.TensorSpec((None, *x.shape[1:]), x.dtype) for x in self.model.inputs]
        self._step = tf.function(self._accumulate, input_signature=specs, autograph=False)

    def _run(self, generator: Any, steps: int | None, verbose: int) -> int:
        progbar = keras.utils.Progbar(_n_batches(generator, steps)) if verbose else None
        seen = 0
        checker = input_checks.InputChecker(input_checks.specs_of_model(self.model))
        for batch in _batches(generator, steps, checker):
            self._step(*batch)
            seen += 1
            if progbar is not None:
                progbar.update(seen)
        return seen

    def _variables(self) -> list[tf.Variable]:
        return [v for sums in self._sums for v in sums.variables()]

    @staticmethod
    def _add(deltas: dict[int, Any], variable: tf.Variable, delta: Any) -> None:
        """Record ``delta`` for ``variable`` (applied after the batch, possibly summed over replicas)."""
        key = id(variable)
        deltas[key] = deltas[key] + delta if key in deltas else delta

    def _run_distributed(self, strategy: Any, dataset: Any, steps: int | None, verbose: int) -> int:
        """As ``_run``, each batch split over the replicas of ``strategy``, moments summed."""
        from innv_core.distribute import inputs_only

        if not input_checks.is_dataset(dataset):
            raise ValueError(
                "With a distribution strategy give the data as arrays or a tf.data.Dataset "
                f"(got {type(dataset).__name__})."
            )
        names = [spec.name for spec in input_checks.specs_of_model(self.model)]
        dataset = inputs_only(dataset, len(self.model.inputs), names)
        if steps is not None:
            dataset = dataset.take(steps)
        distributed = strategy.experimental_distribute_dataset(dataset)

        @tf.function(input_signature=[distributed.element_spec], autograph=False)
        def step(batch: Any) -> None:
            per_replica = strategy.run(self._batch_moments, args=tuple(batch))
            for variable, delta in zip(self._variables(), per_replica):
                variable.assign_add(strategy.reduce("SUM", delta, axis=None))

        progbar = keras.utils.Progbar(_n_batches(dataset, steps)) if verbose else None
        seen = 0
        for batch in distributed:
            step(batch)
            seen += 1
            if progbar is not None:
                progbar.update(seen)
        return seen

    def _accumulate(self, *inputs: Any) -> None:
        """One batch: add its moments to the sums (the compiled single-device step)."""
        for variable, delta in zip(self._variables(), self._batch_moments(*inputs)):
            variable.assign_add(delta)

    def _batch_moments(self, *inputs: Any) -> list[Any]:
        """Run the model node by node; one batch's additions to every sum, in ``_variables`` order."""
        deltas: dict[int, Any] = {}
        self._walk(inputs, deltas)
        return [deltas.get(id(v), tf.zeros_like(v)) for v in self._variables()]

    def _walk(self, inputs: Sequence[Any], deltas: dict[int, Any]) -> None:
        values = dict(zip(self._graph.input_ids, inputs, strict=True))
        selects = any(t.selects_samples for t in self._stat_types)
        pending: dict[int, list[_KernelCall]] = {}  # activation tensor id -> calls waiting for it
        for node in self._graph.nodes:
            if node.kind == kinds.KERNEL:
                call = self._kernel_call(node, values[node.input_ids[0]], persistent=selects)
                values[node.output_ids[0]] = call.output
                self._add_unmasked(call, deltas)
                if selects:
                    pending.setdefault(self._activation_ids[node.nid], []).append(call)
            else:
                outs = node.run({t: values[t] for t in node.input_ids})
                values.update(zip(node.output_ids, outs, strict=True))
            for tid in node.output_ids:
                for call in pending.pop(tid, ()):
                    self._add_masked(call, values[tid], deltas)

    def _kernel_call(self, node: Node, x: Any, persistent: bool) -> _KernelCall:
        """Run one kernel node, recording ``y = w^T x`` (no bias) for gradients w.r.t. ``w``."""
        i = self._layer_index[id(node.layer)]
        part = linear_part_of(node.layer, node.handler)
        kernel_name = node.handler.kernels[0]
        w = tf.convert_to_tensor(getattr(node.layer, kernel_name))
        weights = {kernel_name: w}
        bias = getattr(node.layer, node.handler.bias) if part.has_bias else None
        if bias is not None:
            weights[node.handler.bias] = tf.zeros_like(bias)
        with tf.GradientTape(persistent=persistent, watch_accessed_variables=False) as tape:
            tape.watch(w)
            y = part(x, weights)
        z = y + bias if bias is not None else y
        activation = node.activation
        output = activation(z) if activation is not None else z
        return _KernelCall(i, node, x, y, w, tape, output)

    def _add_unmasked(self, call: _KernelCall, deltas: dict[int, Any]) -> None:
        """``n``, ``sum_y`` and, for types using every sample, ``sum_x`` and ``sum_xy``."""
        sums = self._sums[call.index]
        flat_y = tf.reshape(call.y, (-1, sums.channels))
        self._add(deltas, sums.n, tf.cast(tf.shape(flat_y)[0], tf.float64))
        self._add(deltas, sums.sum_y, _f64(tf.reshape(_column_sums(flat_y), sums.neuron_shape)))
        unmasked = [s for s in sums.by_type if not s.selects]
        if not unmasked:
            return
        sum_xy = call.kernel_vjp(call.y)
        sum_x = self._patch_sum(call)
        for s in unmasked:
            self._add(deltas, s.sum_xy, _f64(sum_xy))
            self._add(deltas, s.sum_x, _f64(sum_x))

    def _patch_sum(self, call: _KernelCall) -> Any:
        """``sum_n x_n`` over all patches; linear in ``x``, so the batch is summed first (cheap)."""
        part = linear_part_of(call.node.layer, call.node.handler)
        x_total = tf.reduce_sum(call.x, axis=0, keepdims=True)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(call.w)
            y_total = part(x_total, {call.node.handler.kernels[0]: call.w})
        return tape.gradient(y_total, call.w, output_gradients=tf.ones_like(y_total))[..., :1]

    def _add_masked(self, call: _KernelCall, activation: Any, deltas: dict[int, Any]) -> None:
        """``count``, ``sum_x`` and ``sum_xy`` over the samples each selecting type keeps."""
        sums = self._sums[call.index]
        for t, s in zip(self._stat_types, sums.by_type):
            if not s.selects:
                continue
            mask = tf.cast(t.mask(activation), call.y.dtype)
            count = _column_sums(tf.reshape(mask, (-1, sums.channels)))
            self._add(deltas, s.count, _f64(tf.reshape(count, sums.neuron_shape)))
            self._add(deltas, s.sum_x, _f64(call.kernel_vjp(mask)))
            self._add(deltas, s.sum_xy, _f64(call.kernel_vjp(call.y * mask)))

    # -- data ----------------------------------------------------------------------------------
    def _as_generator(self, X: Any, batch_size: int, strategy: Any = None) -> Any:
        if input_checks.is_dataset(X):
            return X
        if strategy is not None:
            Xs = input_checks.as_input_list(X, self.model.inputs)
            return tf.data.Dataset.from_tensor_slices(tuple(Xs)).batch(batch_size)
        from innv_core.utils import BatchSequence

        return BatchSequence(X, batch_size=batch_size)


def _column_sums(flat: Any) -> Any:
    """``flat.sum(axis=0)`` as a product with a row of ones: one pass through the matrix
    library, 6x faster on the CPU than the reduction over a long first axis."""
    ones = tf.ones(tf.stack([1, tf.shape(flat)[0]]), flat.dtype)
    return tf.matmul(ones, flat)[0]


def _f64(t: Any) -> Any:
    return tf.cast(t, tf.float64)


def _n_batches(generator: Any, steps: int | None) -> int | None:
    if steps is not None:
        return steps
    if input_checks.is_dataset(generator):
        n = int(generator.cardinality())
        return n if n >= 0 else None
    try:
        return len(generator)
    except TypeError:
        return None


def _batches(generator: Any, steps: int | None, checker: input_checks.InputChecker) -> Iterator[list[Any]]:
    """The checked model inputs of each batch (labels dropped), at most ``steps`` batches.

    Each batch passes the same checks as ``analyze`` (shape, dtype, NaN/inf, empty batches).
    """
    n_inputs = checker.n_inputs
    indexable = hasattr(generator, "__getitem__") and hasattr(generator, "__len__")
    if indexable and not input_checks.is_dataset(generator):
        items: Iterable[Any] = (generator[i] for i in range(len(generator)))
    else:
        items = generator
    for k, element in enumerate(items):
        if steps is not None and k >= steps:
            return
        X = input_checks.dataset_inputs(element, n_inputs)
        Xs = list(X) if isinstance(X, list | tuple) else [X]
        if isinstance(X, dict):
            yield checker.check(X)
            continue
        if len(Xs) < n_inputs:
            raise InvalidInputError(
                f"A batch holds {len(Xs)} array(s) but the model has {n_inputs} inputs; yield "
                "one array per model input (optionally followed by labels)."
            )
        yield checker.check(Xs[:n_inputs])
