"""Averaging gradients over many augmented copies of the input, a bounded chunk at a time.

Integrated Gradients and SmoothGrad fold their points into the batch: ``chunk`` points per
step of a ``tf.while_loop``, so memory is bounded by ``chunk * batch`` copies, whatever the
number of points. ``chunk`` follows from a memory budget (:mod:`innv_core.memory`) and the
batch given, at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from innv_core.memory import bytes_per_sample, points_per_step


def mean_gradient(
    gradient_fn: Callable[[list[Any], Any], list[Any]],
    inputs: list[Any],
    mask: Any,
    points_fn: Callable[[Any], list[Any]],
    n_points: int,
    chunk: Any,
) -> list[Any]:
    """Mean over ``n_points`` of the gradient at ``points_fn(ks)`` (each ``(k, batch, ...)``),
    ``chunk`` points (an int or a scalar tensor, 1 to ``n_points``) at a time.

    ``gradient_fn(flat_inputs, tiled_mask)`` returns gradients of the selected outputs; the
    selection ``mask`` (``(batch, ...)``) is fixed from the original input and tiled.
    """
    n_chunks = (n_points + chunk - 1) // chunk
    batch = tf.shape(inputs[0])[0]

    def body(c: Any, acc: list[Any]) -> tuple[Any, list[Any]]:
        ks = tf.range(c * chunk, tf.minimum((c + 1) * chunk, n_points))
        k = tf.shape(ks)[0]
        points = points_fn(ks)
        flat = [tf.reshape(p, tf.concat([[k * batch], tf.shape(p)[2:]], 0)) for p in points]
        tiled = tf.tile(mask, tf.concat([[k], tf.ones([tf.rank(mask) - 1], tf.int32)], 0))
        grads = gradient_fn(flat, tiled)
        summed = [
            tf.reduce_sum(tf.reshape(tf.cast(g, a.dtype), tf.concat([[k], tf.shape(x)], 0)), axis=0)
            for g, x, a in zip(grads, inputs, acc)
        ]
        return c + 1, [a + s for a, s in zip(acc, summed)]

    # token ids (integer inputs) have no gradient: their zeros are kept as floats
    zeros = [tf.zeros(tf.shape(x), x.dtype if x.dtype.is_floating else tf.float32) for x in inputs]
    _, total = tf.while_loop(lambda c, acc: c < n_chunks, body, (tf.constant(0), zeros))
    return [t / float(n_points) for t in total]


def repeated(x: Any, k: Any) -> Any:
    """``x`` repeated ``k`` times on a new leading axis: the points of an input left unchanged
    (token ids, whose embedding vectors are what is interpolated or noised)."""
    return tf.broadcast_to(x[None], tf.concat([[k], tf.shape(x)], 0))


def mean_selected_gradient(analyzer: Any, inputs: list[Any], indices: Any, points_fn: Any,
                           n_points: int, steps_per_chunk: int | None, memory_budget: float) -> list[Any]:
    """:func:`mean_gradient` of ``analyzer``'s selected output, the neuron chosen on ``inputs``;
    as many points per step as ``memory_budget`` allows for this batch (at most ``steps_per_chunk``)."""
    mask = analyzer._selection_mask(inputs, indices)
    grad_fn = lambda xs, m: analyzer._selected_gradient(xs, None, mask=m)
    chunk = points_per_step(memory_budget, bytes_per_sample(analyzer._model), tf.shape(inputs[0])[0],
                            n_points, cap=steps_per_chunk)
    return mean_gradient(grad_fn, inputs, mask, points_fn, n_points, chunk)
