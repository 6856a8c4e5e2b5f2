"""MPRT, smooth MPRT and efficient MPRT: against Quantus 0.6 on the same randomised weights
(tests/references/gen_quantus_randomisation.py), and against oracles of their definitions.

Quantus randomises torch layers with ``reset_parameters()`` (Keras ones by permuting the
weights, as innv does), so the reference script records the weights of each of Quantus' torch
steps and innv is given them through ``randomise_func``: both sides then explain the same
randomised models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from innv_core import create_metric
from innv_core.errors import InvalidParameterError
from innv_core.metrics.normalise import normalise_by_max
from innv_plugins.metrics.randomisation.efficient_mprt import discrete_entropy
from innv_plugins.metrics.randomisation.mprt import randomised_models

sys.path.insert(0, str(Path(__file__).parent / "references"))
from torch_models import build_torch_reference  # noqa: E402

REF = dict(np.load(Path(__file__).parent / "references" / "quantus_randomisation.npz", allow_pickle=False))
L = keras.layers


def quantus_randomisation(net: str, order: str):
    """A ``randomise_func`` yielding the Keras twin with the weights of each of Quantus' steps."""
    names = json.loads(str(REF[f"{net}/layers/{order}"]))

    def randomise(model, layer_order, seed):
        assert layer_order == order and seed == 42
        copy = keras.models.clone_model(model)
        count = len(model.get_weights())
        for step, name in enumerate(names):
            copy.set_weights([REF[f"{net}/weights/{order}/{step}/{i}"] for i in range(count)])
            yield name, copy

    return randomise


@pytest.fixture(scope="module")
def cnn():
    model, _ = build_torch_reference("cnn")
    assert np.array_equal(model.predict(REF["x"], verbose=0).argmax(1), REF["y"])
    return model


@pytest.fixture(scope="module")
def mlp():
    model, _ = build_torch_reference("mlp")
    assert np.array_equal(model.predict(REF["x_mlp"], verbose=0).argmax(1), REF["y_mlp"])
    return model


@pytest.fixture(scope="module")
def small():
    keras.utils.set_random_seed(5)
    inp = keras.Input((4, 4, 2))
    h = L.Conv2D(3, 3, padding="same", activation="relu")(inp)
    model = keras.Model(inp, L.Dense(3)(L.Flatten()(h)))
    x = np.random.default_rng(0).normal(size=(5, 4, 4, 2)).astype("float32")
    return model, x, model.predict(x, verbose=0).argmax(1)


def _close(got, want, atol=1e-4):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=atol, rtol=0)


# -- against Quantus ---------------------------------------------------------------------------
@pytest.mark.parametrize("order", ["top_down", "bottom_up", "independent"])
def test_mprt_matches_quantus_on_its_randomised_weights(cnn, order):
    metric = create_metric("mprt", cnn, layer_order=order, randomise_func=quantus_randomisation("cnn", order))
    result = metric.evaluate(REF["x"], REF["y"], analyzer="gradient")
    assert list(result.steps) == json.loads(str(REF[f"cnn/layers/{order}"]))
    _close(result.curves, REF[f"mprt/{order}"])
    _close(result.scores, REF[f"mprt/{order}"][:, -1])


def test_mprt_average_leaves_out_the_unrandomised_comparison(cnn):
    """innv averages the randomised layers; Quantus 0.6 also counts its "original" comparison."""
    metric = create_metric("mprt", cnn, return_average_correlation=True,
                           randomise_func=quantus_randomisation("cnn", "top_down"))
    result = metric.evaluate(REF["x"], REF["y"], analyzer="gradient")
    layers, original = REF["mprt/top_down"], REF["mprt/top_down/original"]
    _close(result.scores, layers.mean(axis=1))
    _close(REF["mprt/top_down_average"], np.c_[original, layers].mean(axis=1), atol=1e-12)


