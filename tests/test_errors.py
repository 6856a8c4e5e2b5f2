"""The error hierarchy, parameter checks at creation, and saved-file errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from innv_core import create_analyzer, errors
from innv_core.analyzer import AnalyzerBase
from innv_core.errors import AnalyzerFileError, InnvError, InvalidInputError, InvalidParameterError

L = keras.layers


def _model():
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1))
    h = L.Flatten()(L.Conv2D(2, 3, activation="relu")(inp))
    return keras.Model(inp, L.Dense(3)(h))


def test_every_error_is_an_innv_error_and_the_matching_builtin():
    pairs = {
        errors.InvalidParameterError: ValueError, errors.InvalidInputError: ValueError,
        errors.NeuronSelectionError: ValueError, errors.NotAnalyzableModelError: ValueError,
        errors.AnalyzerFileError: ValueError, errors.UnknownNameError: KeyError,
        errors.AmbiguousNameError: KeyError, errors.DuplicateNameError: ValueError,
    }
    for cls, builtin in pairs.items():
        assert issubclass(cls, InnvError) and issubclass(cls, builtin), cls
    assert str(errors.UnknownNameError("Unknown analyzer 'x'.")) == "Unknown analyzer 'x'."  # not quoted
    assert issubclass(errors.AnalysisWarning, errors.InnvWarning)


BAD_PARAMETERS = [
    ("integrated_gradients", {"steps": 0}, "steps must be a positive integer.*got 0"),
    ("integrated_gradients", {"steps": 2.5}, "steps must be a positive integer.*got 2.5"),
    ("integrated_gradients", {"steps": "8"}, "steps must be a positive integer"),
    ("integrated_gradients", {"steps": True}, "steps must be a positive integer"),
    ("integrated_gradients", {"steps_per_chunk": -1}, "steps_per_chunk"),
    ("integrated_gradients", {"memory_budget": 0}, "memory_budget must be a finite number >= 1.*2 GiB"),
    ("smoothgrad", {"memory_budget": "2GB"}, "memory_budget must be a finite number"),
    ("lrp.alpha_2_beta_1", {"input_range": (1, 0)}, "input_range must be"),
    ("smoothgrad", {"augment_by_n": 0}, "augment_by_n must be a positive integer"),
    ("smoothgrad", {"noise_scale": -0.1}, r"noise_scale must be a finite number >= 0, got -0.1"),
    ("smoothgrad", {"noise_scale": float("nan")}, "noise_scale must be a finite number"),
    ("smoothgrad", {"seed": 1.5}, "seed must be None or an int"),
    ("gradient", {"postprocess": "abss"}, "postprocess must be one of"),
    ("gradient", {"neuron_selection_mode": "max"}, "neuron_selection_mode must be one of"),
    ("lrp.z", {"reverse_clip_values": (1, 0)}, r"reverse_clip_values must be .*low <= high, got \(1, 0\)"),
    ("lrp.z", {"reverse_clip_values": (0, float("inf"))}, "reverse_clip_values"),
    ("lrp.z", {"reverse_clip_values": "big"}, "reverse_clip_values"),
    ("lrp.z", {"reverse_project_bottleneck_layers": (1, 1)}, "reverse_project_bottleneck_layers"),
    ("deep_lift.wrapper", {"nonlinear_mode": "genomics"}, "nonlinear_mode must be one of"),
]


@pytest.mark.parametrize("name, kwargs, pattern", BAD_PARAMETERS,
                         ids=[f"{n}-{next(iter(k))}" for n, k, _ in BAD_PARAMETERS])
def test_bad_parameters_fail_at_creation(name, kwargs, pattern):
    with pytest.raises(InvalidParameterError, match=pattern):
        create_analyzer(name, _model(), **kwargs)


def test_good_ranges_still_work():
    model = _model()
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 1)).astype(np.float32)
    clipped = create_analyzer("gradient", model, reverse_clip_values=(-1e-3, 1e-3)).analyze(x)
    assert np.abs(clipped).max() <= 1e-3 + 1e-9
    projected = create_analyzer("gradient", model, reverse_project_bottleneck_layers=True).analyze(x)
    assert np.isfinite(projected).all()


def test_perturbation_parameters_and_region_larger_than_image():
    from innv_core.tools.perturbate import Perturbation

    for shape in ((0, 2), (2.5, 2), ("a", 2), (2,), 3):
        with pytest.raises(InvalidParameterError, match="region_shape must be two positive integers"):
            Perturbation("zeros", region_shape=shape)
    with pytest.raises(InvalidParameterError, match="value_range"):
        Perturbation("zeros", value_range=(1, 0))
    with pytest.raises(InvalidParameterError, match="num_perturbed_regions"):
        Perturbation("zeros", num_perturbed_regions=-1)
    p = Perturbation("zeros", region_shape=(9, 2))
    x = np.ones((1, 8, 8, 1), np.float32)
    with pytest.raises(InvalidParameterError, match=r"region_shape=\(9, 2\) is larger than the images \(8x8"):
        p.perturbate_on_batch(x, x)
    with pytest.raises(InvalidInputError, match="channels-last batch of images"):
        Perturbation("zeros").perturbate_on_batch(x[0], x[0])


def test_perturbation_analysis_refuses_regions_larger_than_the_images():
    import keras

    from innv_core.tools.perturbate import Perturbation, PerturbationAnalysis

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).uniform(0, 1, (4, 8, 8, 1)).astype("float32")
    y = np.array([0, 1, 2, 0])
    analyzer = create_analyzer("gradient", model)
    perturbation = Perturbation("zeros", region_shape=(16, 16))
    for recompute in (False, True):
        analysis = PerturbationAnalysis(analyzer, model, [(x, y)], perturbation, steps=2,
                                        recompute_analysis=recompute)
        with pytest.raises(InvalidParameterError, match=r"region_shape=\(16, 16\) is larger than the images \(8x8"):
            analysis.compute_perturbation_analysis()


# -- saved files -------------------------------------------------------------------------------
def test_save_npz_without_suffix_loads_back(tmp_path):
    analyzer = create_analyzer("lrp.epsilon", _model(), epsilon=0.01)
    analyzer.save_npz(str(tmp_path / "name"))  # numpy writes name.npz
    assert (tmp_path / "name.npz").exists()
    loaded = AnalyzerBase.load_npz(str(tmp_path / "name"))
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 1)).astype(np.float32)
    np.testing.assert_array_equal(loaded.analyze(x), analyzer.analyze(x))
    with pytest.raises(FileNotFoundError, match="No saved analyzer"):
        AnalyzerBase.load_npz(str(tmp_path / "other"))


def test_foreign_files_are_analyzer_file_errors(tmp_path):
    np.save(tmp_path / "array.npy", np.ones(3))
    np.savez(tmp_path / "plain.npz", weights=np.ones(3))
    (tmp_path / "text.npz").write_text("not a zip")
    good = tmp_path / "good.npz"
    create_analyzer("gradient", _model()).save_npz(str(good))
    data = good.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    for name, pattern in (("array.npy", "not an .npz archive"), ("plain.npz", "not a saved innv analyzer"),
                          ("text.npz", "not an .npz archive"), ("truncated.npz", "truncated|damaged|not an .npz")):
        with pytest.raises(AnalyzerFileError, match=pattern):
            AnalyzerBase.load_npz(str(tmp_path / name))


def test_unreloadable_model_fails_at_save_time(tmp_path):
    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    h = L.Lambda(lambda t: t * 2.0, name="double")(L.Dense(3)(inp))
    model = keras.Model(inp, L.Dense(2)(h))
    analyzer = create_analyzer("gradient", model, allow_lambda_layers=True)
    with pytest.raises(AnalyzerFileError, match="'double' is a Lambda layer.*safe mode"):
        analyzer.save_npz(str(tmp_path / "lambda"))
    assert not (tmp_path / "lambda.npz").exists()

    class Unregistered(L.Layer):
        def call(self, x):
            return x * 3.0

    inp = keras.Input((4,))
    model = keras.Model(inp, L.Dense(2)(Unregistered(name="custom")(inp)))
    analyzer = create_analyzer("gradient", model)
    with pytest.raises(AnalyzerFileError, match="'custom'.*not registered"):
        analyzer.save()


def test_model_wo_softmax_output_can_be_saved_and_reloaded(tmp_path):
    from innv_core import model_wo_softmax

    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    model = model_wo_softmax(keras.Model(inp, L.Softmax()(L.Dense(3)(inp))))
    analyzer = create_analyzer("lrp.z", model)
    analyzer.save_npz(str(tmp_path / "stripped.npz"))
    loaded = AnalyzerBase.load_npz(str(tmp_path / "stripped.npz"))
    x = np.ones((1, 4), np.float32)
    np.testing.assert_array_equal(loaded.analyze(x), analyzer.analyze(x))


def test_check_inputs_refuses_what_analyze_refuses_without_analyzing():
    analyzer = create_analyzer("lrp.epsilon", _model(), neuron_selection_mode="index")
    x = np.ones((2, 8, 8, 1), "float32")
    analyzer.check_inputs(x, 2)  # in range: nothing raised, nothing compiled
    assert analyzer._analyze_fn is None
    with pytest.raises(errors.NeuronSelectionError, match=r"neuron_selection \[3\] out of range"):
        analyzer.check_inputs(x, 3)
    with pytest.raises(InvalidInputError, match="shape"):
        analyzer.check_inputs(np.ones((2, 8, 8, 3), "float32"))
    with pytest.raises(InvalidInputError, match="NaN"):
        analyzer.check_inputs(np.full((2, 8, 8, 1), np.nan, "float32"))
