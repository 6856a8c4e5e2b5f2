"""Plugin: normalization layers, with their statistics held fixed.

``BatchNormalization`` at inference is the per-channel affine map ``x * scale + shift`` with
``scale = gamma / sqrt(moving_variance + epsilon)`` and ``shift = beta - moving_mean * scale``.
It is a layer of kind ``batchnorm`` (it keeps its ``linear`` map so that rules can be applied to
it): LRP folds it into the Dense/Conv before it by default (Zennit's canonizer,
``LRP(fuse_batchnorm=...)``) and passes relevance through it unchanged where it cannot be folded
(Zennit's ``Pass``); ``LRP(bn_layer_rule=...)`` applies a rule to it instead (or the model's rule,
as iNNvestigate, with ``bn_layer_rule="innvestigate"``). See ``docs/layer-families.md``.

``LayerNormalization``, ``GroupNormalization`` and ``UnitNormalization`` normalize each sample by
statistics of its own values (kind ``normalization``). AttnLRP's LayerNorm rule, as LXT
implements it, holds the standard deviation (the norm) constant: the layer is then the linear map
``x -> (x - mean(x)) / sigma * gamma + beta`` and relevance crosses it by the epsilon-rule of that
map. ``linearized`` below computes exactly that map.
"""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl
from innv_core.layers import BATCHNORM, NORMALIZATION, LayerHandler


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


def _axes(axis: Any, rank: int) -> list[int]:
    return sorted(a % rank for a in (axis if isinstance(axis, list | tuple) else [axis]))


def _broadcast(v: Any, axes: list[int], shape: Any) -> Any:
    """A per-feature weight of the normalized axes, shaped to broadcast against ``shape``."""
    from keras import ops

    target = [shape[i] if i in axes else 1 for i in range(len(shape))]
    return ops.reshape(v, target)


def layer_norm_linearized(layer: Any, x: Any) -> Any:
    """LayerNormalization with the standard deviation held constant (mean still subtracted)."""
    from keras import ops

    axes = _axes(layer.axis, len(x.shape))
    mean, variance = ops.moments(x, axes=axes, keepdims=True)
    inv = ops.stop_gradient(ops.rsqrt(variance + layer.epsilon))
    y = x * inv if layer.rms_scaling else (x - mean) * inv
    if layer.gamma is not None:
        y = y * _broadcast(layer.gamma, axes, x.shape)
    if layer.beta is not None and not layer.rms_scaling:
        y = y + _broadcast(layer.beta, axes, x.shape)
    return y


def group_norm_linearized(layer: Any, x: Any) -> Any:
    """GroupNormalization (channels on the last axis) with each group's std held constant."""
    from keras import ops

    from innv_core.errors import NotAnalyzableModelError
    rank = len(x.shape)
    if layer.axis % rank != rank - 1:
        raise NotAnalyzableModelError(
            f"GroupNormalization {layer.name!r} normalizes axis {layer.axis}; innv's LRP rule "
            "supports channels on the last axis only."
        )
    channels = x.shape[-1]
    grouped = ops.reshape(x, (-1, *x.shape[1:-1], layer.groups, channels // layer.groups))
    axes = [i for i in range(1, rank + 1) if i != rank - 1]
    mean, variance = ops.moments(grouped, axes=axes, keepdims=True)
    inv = ops.stop_gradient(ops.rsqrt(variance + layer.epsilon))
    y = ops.reshape((grouped - mean) * inv, ops.shape(x))
    if layer.gamma is not None:
        y = y * layer.gamma
    if layer.beta is not None:
        y = y + layer.beta
    return y


def unit_norm_linearized(layer: Any, x: Any) -> Any:
    """UnitNormalization with the norm held constant: ``x / ||x||`` as a fixed scaling."""
    from keras import ops

    axes = _axes(layer.axis, len(x.shape))
    norm = ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=axes, keepdims=True), 1e-12))
    return x / ops.stop_gradient(norm)


def rms_norm_linearized(layer: Any, x: Any) -> Any:
    """RMSNormalization with the root mean square held constant (LXT's ``rms_norm_forward``)."""
    from keras import ops

    axes = _axes(layer.axis, len(x.shape))
    inv = ops.stop_gradient(ops.rsqrt(ops.mean(ops.square(x), axis=axes, keepdims=True) + layer.epsilon))
    y = x * inv
    return y if layer.scale is None else y * _broadcast(layer.scale, axes, x.shape)


@hookimpl
def innv_register_layers(registry):
    from keras import layers as L

    # BatchNorm keeps a kernel and a bias (its scale and shift) so that bn_layer_rule applies
    bn = LayerHandler(BATCHNORM, kernels=("kernel",), bias="bias", linear=batchnorm_linear,
                      weights=batchnorm_weights)
    registry.add_layer(L.BatchNormalization, bn)
    for cls, fn in ((L.LayerNormalization, layer_norm_linearized),
                    (L.GroupNormalization, group_norm_linearized),
                    (L.UnitNormalization, unit_norm_linearized),
                    (L.RMSNormalization, rms_norm_linearized)):
        registry.add_layer(cls, LayerHandler(NORMALIZATION, linearized=fn))
