"""LRP presets and composites as values, and :func:`composite_analyzer`, which makes each an analyzer.

Every named LRP analyzer but ``lrp`` itself is a :class:`~innv_core.composite.Composite` value made
an analyzer class by :func:`composite_analyzer`: the one-rule analyzers (``lrp.z``, ``lrp.epsilon``,
``lrp.alpha_beta``, ``lrp.attnlrp``, ...; importable from :mod:`innv_plugins.lrp.analyzer` as in
iNNvestigate), the sequential presets (:mod:`innv_plugins.lrp.presets`), DeepTaylor
(:mod:`innv_plugins.deeptaylor`) and Zennit's named composites below. A parameter a composite
fixes (``rule``; ``input_layer_rule`` where it chooses the input layer's rule; ``attention`` for
AttnLRP and CP-LRP), given by the user, raises :class:`~innv_core.errors.InvalidParameterError`.

Zennit's composites: one rule for Dense layers, one for convolutions, one for the first layer.
Each analyzer is the Zennit 1.0 composite of the same name, with its definitions:

==============================  ===================  ====================  ===============================
analyzer                        Dense / EinsumDense  other kernel layers   kernel layers reading the input
==============================  ===================  ====================  ===============================
``lrp.epsilon_plus``            Epsilon(1e-6)        z+ (alpha=1, beta=0)  as the others
``lrp.epsilon_plus_flat``       Epsilon(1e-6)        z+                    Flat
``lrp.epsilon_alpha_2_beta_1``  Epsilon(1e-6)        alpha=2, beta=1       as the others
``lrp.epsilon_gamma_box``       Epsilon(1e-6)        Gamma(0.25)           z^B (``low``, ``high``) on a conv
==============================  ===================  ====================  ===============================

z+ and alpha-beta keep the sign-split bias (Zennit's ``ZPlus`` and ``AlphaBeta``); their
denominators, and gamma's, are stabilized by 1e-6 as in Zennit. Activations and
BatchNorm layers pass relevance, sums and average pooling split it in proportion (Zennit's
``layer_map_base``), and every BatchNorm that directly follows a Dense/Conv layer is first folded
into it (Zennit's ``SequentialMergeBatchNorm`` canonizer, innv's LRP default; pass
``fuse_batchnorm=False`` to keep it as a pass-through layer). Zennit's "first layer" is the first
matching module in definition order; innv's are the kernel layers that read a model input
(through preprocessing), the same layer in a single-input CNN. In ``lrp.epsilon_gamma_box`` the
first layer gets z^B only if it is a convolution, as in Zennit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from innv_core.composite import Composite, Parameter, Ref, RuleSpec, is_dense, is_kernel, is_other_kernel
from innv_plugins.lrp.analyzer import LRP, refuse_fixed
from innv_plugins.rules.alpha_beta import (
    Alpha1Beta0IgnoreBiasRule,
    Alpha1Beta0Rule,
    Alpha2Beta1IgnoreBiasRule,
    Alpha2Beta1Rule,
    AlphaBetaRule,
)
from innv_plugins.rules.bounded import require_bounds
from innv_plugins.rules.epsilon import EpsilonRule
from innv_plugins.rules.flat import FlatRule
from innv_plugins.rules.gamma import GammaRule
from innv_plugins.rules.w_square import WSquareRule
from innv_plugins.rules.z import ZIgnoreBiasRule, ZRule
from innv_plugins.rules.z_plus import ZPlusFastRule, ZPlusRule

#: Zennit's epsilon on Dense layers in every composite.
COMPOSITE_EPSILON = 1e-6
#: Zennit's stabilizer of the other rules' denominators.
ZENNIT_STABILIZER = 1e-6


def composite_analyzer(class_name: str, composite: Composite, base: type = LRP,
                       module: str | None = None) -> type:
    """The analyzer class ``class_name``: ``base`` with the rules and parameters of ``composite``.

    Its ``__init__(model, <composite parameters>, **kwargs)`` (what ``help()`` and
    ``inspect.signature`` show) binds the composite's parameters, refuses the parameters it
    fixes, and calls ``base``'s own ``__init__`` (the first in its MRO that is not a composite's)
    with the rest, the composite's defaults and what it fixes. ``save``/``load`` record the
    arguments as given.
    """
    underlying_init = next(
        k.__dict__["__init__"] for k in base.__mro__
        if "__init__" in k.__dict__ and "_composite" not in k.__dict__
    )

    def __init__(self: Any, model: Any, *args: Any, **kwargs: Any) -> None:
        values, rest = composite.bind(class_name, args, kwargs)
        if composite.check is not None:
            composite.check(class_name, values)
        refuse_fixed(class_name, rest, *composite.fixed)
        underlying_init(self, model, **composite.underlying(class_name, values, rest))

    __init__.__signature__ = composite.signature()
    __init__.__qualname__ = f"{class_name}.__init__"
    __init__.__doc__ = f"{composite.description} Other keywords: those of {base.__name__}."
    namespace = {
        "__init__": __init__,
        "_composite": composite,
        "__doc__": composite.description,
        "__module__": module or __name__,
        "__qualname__": class_name,
    }
    return type(class_name, (base,), namespace)


def _bounds_required(owner: str, values: Mapping[str, Any]) -> None:
    require_bounds(owner, values["low"], values["high"])


def _one_rule(description: str, rule: Any, *parameters: Parameter, **fixes: Any) -> Composite:
    return Composite(description, rules=[(is_kernel, rule)], parameters=parameters, fixes=fixes)


_EPSILON = RuleSpec(EpsilonRule, {"epsilon": Ref("epsilon")})

#: The one-rule analyzers (iNNvestigate's ``LRPZ``, ``LRPEpsilon``, ...), by class name.
ONE_RULE = {
    "LRPZ": _one_rule("LRP with the z-rule.", RuleSpec(ZRule)),
    "LRPZIgnoreBias": _one_rule("LRP with the z-rule ignoring the bias.", RuleSpec(ZIgnoreBiasRule)),
    "LRPEpsilon": _one_rule(
        "LRP with the epsilon rule.",
        RuleSpec(EpsilonRule, {"epsilon": Ref("epsilon"), "bias": Ref("bias")}),
        Parameter("epsilon", 1e-7), Parameter("bias", True),
    ),
    "LRPEpsilonIgnoreBias": _one_rule(
        "LRP with the epsilon rule ignoring the bias.",
        RuleSpec(EpsilonRule, {"epsilon": Ref("epsilon"), "bias": False}), Parameter("epsilon", 1e-7),
    ),
    "LRPAttnLRP": _one_rule(
        "AttnLRP (Achtibat et al. 2024) as LXT 2.1 computes it: the epsilon rule on every linear "
        "map (``epsilon`` -> 0 gives LXT's efficient mode), the identity rule on activations, "
        "LayerNorm with its standard deviation held, the uniform rule on products of two signals "
        "and the softmax by its gradient. See ``docs/opening-layers.md``.",
        RuleSpec(EpsilonRule, {"epsilon": Ref("epsilon"), "bias": True}), Parameter("epsilon", 1e-9),
        attention="attnlrp",
    ),
    "LRPCP": _one_rule(
        "CP-LRP (Ali et al. 2022, LXT's ``cp`` patches): as LRPAttnLRP, but no relevance through "
        "the softmax: query and key are held, relevance reaches the values only.",
        RuleSpec(EpsilonRule, {"epsilon": Ref("epsilon"), "bias": True}), Parameter("epsilon", 1e-9),
        attention="cp",
    ),
    "LRPWSquare": _one_rule("LRP with the w-square rule.", RuleSpec(WSquareRule)),
    "LRPFlat": _one_rule("LRP with the flat rule.", RuleSpec(FlatRule)),
    "LRPAlphaBeta": _one_rule(
        "LRP with the alpha-beta rule (``alpha - beta = 1``).",
        RuleSpec(AlphaBetaRule, {"alpha": Ref("alpha"), "beta": Ref("beta"), "bias": Ref("bias")}),
        Parameter("alpha", None), Parameter("beta", None), Parameter("bias", True),
    ),
    "LRPAlpha2Beta1": _one_rule("LRP with the alpha=2, beta=1 rule.", RuleSpec(Alpha2Beta1Rule)),
    "LRPAlpha2Beta1IgnoreBias": _one_rule(
        "LRP with the alpha=2, beta=1 rule ignoring the bias.", RuleSpec(Alpha2Beta1IgnoreBiasRule)),
    "LRPAlpha1Beta0": _one_rule("LRP with the alpha=1, beta=0 rule.", RuleSpec(Alpha1Beta0Rule)),
    "LRPAlpha1Beta0IgnoreBias": _one_rule(
        "LRP with the alpha=1, beta=0 rule ignoring the bias.", RuleSpec(Alpha1Beta0IgnoreBiasRule)),
    "LRPZPlus": _one_rule("LRP with the z+ rule.", RuleSpec(ZPlusRule)),
    "LRPZPlusFast": _one_rule("LRP with the z+ rule (fast variant).", RuleSpec(ZPlusFastRule)),
}

_COMPOSITE_EPSILON = Parameter("epsilon", COMPOSITE_EPSILON, keyword_only=True)


def _zennit(description: str, kernel_rule: Any, **kwargs: Any) -> Composite:
    return Composite(description, rules=[(is_dense, _EPSILON), (is_kernel, kernel_rule)], **kwargs)


def _alpha_beta(alpha: float, beta: float) -> RuleSpec:
    return RuleSpec(AlphaBetaRule, {"alpha": alpha, "beta": beta, "bias": True, "epsilon": ZENNIT_STABILIZER})


#: Zennit's named composites, by class name.
ZENNIT = {
    "LRPEpsilonPlus": _zennit(
        "Zennit's ``EpsilonPlus``: epsilon on Dense layers, z+ on convolutions.",
        _alpha_beta(1, 0), parameters=[_COMPOSITE_EPSILON],
    ),
    "LRPEpsilonPlusFlat": _zennit(
        "Zennit's ``EpsilonPlusFlat``: as ``EpsilonPlus``, with the flat rule at the input layer.",
        _alpha_beta(1, 0), input_rules=[(is_kernel, RuleSpec(FlatRule))], parameters=[_COMPOSITE_EPSILON],
    ),
    "LRPEpsilonAlpha2Beta1": _zennit(
        "Zennit's ``EpsilonAlpha2Beta1``: epsilon on Dense layers, alpha=2 beta=1 on convolutions.",
        _alpha_beta(2, 1), parameters=[_COMPOSITE_EPSILON],
    ),
    "LRPEpsilonGammaBox": _zennit(
        "Zennit's ``EpsilonGammaBox``: epsilon on Dense layers, gamma on convolutions, z^B (the "
        "box ``[low, high]`` of the model input, numbers or arrays broadcastable to it, mapped "
        "through preprocessing layers) on the convolutions that read the input; ``gamma``: "
        "Zennit's 0.25.",
        RuleSpec(GammaRule, {"gamma": Ref("gamma")}),
        input_rules=[(is_other_kernel, (Ref("low"), Ref("high")))],
        parameters=[Parameter("low"), Parameter("high"), Parameter("gamma", 0.25, keyword_only=True),
                    _COMPOSITE_EPSILON],
        check=_bounds_required,
    ),
}


def _analyzer(name: str, table: Mapping[str, Composite]) -> type:
    return composite_analyzer(name, table[name])


LRPZ = _analyzer("LRPZ", ONE_RULE)
LRPZIgnoreBias = _analyzer("LRPZIgnoreBias", ONE_RULE)
LRPEpsilon = _analyzer("LRPEpsilon", ONE_RULE)
LRPEpsilonIgnoreBias = _analyzer("LRPEpsilonIgnoreBias", ONE_RULE)
LRPAttnLRP = _analyzer("LRPAttnLRP", ONE_RULE)
LRPCP = _analyzer("LRPCP", ONE_RULE)
LRPWSquare = _analyzer("LRPWSquare", ONE_RULE)
LRPFlat = _analyzer("LRPFlat", ONE_RULE)
LRPAlphaBeta = _analyzer("LRPAlphaBeta", ONE_RULE)
LRPAlpha2Beta1 = _analyzer("LRPAlpha2Beta1", ONE_RULE)
LRPAlpha2Beta1IgnoreBias = _analyzer("LRPAlpha2Beta1IgnoreBias", ONE_RULE)
LRPAlpha1Beta0 = _analyzer("LRPAlpha1Beta0", ONE_RULE)
LRPAlpha1Beta0IgnoreBias = _analyzer("LRPAlpha1Beta0IgnoreBias", ONE_RULE)
LRPZPlus = _analyzer("LRPZPlus", ONE_RULE)
LRPZPlusFast = _analyzer("LRPZPlusFast", ONE_RULE)

LRPEpsilonPlus = _analyzer("LRPEpsilonPlus", ZENNIT)
LRPEpsilonPlusFlat = _analyzer("LRPEpsilonPlusFlat", ZENNIT)
LRPEpsilonAlpha2Beta1 = _analyzer("LRPEpsilonAlpha2Beta1", ZENNIT)
LRPEpsilonGammaBox = _analyzer("LRPEpsilonGammaBox", ZENNIT)
