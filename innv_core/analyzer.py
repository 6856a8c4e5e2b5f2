"""Analyzer bases with iNNvestigate's interface.

- :class:`AnalyzerBase`: ``analyze``, the ``fit`` stubs, ``save``/``load``.
- :class:`TrainerMixin`, :class:`OneEpochTrainerMixin`: analyzers that learn from data.
- :class:`AnalyzerNetworkBase`: neuron selection, model checks and the one compiled
  ``tf.function`` (batch-free input signature) that serves every ``analyze`` call.
- :class:`ReverseAnalyzerBase`: analyses computed by the reverse engine with conditional
  mappings, a default mapping and a head mapping.

Analyzer families live in ``innv_plugins``; each is a thin subclass.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from innv_core import inputs as input_checks
from innv_core import keras_adapter as ka
from innv_core import serialization
from innv_core.canonize import as_float32
from innv_core.errors import (
    AnalysisWarning,
    InvalidInputError,
    NeuronSelectionError,
    NotAnalyzableModelError,
    NumericalError,
    check_range,
)
from innv_core.graph import ExecutionGraph, Node, check_model, describe_unknown, trace, unknown_layers
from innv_core.linear_part import linear_part_of
from innv_core.reverse import (
    Mapping,
    NodeTensors,
    ReverseOptions,
    ReverseState,
    gradient_mapping,
    run_reverse,
)
from innv_core.selection import NeuronSelection, n_neurons, resolve_output_index
from innv_core.tf_logging import ignore_own_retracing
from innv_core.tokens import check_token_reduce, split_at_embeddings

ignore_own_retracing("create_analyzer_model.<locals>.analysis")

__all__ = [
    "NotAnalyzableModelError",
    "AnalyzerBase",
    "TrainerMixin",
    "OneEpochTrainerMixin",
    "AnalyzerNetworkBase",
    "ReverseAnalyzerBase",
]


class AnalyzerBase:
    """The basic interface of an analyzer: ``analyze``, ``fit`` stubs, ``save``/``load``.

    Args:
        model: a Keras 3 model.
        disable_model_checks: skip the checks that refuse models this analyzer cannot explain.

    The constructor arguments are recorded automatically so that ``save`` can restore them.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording_init(cls.__dict__["__init__"])

    def __init__(self, model: Any, disable_model_checks: bool = False, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} got unknown parameter(s) {sorted(kwargs)}. "
                f"Check the spelling against help({type(self).__name__})."
            )
        self._model = model
        self._user_model = model  # what save() stores (``_model`` may be a float32 copy)
        self._disable_model_checks = disable_model_checks

    #: Whether the analysis splits the explained output's value over the inputs (LRP, DeepTaylor,
    #: DeepLIFT: relevance is conserved, up to biases and stabilisers). Explaining a generation,
    #: such methods explain a span's logits, the others its log-probability
    #: (:mod:`innv_core.generation`).
    decomposes_output: bool = False

    @property
    def signed(self) -> bool:
        """Whether the analysis has a meaningful sign (evidence for and against the output):
        figures draw it with a diverging colour map centred on 0, magnitudes (False, e.g. a
        gradient with ``postprocess="abs"``) with a sequential one. Families override it."""
        return True

    # -- training stubs ----------------------------------------------------------------------
    def fit(self, *args: Any, disable_no_training_warning: bool = False, **kwargs: Any) -> None:
        """Stub: this analyzer needs no training (warns unless told not to)."""
        self._warn_no_training(disable_no_training_warning)

    def fit_generator(self, *args: Any, disable_no_training_warning: bool = False, **kwargs: Any) -> None:
        """Stub: this analyzer needs no training (warns unless told not to)."""
        self._warn_no_training(disable_no_training_warning)

    def _warn_no_training(self, disabled: bool) -> None:
        if not disabled:
            warnings.warn(
                f"{type(self).__name__} needs no training; fit() does nothing. "
                "Pass disable_no_training_warning=True to silence this.",
                stacklevel=3,
            )

    def analyze(self, X: Any) -> Any:
        """Analyze the model's behaviour on ``X``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement analyze().")

    # -- state -------------------------------------------------------------------------------
    def _state_arrays(self) -> dict[str, np.ndarray]:
        """Arrays (beyond constructor parameters) that the saved state must carry."""
        return {}

    def _load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`_state_arrays` saved."""

    def for_model(self, model: Any) -> AnalyzerBase:
        """The same analyzer (class, parameters and fitted state such as patterns) for another
        model of the same architecture, e.g. one with randomised weights (MPRT)."""
        return self._rebuilt(model, {})

    def with_params(self, **changes: Any) -> AnalyzerBase:
        """The same analyzer (class, model, fitted state) with some constructor parameters
        changed, e.g. ``with_params(neuron_selection_mode="index")`` to explain given classes
        with patterns fitted once."""
        return self._rebuilt(self._model, changes)

    def _rebuilt(self, model: Any, changes: dict[str, Any]) -> AnalyzerBase:
        params = dict(getattr(self, "_init_params", {}))
        args = params.pop("__args__", [])
        other = type(self)(model, *args, **{**params, **changes})
        other._load_state_arrays(self._state_arrays())
        return other

    def save(self) -> tuple[str, dict]:
        """The class name and the state (plain data) from which :meth:`load` rebuilds this analyzer."""
        return serialization.analyzer_state(self)

    def save_npz(self, fname: str) -> None:
        """Write the state to ``fname`` (an ``.npz`` without pickled objects)."""
        serialization.save_npz(fname, *self.save())

    @staticmethod
    def load(class_name: str, state: dict) -> AnalyzerBase:
        """Rebuild an analyzer from ``save()``'s output."""
        return serialization.analyzer_from_state(class_name, state)

    @staticmethod
    def load_npz(fname: str) -> AnalyzerBase:
        """Rebuild an analyzer from a file written by ``save_npz``."""
        return serialization.analyzer_from_state(*serialization.load_npz(fname))


