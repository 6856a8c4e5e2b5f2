"""Occlusion sensitivity (Zeiler & Fergus, 2014): how much does the output drop without a patch?

A patch slides over the input; inside it the input is replaced by ``baseline``. The drop of the
selected output, ``f(x) - f(occluded x)``, is attributed to the pixels of the patch; a pixel
covered by several patches gets the mean drop of those patches. For a linear model with
non-overlapping patches every pixel of a patch gets exactly ``sum over the patch of w * (x - baseline)``.

All occluded copies of a batch are run through the model together, ``patches_per_chunk`` patches
at a time in a ``tf.while_loop`` (memory: batch times that many input copies).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from innv_core import hookimpl
from innv_core.analyzer import AnalyzerNetworkBase


def window_starts(size: int, patch: int, stride: int) -> list[int]:
    """Starts of the windows along one axis; a last, clipped window reaches the border."""
    starts = list(range(0, max(size - patch, 0) + 1, stride))
    if starts[-1] + patch < size:
        starts.append(starts[-1] + stride)
    return starts


def patch_masks(spatial: Sequence[int], patch: Sequence[int], stride: Sequence[int]) -> np.ndarray:
    """One 0/1 mask per patch position, shape ``(n_patches, *spatial)``."""
    per_axis = [window_starts(n, p, s) for n, p, s in zip(spatial, patch, stride)]
    masks = np.zeros((int(np.prod([len(a) for a in per_axis])), *spatial), np.float32)
    for i, corner in enumerate(itertools.product(*per_axis)):
        masks[(i, *(slice(c, c + p) for c, p in zip(corner, patch)))] = 1.0
    return masks


def _per_axis(value: Any, n_axes: int, what: str) -> tuple[int, ...]:
    values = (value,) * n_axes if np.isscalar(value) else tuple(value)
    if len(values) != n_axes or any(int(v) < 1 for v in values):
        raise ValueError(f"{what} must be a positive int or {n_axes} of them, got {value!r}.")
    return tuple(int(v) for v in values)


class Occlusion(AnalyzerNetworkBase):
    """Occlusion sensitivity: the drop of the selected output when a patch is set to ``baseline``.

    The spatial axes are all non-batch axes but the last (the channels, occluded together); an
    input of shape ``(batch, features)`` has one spatial axis and no channel axis.

    Args:
        model: a Keras model with one input of fixed shape.
        patch_size: patch extent, an int or one per spatial axis.
        stride: step between patches (default ``patch_size``: non-overlapping patches).
        baseline: the value written into the patch; a number or an array broadcastable to one
            input sample (e.g. one value per channel).
        patches_per_chunk: patches evaluated per model call.
    """

    _needs_graph = False

    def __init__(self, model: Any, patch_size: Any = 8, stride: Any = None, baseline: Any = 0.0,
                 patches_per_chunk: int = 32, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        if len(model.inputs) != 1 or None in model.inputs[0].shape[1:]:
            raise ValueError("Occlusion needs a model with one input of fixed shape (batch axis aside).")
        shape = tuple(model.inputs[0].shape[1:])
        self._channels = len(shape) > 1
        spatial = shape[:-1] if self._channels else shape
        patch = _per_axis(patch_size, len(spatial), "patch_size")
        steps = _per_axis(patch if stride is None else stride, len(spatial), "stride")
        masks = patch_masks(spatial, patch, steps)
        self._masks = masks
        self._weights = masks / masks.sum(axis=0)  # each patch's share of its pixels' attribution
        self._baseline = np.asarray(baseline, np.float32)
        self._chunk = max(1, int(patches_per_chunk))

    def _create_analysis(self, inputs: list[Any], indices: Any) -> list[Any]:
        (x,) = inputs
        dtype = x.dtype
        n, n_patches = tf.shape(x)[0], self._masks.shape[0]
        masks = tf.constant(self._masks[..., None] if self._channels else self._masks, dtype)
        weights = tf.constant(self._weights.reshape(n_patches, -1), dtype)
        baseline = tf.constant(self._baseline, dtype)
        y = self._model_output([x])
        selected = tf.stop_gradient(self._selection.mask(y, indices))
        f_x = tf.reduce_sum(tf.reshape(y * selected, (n, -1)), axis=1)

        def body(start: Any, total: Any) -> tuple[Any, Any]:
            m = masks[start:start + self._chunk]  # (k, *shape)
            k = tf.shape(m)[0]
            occluded = x[:, None] * (1.0 - m[None]) + baseline * m[None]  # (n, k, *shape)
            y_occ = self._model_output([tf.reshape(occluded, tf.concat([[n * k], tf.shape(x)[1:]], 0))])
            f_occ = tf.reduce_sum(tf.reshape(y_occ, (n, k, -1)) * tf.reshape(selected, (n, 1, -1)), axis=2)
            drop = f_x[:, None] - f_occ  # (n, k)
            return start + self._chunk, total + drop @ weights[start:start + self._chunk]

        total = tf.zeros((n, weights.shape[1]), dtype)
        _, total = tf.while_loop(lambda s, _t: s < n_patches, body, (tf.constant(0), total))
        spatial = tf.concat([[n], tf.shape(masks)[1:]], 0)
        return [tf.broadcast_to(tf.reshape(total, spatial), tf.shape(x))]


@hookimpl
def innv_register_analyzers(registry):
    registry.add_analyzer("occlusion", Occlusion)
