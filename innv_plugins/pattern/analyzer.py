"""PatternNet and PatternAttribution: the gradient's backward pass with patterns for weights.

Both run the model forward with its own weights and go backward like the gradient (ReLUs and
max pooling gate by the forward pass), except at layers with a kernel: there the backward pass
uses the layer's *pattern* ``a`` (PatternNet: the signal the neuron detects) or ``w * a``
(PatternAttribution: the contribution of that signal) in place of the kernel ``w``. As in
iNNvestigate 1.x, the backward pass starts from the selected output's value, PatternAttribution
is not multiplied by the input at the end, and bottleneck tensors are projected into ``(-1, 1)``
by default (long pattern projections can overflow; only the direction matters).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from innv_core import layers as kinds
from innv_core.analyzer import OneEpochTrainerMixin, ReverseAnalyzerBase
from innv_core.errors import InvalidParameterError, NotFittedError, invalid_parameter
from innv_core.graph import Node, require_relu_network
from innv_core.reverse import Mapping, NodeTensors, ReverseState
from innv_core.tools.pattern import PatternComputer, PatternLayer, pattern_layers
from innv_core.utils.pattern_files import pattern_key

__all__ = ["PatternNet", "PatternAttribution"]

#: The pattern type ``fit`` computes when none is given (iNNvestigate 1.x's default).
DEFAULT_PATTERN_TYPE = "relu"


class PatternNet(OneEpochTrainerMixin, ReverseAnalyzerBase):
    """PatternNet: project the output back to the input along the patterns (the signal).

    Args:
        model: a Keras model (Dense, Conv1D/2D/3D, DepthwiseConv1D/2D kernel layers) with ReLU
            as its only non-linearity: the patterns are derived for ReLU networks, so other
            models are refused (:class:`~innv_core.errors.NotAnalyzableModelError`; pass
            ``disable_model_checks=True`` to apply the method anyway).
        patterns: one pattern per layer with a kernel, in the order of their first call, each of
            the kernel's shape (``PatternComputer(model).compute(X)``, or a pattern file read with
            ``innv_core.utils.pattern_files.load_patterns``). If None, call :meth:`fit` first.
        pattern_type: the pattern type :meth:`fit` computes (default ``"relu"``, as iNNvestigate).
        reverse_project_bottleneck_layers: project bottleneck tensors of the backward pass into
            ``(-1, 1)`` (default True).
        **kwargs: the options of :class:`~innv_core.analyzer.ReverseAnalyzerBase`.

    Example::

        analyzer = PatternNet(model)
        analyzer.fit(X_train, batch_size=64)
        signal = analyzer.analyze(x)
    """

    def __init__(self, model: Any, patterns: Any = None, pattern_type: Any = None, **kwargs: Any) -> None:
        if isinstance(pattern_type, list | tuple):
            raise invalid_parameter("pattern_type", pattern_type, f"one pattern type ({type(self).__name__})")
        kwargs.setdefault("reverse_project_bottleneck_layers", True)
        super().__init__(model, **kwargs)
        # Patterns travel as arrays of the saved state (_state_arrays), not as a parameter.
        getattr(self, "_init_params", {}).pop("patterns", None)
        self._pattern_type = pattern_type
        self._pattern_layers = pattern_layers(self._graph)
        self._patterns: list[np.ndarray] | None = None
        self._pattern_tensors: dict[int, Any] = {}
        if patterns is not None:
            self._set_patterns(patterns)

    def _check_model(self) -> None:
        super()._check_model()
        require_relu_network(self._graph, type(self).__name__)

    # -- patterns ------------------------------------------------------------------------------
    @property
    def patterns(self) -> list[np.ndarray] | None:
        """The patterns in use (one per layer with a kernel), or None before :meth:`fit`."""
        return None if self._patterns is None else list(self._patterns)

    def _set_patterns(self, patterns: Any) -> None:
        patterns = [np.asarray(p) for p in patterns]
        layers = self._pattern_layers
        if len(patterns) != len(layers):
            raise InvalidParameterError(
                f"{type(self).__name__} got {len(patterns)} pattern(s) but the model has "
                f"{len(layers)} layer(s) with a kernel ({', '.join(p.layer.name for p in layers)}). "
                "Compute them for this model with PatternComputer(model).compute(X) or fit()."
            )
        for p, player in zip(patterns, layers):
            shape = tuple(getattr(player.layer, player.kernel_name).shape)
            if p.shape != shape:
                raise InvalidParameterError(
                    f"The pattern for layer {player.layer.name!r} has shape {p.shape} but its kernel "
                    f"has shape {shape}. Patterns come in the order of the kernel layers' first call."
                )
        self._patterns = patterns
        self._analyze_fn = None  # recompile with the new patterns on the next analyze()

    def _prepare_pattern(self, pattern: np.ndarray, player: PatternLayer) -> np.ndarray:
        """The weights the backward pass uses in place of the kernel."""
        return pattern

    # -- training ------------------------------------------------------------------------------
    def _fit_generator(
        self,
        generator: Any,
        steps_per_epoch: int | None = None,
        epochs: int = 1,
        max_queue_size: int = 10,
        workers: int = 1,
        use_multiprocessing: bool = False,
        verbose: int = 0,
        disable_no_training_warning: Any = None,
        **kwargs: Any,
    ) -> None:
        """Compute the patterns from the data (one pass); ``kwargs`` go to :class:`PatternComputer`.

        ``pattern_type`` may be given here too (as in early iNNvestigate 1.x); it overrides the
        constructor's for this fit.
        """
        del epochs, max_queue_size, workers, use_multiprocessing, disable_no_training_warning
        pattern_type = kwargs.pop("pattern_type", None) or self._pattern_type or DEFAULT_PATTERN_TYPE
        computer = PatternComputer(self._model, pattern_type=pattern_type, **kwargs)
        self._set_patterns(computer.compute_generator(generator, steps=steps_per_epoch, verbose=verbose))

    # -- state ---------------------------------------------------------------------------------
    def _state_arrays(self) -> dict[str, np.ndarray]:
        if self._patterns is None:
            return {}
        return {pattern_key(i): p for i, p in enumerate(self._patterns)}

    def _load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        indices = sorted(int(k[len("pattern_"):]) for k in arrays if k.startswith("pattern_"))
        if indices:
            self._set_patterns([arrays[pattern_key(i)] for i in indices])

    # -- analysis ------------------------------------------------------------------------------
    def create_analyzer_model(self, Xs: list[np.ndarray] | None = None) -> None:
        if self._patterns is None:
            raise NotFittedError(
                f"{type(self).__name__} has no patterns yet. Call fit(X) (or fit_generator) with "
                "training data first, or pass patterns=PatternComputer(model).compute(X) to the "
                "constructor."
            )
        super().create_analyzer_model(Xs)

    def _prepare_outside_function(self) -> None:
        super()._prepare_outside_function()
        self._pattern_tensors = {}
        for pattern, player in zip(self._patterns, self._pattern_layers):
            kernel = getattr(player.layer, player.kernel_name)
            weights = self._prepare_pattern(pattern, player)
            self._pattern_tensors[id(player.layer)] = tf.constant(weights, dtype=kernel.dtype)

    @classmethod
    def describe_layer_kind(cls, kind: str) -> str:
        from innv_core.registry import get_registry

        return get_registry().crossing_description("pattern", kind)  # innv_plugins.pattern.crossings

    def _choose_mapping(self, node: Node) -> Mapping:
        custom = self._reverse_mapping(node.layer)
        if custom is not None:
            return custom
        if node.kind == kinds.KERNEL:
            return self._pattern_mapping
        return self._default_reverse_mapping

    def _uses_only_gradients(self) -> bool:
        return False

    def _pattern_mapping(self, nt: NodeTensors, Rs: list, state: ReverseState) -> list:
        """Through the activation like the gradient, then through the kernel with the pattern."""
        R = Rs[0]
        if nt.Zs is not None:
            R = state.tape.gradient(nt.Ys[0], nt.Zs[0], output_gradients=R)
        x = nt.Xs[0]
        weights = {nt.node.handler.kernels[0]: self._pattern_tensors[id(nt.layer)]}
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            z = state.linear_part(nt.node)(x, weights)
        return [tape.gradient(z, x, output_gradients=R)]


class PatternAttribution(PatternNet):
    """PatternAttribution: the backward pass with ``w * a`` (kernel times pattern) for weights.

    The contribution of the signal each neuron detects; for a linear model ``w * a_s * y``.
    Same arguments as :class:`PatternNet`.
    """

    def _prepare_pattern(self, pattern: np.ndarray, player: PatternLayer) -> np.ndarray:
        return np.multiply(pattern, player.kernel())


