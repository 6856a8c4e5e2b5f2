"""SmoothGrad (Smilkov et al., 2017): the gradient averaged over noisy copies of the input."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from innv_core.analyzer import AnalyzerNetworkBase
from innv_core.errors import check_number, check_positive_int, invalid_parameter
from innv_core.memory import DEFAULT_BUDGET, check_budget
from innv_plugins.gradient import postprocess as post
from innv_plugins.gradient.augment import mean_selected_gradient, repeated


class SmoothGrad(AnalyzerNetworkBase):
    """Mean gradient over ``augment_by_n`` copies of the input with Gaussian noise.

    Args:
        model: a Keras model.
        augment_by_n: number of noisy copies.
        noise_scale: standard deviation of the noise (in input units; for token inputs, in
            the units of their embedding vectors, to which the noise is added).
        seed: makes the noise, hence every analysis, reproducible; None draws fresh noise.
        postprocess: None, ``"abs"`` or ``"square"`` applied to the averaged gradient.
        steps_per_chunk: at most this many noisy copies evaluated together; None (default): as many
            as ``memory_budget`` allows for the batch given.
        memory_budget: bytes one step may use (default 2 GiB), estimated from the model's layer
            outputs (:mod:`innv_core.memory`); sets how many noisy copies are evaluated together.
    """

    _needs_graph = False

    def __init__(
        self,
        model: Any,
        augment_by_n: int = 64,
        noise_scale: float = 1.0,
        seed: int | None = None,
        postprocess: str | None = None,
        steps_per_chunk: int | None = None,
        memory_budget: float = DEFAULT_BUDGET,
        **kwargs: Any,
    ) -> None:
        self._augment_by_n = check_positive_int("augment_by_n", augment_by_n)
        self._noise_scale = check_number("noise_scale", noise_scale, minimum=0.0)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
            raise invalid_parameter("seed", seed, "None or an int")
        self._seed = seed
        self._postprocess = post.check(postprocess)
        self._steps_per_chunk = (
            None if steps_per_chunk is None else check_positive_int("steps_per_chunk", steps_per_chunk)
        )
        self._memory_budget = check_budget(memory_budget)
        super().__init__(model, **kwargs)

    @property
    def signed(self) -> bool:
        return post.is_signed(self._postprocess)

    def _noise(self, shape: Any, ks: Any, which: int, dtype: Any) -> Any:
        """Noise of shape ``(len(ks), *shape)``; with a seed, point ``k``'s noise depends on
        ``(seed, k)`` only, not on how many points a step evaluates (the memory budget)."""
        if self._seed is None:
            full = tf.concat([tf.shape(ks), shape], 0)
            return tf.random.normal(full, stddev=self._noise_scale, dtype=dtype)
        seed = tf.constant(int(self._seed), tf.int32)
        one = lambda k: tf.random.stateless_normal(  # noqa: E731
            shape, seed=tf.stack([seed, k * 1000 + which]), stddev=self._noise_scale, dtype=dtype)
        return tf.map_fn(one, ks, fn_output_signature=dtype)

    def _create_analysis(self, inputs: list[Any], indices: Any) -> list[Any]:
        def points(ks: Any) -> list[Any]:
            k = tf.shape(ks)[0]
            return [
                x[None] + self._noise(tf.shape(x), ks, i, x.dtype)
                if x.dtype.is_floating else repeated(x, k)
                for i, x in enumerate(inputs)
            ]

        n = self._augment_by_n
        mean = mean_selected_gradient(self, inputs, indices, points, n, self._steps_per_chunk,
                                      self._memory_budget)
        return post.apply(self._postprocess, mean)
