"""The model call every model-based metric shares: the score of class ``y`` for many inputs.

Built once per metric and model as a ``tf.function`` with a batch-free input signature, so
the perturbed inputs of all steps run through one compiled graph in chunks of ``batch_size``,
without retracing. Like Quantus, ``softmax=True`` scores probabilities (a model that ends in
a softmax is used as it is, one without gets a softmax), ``softmax=False`` logits (the
model's final softmax, if any, removed with :func:`~innv_core.graph.model_wo_softmax`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from innv_core.errors import NotAnalyzableModelError
from innv_core.graph import model_wo_softmax

__all__ = ["ClassScores"]


class ClassScores:
    """``scores(x, y)``: the model's output for class ``y[i]`` on ``x[i]`` (numpy in, numpy out)."""

    def __init__(self, model: Any, softmax: bool) -> None:
        if len(model.inputs) != 1:
            raise NotAnalyzableModelError(
                f"Metrics need a model with one input; this one has {len(model.inputs)}.")
        logits = model_wo_softmax(model)
        spec = model.inputs[0]
        self.input_shape = tuple(spec.shape[1:])
        self.classes = int(np.prod([d for d in logits.outputs[0].shape[1:]]))

        @tf.function(input_signature=[tf.TensorSpec((None, *self.input_shape), spec.dtype),
                                      tf.TensorSpec((None,), tf.int64)], reduce_retracing=True)
        def scores(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
            out = tf.reshape(logits(x, training=False), (tf.shape(x)[0], -1))
            if softmax:
                out = tf.nn.softmax(out, axis=-1)
            return tf.gather(out, y, axis=1, batch_dims=1)

        @tf.function(input_signature=[tf.TensorSpec((None, *self.input_shape), spec.dtype)],
                     reduce_retracing=True)
        def outputs(x: tf.Tensor) -> tf.Tensor:
            out = tf.reshape(logits(x, training=False), (tf.shape(x)[0], -1))
            return tf.nn.softmax(out, axis=-1) if softmax else out

        self._scores = scores
        self._outputs = outputs
        self._dtype = spec.dtype

    def __call__(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> np.ndarray:
        """Scores of ``x`` (any number of rows) in chunks of ``batch_size`` rows."""
        x = np.asarray(x, dtype=self._dtype)
        y = np.asarray(y, dtype=np.int64)
        parts = [self._scores(x[i:i + batch_size], y[i:i + batch_size]).numpy()
                 for i in range(0, len(x), batch_size)]
        return np.concatenate(parts).astype(np.float64)

    def outputs(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        """Every output (flattened, ``(rows, classes)``) of ``x`` in chunks of ``batch_size``."""
        x = np.asarray(x, dtype=self._dtype)
        parts = [self._outputs(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)]
        return np.concatenate(parts).astype(np.float64)