def test_efficient_mprt_matches_quantus(cnn):
    metric = create_metric("efficient_mprt", cnn, randomise_func=quantus_randomisation("cnn", "bottom_up"))
    result = metric.evaluate(REF["x"], REF["y"], analyzer="gradient")
    assert result.steps == ("original", "3") and result.higher_is_better  # skip_layers: the last only
    _close(result.curves, REF["efficient_mprt/default_complexity"])
    _close(result.scores, REF["efficient_mprt/default"])


def test_efficient_mprt_every_layer_and_extra_scores_match_quantus(cnn):
    metric = create_metric("efficient_mprt", cnn, skip_layers=False, compute_extra_scores=True, abs=True,
                           complexity_func_kwargs={"n_bins": 20},
                           randomise_func=quantus_randomisation("cnn", "bottom_up"))
    result = metric.evaluate(REF["x"], REF["y"], analyzer="gradient")
    _close(result.curves, REF["efficient_mprt/every_layer_complexity"])
    _close(result.scores, REF["efficient_mprt/every_layer"])
    prefix = "efficient_mprt/every_layer_extra/"
    keys = {k[len(prefix):] for k in REF if k.startswith(prefix)}
    assert set(metric.scores_extra) == keys
    for key in keys:
        _close(metric.scores_extra[key], REF[prefix + key])


@pytest.mark.parametrize(("case", "params"), [
    ("given", {"nr_samples": 5}),
    ("computed", {"nr_samples": 5}),
    ("layers", {"nr_samples": 4, "noise_magnitude": 0.3}),
])
def test_smooth_mprt_matches_quantus_with_the_same_noise(mlp, case, params):
    """np.random.seed(42) before Quantus' call, seed=42 here: the same noise, draw for draw."""
    metric = create_metric("smooth_mprt", mlp, randomise_func=quantus_randomisation("mlp", "bottom_up"), **params)
    a = None if case == "computed" else REF["a_mlp"]
    result = metric.evaluate(REF["x_mlp"], REF["y_mlp"], a=a, analyzer="gradient", batch_size=3)
    _close(result.curves, REF[f"smooth_mprt/{case}"])


def test_smooth_mprt_average_leaves_out_the_unrandomised_comparison(mlp):
    metric = create_metric("smooth_mprt", mlp, nr_samples=4, noise_magnitude=0.3, return_average_correlation=True,
                           randomise_func=quantus_randomisation("mlp", "bottom_up"))
    result = metric.evaluate(REF["x_mlp"], REF["y_mlp"], a=REF["a_mlp"], analyzer="gradient")
    layers, original = REF["smooth_mprt/layers"], REF["smooth_mprt/layers/original"]
    _close(result.scores, layers.mean(axis=1))
    _close(REF["smooth_mprt/average"], np.c_[original, layers].mean(axis=1), atol=1e-12)


# -- against oracles of the definitions ---------------------------------------------------------
def test_smooth_mprt_with_one_sample_is_mprt(small):
    """The last noisy copy is the input itself: one sample, no noise."""
    model, x, y = small
    plain = create_metric("mprt", model, layer_order="bottom_up").evaluate(x, y, analyzer="gradient")
    smooth = create_metric("smooth_mprt", model, nr_samples=1, normalise_func=normalise_by_max)
    _close(smooth.evaluate(x, y, analyzer="gradient").curves, plain.curves, atol=1e-12)


