"""Plugin: Keras operations used directly in a functional model (``x + y``, ``x * 0.5``).

Keras 3 records ``keras.ops`` calls on symbolic tensors as graph nodes of their own (MobileNetV3's
``relu6(x + 3) * (1 / 6)``, ConvNeXt's residual ``inputs + x``). Only the tensors are node inputs;
Python numbers are constants. ``Add``/``Subtract`` of two tensors split relevance like the
``Add`` layer (proportionally); ``Multiply`` of two tensors follows the gating convention; with
one tensor and a constant, both are elementwise affine maps and pass relevance unchanged, like
``Rescaling``.

Operations that only move values (``x[:, 0]`` for a CLS token, reshapes, transposes, slicing,
concatenation, casts between float types) route relevance like the gradient; ``mean`` and
``sum`` are bias-free linear maps and split it in proportion (the z-rule).

Comparisons and logical ops (``ids != 0``, which ``Embedding(mask_zero=True)`` records to build
its padding mask) produce booleans: no relevance reaches or leaves them (kind ``mask``).
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import (
    AVERAGE_POOLING,
    CONCATENATE,
    GATE,
    IDENTITY,
    MASK,
    RESHAPE,
    SUM_MERGE,
    LayerHandler,
)


@hookimpl
def innv_register_layers(registry):
    from keras.src.ops import numpy as keras_numpy

    for cls in (keras_numpy.Add, keras_numpy.Subtract):
        registry.add_layer(cls, LayerHandler(SUM_MERGE))
    registry.add_layer(keras_numpy.Multiply, LayerHandler(GATE))
    for name in _BOOLEAN_OPS:
        registry.add_layer(getattr(keras_numpy, name), LayerHandler(MASK))
    from keras.src.ops import core as keras_core

    families = ((_MOVING_OPS, RESHAPE), (_SUMMING_OPS, AVERAGE_POOLING), (("Concatenate",), CONCATENATE))
    for names, kind in families:
        for name in names:
            cls = getattr(keras_numpy, name, None)
            if cls is not None:
                registry.add_layer(cls, LayerHandler(kind))
    for name, kind in (("Cast", IDENTITY), ("Slice", RESHAPE)):
        cls = getattr(keras_core, name, None)
        if cls is not None:
            registry.add_layer(cls, LayerHandler(kind))


_BOOLEAN_OPS = ("Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual",
                "LogicalAnd", "LogicalOr", "LogicalNot", "LogicalXor", "Any", "All")
_MOVING_OPS = ("GetItem", "Take", "TakeAlongAxis", "Reshape", "Transpose", "Squeeze", "ExpandDims",
               "Flip", "Roll", "Tile", "Repeat", "Moveaxis", "Swapaxes", "Stack", "Split")
_SUMMING_OPS = ("Mean", "Sum")
