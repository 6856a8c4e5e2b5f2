"""``DeepLIFTWrapper``: DeepLIFT under iNNvestigate's name, implemented natively.

iNNvestigate's class wrapped the ``deeplift`` package, which cannot run on Keras 3; this one
computes the same method (Shrikumar et al., "Learning Important Features Through
Propagating Activation Differences", ICML 2017) with the reverse engine, in the analyzer's one
compiled ``tf.function``:

1. forward: the inputs and the reference go through the model (the reference once, with
   batch 1, when it is shared by all samples);
2. backward: multipliers start at 1 on the selected output neuron(s) and cross each layer by
   the rule of its role (:mod:`~innv_plugins.deeplift.roles`) in the chosen nonlinear mode;
3. the attribution of each input value is ``multiplier × (x − reference)``; per sample they
   sum to ``f(x) − f(reference)`` of the selected neuron (summation-to-delta).
"""

from __future__ import annotations

import functools
from typing import Any

import tensorflow as tf

from innv_core.analyzer import ReverseAnalyzerBase
from innv_core.errors import check_positive_int, invalid_parameter
from innv_core.graph import Node
from innv_core.reverse import Forward, Mapping, ReverseState
from innv_plugins.deeplift import reference, rescale, reveal_cancel

NONLINEAR_MODES = ("rescale", "reveal_cancel")
_MODES = {"rescale": rescale, "reveal_cancel": reveal_cancel}


class DeepLIFTWrapper(ReverseAnalyzerBase):
    """DeepLIFT with the Rescale or the RevealCancel rule.

    Args:
        model: a Keras model (without softmax at the output).
        nonlinear_mode: ``"rescale"`` (multiplier ``Δy/Δx`` at each elementwise nonlinearity)
            or ``"reveal_cancel"`` (positive and negative contributions kept apart, so that
            they can cancel only where they meet; see :mod:`~innv_plugins.deeplift.reveal_cancel`).
        reference_inputs: the reference the inputs are compared with: a number, an array of
            one sample (with or without a batch axis of 1), an array with one reference per
            sample, or for multi-input models a list with one per input (model order) or a
            dict by input name (see
            :mod:`~innv_plugins.deeplift.reference`).
        verbose: print the rule chosen for each layer when the analysis is compiled.
        reference_token: for token inputs (innv addition): their embedding vectors are compared
            with this token's vectors; None (default) with zero vectors.
        **kwargs: ``neuron_selection_mode``, ``output_index``, ``allow_lambda_layers`` and the
            ``reverse_*`` options of :class:`~innv_core.analyzer.ReverseAnalyzerBase`.

    Max pooling follows Captum: the output's difference is credited to the input's maximum
    (up to the reference's output) and to the reference's maximum (the rest). Layers without a
    DeepLIFT rule (Multiply, Maximum, Minimum, softmax, embeddings, Lambda) are crossed by their
    gradient; summation-to-delta is then only approximate. The reversed tensors are
    multipliers; in ``reveal_cancel`` mode each is a ``(m⁺, m⁻)`` pair stacked on a new first
    axis (also what ``reverse_keep_tensors`` keeps and what custom mappings receive).

    Example::

        analyzer = DeepLIFTWrapper(model, reference_inputs=0)
        a = analyzer.analyze(x)
        a.reshape(len(x), -1).sum(1)  # == f(x) - f(0) at each sample's largest output
    """

    decomposes_output = True  # summation-to-delta

    def __init__(
        self,
        model: Any,
        nonlinear_mode: str = "rescale",
        reference_inputs: Any = 0,
        verbose: bool = False,
        reference_token: int | None = None,
        **kwargs: Any,
    ) -> None:
        if nonlinear_mode not in NONLINEAR_MODES:
            raise invalid_parameter("nonlinear_mode", nonlinear_mode, f"one of {NONLINEAR_MODES}")
        if reference_token is not None:
            reference_token = check_positive_int("reference_token", reference_token, minimum=0)
        self._reference_token = reference_token
        self._nonlinear_mode = nonlinear_mode
        self._verbose = bool(verbose)
        super().__init__(model, **kwargs)
        self._references = reference.References(reference_inputs, self._model.inputs, self._inputs.names)

    @classmethod
    def describe_layer_kind(cls, kind: str) -> str:
        from innv_plugins.deeplift.roles import describe_kind

        return describe_kind(kind)

    # -- rules -----------------------------------------------------------------------------
    def _rule_for(self, node: Node) -> tuple[Mapping, str]:
        """The mapping of ``node`` (a custom one first) and its description."""
        custom = self._reverse_mapping(node.layer)
        if custom is not None:
            return custom, "custom mapping"
        return _MODES[self._nonlinear_mode].mapping_for(node)

    def _choose_mapping(self, node: Node) -> Mapping:
        return self._rule_for(node)[0]

    def _print_rules(self) -> None:
        for node in self._graph.nodes:
            text = self._rule_for(node)[1]
            print(f"[innv deep_lift] {node.layer.name} ({type(node.layer).__name__}): {text}")

    def _prepare(self, references: list[Any], fwd: Forward, state: ReverseState) -> None:
        """After the input's forward pass: the reference's pass (and the split differences)."""
        ref = reference.reference_pass(self._graph, references, state)
        state.extra[reference.KEY] = ref
        if self._nonlinear_mode == "reveal_cancel":
            state.extra[reveal_cancel.KEY] = reveal_cancel.split_differences(self._graph, fwd, ref, state)

    # -- analysis --------------------------------------------------------------------------
    def _head_mapping(self, y: Any) -> Any:
        """Multipliers start at 1 on the selected neuron (the base applies the selection)."""
        return tf.ones_like(y)

    def _reverse_prepare(self, inputs: list[Any]) -> Any:
        if self._verbose:
            self._print_rules()
        return functools.partial(self._prepare, self._reference_tensors(inputs))

    def _reference_tensors(self, inputs: list[Any]) -> list[Any]:
        """One reference per analysis point (see :meth:`EmbeddingSplit.references`)."""
        if self._split is None:
            return self._references.tensors(inputs)
        model_refs = self._references.tensors(inputs[: self._split.n_inputs])
        return self._split.references(model_refs, inputs, self._reference_token)

    def _postprocess_analysis(self, results: list[Any], inputs: list[Any]) -> list[Any]:
        references = self._reference_tensors(inputs)
        return [self._attribution(m, x, r) for m, x, r in zip(results, inputs, references)]

    def _attribution(self, m: Any, x: Any, x_ref: Any) -> Any:
        """``multiplier × (x − reference)``; zeros for integer inputs (token ids)."""
        if m is None or not x.dtype.is_floating:
            return tf.zeros_like(x)
        delta = x - x_ref
        if self._nonlinear_mode == "reveal_cancel":
            m = reveal_cancel.collapse(*reveal_cancel.as_pair(m, x), delta)
        return m * delta

    def _analyze_batch(self, Xs: list[Any], neuron_selection: Any, token_reduce: Any = "sum") -> list[Any]:
        """With per-sample references, each batch must hold exactly one sample per reference."""
        self._references.check_batch(Xs[0].shape[0])
        return super()._analyze_batch(Xs, neuron_selection, token_reduce)
