"""Plugin: how the reverse engine treats Keras 3's built-in layers."""

from __future__ import annotations

from innv_core import layers as k
from innv_core.hookspecs import hookimpl
from innv_core.layers import LayerHandler


def _bn_shape(layer, rank):
    axes = [a % rank for a in (layer.axis if isinstance(layer.axis, list | tuple) else [layer.axis])]
    return [-1 if i in axes else 1 for i in range(rank)]


def _bn_weights(layer):
    """BatchNormalization at inference as ``x * kernel + bias`` (per channel)."""
    from keras import ops

    scale = ops.rsqrt(layer.moving_variance + layer.epsilon)
    if layer.gamma is not None:
        scale = scale * layer.gamma
    shift = -layer.moving_mean * scale
    if layer.beta is not None:
        shift = shift + layer.beta
    return {"kernel": scale, "bias": shift}


def _bn_linear(layer, x, weights):
    from keras import ops

    shape = _bn_shape(layer, len(x.shape))
    return x * ops.reshape(weights["kernel"], shape) + ops.reshape(weights["bias"], shape)


def _handlers():
    import keras
    from keras import layers as L

    from innv_core.graph import PassThrough

    kernel = LayerHandler(k.KERNEL)
    table = {
        L.Dense: kernel,
        L.EinsumDense: LayerHandler(k.KERNEL),
        L.Conv1D: kernel, L.Conv2D: kernel, L.Conv3D: kernel,
        L.Conv1DTranspose: kernel, L.Conv2DTranspose: kernel, L.Conv3DTranspose: kernel,
        L.DepthwiseConv1D: kernel, L.DepthwiseConv2D: kernel,
        L.SeparableConv1D: LayerHandler(k.KERNEL, kernels=("depthwise_kernel", "pointwise_kernel")),
        L.SeparableConv2D: LayerHandler(k.KERNEL, kernels=("depthwise_kernel", "pointwise_kernel")),
        L.BatchNormalization: LayerHandler(k.BATCHNORM, linear=_bn_linear, weights=_bn_weights),
        L.InputLayer: LayerHandler(k.INPUT, kernels=(), bias=None),
        L.Activation: LayerHandler(k.ACTIVATION, kernels=(), bias=None),
        L.ReLU: LayerHandler(k.ACTIVATION, kernels=(), bias=None),
        L.LeakyReLU: LayerHandler(k.ACTIVATION, kernels=(), bias=None),
        L.ELU: LayerHandler(k.ACTIVATION, kernels=(), bias=None),
        L.PReLU: LayerHandler(k.ACTIVATION, kernels=(), bias=None),
        L.Softmax: LayerHandler(k.ACTIVATION, kernels=(), bias=None),
        L.Add: LayerHandler(k.SUM_MERGE, kernels=(), bias=None),
        L.Subtract: LayerHandler(k.SUM_MERGE, kernels=(), bias=None),
        L.Average: LayerHandler(k.SUM_MERGE, kernels=(), bias=None),
        L.Multiply: LayerHandler(k.OTHER_MERGE, kernels=(), bias=None),
        L.Maximum: LayerHandler(k.OTHER_MERGE, kernels=(), bias=None),
        L.Minimum: LayerHandler(k.OTHER_MERGE, kernels=(), bias=None),
        L.Concatenate: LayerHandler(k.CONCATENATE, kernels=(), bias=None),
        L.Embedding: LayerHandler(k.EMBEDDING, kernels=("embeddings",), bias=None),
        L.Lambda: LayerHandler(k.LAMBDA, kernels=(), bias=None),
    }
    for cls in (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D,
                L.GlobalMaxPooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling3D):
        table[cls] = LayerHandler(k.MAX_POOLING, kernels=(), bias=None)
    for cls in (L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D,
                L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D):
        table[cls] = LayerHandler(k.AVERAGE_POOLING, kernels=(), bias=None)
    for cls in (L.Flatten, L.Reshape, L.Permute, L.RepeatVector,
                L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D,
                L.Cropping1D, L.Cropping2D, L.Cropping3D,
                L.UpSampling1D, L.UpSampling2D, L.UpSampling3D):
        table[cls] = LayerHandler(k.RESHAPE, kernels=(), bias=None)
    for cls in (L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D,
                L.GaussianNoise, L.GaussianDropout, L.AlphaDropout, L.ActivityRegularization):
        table[cls] = LayerHandler(k.IDENTITY, kernels=(), bias=None)
    table[PassThrough] = LayerHandler(k.IDENTITY, kernels=(), bias=None)
    del keras
    return table


@hookimpl
def innv_register_layers(registry):
    for cls, handler in _handlers().items():
        registry.add_layer(cls, handler)
