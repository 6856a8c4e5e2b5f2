"""Presets and named composites are Composite values made classes by one function (issue 23)."""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest

from innv_core import create_analyzer, get_registry
from innv_core.analyzer import AnalyzerBase
from innv_core.composite import Composite, Parameter, Ref, RuleSpec, is_dense, is_kernel
from innv_core.errors import InvalidParameterError
from innv_plugins.deeptaylor import BoundedDeepTaylor, DeepTaylor
from innv_plugins.lrp.analyzer import LRP, LRPZ, LRPAlphaBeta, LRPEpsilon
from innv_plugins.lrp.composites import LRPEpsilonGammaBox, composite_analyzer
from innv_plugins.lrp.presets import LRPSequentialPresetA, LRPSequentialPresetBFlatUntilIdx
from innv_plugins.rules.epsilon import EpsilonRule
from innv_plugins.rules.flat import FlatRule
from innv_plugins.rules.z_plus import ZPlusRule

L = keras.layers
BOUNDS = {"low": 0.0, "high": 1.0}
NEEDS = {"lrp.epsilon_gamma_box": BOUNDS, "deep_taylor.bounded": BOUNDS, "lrp": {"rule": "Epsilon"},
         "lrp.alpha_beta": {"alpha": 2, "beta": 1}, "lrp.sequential_preset_b_flat_until_idx": {"until_layer_idx": 1}}


def _model():
    keras.utils.set_random_seed(0)
    b = keras.initializers.RandomNormal(0.0, 0.1)
    return keras.Sequential([keras.Input((6, 6, 1)), L.Conv2D(3, 3, activation="relu", bias_initializer=b),
                             L.Conv2D(2, 3, activation="relu", bias_initializer=b), L.Flatten(),
                             L.Dense(4, activation="relu", bias_initializer=b), L.Dense(3)])


def _lrp_analyzers() -> list[str]:
    registry = get_registry()
    return [n for n in registry.names("analyzers")
            if isinstance(registry.get("analyzers", n), type) and issubclass(registry.get("analyzers", n), LRP)]


def test_signatures_are_inovestigates():
    shown = {cls: str(inspect.signature(cls)) for cls in (
        LRPZ, LRPEpsilon, LRPAlphaBeta, LRPSequentialPresetA, LRPSequentialPresetBFlatUntilIdx,
        LRPEpsilonGammaBox, DeepTaylor, BoundedDeepTaylor)}
    assert shown == {
        LRPZ: "(model, **kwargs)",
        LRPEpsilon: "(model, epsilon=1e-07, bias=True, **kwargs)",
        LRPAlphaBeta: "(model, alpha=None, beta=None, bias=True, **kwargs)",
        LRPSequentialPresetA: "(model, epsilon=0.1, **kwargs)",
        LRPSequentialPresetBFlatUntilIdx: "(model, epsilon=0.1, *, until_layer_idx=None, **kwargs)",
        LRPEpsilonGammaBox: "(model, low=None, high=None, *, gamma=0.25, epsilon=1e-06, **kwargs)",
        DeepTaylor: "(model, **kwargs)",
        BoundedDeepTaylor: "(model, low=None, high=None, **kwargs)",
    }


def test_every_named_lrp_analyzer_is_a_composite_on_lrp_directly():
    registry = get_registry()
    for name in _lrp_analyzers():
        cls = registry.get("analyzers", name)
        if name == "lrp":
            continue
        assert isinstance(cls.__dict__["_composite"], Composite), name
        if not name.startswith("deep_taylor"):
            assert cls.__bases__ == (LRP,), name  # the tower is flat


def test_positional_parameters_and_too_many():
    model = _model()
    rule = LRPEpsilon(model, 0.5, False).rules[model.layers[0].name]
    assert (type(rule), rule.epsilon, rule.bias) == (EpsilonRule, 0.5, False)
    with pytest.raises(TypeError, match="too many positional arguments"):
        LRPEpsilon(model, 0.5, False, "extra")
    with pytest.raises(TypeError, match="multiple values for argument 'epsilon'"):
        LRPEpsilon(model, 0.5, epsilon=0.1)
    with pytest.raises(TypeError, match="unknown parameter"):
        LRPEpsilon(model, epsilon_typo=0.1)


@pytest.mark.parametrize("name", _lrp_analyzers())
def test_save_and_load_give_identical_analyses(name, tmp_path):
    model = _model()
    X = np.random.default_rng(0).uniform(0, 1, (2, 6, 6, 1)).astype("float32")
    analyzer = create_analyzer(name, model, **NEEDS.get(name, {}))
    want = analyzer.analyze(X)
    analyzer.save_npz(str(tmp_path / "a.npz"))
    loaded = AnalyzerBase.load_npz(str(tmp_path / "a.npz"))
    assert type(loaded) is type(analyzer)
    np.testing.assert_array_equal(loaded.analyze(X), want)
    assert np.isfinite(want).all()


def test_a_users_composite():
    mine = Composite("Epsilon on Dense layers, z+ elsewhere, flat at the input unless told.",
                     rules=[(is_dense, RuleSpec(EpsilonRule, {"epsilon": Ref("epsilon")})),
                            (is_kernel, RuleSpec(ZPlusRule))],
                     parameters=[Parameter("epsilon", 1e-3)],
                     defaults={"input_layer_rule": RuleSpec(FlatRule)})
    LRPMine = composite_analyzer("LRPMine", mine)
    model = _model()
    assert str(inspect.signature(LRPMine)) == "(model, epsilon=0.001, **kwargs)"
    names = [layer.name for layer in model.layers]
    rules = LRPMine(model, 0.25).rules
    assert [type(rules[n]).__name__ for n in names if n in rules] == ["FlatRule", "ZPlusRule", "EpsilonRule",
                                                                      "EpsilonRule"]
    assert rules[names[-1]].epsilon == 0.25
    assert type(LRPMine(model, input_layer_rule="WSquare").rules[names[0]]).__name__ == "WSquareRule"
    with pytest.raises(InvalidParameterError, match="LRPMine fixes rule="):
        LRPMine(model, rule="Z")


def test_attention_is_fixed_by_attnlrp_and_cp():
    model = _model()
    for name, other in (("lrp.attnlrp", "cp"), ("lrp.cp_lrp", "attnlrp")):
        with pytest.raises(InvalidParameterError, match=f"fixes attention=.*attention='{other}'"):
            create_analyzer(name, model, attention=other)
    assert create_analyzer("lrp.cp_lrp", model)._attention.name == "cp"
