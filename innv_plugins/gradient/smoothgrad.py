"""SmoothGrad (Smilkov et al., 2017): the gradient averaged over noisy copies of the input."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from innv_core.analyzer import AnalyzerNetworkBase
from innv_core.errors import check_number, check_positive_int, invalid_parameter
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
        steps_per_chunk: noisy copies evaluated together (memory: this many input copies).
    """

    _needs_graph = False

    def __init__(
        self,
        model: Any,
        augment_by_n: int = 64,
        noise_scale: float = 1.0,
        seed: int | None = None,
        postprocess: str | None = None,
        steps_per_chunk: int = 16,
        **kwargs: Any,
    ) -> None:
        self._augment_by_n = check_positive_int("augment_by_n", augment_by_n)
        self._noise_scale = check_number("noise_scale", noise_scale, minimum=0.0)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
            raise invalid_parameter("seed", seed, "None or an int")
        self._seed = seed
        self._postprocess = post.check(postprocess)
        self._steps_per_chunk = check_positive_int("steps_per_chunk", steps_per_chunk)
        super().__init__(model, **kwargs)

    def _noise(self, shape: Any, ks: Any, which: int, dtype: Any) -> Any:
        if self._seed is None:
            return tf.random.normal(shape, stddev=self._noise_scale, dtype=dtype)
        seed = tf.stack([tf.constant(int(self._seed), tf.int32), ks[0] * 1000 + which])
        return tf.random.stateless_normal(shape, seed=seed, stddev=self._noise_scale, dtype=dtype)

    def _create_analysis(self, inputs: list[Any], indices: Any) -> list[Any]:
        def points(ks: Any) -> list[Any]:
            k = tf.shape(ks)[0]
            return [
                x[None] + self._noise(tf.concat([[k], tf.shape(x)], 0), ks, i, x.dtype)
                if x.dtype.is_floating else repeated(x, k)
                for i, x in enumerate(inputs)
            ]

        n = self._augment_by_n
        mean = mean_selected_gradient(self, inputs, indices, points, n, self._steps_per_chunk)
        return post.apply(self._postprocess, mean)
