"""Plugin: baselines that ignore the model's reasoning (``input``, ``random``)."""

from __future__ import annotations

from typing import Any

from innv_core.analyzer import AnalyzerNetworkBase
from innv_core.hookspecs import hookimpl


class Input(AnalyzerNetworkBase):
    """Returns the input as the analysis."""

    _needs_graph = False
    _supports_integer_inputs = True
    _warns_all_zero = False

    def _create_analysis(self, inputs: list[Any], indices: Any) -> list[Any]:
        import tensorflow as tf

        return [tf.identity(x) for x in inputs]


class Random(AnalyzerNetworkBase):
    """Returns Gaussian noise as the analysis (a baseline for perturbation analysis).

    Args:
        model: a Keras model.
        stddev: standard deviation of the noise.
        seed: None for fresh noise at every call; an int makes each call reproducible.
    """

    _needs_graph = False
    _supports_integer_inputs = True
    _warns_all_zero = False

    def __init__(self, model: Any, stddev: float = 1, seed: int | None = None, **kwargs: Any) -> None:
        self._stddev = float(stddev)
        self._seed = seed
        super().__init__(model, **kwargs)

    def _create_analysis(self, inputs: list[Any], indices: Any) -> list[Any]:
        import tensorflow as tf

        out = []
        for i, x in enumerate(inputs):
            dtype = x.dtype if x.dtype.is_floating else tf.float32  # noise for token ids too
            if self._seed is None:
                out.append(tf.random.normal(tf.shape(x), stddev=self._stddev, dtype=dtype))
            else:
                seed = tf.constant([int(self._seed), i], tf.int32)
                noise = tf.random.stateless_normal(tf.shape(x), seed=seed, stddev=self._stddev, dtype=dtype)
                out.append(noise)
        return out


@hookimpl
def innv_register_analyzers(registry):
    registry.add_analyzer("input", Input)
    registry.add_analyzer("random", Random)
