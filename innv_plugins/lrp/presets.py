"""iNNvestigate's sequential presets: epsilon for Dense layers, alpha-beta for convolutions.

Each preset is a :class:`~innv_core.composite.Composite` value (:data:`PRESETS`) made an analyzer
by :func:`~innv_plugins.lrp.composites.composite_analyzer`. ``rule`` is fixed; the flat presets'
``input_layer_rule="Flat"`` (and preset B-flat until-idx's ``until_layer_rule="Flat"``) are
defaults a user may replace, as in iNNvestigate.
"""

from __future__ import annotations

from innv_core.composite import Composite, Parameter, Ref, RuleSpec, is_dense, is_kernel
from innv_plugins.lrp.composites import composite_analyzer
from innv_plugins.rules.alpha_beta import Alpha1Beta0Rule, Alpha2Beta1Rule
from innv_plugins.rules.epsilon import EpsilonRule
from innv_plugins.rules.flat import FlatRule

__all__ = [
    "PRESETS", "LRPSequentialPresetA", "LRPSequentialPresetB", "LRPSequentialPresetAFlat",
    "LRPSequentialPresetBFlat", "LRPSequentialPresetBFlatUntilIdx", "is_dense", "is_kernel",
]

_EPSILON = Parameter("epsilon", 1e-1)
_FLAT = RuleSpec(FlatRule)


def _preset(description: str, conv_rule: type, *extra: Parameter, **defaults: object) -> Composite:
    return Composite(
        description,
        rules=[(is_dense, RuleSpec(EpsilonRule, {"epsilon": Ref("epsilon")})),
               (is_kernel, RuleSpec(conv_rule))],
        parameters=(_EPSILON, *extra),
        defaults=defaults,
    )


#: The sequential presets, by class name.
PRESETS = {
    "LRPSequentialPresetA": _preset(
        "Dense layers: epsilon (``epsilon=0.1``); other kernel layers: alpha1beta0.", Alpha1Beta0Rule),
    "LRPSequentialPresetB": _preset(
        "Dense layers: epsilon (``epsilon=0.1``); other kernel layers: alpha2beta1.", Alpha2Beta1Rule),
    "LRPSequentialPresetAFlat": _preset(
        "Preset A with the flat rule at the input layer.", Alpha1Beta0Rule, input_layer_rule=_FLAT),
    "LRPSequentialPresetBFlat": _preset(
        "Preset B with the flat rule at the input layer.", Alpha2Beta1Rule, input_layer_rule=_FLAT),
    "LRPSequentialPresetBFlatUntilIdx": _preset(
        "Preset B-flat, plus the flat rule for every kernel layer at ``model.layers[0..until_layer_idx]``."
        "\n\n    Args:\n"
        "        model: a Keras model.\n"
        "        epsilon: the epsilon of the Dense layers' rule.\n"
        "        until_layer_idx: a position in ``model.layers`` (inclusive bound), counted as iNNvestigate\n"
        "            counts it: a functional model's ``model.layers[0]`` is its ``InputLayer`` (so its\n"
        "            first Dense/Conv layer is 1), a Sequential model's ``model.layers`` has none (its\n"
        "            first layer is 0); layers without weights count; every layer inside a nested model\n"
        "            gets the nested model's position. Must be an int from 0 to ``len(model.layers) - 1``\n"
        "            (else :class:`~innv_core.errors.InvalidParameterError` at creation); ``None`` (the\n"
        "            default, as in iNNvestigate) adds nothing to preset B-flat. See\n"
        "            :mod:`innv_plugins.lrp.rule_map`.\n\n"
        "    Like iNNvestigate's class it is preset B-flat plus the index, so the kernel layers reading\n"
        "    the input get the flat rule whatever the index.",
        Alpha2Beta1Rule, Parameter("until_layer_idx", None, keyword_only=True, passed_on=True),
        input_layer_rule=_FLAT, until_layer_rule=_FLAT,
    ),
}


def _analyzer(name: str) -> type:
    return composite_analyzer(name, PRESETS[name], module=__name__)


LRPSequentialPresetA = _analyzer("LRPSequentialPresetA")
LRPSequentialPresetB = _analyzer("LRPSequentialPresetB")
LRPSequentialPresetAFlat = _analyzer("LRPSequentialPresetAFlat")
LRPSequentialPresetBFlat = _analyzer("LRPSequentialPresetBFlat")
LRPSequentialPresetBFlatUntilIdx = _analyzer("LRPSequentialPresetBFlatUntilIdx")
