"""LRP analyzers with iNNvestigate's classes and parameters.

:class:`LRP` takes every parameter. The one-rule analyzers (``LRPZ``, ``LRPEpsilon``,
``LRPAlphaBeta``, ``LRPAttnLRP``, ...) are composites (:mod:`innv_plugins.lrp.composites`),
importable from here as in iNNvestigate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core import layers as kinds
from innv_core.analyzer import ReverseAnalyzerBase
from innv_core.canonize import fuse_batchnorm
from innv_core.errors import InvalidParameterError, check_range
from innv_core.graph import ExecutionGraph, Node, trace
from innv_core.opening import opens_by_default, prepare_sublayers
from innv_core.registry import get_registry
from innv_core.reverse import Mapping
from innv_plugins.gradient.basic import InputTimesGradient
from innv_plugins.lrp import mappings
from innv_plugins.lrp.conventions import Convention, convention_of, inner_epsilon_of
from innv_plugins.lrp.rule_map import assign_rules


def _crossing_mapping(kind: str | None) -> Mapping:
    """LRP's registered crossing of ``kind`` (:mod:`innv_plugins.lrp.crossings`), else the gradient's."""
    crossing = get_registry().crossing("lrp", kind) if kind is not None else None
    return crossing.how if crossing is not None and crossing.how is not None else mappings.route


class LRP(ReverseAnalyzerBase):
    """Layer-wise relevance propagation with configurable rules.

    Args:
        model: a Keras model.
        rule: a rule name (``"Epsilon"``), a Rule class or instance, a list with one rule per
            kernel layer (in execution order), or a list of ``(condition, rule)`` pairs where
            ``condition(layer) -> bool``.
        input_layer_rule: rule for kernel layers reading a model input (also through padding,
            reshaping and elementwise preprocessing such as ``Rescaling``/``Normalization``),
            or ``(low, high)`` of the model input for the bounded rule; the bounds are mapped
            through that preprocessing to the kernel layer's own input range (see
            :mod:`innv_plugins.lrp.input_layers`).
        until_layer_idx: the kernel layers at the positions ``0..until_layer_idx`` (inclusive)
            of ``model.layers`` get ``until_layer_rule``. Counted as in iNNvestigate: a
            functional model's ``model.layers[0]`` is its ``InputLayer`` (its first Dense/Conv
            layer is 1), a Sequential model's ``model.layers`` has none (its first layer is 0);
            layers without weights count; a shared layer has one position for all its calls;
            every layer inside a nested model gets the nested model's position. An int from 0
            to ``len(model.layers) - 1``, else :class:`~innv_core.errors.InvalidParameterError`
            when the analyzer is created. See :mod:`innv_plugins.lrp.rule_map`.
        until_layer_rule: see ``until_layer_idx`` (ignored while ``until_layer_idx`` is None).
        bn_layer_rule: None (default): a BatchNormalization layer is folded into the Dense/Conv
            before it (see ``fuse_batchnorm``) or, where it cannot be, passes relevance unchanged
            like the other elementwise affine layers, so conserving rules conserve on residual
            networks. A rule (name, class, instance) is applied to every BatchNorm as to the
            linear layer ``x * scale + shift`` (no folding then); ``"innvestigate"`` gives them
            the model's rule as iNNvestigate does (the z-rule when ``rule`` is a per-layer list
            or no condition matches). See :func:`innv_plugins.lrp.rule_map.bn_rule`.
        bn_layer_fuse_mode: ``"one_linear"`` (scale and shift as one linear layer). Kept for
            iNNvestigate compatibility; ``"two_linear"`` is not supported.
        fuse_batchnorm: fold each BatchNorm that directly follows a Dense/Conv layer into that
            layer's weights first (:func:`innv_core.canonize.fuse_batchnorm`), so the rule sees
            one linear layer with the BatchNorm's shift as its bias, as Zennit's canonizer does.
            None (default): fold unless ``bn_layer_rule`` is given. False: every BatchNorm passes
            relevance (then a trained network's pre-BatchNorm ``z`` near 0 under a BatchNorm
            output far from 0 makes the rules divide by near zero).
        attention: how relevance crosses attention inside layers the engine opens
            (``MultiHeadAttention``, keras-hub blocks): a registered convention's name
            (``innv list``), ``"attnlrp"`` (AttnLRP, Achtibat et al. 2024: softmax by its
            gradient, the uniform rule for the two products) or ``"cp"`` (CP-LRP, Ali et al.
            2022: query and key held constant, relevance only through the values), or a
            :class:`~innv_plugins.lrp.conventions.Convention` value. See
            ``docs/opening-layers.md``.
        inner_epsilon: the epsilon rule's stabilizer for the linear maps inside opened and
            recurrent layers; None: the epsilon of ``rule`` if it has one, else 1e-9.
        input_range: ``(low, high)``, the value range of the model inputs (a bounded
            ``input_layer_rule`` declares it too). With ``low >= 0`` the inputs are known to be
            non-negative, and rules that split by sign (alpha-beta, z+) skip the terms of
            negative inputs at the first layer, as they do after every ReLU
            (:mod:`innv_core.signs`). The result is the same; only the work is less.

    Relevance starts at the selected output's value; activations and unfolded BatchNorms pass it
    unchanged; average pooling and Add/Subtract/Average split it in proportion to their inputs; max pooling,
    Concatenate and reshaping layers route it like the gradient.
    """

    _requires_known_layers = True
    decomposes_output = True  # relevance conserved: a generation's span is explained on its logits
    _openable = staticmethod(opens_by_default)  # subclassed layers are opened (docs/opening-layers.md)
    _supports_integer_inputs = True  # token ids: relevance at the embedding, summed over its axis

    def __init__(
        self,
        model: Any,
        *args: Any,
        rule: Any = None,
        input_layer_rule: Any = None,
        until_layer_idx: int | None = None,
        until_layer_rule: Any = None,
        bn_layer_rule: Any = None,
        bn_layer_fuse_mode: str = "one_linear",
        fuse_batchnorm: bool | None = None,
        attention: str | Convention = "attnlrp",
        inner_epsilon: float | None = None,
        input_range: Any = None,
        **kwargs: Any,
    ) -> None:
        if args:
            raise TypeError(f"{type(self).__name__} takes its options as keywords, got {args!r}.")
        if bn_layer_fuse_mode != "one_linear":
            raise ValueError(
                f"bn_layer_fuse_mode={bn_layer_fuse_mode!r} is not supported; use 'one_linear'."
            )
        self._fuse_batchnorm = bn_layer_rule is None if fuse_batchnorm is None else bool(fuse_batchnorm)
        self._attention = convention_of(attention)  # a Convention value
        self._inner_epsilon = inner_epsilon_of(rule, inner_epsilon)
        self._inputs_nonnegative = inputs_declared_nonnegative(input_range, input_layer_rule)
        super().__init__(model, **kwargs)
        self._rules = assign_rules(
            self._graph, rule, input_layer_rule, until_layer_idx, until_layer_rule, bn_layer_rule
        )
        self._rule_mapping = mappings.rule_mapping(self._rules)
        self._compile_now()

    def _nonnegative_inputs(self) -> tuple[int, ...]:
        return tuple(self._graph.input_ids) if self._inputs_nonnegative else ()

    def _trace_model(self) -> ExecutionGraph:
        return trace(fuse_batchnorm(self._model) if self._fuse_batchnorm else self._model)

    @classmethod
    def describe_layer_kind(cls, kind: str) -> str:
        return get_registry().crossing_description("lrp", kind)

    @property
    def rules(self) -> dict[str, Any]:
        """Layer name -> the rule it got (for checking a configuration)."""
        nodes = {n.nid: n for n in self._graph.nodes}
        return {nodes[nid].layer.name: rule for nid, rule in self._rules.items()}

    def _choose_mapping(self, node: Node) -> Mapping:
        custom = self._reverse_mapping(node.layer)
        if custom is not None:
            return custom
        if node.nid in self._rules:
            return self._rule_mapping
        if node.kind == kinds.RECURRENT:
            from innv_plugins.lrp.recurrent import recurrent_mapping

            return recurrent_mapping(self._inner_epsilon)
        if self._opens(node):
            from innv_plugins.lrp.opened import opened_mapping

            return opened_mapping(self._inner_epsilon, self._attention, strict=not self._disable_model_checks)
        return _crossing_mapping(node.kind)

    @staticmethod
    def _opens(node: Node) -> bool:
        return node.kind == kinds.COMPOSITE or (node.handler is None and opens_by_default(node.layer))

    def _prepare_outside_function(self) -> None:
        super()._prepare_outside_function()
        registry = get_registry()
        for node in self._graph.nodes:
            if self._opens(node):
                prepare_sublayers(node.layer, registry)

    def _compile_now(self) -> None:
        """With opened layers, compile the analysis at creation: an operation no rule covers is
        then refused before any analysis (the first ``analyze`` reuses the compiled function)."""
        if self._disable_model_checks or self._graph is None or self._inputs.specs is None:
            return
        if any(self._opens(n) and self._reverse_mapping(n.layer) is None for n in self._graph.nodes):
            self.create_analyzer_model()
            self._analyze_fn.get_concrete_function()

    def _all_zero_hint(self, outputs: Any) -> str:
        output_magnitude = float(abs(outputs).max())
        epsilons = [r.epsilon for r in self._rules.values() if isinstance(getattr(r, "epsilon", None), float)]
        if epsilons and max(epsilons) >= output_magnitude:
            return (
                f"Likely cause: the stabilizer epsilon={max(epsilons):g} is larger than the "
                f"pre-activations (the explained output is only {output_magnitude:.3g}), so it absorbs "
                f"all relevance. Pass a smaller epsilon (e.g. epsilon={output_magnitude * 1e-3:.0e}), "
                "or check the model's weights and biases (freshly initialised models can have tiny outputs)."
            )
        return super()._all_zero_hint(outputs)

    def create_rule_mapping(self, layer: Any, reverse_state: Any = None) -> Mapping:
        """The mapping used for ``layer`` (iNNvestigate API)."""
        node = next(n for n in self._graph.nodes if n.layer is layer)
        return self._choose_mapping(node)


def inputs_declared_nonnegative(input_range: Any, input_layer_rule: Any) -> bool:
    """True if ``input_range`` (checked) or a bounded ``input_layer_rule`` has ``low >= 0``."""
    if input_range is not None:
        low, _high = check_range("input_range", input_range)
        return low >= 0
    if isinstance(input_layer_rule, tuple) and len(input_layer_rule) == 2:
        try:
            return bool(np.all(np.asarray(input_layer_rule[0], dtype=np.float64) >= 0))
        except (TypeError, ValueError):
            return False  # assign_rules names the problem
    return False


def refuse_fixed(analyzer: str, given: dict[str, Any], *names: str) -> None:
    """Refuse a parameter the analyzer fixes by definition (it would be ignored otherwise)."""
    for name in names:
        if name in given:
            raise InvalidParameterError(
                f"{analyzer} fixes {name}= by definition, so {name}={given[name]!r} cannot be "
                f"used. For another {name}, use LRP(model, {name}=...) (create_analyzer('lrp', "
                f"model, {name}=...)), which takes every LRP parameter."
            )


class BaselineLRPZ(InputTimesGradient):
    """LRP-z by its closed form on ReLU/max-pooling networks: input times gradient (for testing)."""

    decomposes_output = True


#: The one-rule analyzers, made in :mod:`innv_plugins.lrp.composites` (which imports this module).
_COMPOSITES = (
    "LRPZ", "LRPZIgnoreBias", "LRPEpsilon", "LRPEpsilonIgnoreBias", "LRPAttnLRP", "LRPCP", "LRPWSquare",
    "LRPFlat", "LRPAlphaBeta", "LRPAlpha2Beta1", "LRPAlpha2Beta1IgnoreBias", "LRPAlpha1Beta0",
    "LRPAlpha1Beta0IgnoreBias", "LRPZPlus", "LRPZPlusFast",
)


def __getattr__(name: str) -> Any:
    if name in _COMPOSITES:
        from innv_plugins.lrp import composites

        return getattr(composites, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
