"""Integrated Gradients (Sundararajan et al., 2017), iNNvestigate's definition."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from innv_core.analyzer import AnalyzerNetworkBase
from innv_core.errors import check_positive_int
from innv_core.inputs.references import check_broadcastable, per_input
from innv_core.memory import DEFAULT_BUDGET, check_budget
from innv_plugins.gradient.augment import mean_selected_gradient, repeated


class IntegratedGradients(AnalyzerNetworkBase):
    """Gradients averaged at ``steps`` points ``linspace(0, 1, steps)`` of the straight path from
    ``reference_inputs`` to the input, times ``x - reference``.

    The explained neuron is selected on the input itself and kept fixed along the path.

    Args:
        model: a Keras model.
        steps: number of points on the path.
        reference_inputs: a number or an array broadcastable to the input (for multi-input
            models a list in the order of ``model.inputs`` or a dict by input name).
        steps_per_chunk: at most this many path points evaluated together; None (default): as many
            as ``memory_budget`` allows for the batch given.
        memory_budget: bytes one step may use (default 2 GiB), estimated from the model's layer
            outputs (:mod:`innv_core.memory`); sets how many path points are evaluated together.
        reference_token: for token inputs (innv addition, as Captum's
            ``LayerIntegratedGradients``): the path runs in embedding space from the vectors of
            this token id (e.g. the padding id) to the input's; None (default) starts at zero
            vectors. ``reference_inputs`` does not apply to token inputs.
    """

    _needs_graph = False

    def __init__(
        self,
        model: Any,
        steps: int = 64,
        reference_inputs: Any = 0,
        steps_per_chunk: int | None = None,
        memory_budget: float = DEFAULT_BUDGET,
        reference_token: int | None = None,
        **kwargs: Any,
    ) -> None:
        self._steps = check_positive_int("steps", steps)
        if reference_token is not None:
            reference_token = check_positive_int("reference_token", reference_token, minimum=0)
        self._reference_token = reference_token
        self._steps_per_chunk = (
            None if steps_per_chunk is None else check_positive_int("steps_per_chunk", steps_per_chunk)
        )
        self._memory_budget = check_budget(memory_budget)
        self._reference_inputs = reference_inputs
        super().__init__(model, **kwargs)
        check_broadcastable(reference_inputs, self._inputs.specs)

    def _references(self, inputs: list[Any]) -> list[Any]:
        """One reference per analysis point (token ids are their own: they are not interpolated)."""
        n_model = self._split.n_inputs if self._split is not None else len(inputs)
        refs = per_input(self._reference_inputs, n_model, self._inputs.names)
        refs = [tf.broadcast_to(tf.cast(r, x.dtype), tf.shape(x)) for r, x in zip(refs, inputs)]
        if self._split is None:
            return refs
        return self._split.references(refs, inputs, self._reference_token)

    def _create_analysis(self, inputs: list[Any], indices: Any) -> list[Any]:
        refs = self._references(inputs)
        diffs = [x - r for x, r in zip(inputs, refs)]
        alphas = np.linspace(0.0, 1.0, self._steps)

        def points(ks: Any) -> list[Any]:
            out = []
            for r, d in zip(refs, diffs):
                if d.dtype.is_integer:
                    out.append(repeated(r, tf.shape(ks)[0]))
                    continue
                a = tf.gather(tf.constant(alphas, d.dtype), ks)
                out.append(r[None] + _expand(a, d) * d[None])
            return out

        mean = mean_selected_gradient(self, inputs, indices, points, self._steps, self._steps_per_chunk,
                                      self._memory_budget)
        return [g * tf.cast(d, g.dtype) for g, d in zip(mean, diffs)]


def _expand(a: Any, like: Any) -> Any:
    """``a`` of shape ``(k,)`` reshaped to broadcast against ``(k, *like.shape)``."""
    return tf.reshape(a, tf.concat([tf.shape(a), tf.ones([tf.rank(like)], tf.int32)], 0))