def test_smooth_mprt_averages_noisy_explanations(small):
    """An oracle of the smoothing: RandomState(seed).randn per copy, std = magnitude x range."""
    from innv_core import create_analyzer
    from innv_core.metrics.normalise import normalise_by_average_second_moment_estimate as second_moment
    from innv_core.metrics.similarity import correlation_spearman

    model, x, y = small
    metric = create_metric("smooth_mprt", model, nr_samples=3, noise_magnitude=0.2, seed=3,
                           return_explanations=True)
    result = metric.evaluate(x, y, analyzer="gradient", batch_size=2)
    rng = np.random.RandomState(3)
    spread = 0.2 * (x.max(axis=(1, 2, 3), keepdims=True) - x.min(axis=(1, 2, 3), keepdims=True))

    def smooth(m):
        gradient = create_analyzer("gradient", m, neuron_selection_mode="index")
        noisy = [(x + rng.randn(*x.shape) * spread).astype("float32") for _ in range(2)] + [x]
        mean = sum(np.asarray(gradient.analyze(v, neuron_selection=y), np.float64) for v in noisy) / 3
        return np.abs(second_moment(mean))

    a = smooth(model)
    smooth(model)  # the unrandomised comparison's draws
    for column, (_, randomised) in enumerate(randomised_models(model, "bottom_up", 3)):
        other = smooth(randomised)
        _close(result.explanations[:, column + 1], other, atol=1e-6)
        _close(result.curves[:, column], correlation_spearman(a.reshape(5, -1), other.reshape(5, -1)), atol=1e-6)
    _close(result.explanations[:, 0], a, atol=1e-6)
    again = create_metric("smooth_mprt", model, nr_samples=3, noise_magnitude=0.2, seed=3)
    _close(again.evaluate(x, y, analyzer="gradient", batch_size=64).scores, result.scores, atol=1e-12)


def test_efficient_mprt_against_histogram_entropies(small):
    from scipy.stats import entropy

    model, x, y = small
    metric = create_metric("efficient_mprt", model, return_explanations=True)
    result = metric.evaluate(x, y, analyzer="gradient")
    original, randomised = result.explanations[:, 0], result.explanations[:, -1]
    for i in range(len(x)):
        before = entropy(np.histogram(original[i], bins=100)[0])
        after = entropy(np.histogram(randomised[i], bins=100)[0])
        assert result.scores[i] == pytest.approx((after - before) / before, abs=1e-12)
    # the fully (bottom-up, cascading) randomised model: every kernel permuted (biases are 0 here)
    *_, (_, last) = randomised_models(model, "bottom_up", 42)
    for w, v in zip(last.get_weights(), model.get_weights()):
        assert w.ndim == 1 or not np.array_equal(w, v)


def test_discrete_entropy_and_bin_rules():
    rows = np.random.default_rng(1).normal(size=(3, 50))
    from scipy.stats import entropy

    _close(discrete_entropy(rows, n_bins=7), [entropy(np.histogram(r, bins=7)[0]) for r in rows], atol=1e-12)
    metric = create_metric("efficient_mprt", keras.Sequential([keras.Input((2,)), L.Dense(2)]),
                           complexity_func_kwargs={"rule": "Square Root"})
    assert metric.n_bins(np.zeros((4, 400))) == 20  # sqrt of the values per explanation
    assert metric.n_bins(np.zeros((4, 9))) == 10  # clipped to min_n_bins


def test_skip_layers_explains_the_last_model_only(small):
    model, x, y = small
    full = create_metric("mprt", model).evaluate(x, y, analyzer="gradient")
    last = create_metric("mprt", model, skip_layers=True).evaluate(x, y, analyzer="gradient")
    assert last.steps == full.steps[-1:]
    _close(last.curves[:, 0], full.curves[:, -1], atol=1e-12)


def test_mprt_keeps_the_explanations_when_asked(small):
    model, x, y = small
    result = create_metric("mprt", model, return_explanations=True).evaluate(x, y, analyzer="gradient")
    assert result.explanations.shape == (5, 3, 4, 4, 2)
    assert create_metric("mprt", model).evaluate(x, y, analyzer="gradient").explanations is None


