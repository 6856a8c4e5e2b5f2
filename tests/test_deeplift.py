"""DeepLIFT (Rescale and RevealCancel): summation-to-delta, Captum, literal oracles, the analyzer contract."""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import multi_input_model, random_inputs, residual_model, sequential_cnn

from innv_core import create_analyzer
from innv_core.analyzer import AnalyzerBase
from innv_plugins.deeplift.analyzer import DeepLIFTWrapper

sys.path.insert(0, str(Path(__file__).parent / "references"))
from torch_models import build_torch_reference  # noqa: E402

L = keras.layers
MODES = ("rescale", "reveal_cancel")


def _reference_array(model, seed=7):
    return np.random.default_rng(seed).normal(size=(1, *model.inputs[0].shape[1:]))


def _selected_delta(model, x, reference, neurons):
    """f(x) - f(reference) at the given output neuron of each sample."""
    y = np.asarray(model(x))
    ref = np.broadcast_to(np.asarray(reference, x.dtype), (1, *x.shape[1:]))
    y_ref = np.asarray(model(ref))
    rows = np.arange(len(x))
    return y[rows, neurons] - y_ref[0, neurons]


# -- summation-to-delta ---------------------------------------------------------------------------
@pytest.mark.parametrize("build", [sequential_cnn, residual_model], ids=["cnn", "residual"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reference", ["zero", "array"])
def test_summation_to_delta(build, mode, reference):
    model = build("float64")
    x = random_inputs(model, batch=4)
    ref = 0 if reference == "zero" else _reference_array(model)
    analysis = DeepLIFTWrapper(model, nonlinear_mode=mode, reference_inputs=ref).analyze(x)
    want = _selected_delta(model, x, ref, np.asarray(model(x)).argmax(1))
    np.testing.assert_allclose(analysis.reshape(len(x), -1).sum(1), want, rtol=1e-4, atol=1e-10)


def modern_block(dtype="float64"):
    """Rescaling with an offset, conv-swish, MobileNetV3's hard-swish as Keras ops
    (``x * relu6(x + 3) / 6``), a squeeze-excitation gate, LayerNorm, GroupNorm, a product of two
    signals."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((6, 6, 4), dtype=dtype)
    h = L.Rescaling(2.0, offset=-1.0, dtype=dtype)(inp)
    h = L.Conv2D(8, 3, padding="same", activation="swish", dtype=dtype)(h)
    h = L.Multiply(dtype=dtype)([h, L.ReLU(6.0, dtype=dtype)(h + 3.0) * (1.0 / 6.0)])
    se = L.GlobalAveragePooling2D(keepdims=True, dtype=dtype)(h)
    se = L.Conv2D(8, 1, activation="sigmoid", dtype=dtype)(se)
    h = L.Multiply(dtype=dtype)([h, se])
    h = L.LayerNormalization(dtype=dtype)(h)
    g = L.Conv2D(8, 1, activation="gelu", dtype=dtype)(h)
    h = L.Multiply(dtype=dtype)([h, g])  # two full-size signals
    h = L.GroupNormalization(groups=2, dtype=dtype)(h)
    h = L.UnitNormalization(dtype=dtype)(L.GlobalAveragePooling2D(dtype=dtype)(h))
    return keras.Model(inp, L.Dense(3, dtype=dtype)(h))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reference", ["zero", "array"])
def test_summation_to_delta_across_gates_and_normalizations(mode, reference):
    """Products and LayerNorm/GroupNorm/UnitNorm have exact rules: summation-to-delta holds to
    1e-9; crossed by their gradient, as before, the sums were -0.014 to 0.032 of the delta. (In
    RevealCancel mode an affine op such as ``x + 3`` once shifted each part by its offset: the
    sums were -690 to 4.5 times the delta on a conv followed by ``relu6(x + 3) / 6``.)"""
    model = modern_block()
    x = random_inputs(model, batch=4)
    ref = 0 if reference == "zero" else _reference_array(model)
    analysis = DeepLIFTWrapper(model, nonlinear_mode=mode, reference_inputs=ref).analyze(x)
    want = _selected_delta(model, x, ref, np.asarray(model(x)).argmax(1))
    np.testing.assert_allclose(analysis.reshape(len(x), -1).sum(1), want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_summation_to_delta_for_index_all_and_per_sample_references(mode):
    model = residual_model("float64")
    x = random_inputs(model, batch=3)
    per_sample = np.random.default_rng(3).normal(size=x.shape)
    analyzer = DeepLIFTWrapper(model, nonlinear_mode=mode, reference_inputs=per_sample,
                               neuron_selection_mode="index")
    got = analyzer.analyze(x, neuron_selection=[4, 0, 2]).reshape(3, -1).sum(1)
    want = np.asarray(model(x))[np.arange(3), [4, 0, 2]] - np.asarray(model(per_sample))[np.arange(3), [4, 0, 2]]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-10)
    every = DeepLIFTWrapper(model, nonlinear_mode=mode, neuron_selection_mode="all").analyze(x)
    want_all = (np.asarray(model(x)) - np.asarray(model(np.zeros_like(x[:1])))).sum(1)
    np.testing.assert_allclose(every.reshape(3, -1).sum(1), want_all, rtol=1e-4, atol=1e-10)
    with pytest.raises(ValueError, match="one per sample"):
        analyzer.analyze(x[:2], neuron_selection=0)


def test_multi_input_model_with_one_reference_per_input():
    model = multi_input_model("float64")
    xa, xc = random_inputs(model, batch=3)
    refs = [np.full((5,), 0.5), np.zeros((1, 4, 4, 2))]
    for mode in MODES:
        a, c = DeepLIFTWrapper(model, nonlinear_mode=mode, reference_inputs=refs).analyze([xa, xc])
        y = np.asarray(model([xa, xc]))
        y_ref = np.asarray(model([refs[0][None], refs[1]]))
        want = y.max(1) - y_ref[0, y.argmax(1)]
        np.testing.assert_allclose(a.sum(1) + c.reshape(3, -1).sum(1), want, rtol=1e-4, atol=1e-10)


# -- Captum's DeepLift (Rescale) ------------------------------------------------------------------
@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
@pytest.mark.parametrize("key", ["deeplift_rescale", "deeplift_rescale_ref"])
def test_rescale_matches_captum(model_name, key):
    model, ref = build_torch_reference(model_name)
    baseline = ref["ref"] if key.endswith("_ref") else 0
    analyzer = DeepLIFTWrapper(model, reference_inputs=baseline, neuron_selection_mode="index")
    for prefix, target in (("", int(ref["target"])), ("argmax/", ref["argmax"].astype(np.int32))):
        want = ref[f"{prefix}captum/{key}"]
        got = analyzer.analyze(ref["x"], neuron_selection=target)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * np.abs(want).max(), err_msg=prefix)
    by_max = DeepLIFTWrapper(model, reference_inputs=baseline).analyze(ref["x"])
    np.testing.assert_allclose(by_max, ref[f"argmax/captum/{key}"], rtol=1e-4,
                               atol=1e-6 * np.abs(ref[f"argmax/captum/{key}"]).max())


# -- literal oracles -------------------------------------------------------------------------------
def _mlp():
    keras.utils.set_random_seed(11)
    init = keras.initializers.RandomNormal(0.0, 0.3)
    return keras.Sequential([
        keras.Input((6,), dtype="float64"),
        L.Dense(5, activation="relu", bias_initializer=init, dtype="float64"),
        L.Dense(4, activation="relu", bias_initializer=init, dtype="float64"),
        L.Dense(3, bias_initializer=init, dtype="float64"),
    ])


def _reveal_cancel_oracle(model, x, ref, target):
    """RevealCancel on a ReLU MLP, term by term as in the paper (section 3.5)."""
    relu = np.maximum
    layers = [layer.get_weights() for layer in model.layers]
    out = []
    for xi in x:
        h, h_ref, saved = xi, ref[0], []
        for i, (W, b) in enumerate(layers):
            terms = W * (h - h_ref)[:, None]  # w_ij Δx_i
            z, z_ref = h @ W + b, h_ref @ W + b
            z_pos, z_neg = np.where(terms > 0, terms, 0).sum(0), np.where(terms < 0, terms, 0).sum(0)
            if i == len(layers) - 1:
                scale_pos = scale_neg = np.ones_like(z)
                h, h_ref = z, z_ref
            else:
                y, y_ref = relu(z, 0), relu(z_ref, 0)
                y_pos = 0.5 * (relu(z_ref + z_pos, 0) - y_ref) + 0.5 * (y - relu(z_ref + z_neg, 0))
                y_neg = 0.5 * (relu(z_ref + z_neg, 0) - y_ref) + 0.5 * (y - relu(z_ref + z_pos, 0))
                gradient = (z > 0).astype(float)
                scale_pos = np.where(np.abs(z_pos) < 1e-10, gradient, y_pos / np.where(z_pos == 0, 1, z_pos))
                scale_neg = np.where(np.abs(z_neg) < 1e-10, gradient, y_neg / np.where(z_neg == 0, 1, z_neg))
                h, h_ref = y, y_ref
            saved.append((W, terms, scale_pos, scale_neg))
        m = np.eye(len(h))[target]
        for W, terms, scale_pos, scale_neg in reversed(saved):
            m_pos, m_neg = m * scale_pos, m * scale_neg
            per_term = np.where(terms > 0, m_pos, np.where(terms < 0, m_neg, 0.5 * (m_pos + m_neg)))
            m = (W * per_term).sum(1)
        out.append(m * (xi - ref[0]))
    return np.array(out)


def test_reveal_cancel_matches_a_literal_oracle():
    model = _mlp()
    rng = np.random.default_rng(2)
    x, ref = rng.normal(size=(6, 6)), rng.normal(size=(1, 6))
    analyzer = DeepLIFTWrapper(model, nonlinear_mode="reveal_cancel", reference_inputs=ref,
                               neuron_selection_mode="index")
    got = analyzer.analyze(x, neuron_selection=1)
    np.testing.assert_allclose(got, _reveal_cancel_oracle(model, x, ref, 1), rtol=1e-9, atol=1e-12)
    rescale = DeepLIFTWrapper(model, reference_inputs=ref, neuron_selection_mode="index")
    assert not np.allclose(rescale.analyze(x, neuron_selection=1), got)  # the rules do differ


@pytest.mark.parametrize("mode", MODES)
def test_max_pooling_follows_captums_rule(mode):
    """Δy goes to the input's maximum up to y_ref and to the reference's maximum for the rest."""
    model = keras.Sequential([
        keras.Input((6, 1), dtype="float64"),
        L.MaxPooling1D(3, dtype="float64"),
        L.Flatten(dtype="float64"),
        L.Dense(1, use_bias=False, kernel_initializer="ones", dtype="float64"),
    ])
    model.layers[-1].set_weights([np.array([[2.0], [-1.0]])])
    x = np.array([[1, 3, 2, 0, -1, 5], [5, 0, 1, 7, 2, 3]], float)[..., None]
    ref = np.array([[4, 0, 0, 0, 6, -2]], float)[..., None]
    got = DeepLIFTWrapper(model, nonlinear_mode=mode, reference_inputs=ref).analyze(x)[..., 0]
    # window [1,3,2] vs ref max 4 at 0: -1 to position 0 (x2); window [0,-1,5] vs 6 at 4: -1 to 4 (x-1)
    # window [5,0,1] vs 4: +1 to position 0 (x2); window [0,7,2]... y=7 vs 6: +1 to position 3 (x-1)
    np.testing.assert_allclose(got, [[-2, 0, 0, 0, 1, 0], [2, 0, 0, -1, 0, 0]], atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_linear_model_gives_gradient_times_difference(mode):
    keras.utils.set_random_seed(4)
    model = keras.Sequential([
        keras.Input((8, 8, 3), dtype="float64"),
        L.Conv2D(4, 3, bias_initializer="ones", dtype="float64"),
        L.AveragePooling2D(2, dtype="float64"),
        L.Flatten(dtype="float64"),
        L.Dense(5, bias_initializer="ones", dtype="float64"),
    ])
    x = random_inputs(model, batch=3)
    ref = _reference_array(model)
    got = DeepLIFTWrapper(model, nonlinear_mode=mode, reference_inputs=ref).analyze(x)
    gradient = create_analyzer("gradient", model).analyze(x)
    np.testing.assert_allclose(got, gradient * (x - ref), rtol=1e-9, atol=1e-12)


# -- the analyzer contract -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_one_trace_for_all_batch_sizes_and_no_mixing_between_samples(mode):
    model = sequential_cnn()
    analyzer = DeepLIFTWrapper(model, nonlinear_mode=mode, reference_inputs=_reference_array(model))
    x = random_inputs(model, batch=5)
    whole = analyzer.analyze(x)
    for batch in (1, 2, 7):
        assert analyzer.analyze(random_inputs(model, batch=batch)).shape == (batch, 8, 8, 3)
    one_by_one = np.concatenate([analyzer.analyze(x[i:i + 1]) for i in range(5)])
    np.testing.assert_allclose(whole, one_by_one, rtol=1e-5, atol=1e-7)
    assert analyzer._trace_count == 1


@pytest.mark.parametrize("mode", MODES)
def test_save_load_round_trip_is_bit_identical(mode, tmp_path):
    model = residual_model()
    x = random_inputs(model, batch=3)
    analyzer = create_analyzer("deep_lift.wrapper", model, nonlinear_mode=mode,
                               reference_inputs=_reference_array(model).astype(np.float32),
                               neuron_selection_mode="index")
    expected = analyzer.analyze(x, neuron_selection=[1, 2, 3])
    path = tmp_path / "deep_lift.npz"
    analyzer.save_npz(str(path))
    loaded = AnalyzerBase.load_npz(str(path))
    assert isinstance(loaded, DeepLIFTWrapper)
    np.testing.assert_array_equal(loaded.analyze(x, neuron_selection=[1, 2, 3]), expected)
    np.testing.assert_array_equal(AnalyzerBase.load(*analyzer.save()).analyze(x, neuron_selection=[1, 2, 3]),
                                  expected)


def test_registered_names_and_bad_parameters():
    model = sequential_cnn()
    assert type(create_analyzer("deep_lift", model)) is DeepLIFTWrapper
    assert type(create_analyzer("deep_lift.wrapper", model)) is DeepLIFTWrapper
    with pytest.raises(ValueError, match="'rescale', 'reveal_cancel'.*'genomics'"):
        DeepLIFTWrapper(model, nonlinear_mode="genomics")
    with pytest.raises(ValueError, match=r"reference_inputs has shape \(4, 4\)"):
        DeepLIFTWrapper(model, reference_inputs=np.zeros((4, 4)))


def test_verbose_prints_the_rule_of_each_layer(capsys):
    model = sequential_cnn()
    DeepLIFTWrapper(model, verbose=True).analyze(random_inputs(model, batch=1))
    printed = capsys.readouterr().out
    assert "Rescale at the activation" in printed
    assert "max pooling (Captum's rule)" in printed
