"""Which kernel layers read the model input, and the input range as those layers see it.

A kernel layer reads the input when only preprocessing lies between it and a model input:
layers that move values (``Flatten``, ``Reshape``, ``Permute``, padding, cropping, upsampling),
layers that are the identity at inference (``Dropout``, ...), and elementwise affine maps
(``Rescaling``, ``Normalization``, a ``BatchNormalization`` on the input). As iNNvestigate's
``is_input_layer`` for the first kind; the others are how Keras 3 models (EfficientNet, ResNet50's
``ZeroPadding2D`` stem) put preprocessing inside the model.

``input_layer_rule=(low, high)`` gives the range of the *model's* input. The z^B rule needs the
range of the kernel layer's own input, so :func:`map_bounds` runs both bounds through the layers
in between (an affine map with a negative scale swaps them), e.g. ``(0, 255)`` through
``Rescaling(1/255)`` and ``Normalization(mean, variance)`` becomes ``((0 - mean) / std,
(1 - mean) / std)`` per channel, and padded positions get the range ``[0, 0]`` of the zeros put
there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core import layers as kinds
from innv_core.graph import ExecutionGraph, Node

#: Kinds of single-input layers that may lie between a model input and its first kernel layer.
PREPROCESSING_KINDS = (kinds.RESHAPE, kinds.IDENTITY, kinds.AFFINE, kinds.BATCHNORM)


def input_path(node: Node, graph: ExecutionGraph) -> list[Node] | None:
    """The preprocessing nodes from a model input to ``node`` (in forward order), or None if
    ``node`` does not read a model input through preprocessing alone."""
    producer = graph.producer()
    for tid in node.input_ids:
        path = []
        while tid not in graph.input_ids and tid in producer and _is_preprocessing(producer[tid]):
            path.append(producer[tid])
            tid = producer[tid].input_ids[0]
        if tid in graph.input_ids:
            return path[::-1]
    return None


def _is_preprocessing(node: Node) -> bool:
    return len(node.input_ids) == 1 and node.kind in PREPROCESSING_KINDS


def map_bounds(low: Any, high: Any, path: list[Node]) -> tuple[Any, Any]:
    """``(low, high)`` of the model input as the input range after the layers of ``path``.

    Scalar bounds stay scalars until a layer that changes values; bounds are broadcast to the
    layer's full input shape where a layer moves values (when that shape is known; else scalar
    and per-channel bounds pass such a layer unchanged).
    """
    for node in path:
        if node.kind == kinds.IDENTITY:
            continue
        if node.kind == kinds.RESHAPE and np.size(low) == 1 and np.size(high) == 1:
            continue
        shape = _input_shape(node)
        low, high = (_apply(node, bound, shape) for bound in (low, high))
        low, high = np.minimum(low, high), np.maximum(low, high)
    return low, high


def _input_shape(node: Node) -> tuple:
    """The sample shape (with a batch axis of 1) that bounds take before ``node``."""
    shape = tuple(node.layer.input.shape[1:])
    if node.kind == kinds.RESHAPE:
        if any(d is None for d in shape):
            return ()  # unknown size: the bounds cannot be moved, they pass as they are
        return (1, *shape)
    channels = shape[-1] if shape and shape[-1] is not None else 1
    return (1,) * len(shape) + (channels,)  # elementwise maps: per-channel is enough


def _apply(node: Node, bound: Any, shape: tuple) -> np.ndarray:
    array = np.asarray(bound, dtype=np.float64)
    if not shape:
        return array
    full = np.broadcast_shapes(shape, array.shape)
    dtype = node.layer.compute_dtype or "float32"
    x = np.broadcast_to(array, full).astype(dtype)
    return np.asarray(node.layer(x, training=False), dtype=np.float64)
