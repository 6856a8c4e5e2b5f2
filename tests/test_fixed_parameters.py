"""A parameter an analyzer fixes by definition is refused, never silently ignored (issue 23)."""

from __future__ import annotations

import keras
import pytest

from innv_core import create_analyzer, get_registry
from innv_core.errors import InvalidParameterError
from innv_plugins.lrp.analyzer import LRP

BOUNDS = {"low": -1.0, "high": 1.0}
NEEDS_BOUNDS = {"lrp.epsilon_gamma_box", "deep_taylor.bounded"}
#: analyzers whose definition chooses the input layer's rule too
FIXES_INPUT_RULE = {"lrp.epsilon_plus_flat", "lrp.epsilon_gamma_box", "deep_taylor.bounded"}


def _model():
    return keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(3)])


def _fixed_rule_analyzers() -> list[str]:
    registry = get_registry()
    names = [n for n in registry.names("analyzers")
             if isinstance(registry.get("analyzers", n), type) and issubclass(registry.get("analyzers", n), LRP)
             and n != "lrp"]
    return names


def test_every_lrp_analyzer_and_deeptaylor_is_covered():
    names = _fixed_rule_analyzers()
    assert {"lrp.epsilon", "lrp.z", "lrp.alpha_beta", "lrp.sequential_preset_a", "lrp.epsilon_plus_flat",
            "lrp.attnlrp", "deep_taylor", "deep_taylor.bounded"} <= set(names)
    assert len(names) >= 26  # 24 LRP analyzers (all but lrp and lrp.z_baseline) and 2 DeepTaylor


@pytest.mark.parametrize("name", _fixed_rule_analyzers())
def test_rule_given_to_an_analyzer_that_fixes_it_is_refused(name):
    extra = BOUNDS if name in NEEDS_BOUNDS else {}
    with pytest.raises(InvalidParameterError, match=r"fixes rule= by definition.*LRP\(model, rule=") as caught:
        create_analyzer(name, _model(), rule="Z", **extra)
    assert "'Z'" in str(caught.value)


@pytest.mark.parametrize("name", sorted(FIXES_INPUT_RULE))
def test_input_layer_rule_given_where_it_is_fixed_is_refused(name):
    extra = BOUNDS if name in NEEDS_BOUNDS else {}
    with pytest.raises(InvalidParameterError, match="fixes input_layer_rule= by definition"):
        create_analyzer(name, _model(), input_layer_rule="Flat", **extra)


def test_parameters_that_are_only_defaults_stay_open():
    # the flat presets and DeepTaylor take a user's input_layer_rule (documented); lrp takes rule
    model = _model()
    assert type(create_analyzer("lrp.sequential_preset_a_flat", model, input_layer_rule="WSquare")
                .rules[model.layers[0].name]).__name__ == "WSquareRule"
    assert type(create_analyzer("deep_taylor", model, input_layer_rule="WSquare")
                .rules[model.layers[0].name]).__name__ == "WSquareRule"
    assert type(create_analyzer("lrp", model, rule="Z").rules[model.layers[-1].name]).__name__ == "ZRule"
