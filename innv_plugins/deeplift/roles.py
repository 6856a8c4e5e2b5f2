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

The role of each kind is a crossing of family ``deeplift`` (``how`` is the role's name),
registered by :func:`register_crossings`; a plugin adding a kind gives it one of these roles
with ``registry.add_crossing("deeplift", kind, role, description)``. A kind without one is
crossed by its gradient.
"""

from __future__ import annotations

from innv_core import layers as kinds
from innv_core.errors import NotAnalyzableModelError
from innv_core.graph import Node
from innv_core.registry import get_registry
from innv_plugins.deeplift.nonlinear import elementwise_activation

FAMILY = "deeplift"

KERNEL = "kernel"
BATCHNORM = "batchnorm"
ACTIVATION = "activation"
MAX_POOLING = "max_pooling"
LINEAR = "linear"
PRODUCT = "product"
NORMALIZATION = "normalization"
GRADIENT = "gradient"

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

#: The role of each built-in kind.
BUILTIN_ROLES = {
    kinds.INPUT: GRADIENT,
    kinds.KERNEL: KERNEL,
    kinds.BATCHNORM: BATCHNORM,
    kinds.ACTIVATION: ACTIVATION,
    kinds.MAX_POOLING: MAX_POOLING,
    kinds.AVERAGE_POOLING: LINEAR,
    kinds.SUM_MERGE: LINEAR,
    kinds.OTHER_MERGE: GRADIENT,
    kinds.CONCATENATE: LINEAR,
    kinds.RESHAPE: LINEAR,
    kinds.IDENTITY: LINEAR,
    kinds.EMBEDDING: GRADIENT,
    kinds.LAMBDA: GRADIENT,
    kinds.AFFINE: LINEAR,
    kinds.NORMALIZATION: NORMALIZATION,
    kinds.GATE: PRODUCT,
    kinds.MASK: GRADIENT,
    kinds.RECURRENT: GRADIENT,
    kinds.COMPOSITE: GRADIENT,
}


def register_crossings(registry) -> None:
    """The family ``deeplift`` and the role of each built-in kind (its crossings)."""
    registry.add_family(FAMILY, "DeepLIFT", analyzer="deep_lift.wrapper", order=40,
                        default=DESCRIPTIONS[GRADIENT])
    for kind, role in BUILTIN_ROLES.items():
        registry.add_crossing(FAMILY, kind, role, "-" if kind == kinds.INPUT else DESCRIPTIONS[role])


def role_of(node: Node) -> str:
    """The role of ``node`` (one of the constants above): its kind's ``deeplift`` crossing.

    An activation that is not elementwise (softmax) is crossed by its gradient.
    """
    crossing = get_registry().crossing(FAMILY, node.kind) if node.kind is not None else None
    if crossing is None:
        return GRADIENT
    role = crossing.how
    if role not in DESCRIPTIONS:
        raise NotAnalyzableModelError(
            f"The deeplift crossing of kind {node.kind!r} (layer {node.layer.name!r}) names the "
            f"role {role!r}; DeepLIFT knows the roles {', '.join(DESCRIPTIONS)}. Fix the plugin's "
            f'registry.add_crossing("deeplift", {node.kind!r}, role, description).'
        )
    if role == ACTIVATION and elementwise_activation(node, activation_role=True) is None:
        return GRADIENT
    return role


def describe_kind(kind: str) -> str:
    """The DeepLIFT treatment of layers of ``kind`` (activations assumed elementwise)."""
    return get_registry().crossing_description(FAMILY, kind)
