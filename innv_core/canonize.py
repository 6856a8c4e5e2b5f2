"""Model rewrites that keep the output and make rules apply: BatchNorm fused into the layer before.

LRP rules are defined for linear layers followed by an activation. A BatchNormalization right
after a Dense/Conv layer (without activation) is an affine map, so it can be folded into that
layer's kernel and bias: ``W' = W * scale``, ``b' = b * scale + shift``. The fused model computes
the same function (checked by the tests) and each rule then sees one linear layer.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from innv_core import keras_adapter as ka
from innv_core import layers as kinds
from innv_core.graph import ExecutionGraph, Node, PassThrough, trace
from innv_core.linear_part import activation_of

FUSABLE = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


class FusedAway(PassThrough):
    """Stands where a fused BatchNorm was: passes its input through (and accepts its call arguments)."""


def fusable_pairs(graph: ExecutionGraph) -> list[tuple[Node, Node]]:
    """``(kernel_node, bn_node)`` for every BatchNorm that can be folded into its producer.

    A pair qualifies when the kernel layer is a Dense/Conv (not transposed, not depthwise) in
    channels-last layout without activation, its output feeds only the BatchNorm, the BatchNorm
    normalizes the last axis, and neither layer is called more than once.
    """
    producer, consumers = graph.producer(), graph.consumers()
    calls: dict[int, int] = {}
    for node in graph.nodes:
        calls[id(node.layer)] = calls.get(id(node.layer), 0) + 1
    pairs = []
    for node in graph.nodes:
        if node.kind != kinds.BATCHNORM or len(node.input_ids) != 1:
            continue
        source = producer.get(node.input_ids[0])
        if source is not None and _fusable(source, node, consumers, calls):
            pairs.append((source, node))
    return pairs


def _fusable(source: Node, bn: Node, consumers: dict, calls: dict) -> bool:
    layer = source.layer
    axes = bn.layer.axis if isinstance(bn.layer.axis, list | tuple) else [bn.layer.axis]
    return (
        isinstance(layer, FUSABLE)
        and getattr(layer, "data_format", "channels_last") == "channels_last"
        and activation_of(layer) is None
        and len(consumers.get(source.output_ids[0], [])) == 1
        and calls[id(layer)] == 1
        and calls[id(bn.layer)] == 1
        and len(axes) == 1
        and axes[0] in (-1, _output_rank(source) - 1)
    )


def _output_rank(node: Node) -> int:
    return len(node.layer.output.shape)


def fuse_batchnorm(model: Any) -> Any:
    """A model computing the same function with each fusable BatchNorm folded into its producer.

    Layers that are not fused are shared with ``model`` (same objects, same weights). Returns
    ``model`` itself when nothing can be fused.
    """
    pairs = fusable_pairs(trace(model))
    if not pairs:
        return model
    bn_ids = {id(bn.layer) for _, bn in pairs}
    replacements = {id(k.layer): _fused_layer(k, bn) for k, bn in pairs}

    def clone(layer: Any) -> Any:
        if id(layer) in bn_ids:
            return FusedAway(name=f"{layer.name}_folded", dtype=layer.dtype_policy)
        return replacements.get(id(layer), (layer, None))[0]

    fused = keras.models.clone_model(model, clone_function=clone)
    for new_layer, weights in replacements.values():
        new_layer.set_weights(weights)
    return fused


def _fused_layer(kernel: Node, bn: Node) -> tuple[Any, list[np.ndarray]]:
    """A fresh copy of the kernel layer (with bias) and its fused weights ``[W*scale, b*scale+shift]``."""
    layer = kernel.layer
    config = {**layer.get_config(), "use_bias": True, "name": f"{layer.name}_bn_fused"}
    scale_shift = {k: keras.ops.convert_to_numpy(v) for k, v in bn.handler.weights(bn.layer).items()}
    w = keras.ops.convert_to_numpy(layer.kernel)
    b = keras.ops.convert_to_numpy(layer.bias) if layer.bias is not None else np.zeros(w.shape[-1], w.dtype)
    weights = [w * scale_shift["kernel"], b * scale_shift["kernel"] + scale_shift["bias"]]
    return type(layer).from_config(config), weights


# -- mixed precision -------------------------------------------------------------------------
def uses_reduced_precision(model: Any) -> bool:
    """True if a layer computes in float16/bfloat16 (e.g. under ``mixed_float16``)."""
    return any(_compute_dtype(layer) in ("float16", "bfloat16") for layer in ka.all_layers(model))


def as_float32(model: Any) -> Any:
    """``model`` itself, or, if it computes in reduced precision, a float32 copy with its weights.

    Relevance rules divide by small pre-activations and sum many signed terms; in float16 that
    overflows or cancels (and TF refuses mixed dtypes in a MatMul). innv therefore analyzes a
    float32 copy: same layers and weights (variables are float32 under mixed precision), only
    the compute dtype differs. Lambda layers are shared, not copied (they cannot be rebuilt in
    Keras' safe mode).
    """
    if not uses_reduced_precision(model):
        return model

    def clone(layer: Any) -> Any:
        if isinstance(layer, keras.layers.Lambda) or isinstance(layer, keras.layers.InputLayer):
            return layer
        config = {**layer.get_config(), "dtype": "float32"}
        return type(layer).from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    copy.set_weights([np.asarray(w, np.float32) if np.issubdtype(np.asarray(w).dtype, np.floating)
                      else w for w in model.get_weights()])
    return copy


def _compute_dtype(layer: Any) -> str | None:
    policy = getattr(layer, "dtype_policy", None)
    return getattr(policy, "compute_dtype", None)
