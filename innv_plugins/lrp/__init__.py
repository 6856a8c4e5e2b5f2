"""Plugin: the LRP analyzers (``lrp``, ``lrp.z``, ..., the sequential presets, Zennit's composites).

Every named analyzer but ``lrp`` and ``lrp.z_baseline`` is a composite value made a class by
:func:`innv_plugins.lrp.composites.composite_analyzer`."""

from __future__ import annotations

from innv_core.hookspecs import hookimpl


@hookimpl
def innv_register_analyzers(registry):
    from innv_plugins.lrp import analyzer as a
    from innv_plugins.lrp import composites as c
    from innv_plugins.lrp import presets as p

    for name, cls in {
        "lrp": a.LRP,
        "lrp.z": c.LRPZ,
        "lrp.z_IB": c.LRPZIgnoreBias,
        "lrp.z_baseline": a.BaselineLRPZ,
        "lrp.epsilon": c.LRPEpsilon,
        "lrp.epsilon_IB": c.LRPEpsilonIgnoreBias,
        "lrp.attnlrp": c.LRPAttnLRP,
        "lrp.cp_lrp": c.LRPCP,
        "lrp.w_square": c.LRPWSquare,
        "lrp.flat": c.LRPFlat,
        "lrp.alpha_beta": c.LRPAlphaBeta,
        "lrp.alpha_2_beta_1": c.LRPAlpha2Beta1,
        "lrp.alpha_2_beta_1_IB": c.LRPAlpha2Beta1IgnoreBias,
        "lrp.alpha_1_beta_0": c.LRPAlpha1Beta0,
        "lrp.alpha_1_beta_0_IB": c.LRPAlpha1Beta0IgnoreBias,
        "lrp.z_plus": c.LRPZPlus,
        "lrp.z_plus_fast": c.LRPZPlusFast,
        "lrp.sequential_preset_a": p.LRPSequentialPresetA,
        "lrp.sequential_preset_b": p.LRPSequentialPresetB,
        "lrp.sequential_preset_a_flat": p.LRPSequentialPresetAFlat,
        "lrp.sequential_preset_b_flat": p.LRPSequentialPresetBFlat,
        "lrp.sequential_preset_b_flat_until_idx": p.LRPSequentialPresetBFlatUntilIdx,
        "lrp.epsilon_plus": c.LRPEpsilonPlus,
        "lrp.epsilon_plus_flat": c.LRPEpsilonPlusFlat,
        "lrp.epsilon_alpha_2_beta_1": c.LRPEpsilonAlpha2Beta1,
        "lrp.epsilon_gamma_box": c.LRPEpsilonGammaBox,
    }.items():
        registry.add_analyzer(name, cls)