def _recording_init(init: Callable) -> Callable:
    """Wrap ``__init__`` so the outermost call records its arguments in ``_init_params``."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> None:
        if "_init_params" not in self.__dict__:
            bound = signature.bind(self, *args, **kwargs)
            params: dict[str, Any] = {}
            for name, value in list(bound.arguments.items())[1:]:
                kind = signature.parameters[name].kind
                if kind is inspect.Parameter.VAR_KEYWORD:
                    params.update(value)
                elif kind is inspect.Parameter.VAR_POSITIONAL:
                    if value:
                        params["__args__"] = list(value)
                elif name != "model":
                    params[name] = value
            self._init_params = params
        init(self, *args, **kwargs)

    return wrapped


class TrainerMixin:
    """Mixin for analyzers that adapt to data, with a Keras-like ``fit``.

    Subclasses implement ``_fit_generator(generator, steps_per_epoch=None, epochs=1, verbose=0)``
    receiving an iterable of input batches.
    """

    def fit(self, X: Any = None, batch_size: int = 32, **kwargs: Any) -> Any:
        """Learn from ``X`` (array, list of arrays, or ``tf.data.Dataset``) in batches."""
        from innv_core.utils import BatchSequence

        if input_checks.is_dataset(X):
            return self.fit_generator(X, **kwargs)
        return self.fit_generator(BatchSequence(X, batch_size=batch_size), **kwargs)

    def fit_generator(self, generator: Any, *args: Any, **kwargs: Any) -> Any:
        """Learn from a generator, ``PyDataset`` or ``tf.data.Dataset`` of input batches."""
        kwargs.pop("disable_no_training_warning", None)
        return self._fit_generator(generator, *args, **kwargs)

    def _fit_generator(self, generator: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _fit_generator().")


class OneEpochTrainerMixin(TrainerMixin):
    """As :class:`TrainerMixin`, but training always runs exactly one epoch."""

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("epochs", None)
        return super().fit(*args, epochs=1, **kwargs)

    def fit_generator(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("epochs", None)
        return super().fit_generator(*args, epochs=1, **kwargs)


class AnalyzerNetworkBase(AnalyzerBase):
    """Selects the neurons to explain, checks model and inputs, compiles the analysis once.

    Args:
        model: a Keras 3 model.
        neuron_selection_mode: ``"max_activation"``, ``"index"`` (indices given to ``analyze``),
            ``"all"``, or ``"weights"`` (``(indices, weights)`` given to ``analyze``: a weighted
            set of neurons per sample, see :mod:`innv_core.selection`).
        allow_lambda_layers: accept Lambda layers (treated by their gradient).
        output_index: for multi-output models, which output to explain: a position in
            ``model.outputs`` or an output name (innv addition).
        disable_model_checks: skip model checks.

    A model computing in reduced precision (``mixed_float16``) is analyzed through a float32
    copy (:func:`innv_core.canonize.as_float32`).
    """

    #: Whether the analysis needs the traced graph (reverse analyzers) or only the model.
    _needs_graph = True
    #: Whether every layer must be known to a plugin (LRP-like analyzers).
    _requires_known_layers = False
    #: ``openable(layer)``: layers without a handler this analyzer opens (LRP), or None.
    _openable: Any = None
    #: Whether integer (token id) inputs get a meaningful analysis (LRP: in embedding space).
    _supports_integer_inputs = False
    #: Whether an all-zero analysis of a non-zero output deserves a warning.
    _warns_all_zero = True

    def __init__(
        self,
        model: Any,
        neuron_selection_mode: str = "max_activation",
        allow_lambda_layers: bool = False,
        output_index: int | str = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, **kwargs)
        self._model = as_float32(model)
        self._neuron_selection_mode = neuron_selection_mode
        self._allow_lambda_layers = allow_lambda_layers
        output_position = resolve_output_index(self._model, output_index)
        self._selection = NeuronSelection(neuron_selection_mode, output_position)
        self._analyze_fn: Any = None
        self._trace_count = 0
        self._warned_all_zero = False
        self._graph = self._trace_model()
        limits = self._graph.token_limits() if self._graph is not None else None
        self._inputs = input_checks.InputChecker(input_checks.specs_of_model(self._model, limits))
        # token inputs: analyze the graph cut at their embeddings (innv_core.tokens)
        self._split = split_at_embeddings(self._graph) if self._graph is not None else None
        if self._split is not None:
            self._graph = self._split.graph
        if not self._disable_model_checks:
            self._check_model()
        elif self._requires_known_layers and self._graph is not None:
            _warn_fallbacks(self._graph, type(self).__name__, self._openable)

    @classmethod
    def describe_layer_kind(cls, kind: str) -> str:
        """How this analyzer crosses layers of ``kind`` (for the supported-layers table)."""
        if kind == "lambda":
            return "gradient, with `allow_lambda_layers=True`"
        return "gradient"

    def _trace_model(self) -> ExecutionGraph | None:
        try:
            return trace(self._model)
        except NotAnalyzableModelError:
            if self._needs_graph:
                raise
            return None

    def _check_model(self) -> None:
        """Refuse what this analyzer cannot explain (subclasses add their own checks)."""
        if self._graph is not None:
            check_model(
                self._graph,
                allow_lambda_layers=self._allow_lambda_layers,
                require_known_layers=self._requires_known_layers,
                openable=self._openable,
                analyzer_name=type(self).__name__,
                output_index=self._selection.output_index,
            )
        integer = [s.name for s in self._inputs.specs or [] if s.is_integer]
        if integer and self._split is None and not self._supports_integer_inputs:
            raise NotAnalyzableModelError(
                f"{type(self).__name__} needs real-valued inputs, but model input(s) {integer} take "
                "integers and feed no Embedding directly: the gradient with respect to integers is "
                "not defined, so the analysis would be zero. innv attributes token ids in the space "
                "of the Embedding that reads them (see innv_core.tokens); use an LRP analyzer "
                "(e.g. 'lrp.epsilon'), or explain the sub-model that starts at the real-valued tensors."
            )

    # -- the compiled analysis -------------------------------------------------------------
    def _input_specs(self) -> list[tf.TensorSpec]:
        return [tf.TensorSpec((None, *s.shape), tf.as_dtype(s.dtype)) for s in self._inputs.specs]

    def create_analyzer_model(self, Xs: list[np.ndarray] | None = None) -> None:
        """Compile the analysis as one ``tf.function``; called by the first ``analyze``."""
        if self._inputs.specs is None:
            if Xs is None:
                raise NotAnalyzableModelError(
                    f"{type(self).__name__} cannot compile before the first analyze() call for a "
                    "model without declared inputs (subclassed model)."
                )
            self._inputs.check(Xs)
        specs = self._input_specs()
        self._prepare_outside_function()

        n_inputs = len(specs)

        def analysis(*args: Any) -> Any:
            self._trace_count += 1
            inputs, indices = list(args[:n_inputs]), self._selection.selected(args[n_inputs:])
            if self._split is None:
                return self._create_analysis(list(inputs), indices)
            result = self._create_analysis(self._split.points(inputs), indices)
            if isinstance(result, tuple):  # (analyses, kept tensors)
                return self._split.gather(result[0]), result[1]
            return self._split.gather(result)

        # No autograph: analyses are written with explicit TF control flow (tf.while_loop), and
        # autograph's source rewriting was ~40% of the first call's time.
        self._analyze_fn = tf.function(
            analysis, input_signature=[*specs, *self._selection.specs()], autograph=False
        )

    def _prepare_outside_function(self) -> None:
        """Create, eagerly, anything holding variables that the analysis needs (no retracing)."""
        if self._graph is None:
            return
        for node in self._graph.kernel_nodes():
            linear_part_of(node.layer, node.handler)

    def _create_analysis(self, inputs: list[Any], indices: Any) -> Any:
        """The analysis as tensors, one per model input (override in subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _create_analysis().")

    # -- helpers for subclasses ------------------------------------------------------------
    def _model_outputs(self, inputs: list[Any]) -> list[Any]:
        """All outputs of the model on ``inputs``, in the order of ``model.outputs``.

        With token inputs, ``inputs`` are the analysis points (model inputs and embedding
        vectors) and the graph cut at the embeddings is replayed.
        """
        if self._split is not None and len(inputs) == len(self._split.graph.input_ids):
            return self._split.graph.run(inputs)
        outputs = ka.call_model(self._model, inputs, training=False)
        return ka.flatten_outputs(outputs)

    def _model_output(self, inputs: list[Any]) -> Any:
        """The output being explained (``output_index``)."""
        outputs = self._model_outputs(inputs)
        index = self._selection.output_index
        if index >= len(outputs):
            raise NeuronSelectionError(
                f"output_index={index} but the model returns {len(outputs)} output(s)."
            )
        return outputs[index]

    def _selected_gradient(self, inputs: list[Any], indices: Any, mask: Any = None) -> list[Any]:
        """Gradient of the selected output(s) w.r.t. the inputs, with ``tf.GradientTape``.

        ``mask`` (optional) replaces the selection (used when inputs are augmented copies).
        """
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            _watch_real(tape, inputs)
            y = self._model_output(inputs)
            if mask is None:
                mask = self._selection.mask(y, indices)
            target = tf.reduce_sum(y * tf.stop_gradient(mask))
        grads = tape.gradient(target, inputs)
        return [tf.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]

    def _selection_mask(self, inputs: list[Any], indices: Any) -> Any:
        """The selection mask for the model's output on ``inputs``."""
        return self._selection.mask(self._model_output(inputs), indices)

    # -- analyze ---------------------------------------------------------------------------
    def analyze(
        self, X: Any, neuron_selection: Any = None, strategy: Any = None, token_reduce: str | None = "sum"
    ) -> Any:
        """Analyze ``X``: an array, a tensor, a list (multi-input), a dict by input name, or a
        ``tf.data.Dataset`` of those.

        Returns numpy arrays of the inputs' shapes, in the structure of ``X`` (Keras'
        convention): an array for an array, a list (tuple) in the same order for a list
        (tuple), a dict with the same keys for a dict; a dataset's elements decide.

        Args:
            neuron_selection: with ``neuron_selection_mode="index"``, an int or one per sample
                (for a dataset: one per sample of the whole dataset); with ``"weights"``, the
                pair ``(indices, weights)``, each ``(batch, k)`` or ``(k,)`` for every sample.
            strategy: a ``tf.distribute.Strategy`` spreading each batch over its devices
                (innv addition; see :mod:`innv_core.distribute`).
            token_reduce: for token-id inputs read by an ``Embedding`` (see
                :mod:`innv_core.tokens`): ``"sum"`` gives one value per token, ``(N, T)``;
                None the analysis of each embedding dimension, ``(N, T, D)``.

        Raises:
            InvalidInputError: wrong shape, dtype, NaN/inf, empty batch, token id out of range.
            NeuronSelectionError: a neuron index out of range or of the wrong form.
        """
        check_token_reduce(token_reduce)
        if strategy is not None:
            from innv_core.distribute import analyze_distributed

            return analyze_distributed(self, X, strategy, neuron_selection, token_reduce)
        parts, done = [], 0
        split = input_checks.is_dataset(X) and self._selection.per_sample(neuron_selection)
        given = self._selection.count(neuron_selection) if split else 0
        for Xs in self._inputs.batches(X):
            n = Xs[0].shape[0]
            selection = neuron_selection
            if split:  # one selection per sample of the whole dataset: this batch's share
                if given < done + n:
                    raise _selection_count_error(given, f"at least {done + n}")
                selection = self._selection.part(neuron_selection, done, done + n)
            parts.append(self._analyze_batch(Xs, selection, token_reduce))
            done += n
        if split and done != given:
            raise _selection_count_error(given, str(done))
        merged = [np.concatenate(p, axis=0) for p in zip(*parts)] if len(parts) > 1 else parts[0]
        return self._inputs.restore(X, merged)

    def check_inputs(self, X: Any, neuron_selection: Any = None) -> None:
        """Refuse what :meth:`analyze` would refuse, without analyzing: one batch ``X`` (shape,
        dtype, finite values, token ids in range) and, if given, ``neuron_selection`` against the
        explained output. For a program that checks its inputs before a long run (``innv analyze``).

        Raises:
            InvalidInputError, NeuronSelectionError: as :meth:`analyze`.
        """
        Xs = self._inputs.check(X)
        if neuron_selection is not None:
            count = Xs[0].shape[0] if self._selection.per_sample(neuron_selection) else 1  # shared: once
            self._selection.feed(neuron_selection, count, self._n_neurons([x[:1] for x in Xs]))

    def _analyze_batch(
        self, Xs: list[np.ndarray], neuron_selection: Any, token_reduce: str | None = "sum"
    ) -> list[np.ndarray]:
        """The analysis of one checked batch (the one place that runs the compiled function)."""
        n = self._n_neurons(Xs)  # before compiling: an undeclared model is called on the data once
        if self._analyze_fn is None:
            self.create_analyzer_model(Xs)
        feed = self._selection.feed(neuron_selection, Xs[0].shape[0], n)
        analyses = self._to_numpy(self._analyze_fn(*Xs, *feed), Xs)
        if self._split is not None:
            analyses = self._split.reduce(analyses, Xs, token_reduce)
        _check_finite(analyses, Xs, type(self).__name__)
        if self._warns_all_zero and not self._warned_all_zero:
            self._warn_if_all_zero(analyses, Xs, feed)
        return analyses

    def _n_neurons(self, Xs: list[np.ndarray] | None) -> int:
        outputs = getattr(self._model, "outputs", None)
        if outputs:
            shape = outputs[self._selection.output_index].shape
            if all(d is not None for d in shape[1:]):
                return n_neurons(shape)
        try:
            y = self._model_output([tf.constant(x[:1]) for x in Xs])
        except NeuronSelectionError:
            raise
        except Exception as exc:  # noqa: BLE001 - a subclassed model refusing the data
            self._inputs.forget_inferred()
            raise InvalidInputError(
                f"The model cannot be called on inputs of shape(s) {[x.shape for x in Xs]}: "
                f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            ) from exc
        return n_neurons(y.shape)

    def _to_numpy(self, result: Any, Xs: list[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(r, dtype=_float_dtype(x)) for r, x in zip(result, Xs)]

    # -- all-zero analyses -----------------------------------------------------------------
    def _warn_if_all_zero(self, analyses: list[np.ndarray], Xs: list[np.ndarray], feed: tuple) -> None:
        """Warn (once per analyzer) when a sample's analysis is exactly zero but its output is not."""
        zero = np.ones(Xs[0].shape[0], bool)
        for a in analyses:
            zero &= ~np.any(a.reshape(a.shape[0], -1) != 0, axis=1)
        if not zero.any():
            return
        rows = np.flatnonzero(zero)
        inputs = [tf.constant(x[rows]) for x in Xs]
        y = self._model_output(inputs)
        chosen = [tf.constant(a) for a in self._selection.rows(feed, rows)]
        mask = self._selection.mask(y, self._selection.selected(chosen))
        selected = np.asarray(tf.reduce_sum(y * mask, axis=list(range(1, len(y.shape)))))
        nonzero = np.abs(selected) > 0
        if not nonzero.any():
            return
        self._warned_all_zero = True
        if all(not np.any(x[rows[nonzero]]) for x in Xs):
            hint = ("The input itself is all zero, so every term proportional to it is zero; the "
                    "output comes from the biases alone.")
        else:
            hint = self._all_zero_hint(selected[nonzero])
        warnings.warn(
            f"{type(self).__name__}: the analysis of {int(nonzero.sum())} sample(s) (first: sample "
            f"{int(rows[nonzero][0])}) is exactly zero everywhere although the explained output is "
            f"{float(selected[nonzero][0]):.3g}. {hint}",
            AnalysisWarning,
            stacklevel=4,
        )

    def _all_zero_hint(self, outputs: np.ndarray) -> str:
        """The likely cause of an all-zero analysis of samples whose explained outputs are ``outputs``.

        Analyzer families refine it (LRP: a too large epsilon; DeepTaylor: negative outputs).
        """
        return (
            "Likely cause: no path from the input to this output is active (e.g. every ReLU on it "
            "is off). Check the model's activations on this input."
        )


def _warn_fallbacks(graph: ExecutionGraph, name: str, openable: Any = None) -> None:
    """With the model checks off: one warning listing every layer crossed by its gradient instead."""
    unknown = unknown_layers(graph, openable)
    if unknown:
        warnings.warn(
            f"{name}: no plugin knows {describe_unknown(unknown)}. With disable_model_checks=True "
            "they are crossed by their gradient, so relevance will not be conserved there.",
            AnalysisWarning,
            stacklevel=4,
        )


def _check_finite(analyses: list[np.ndarray], Xs: list[np.ndarray], name: str) -> None:
    """Refuse to return NaN/inf: say which sample and how large its inputs were."""
    for a in analyses:
        bad = ~np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            scale = max(float(np.abs(x[k]).max()) for x in Xs if x.size)
            raise NumericalError(
                f"{name}: the analysis of {int(bad.sum())} sample(s) (first: sample {k}) contains NaN "
                f"or infinite values; that sample's largest input magnitude is {scale:.3g}. Values "
                "this large overflow float32 in the model or in a rule's division: rescale the "
                "inputs to the range the model was trained on."
            )


def _selection_count_error(given: int, samples: str) -> NeuronSelectionError:
    return NeuronSelectionError(
        f"neuron_selection has {given} indices but the dataset has {samples} samples; give one "
        "int, or exactly one index per sample of the dataset."
    )


def _watch_real(tape: Any, inputs: list[Any]) -> None:
    """Watch the real-valued inputs (token ids have no gradient; TF warns when watched)."""
    for x in inputs:
        if x.dtype.is_floating:
            tape.watch(x)


def _float_dtype(x: np.ndarray) -> np.dtype:
    return x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float32)


class ReverseAnalyzerBase(AnalyzerNetworkBase):
    """Analyses computed by reversing the model node by node.

    Subclasses add conditional mappings with :meth:`_add_conditional_reverse_mapping`; nodes
    without one use :meth:`_default_reverse_mapping` (the gradient). :meth:`_head_mapping` turns
    the selected outputs into the starting tensors (identity; gradients start from ones).

    Args:
        reverse_verbose: print each reversed node (at compile time).
        reverse_clip_values: ``False`` or ``(min, max)`` to clip every reversed tensor.
        reverse_project_bottleneck_layers: project bottleneck tensors into ``(-1, 1)``
            (or a given ``(a, b)``).
        reverse_check_min_max_values: print min/max of the reversed tensors at each call.
        reverse_check_finite: raise if a reversed tensor is not finite.
        reverse_keep_tensors: keep every reversed tensor in ``self._reversed_tensors`` after
            ``analyze`` (a list of ``(node_id, layer_name, [arrays])``).
        reverse_reapply_on_copied_layers: no meaning in Keras 3; accepted and ignored.
    """

    def __init__(
        self,
        model: Any,
        reverse_verbose: bool = False,
        reverse_clip_values: Any = False,
        reverse_project_bottleneck_layers: Any = False,
        reverse_check_min_max_values: bool = False,
        reverse_check_finite: bool = False,
        reverse_keep_tensors: bool = False,
        reverse_reapply_on_copied_layers: bool = False,
        **kwargs: Any,
    ) -> None:
        del reverse_reapply_on_copied_layers
        self._reverse_options = ReverseOptions(
            verbose=reverse_verbose,
            clip_values=_value_range("reverse_clip_values", reverse_clip_values, allow_equal=True),
            project_bottleneck=_value_range(
                "reverse_project_bottleneck_layers", reverse_project_bottleneck_layers, allow_true=True
            ),
            check_min_max=reverse_check_min_max_values,
            check_finite=reverse_check_finite,
            keep_tensors=reverse_keep_tensors,
        )
        self._conditional_reverse_mappings: list[tuple[int, int, Callable, Mapping, str]] = []
        self._reversed_tensors: list[tuple[int, str, list[np.ndarray]]] = []
        self._kept_nids: list[int] = []
        super().__init__(model, **kwargs)

    # -- mapping choice --------------------------------------------------------------------
    def _add_conditional_reverse_mapping(
        self, condition: Callable[[Any], bool], mapping: Mapping, priority: int = -1, name: str | None = None
    ) -> None:
        """Use ``mapping`` for layers where ``condition(layer)`` holds; higher priority is tried first."""
        if self._analyze_fn is not None:
            raise RuntimeError("Add reverse mappings before the first analyze() call.")
        order = len(self._conditional_reverse_mappings)
        entry = (-priority, order, condition, mapping, name or getattr(mapping, "__name__", "mapping"))
        self._conditional_reverse_mappings.append(entry)
        self._conditional_reverse_mappings.sort(key=lambda e: e[:2])

    def _reverse_mapping(self, layer: Any) -> Mapping | None:
        """The first conditional mapping whose condition holds for ``layer``, else None."""
        for _p, _o, condition, mapping, _name in self._conditional_reverse_mappings:
            if condition(layer):
                return mapping
        return None

    def _default_reverse_mapping(self, nt: NodeTensors, Rs: list, state: ReverseState) -> list:
        """The mapping for layers no condition matched: the gradient."""
        return gradient_mapping(nt, Rs, state)

    def _head_mapping(self, y: Any) -> Any:
        """The starting tensor for the selected output ``y`` (before masking)."""
        return y

    def _choose_mapping(self, node: Node) -> Mapping:
        return self._reverse_mapping(node.layer) or self._default_reverse_mapping

    def _uses_only_gradients(self) -> bool:
        """True if the whole reverse pass is one VJP (no custom mapping, no debug option)."""
        if self._reverse_options.needs_nodes or self._graph is None:
            return self._graph is None
        if (type(self)._default_reverse_mapping is not ReverseAnalyzerBase._default_reverse_mapping
                or type(self)._choose_mapping is not ReverseAnalyzerBase._choose_mapping):
            return False
        return all(self._reverse_mapping(n.layer) is None for n in self._graph.nodes)

    # -- analysis --------------------------------------------------------------------------
    def _reverse_extra(self) -> dict[str, Any]:
        """Analyzer-specific values the mappings can read from ``state.extra``."""
        return {}

    def _nonnegative_inputs(self) -> tuple[int, ...]:
        """Tensor ids of the model inputs known to be >= 0, where the sign analysis starts
        (:mod:`innv_core.signs`); none by default."""
        return ()

    def _reverse_prepare(self, inputs: list[Any]) -> Callable[..., None] | None:
        """Optional ``prepare(fwd, state)`` run after the forward pass (see ``run_reverse``)."""
        return None

    def _create_analysis(self, inputs: list[Any], indices: Any) -> Any:
        if self._uses_only_gradients():
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                _watch_real(tape, inputs)
                y = self._model_output(inputs)
            start = self._head_mapping(y) * tf.stop_gradient(self._selection.mask(y, indices))
            grads = tape.gradient(y, inputs, output_gradients=start)
            results = [tf.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]
            return self._postprocess_analysis(results, inputs)
        out_id = self._graph.output_ids[self._selection.output_index]

        def head(ys: list[Any]) -> list[Any]:
            (y,) = ys
            return [self._head_mapping(y) * tf.stop_gradient(self._selection.mask(y, indices))]

        results, kept = run_reverse(
            self._graph, inputs, self._choose_mapping, self._reverse_options, head,
            extra=self._reverse_extra(), output_ids=[out_id], prepare=self._reverse_prepare(inputs),
            nonnegative_inputs=self._nonnegative_inputs(),
        )
        results = [tf.zeros_like(x) if r is None else r for r, x in zip(results, inputs)]
        results = self._postprocess_analysis(results, inputs)
        if self._reverse_options.keep_tensors:
            self._kept_nids = sorted(kept)
            empty = tf.zeros([0])  # stands for "no tensor" (integer inputs)
            flat = [empty if r is None else r for nid in self._kept_nids for r in kept[nid]]
            return results, flat
        return results

    def _postprocess_analysis(self, results: list[Any], inputs: list[Any]) -> list[Any]:
        """Final touch on the analyses (e.g. absolute value, times input)."""
        return results

    def _to_numpy(self, result: Any, Xs: list[np.ndarray]) -> Any:
        if not self._reverse_options.keep_tensors:
            return super()._to_numpy(result, Xs)
        analyses, flat = result
        self._reversed_tensors = self._unflatten_kept(flat)
        return super()._to_numpy(analyses, Xs)

    def _unflatten_kept(self, flat: list[Any]) -> list[tuple[int, str, list[np.ndarray]]]:
        nodes = {n.nid: n for n in self._graph.nodes}
        out, pos = [], 0
        for nid in self._kept_nids:
            n_in = len(nodes[nid].input_ids)
            arrays = [np.asarray(t) for t in flat[pos:pos + n_in]]
            pos += n_in
            out.append((nid, nodes[nid].layer.name, arrays))
        return out


def _value_range(name: str, value: Any, allow_equal: bool = False, allow_true: bool = False) -> Any:
    """``False``, (``True`` if allowed), or a checked ``(low, high)`` tuple of finite numbers."""
    if value is False or value is None:
        return False
    if value is True and allow_true:
        return True
    return check_range(name, value, allow_equal=allow_equal,
                       alternatives="False, True" if allow_true else "False")
