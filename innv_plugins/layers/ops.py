"""Plugin: Keras operations used directly in a functional model (``x + y``, ``x * 0.5``).

Keras 3 records ``keras.ops`` calls on symbolic tensors as graph nodes of their own (MobileNetV3's
``relu6(x + 3) * (1 / 6)``, ConvNeXt's residual ``inputs + x``). Only the tensors are node inputs;
Python numbers are constants. ``Add``/``Subtract`` of two tensors split relevance like the
``Add`` layer (proportionally); ``Multiply`` of two tensors follows the gating convention; with
one tensor and a constant, both are elementwise affine maps and pass relevance unchanged, like
``Rescaling``.

Comparisons and logical ops (``ids != 0``, which ``Embedding(mask_zero=True)`` records to build
its padding mask) produce booleans: no relevance reaches or leaves them (kind ``mask``).
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl
from innv_core.layers import GATE, MASK, SUM_MERGE, LayerHandler


@hookimpl
def innv_register_layers(registry):
    from keras.src.ops import numpy as keras_numpy

    for cls in (keras_numpy.Add, keras_numpy.Subtract):
        registry.add_layer(cls, LayerHandler(SUM_MERGE, kernels=(), bias=None))
    registry.add_layer(keras_numpy.Multiply, LayerHandler(GATE, kernels=(), bias=None))
    for name in _BOOLEAN_OPS:
        registry.add_layer(getattr(keras_numpy, name), LayerHandler(MASK, kernels=(), bias=None))


_BOOLEAN_OPS = ("Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual",
                "LogicalAnd", "LogicalOr", "LogicalNot", "LogicalXor")