@pytest.mark.parametrize(("name", "params", "match"), [
    ("mprt", {"layer_order": "sideways"}, "layer_order must be one of"),
    ("mprt", {"randomise_func": 3}, "randomise_func must be a function"),
    ("smooth_mprt", {"noise_magnitude": -1}, "noise_magnitude must be"),
    ("smooth_mprt", {"nr_samples": 0}, "nr_samples"),
    ("smooth_mprt", {"return_average_correlation": True, "return_last_correlation": True}, "pick one"),
    ("efficient_mprt", {"complexity_func_kwargs": {"rule": "mine"}}, "rule must be one of"),
    ("efficient_mprt", {"complexity_func": "entropy"}, "complexity_func must be a function"),
])
def test_bad_parameters_are_refused(small, name, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        create_metric(name, small[0], **params)


# -- the figures ----------------------------------------------------------------------------------
def test_mprt_figure_draws_a_column_per_step_and_the_curve(small, tmp_path):
    from innv_core.metrics.figures import plot_mprt

    model, x, y = small
    fig = plot_mprt(model, x[:2], {"grad": "gradient", "lrp": "lrp.epsilon"}, y[:2], path=tmp_path / "mprt.png")
    assert (tmp_path / "mprt.png").stat().st_size > 0
    steps = fig.mprt_results["grad"].steps
    assert len(fig.axes) == 2 * (2 * (1 + 1 + len(steps)) + 1)  # per method: inputs x (image + columns), curve
    titles = [ax.get_title() for ax in fig.axes]
    assert titles.count("original") == 2 and all(titles.count(s) == 2 for s in steps)
    assert [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")] == ["grad", "lrp"]
    curve = fig.axes[2 * (1 + 1 + len(steps))]
    assert [t.get_text() for t in curve.get_xticklabels()] == list(steps)
    mean = [line for line in curve.lines if line.get_marker() == "o"]
    np.testing.assert_allclose(mean[0].get_ydata(), fig.mprt_results["grad"].curves.mean(axis=0))


def test_random_logit_figure_shows_the_true_and_a_random_class(small):
    from innv_core.metrics.figures import plot_random_logit

    model, x, y = small
    fig = plot_random_logit(model, x[:3], "gradient", y[:3], class_names=["a", "b", "c"])
    assert len(fig.axes) == 3 * 3  # per input: the input, the true class, the random class
    result = fig.random_logit_results["gradient"]
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert titles.count("(true)") == 3 and f"(SSIM {result.scores[0]:.2f})" in titles


def _bn_cnn():
    keras.utils.set_random_seed(5)
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.BatchNormalization(), keras.layers.Flatten(),
                             keras.layers.Dense(6, activation="relu"), keras.layers.Dense(3)])


@pytest.mark.parametrize("method,live", [("gradient", True), ("lrp.epsilon", True),
                                         ("pattern.attribution", False)])
def test_mprt_builds_one_analyzer_when_it_reads_the_weights_live(method, live, monkeypatch):
    """Where the analysis follows the copy's weights (gradient, LRP: variables read in the
    compiled function), MPRT builds one analyzer for its randomised copy (2 more for the check);
    where it does not (PatternAttribution multiplies kernels and patterns when it is built), one
    per layer. The curves are those of an analyzer remade for every layer either way."""
    from innv_core import create_analyzer
    from innv_plugins.metrics.randomisation import mprt

    model = _bn_cnn()
    x = np.random.default_rng(6).normal(size=(5, 8, 8, 3)).astype("float32")
    analyzer = create_analyzer(method, model, neuron_selection_mode="index")
    if method.startswith("pattern"):
        analyzer.fit(x, disable_no_training_warning=True)
    builds = []
    original_for_model = type(analyzer).for_model
    monkeypatch.setattr(type(analyzer), "for_model", lambda self, m: builds.append(m) or original_for_model(self, m))
    result = create_metric("mprt", model).evaluate(x, analyzer=analyzer)
    layers = sum(1 for layer in model.layers if layer.get_weights())
    assert len(builds) == (2 + 1 if live else 2 + layers)
    monkeypatch.setattr(mprt, "reads_weights_live", lambda *args: False)
    np.testing.assert_allclose(create_metric("mprt", model).evaluate(x, analyzer=analyzer).curves,
                               result.curves, atol=1e-6)
