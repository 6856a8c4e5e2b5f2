"""How DeepLIFT sees each node: the role that decides its rule in either nonlinear mode.

- ``kernel``: Dense, Conv, ... (linear part, then maybe an activation);
- ``batchnorm``: BatchNormalization at inference (elementwise affine);
- ``activation``: an elementwise activation layer (ReLU, LeakyReLU, ELU, PReLU, ``Activation``);
- ``max_pooling``: max pooling, global or not;
- ``linear``: layers whose multiplier is their (constant) gradient: average pooling,
  Add/Subtract/Average, Concatenate, reshaping, padding, upsampling, dropout, and elementwise
  affine maps (Rescaling, Normalization, LayerScale);
- ``product``: ``Multiply`` and products in functional graphs (an exact product rule);
- ``normalization``: LayerNormalization-like layers (an exact Rescale of the linearized map);
- ``gradient``: everything else (Maximum, Minimum, softmax layers, embeddings, Lambda and
  unknown layers). These are crossed by their gradient, which DeepLIFT does not define;
  summation-to-delta is then approximate.
"""

from __future__ import annotations

from innv_core import layers as kinds
from innv_core.graph import Node
from innv_plugins.deeplift.nonlinear import elementwise_activation

KERNEL = "kernel"
BATCHNORM = "batchnorm"
ACTIVATION = "activation"
MAX_POOLING = "max_pooling"
LINEAR = "linear"
PRODUCT = "product"
NORMALIZATION = "normalization"
GRADIENT = "gradient"

_LINEAR_KINDS = frozenset({
    kinds.AVERAGE_POOLING, kinds.SUM_MERGE, kinds.CONCATENATE, kinds.RESHAPE, kinds.IDENTITY,
    kinds.AFFINE,
})


_OTHER_ROLES = {kinds.GATE: PRODUCT, kinds.NORMALIZATION: NORMALIZATION}


def role_of(node: Node) -> str:
    """The role of ``node`` (one of the constants above)."""
    kind = node.kind
    if kind == kinds.KERNEL:
        return KERNEL
    if kind == kinds.BATCHNORM:
        return BATCHNORM
    if kind == kinds.ACTIVATION and elementwise_activation(node) is not None:
        return ACTIVATION
    if kind == kinds.MAX_POOLING:
        return MAX_POOLING
    if kind in _LINEAR_KINDS:
        return LINEAR
    return _OTHER_ROLES.get(kind, GRADIENT)


#: How each role is crossed, for the supported-layers table.
DESCRIPTIONS = {
    KERNEL: "linear part by its gradient, activation by Rescale",
    BATCHNORM: "linear (gradient)",
    ACTIVATION: "Rescale (or RevealCancel)",
    MAX_POOLING: "Captum's max-pooling rule",
    LINEAR: "linear (gradient)",
    PRODUCT: "exact product rule",
    NORMALIZATION: "Rescale of the map with statistics held",
    GRADIENT: "gradient (summation-to-delta approximate)",
}


def describe_kind(kind: str) -> str:
    """The DeepLIFT treatment of layers of ``kind`` (activations assumed elementwise)."""
    known = {kinds.KERNEL: KERNEL, kinds.BATCHNORM: BATCHNORM, kinds.ACTIVATION: ACTIVATION,
             kinds.MAX_POOLING: MAX_POOLING, **_OTHER_ROLES}
    role = known.get(kind, LINEAR if kind in _LINEAR_KINDS else GRADIENT)
    return "-" if kind == kinds.INPUT else DESCRIPTIONS[role]
