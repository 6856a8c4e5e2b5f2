"""Plugin: how LRP and DeepTaylor cross each built-in layer kind (their crossings).

LRP's crossing of a kind is a mapping ``(node_tensors, Rs, state) -> list`` from
:mod:`innv_plugins.lrp.mappings` (``how``); None where LRP decides otherwise: kernel layers get
their rule (``rule=``), recurrent layers are unrolled, composite layers opened. A kind without
an LRP crossing is crossed like the gradient (``mappings.route``). DeepTaylor (family
``deep_taylor``) is LRP with the z+ rule: it registers only where it differs and falls back to
LRP's crossings elsewhere. A plugin adding a kind registers its own crossings the same way.
"""

from __future__ import annotations

from innv_core import layers as k
from innv_core.hookspecs import hookimpl

LRP = "lrp"
DEEP_TAYLOR = "deep_taylor"


@hookimpl
def innv_register_crossings(registry):
    from innv_core.reverse import gradient_mapping
    from innv_plugins.lrp import mappings as m

    registry.add_family(LRP, "LRP", analyzer="lrp", order=10)
    registry.add_family(DEEP_TAYLOR, "DeepTaylor", analyzer="deep_taylor", fallback=LRP, order=20)
    for kind, how, description in (
        (k.KERNEL, None, "the layer's LRP rule (`rule=`)"),
        (k.BATCHNORM, m.pass_through,
         "folded into the Dense/Conv before it, else passes unchanged; or `bn_layer_rule`"),
        (k.ACTIVATION, m.pass_through, "passes unchanged (identity rule)"),
        (k.IDENTITY, m.pass_through, "passes unchanged"),
        (k.AFFINE, m.pass_through, "passes unchanged (identity rule)"),
        (k.AVERAGE_POOLING, m.proportional, "proportional split (z-rule)"),
        (k.SUM_MERGE, m.sum_merge, "proportional split (z-rule); with a constant: passes"),
        (k.GATE, m.gate, "gates held constant, signals share equally"),
        (k.NORMALIZATION, m.normalization, "LayerNorm rule: std held constant (AttnLRP)"),
        (k.EMBEDDING, m.embedding, "summed over the embedding axis"),
        (k.MASK, m.no_relevance, "none (a boolean mask, not a signal)"),
        (k.MAX_POOLING, m.route, "to the maximum (gradient)"),
        (k.OTHER_MERGE, m.route, "to the winner (gradient)"),
        (k.CONCATENATE, m.route, "each input its slice"),
        (k.RESHAPE, m.route, "moved back (gradient)"),
        (k.INPUT, None, "-"),
        (k.LAMBDA, m.route, "gradient, with `allow_lambda_layers=True`"),
        (k.COMPOSITE, None, "opened: rules inside its call (`attention=` AttnLRP or CP-LRP)"),
        (k.RECURRENT, None, "unrolled with Arras et al.'s rules (gates held, epsilon on linear maps)"),
    ):
        registry.add_crossing(LRP, kind, how, description)
    for kind, how, description in (
        (k.KERNEL, None, "z+ rule (z^B at the input when bounded)"),
        (k.ACTIVATION, None, "ReLU passes; other activations refused"),
        (k.AVERAGE_POOLING, gradient_mapping, "gradient"),
        (k.COMPOSITE, None, "refused (not a ReLU network)"),
        (k.RECURRENT, None, "refused (not a ReLU network)"),
    ):
        registry.add_crossing(DEEP_TAYLOR, kind, how, description)
