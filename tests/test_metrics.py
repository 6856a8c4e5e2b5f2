"""Metrics: definitions checked by oracles written here, seeds, and the errors for bad input."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from innv_core import create_analyzer, create_metric, get_registry
from innv_core.errors import InvalidInputError, InvalidParameterError, NeuronSelectionError, UnknownNameError
from innv_core.metrics import Metric, MetricResult

L = keras.layers


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(5)
    inp = keras.Input((4, 4, 2))
    h = L.Conv2D(3, 3, padding="same", activation="relu")(inp)
    return keras.Model(inp, L.Dense(3)(L.Flatten()(h)))


@pytest.fixture(scope="module")
def data(model):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4, 4, 2)).astype("float32")
    a = rng.normal(size=(5, 4, 4, 2))
    return x, model.predict(x, verbose=0).argmax(1), a


def _probability(model, x, y):
    return keras.ops.convert_to_numpy(keras.ops.softmax(model(x), axis=-1))[np.arange(len(x)), y]


#: Quantus 0.6's metric classes (``dir(quantus.metrics)``) as innv names; ``ModelParameterRandomisation``
#: is Quantus' old name of ``MPRT`` and ``BatchSufficiency`` the same computation as ``Sufficiency``.
#: Then xplique 2.0's three (deletion, insertion, mu_fidelity).
QUANTUS_06 = (
    "auc", "attribution_localisation", "avg_sensitivity", "completeness", "complexity", "consistency",
    "continuity", "effective_complexity", "faithfulness_correlation", "faithfulness_estimate", "focus",
    "irof", "infidelity", "input_invariance", "local_lipschitz_estimate", "mprt", "max_sensitivity",
    "monotonicity", "monotonicity_correlation", "non_sensitivity", "pixel_flipping", "pointing_game",
    "road", "random_logit", "smooth_mprt", "efficient_mprt", "deletion", "insertion", "mu_fidelity", "region_perturbation", "relative_input_stability", "relative_output_stability",
    "relative_representation_stability", "relevance_mass_accuracy", "relevance_rank_accuracy",
    "selectivity", "sensitivity_n", "sparseness", "sufficiency", "top_k_intersection",
)


def test_every_quantus_metric_is_registered():
    names = get_registry().names("metrics")
    for name in QUANTUS_06:
        assert name in names
        assert issubclass(get_registry().get("metrics", name), Metric)


def test_monotonicity_follows_the_paper(model, data):
    """Start from the black baseline, put features back by increasing |a|: 1 if the probability
    of y never falls (an oracle loop per sample)."""
    x, y, a = data
    result = create_metric("monotonicity", model, features_in_step=4).evaluate(x, y, a=a)
    for i in range(len(x)):
        order = np.argsort(np.abs(a[i]).ravel() / np.abs(a).max())
        current = np.full(x[i].size, x[i].min())
        curve = []
        for step in range(x[i].size // 4):
            index = order[step * 4:(step + 1) * 4]
            current[index] = x[i].ravel()[index]
            curve.append(_probability(model, current.reshape(1, 4, 4, 2).astype("float32"), y[i:i + 1])[0])
        np.testing.assert_allclose(result.curves[i], curve, atol=1e-6)
        assert result.scores[i] == float(np.all(np.diff(curve) >= 0))
    assert not np.allclose(result.curves[:, 0], result.curves[:, -1])  # the input is restored


def test_pixel_flipping_replaces_cumulatively(model, data):
    x, y, a = data
    result = create_metric("pixel_flipping", model, features_in_step=8, perturb_baseline=0.0).evaluate(x, y, a=a)
    order = np.argsort(-a.reshape(5, -1), axis=1)
    for step in (0, 2):
        flat = x.reshape(5, -1).copy()
        np.put_along_axis(flat, order[:, :(step + 1) * 8], 0.0, axis=1)
        np.testing.assert_allclose(result.curves[:, step], _probability(model, flat.reshape(x.shape), y), atol=1e-6)
    np.testing.assert_allclose(result.scores, np.trapezoid(result.curves, axis=1) if hasattr(np, "trapezoid")
                               else np.trapz(result.curves, axis=1))


def test_uniform_draws_follow_the_seed_not_the_batch_size(model, data):
    x, y, a = data
    metric = create_metric("pixel_flipping", model, features_in_step=8, perturb_baseline="uniform", seed=7)
    first = metric.evaluate(x, y, a=a, batch_size=2).curves
    np.testing.assert_allclose(metric.evaluate(x, y, a=a, batch_size=64).curves, first, atol=1e-6)
    other = create_metric("pixel_flipping", model, features_in_step=8, perturb_baseline="uniform", seed=8)
    assert not np.allclose(other.evaluate(x, y, a=a).curves, first)


def test_attributions_from_an_analyzer(model, data):
    x, y, _ = data
    metric = create_metric("sparseness", model)
    by_name = metric.evaluate(x, y, analyzer="gradient")
    a = create_analyzer("gradient", model, neuron_selection_mode="index").analyze(x, neuron_selection=y)
    np.testing.assert_allclose(by_name.scores, metric.evaluate(x, y, a=a).scores)
    assert isinstance(by_name, MetricResult) and by_name.metric == "sparseness"


def test_a_without_channel_axis_counts_for_every_channel(model, data):
    x, y, a = data
    per_pixel = a[..., 0]
    metric = create_metric("pixel_flipping", model, features_in_step=4)
    assert metric.evaluate(x, y, a=per_pixel).curves.shape == (5, 8)
    metric = create_metric("sparseness")
    np.testing.assert_allclose(metric.evaluate(x, a=per_pixel).scores, metric.evaluate(x, a=per_pixel[..., None]).scores)


def test_aggregate_mean_and_standard_error(data):
    x, _, a = data
    scores = create_metric("sparseness").evaluate(x, a=a)
    aggregated = create_metric("sparseness", return_aggregate=True).evaluate(x, a=a)
    assert aggregated.scores.shape == (1,) and aggregated.scores[0] == pytest.approx(scores.scores.mean())
    assert scores.sem == pytest.approx(scores.scores.std(ddof=1) / np.sqrt(5))


@pytest.mark.parametrize("name,params,kwargs,error,match", [
    ("pointing_game", {}, {}, InvalidInputError, "pass s="),
    ("sparseness", {}, {"a": np.ones((5, 3, 3))}, InvalidInputError, "fits neither"),
    ("sparseness", {}, {"a": np.full((5, 4, 4, 2), np.nan)}, InvalidInputError, "NaN"),
    ("pixel_flipping", {}, {"y": np.array([0, 1, 2, 3, 0])}, NeuronSelectionError, "y out of range"),
    ("region_perturbation", {"patch_size": 3}, {}, InvalidParameterError, "does not divide"),
    ("pixel_flipping", {"features_in_step": 3}, {}, InvalidParameterError, "does not divide"),
    ("top_k_intersection", {"k": 100}, {"s": np.ones((5, 4, 4))}, InvalidParameterError, "larger than"),
    ("sparseness", {}, {"a": None}, InvalidInputError, "either the attributions"),
])
def test_bad_input_is_refused_before_any_model_call(model, data, name, params, kwargs, error, match):
    x, y, a = data
    metric = create_metric(name, model, **params)
    call = {"y": y, "a": a, **kwargs}
    with pytest.raises(error, match=match):
        metric.evaluate(x, **call)


@pytest.mark.parametrize("params,match", [
    ({"perturb_baseline": "grey"}, "Unknown perturb_baseline"),
    ({"perturb_baseline": "random"}, "use 'uniform'"),
    ({"perturb_func_kwargs": {"sigma": 1}}, "not used"),
    ({"features_in_step": 0}, "features_in_step"),
])
def test_bad_parameters_are_refused_at_creation(model, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        create_metric("pixel_flipping", model, **params)


def test_names_and_models_are_checked():
    with pytest.raises(UnknownNameError, match="pixel_flipping"):
        create_metric("pixel_fliping")
    with pytest.raises(InvalidParameterError, match="calls the model"):
        create_metric("pixel_flipping")


def test_metrics_that_explain_need_an_analyzer(model, data):
    x, y, a = data
    with pytest.raises(InvalidInputError, match="pass analyzer="):
        create_metric("max_sensitivity", model).evaluate(x, y, a=a)
    with pytest.raises(InvalidParameterError, match="pass num_classes=3"):
        create_metric("random_logit", model).evaluate(x, y, analyzer="gradient")


def test_random_logit_explains_another_class(model, data):
    x, y, _ = data
    metric = create_metric("random_logit", model, num_classes=3, seed=1)
    other = metric.other_classes(y)
    assert np.all(other != y) and set(other) <= {0, 1, 2}
    gradient = create_analyzer("gradient", model, neuron_selection_mode="index")
    a_y, a_other = gradient.analyze(x, neuron_selection=y), gradient.analyze(x, neuron_selection=other)
    from innv_core.metrics.normalise import normalise_by_max
    from innv_core.metrics.similarity import ssim
    want = ssim(normalise_by_max(a_y).reshape(5, -1), normalise_by_max(a_other).reshape(5, -1))
    np.testing.assert_allclose(metric.evaluate(x, y, analyzer=gradient).scores, want, atol=1e-6)


def test_mprt_against_an_oracle_of_cascading_randomisation(model, data):
    """Top-down: permute the entries of each weight of the last layer, then also the layer
    before (RandomState(seed + 1) per layer, as Quantus randomises Keras models); compare the
    gradient maps (normalised by the batch maximum, absolute) by Spearman per sample."""
    import tensorflow as tf
    from scipy.stats import spearmanr

    x, y, _ = data
    before = [w.copy() for w in model.get_weights()]
    result = create_metric("mprt", model, seed=7).evaluate(x, y, analyzer="gradient")
    assert len(result.steps) == 2 and result.steps[0] == model.layers[-1].name  # top-down
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)  # the user's model is untouched

    def gradient_map(m):
        xs = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xs)
            out = tf.gather(m(xs), y, axis=1, batch_dims=1)
        g = tape.gradient(out, xs).numpy().astype(np.float64)
        return np.abs(g / np.abs(g).max())

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    original = gradient_map(model)
    for column, layer in enumerate([lay for lay in copy.layers if lay.get_weights()][::-1]):
        rng = np.random.RandomState(8)
        layer.set_weights([rng.permutation(w) for w in layer.get_weights()])
        randomised = gradient_map(copy)
        want = [spearmanr(o.ravel(), r.ravel())[0] for o, r in zip(original, randomised)]
        np.testing.assert_allclose(result.curves[:, column], want, atol=1e-6)
    np.testing.assert_allclose(result.scores, result.curves[:, -1])
    average = create_metric("mprt", model, seed=7, return_average_correlation=True).evaluate(x, y, analyzer="gradient")
    np.testing.assert_allclose(average.scores, result.curves.mean(axis=1), atol=1e-9)


def test_completeness_holds_for_integrated_gradients(model, data):
    """IG from a zero reference sums to f(x) - f(0) (the completeness axiom): with the axiom's
    setting (no normalisation, baseline 0) innv scores 1; with Quantus' exact == it cannot."""
    x, y, _ = data
    ig = create_analyzer("integrated_gradients", model, neuron_selection_mode="index", steps=256,
                         reference_inputs=0.0)
    a = ig.analyze(x, neuron_selection=y)
    result = create_metric("completeness", model, normalise=False, perturb_baseline=0.0, rtol=1e-2,
                           atol=1e-3).evaluate(x, y, a=a)  # IG's path sum: 0.4% off at 256 steps
    assert result.scores.tolist() == [1.0] * 5
    np.testing.assert_allclose(result.curves[:, 0], result.curves[:, 1], rtol=1e-2, atol=1e-3)
    assert create_metric("completeness", model, normalise=False, perturb_baseline=0.0, rtol=0,
                         atol=0).evaluate(x, y, a=a).scores.sum() == 0


def test_a_must_have_the_shape_the_analyzer_gives_where_they_are_compared(model, data):
    """max_sensitivity compares a with explanations of noisy inputs: a map without the channel
    axis the analyzer gives is refused by name (before the noise loop), a=None works."""
    x, y, a = data
    metric = create_metric("max_sensitivity", model, nr_samples=2)
    with pytest.raises(InvalidInputError, match="a has shape .* the analyzer gives"):
        metric.evaluate(x, y, a=a.sum(axis=-1), analyzer="gradient")
    assert metric.evaluate(x, y, analyzer="gradient").scores.shape == (len(x),)
