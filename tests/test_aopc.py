"""Perturbation analysis on a real model: explanations of a trained CNN beat random relevance.

A small CNN learns, in a few seconds, to tell squares, discs and crosses apart on the demo's
synthetic images (:mod:`innv_core.app.demo.data`). Setting the regions an explanation calls most
relevant to zero must destroy the accuracy faster than zeroing random regions: the area over the
perturbation curve (AOPC) of gradient-based analyses is larger than that of ``random``.
"""

from __future__ import annotations

import numpy as np
import pytest

from innv_core.app.demo.data import make_shapes
from innv_core.tools.aopc import aopc, perturbation_curve


@pytest.fixture(scope="module")
def trained():
    from innv_core.app.demo.model import accuracy, train_cnn

    model = train_cnn(make_shapes(2000, seed=0), epochs=5, seed=0)
    test = make_shapes(64, seed=1)
    assert accuracy(model, test) > 0.6  # learnt something: otherwise nothing below means anything
    return model, test


def _scores(model, test, name, perturbation_steps=6, **kwargs):
    from innv_core import create_analyzer
    from innv_core.tools.perturbate import Perturbation, PerturbationAnalysis
    from innv_core.utils import BatchSequence

    analysis = PerturbationAnalysis(
        create_analyzer(name, model, **kwargs),
        model,
        BatchSequence([test.x, test.y], batch_size=32),
        Perturbation("zeros", region_shape=(4, 4)),
        steps=perturbation_steps,
        regions_per_step=1,
    )
    return analysis.compute_perturbation_analysis()


@pytest.fixture(scope="module")
def random_scores(trained):
    return _scores(*trained, "random", seed=0)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("gradient", {}),
        ("gradient", {"postprocess": "abs"}),
        ("input_t_gradient", {}),
        ("integrated_gradients", {"steps": 16}),
        ("smoothgrad", {"augment_by_n": 16, "noise_scale": 0.1, "seed": 0}),
    ],
)
def test_gradient_based_curves_fall_faster_than_random(trained, random_scores, name, kwargs):
    scores = _scores(*trained, name, **kwargs)
    assert len(scores) == 7 and all(len(s) == 2 for s in scores)  # [loss, accuracy] per step
    curve, baseline = perturbation_curve(scores), perturbation_curve(random_scores)
    assert curve[0] == baseline[0]  # step 0: the same unperturbed data
    assert aopc(scores) > aopc(random_scores) + 0.1, (name, curve, baseline)
    assert curve[-1] < baseline[-1]


def test_random_relevance_barely_hurts(trained, random_scores):
    curve = perturbation_curve(random_scores)
    assert curve[0] - curve[-1] < 0.35  # 6 of 64 regions at random: the shape mostly survives
    assert aopc(random_scores) == pytest.approx(np.mean(curve[0] - curve))


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("guided_backprop", {}),
        ("lrp.epsilon", {"epsilon": 0.1}),
        ("lrp.sequential_preset_a", {}),
        ("lrp.alpha_2_beta_1", {}),
        ("deep_taylor.bounded", {"low": 0.0, "high": 1.0}),
    ],
)
def test_relevance_methods_fall_faster_than_random(trained, random_scores, name, kwargs):
    scores = _scores(*trained, name, **kwargs)
    assert aopc(scores) > aopc(random_scores) + 0.1


@pytest.mark.slow
def test_recomputing_the_analysis_also_beats_random(trained, random_scores):
    from innv_core import create_analyzer
    from innv_core.tools.perturbate import Perturbation, PerturbationAnalysis

    model, test = trained
    analysis = PerturbationAnalysis(
        create_analyzer("input_t_gradient", model), model, [(test.x, test.y)],
        Perturbation("zeros", region_shape=(4, 4)), steps=6, recompute_analysis=True,
    )
    assert aopc(analysis.compute_perturbation_analysis()) > aopc(random_scores) + 0.1
