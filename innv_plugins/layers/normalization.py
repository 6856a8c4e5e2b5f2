"""Plugin: normalization layers, with their statistics held fixed (inference).

``BatchNormalization`` at inference is the per-channel affine map ``x * scale + shift`` with
``scale = gamma / sqrt(moving_variance + epsilon)`` and ``shift = beta - moving_mean * scale``.
Today it is a kernel-like layer of kind ``batchnorm``: LRP applies the model's rule to it (as
iNNvestigate does) unless ``LRP(fuse_batchnorm=True)`` folds it into the Dense/Conv before it
(Zennit's canonizer). See ``docs/layer-families.md`` for the pass-through default that replaces
this.
"""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl
from innv_core.layers import BATCHNORM, LayerHandler


def _bn_shape(layer: Any, rank: int) -> list[int]:
    axes = [a % rank for a in (layer.axis if isinstance(layer.axis, list | tuple) else [layer.axis])]
    return [-1 if i in axes else 1 for i in range(rank)]


def batchnorm_weights(layer: Any) -> dict[str, Any]:
    """BatchNormalization at inference as ``x * kernel + bias`` (per channel)."""
    from keras import ops

    scale = ops.rsqrt(layer.moving_variance + layer.epsilon)
    if layer.gamma is not None:
        scale = scale * layer.gamma
    shift = -layer.moving_mean * scale
    if layer.beta is not None:
        shift = shift + layer.beta
    return {"kernel": scale, "bias": shift}


def batchnorm_linear(layer: Any, x: Any, weights: dict[str, Any]) -> Any:
    """``x * kernel + bias`` with the per-channel weights broadcast along the layer's axis."""
    from keras import ops

    shape = _bn_shape(layer, len(x.shape))
    return x * ops.reshape(weights["kernel"], shape) + ops.reshape(weights["bias"], shape)


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    registry.add_layer(
        L.BatchNormalization, LayerHandler(BATCHNORM, linear=batchnorm_linear, weights=batchnorm_weights)
    )
