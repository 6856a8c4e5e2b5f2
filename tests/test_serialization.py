"""save/load round trips (bit-identical) and the files innv must refuse."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from conftest import random_inputs, residual_model

from innv_core import create_analyzer
from innv_core.analyzer import AnalyzerBase
from innv_core.serialization import AnalyzerFileError

ANALYZERS = {
    "gradient": {"postprocess": "abs"},
    "gradient.baseline": {},
    "input_t_gradient": {},
    "deconvnet": {},
    "guided_backprop": {"reverse_clip_values": (-1.0, 1.0)},
    "integrated_gradients": {"steps": 8, "reference_inputs": np.full((8, 8, 3), 0.25, np.float32)},
    "smoothgrad": {"augment_by_n": 4, "noise_scale": 0.1, "seed": 5},
    "input": {},
    "random": {"stddev": 0.5, "seed": 2},
}


@pytest.fixture(scope="module")
def model():
    return residual_model()


@pytest.mark.parametrize("name", sorted(ANALYZERS))
def test_round_trip_is_bit_identical(name, model, tmp_path):
    x = random_inputs(model, batch=3)
    analyzer = create_analyzer(name, model, neuron_selection_mode="index", **ANALYZERS[name])
    expected = analyzer.analyze(x, neuron_selection=[0, 3, 4])
    class_name, state = analyzer.save()
    from_state = AnalyzerBase.load(class_name, state)
    np.testing.assert_array_equal(from_state.analyze(x, neuron_selection=[0, 3, 4]), expected)
    path = tmp_path / "analyzer.npz"
    analyzer.save_npz(str(path))
    loaded = AnalyzerBase.load_npz(str(path))
    assert type(loaded) is type(analyzer)
    np.testing.assert_array_equal(loaded.analyze(x, neuron_selection=[0, 3, 4]), expected)


def test_state_is_plain_data(model):
    _, state = create_analyzer("integrated_gradients", model, **ANALYZERS["integrated_gradients"]).save()
    json.loads(state["params"])
    assert state["model"].dtype == np.uint8
    assert zipfile.is_zipfile(io.BytesIO(state["model"].tobytes()))  # a .keras archive
    assert all(isinstance(a, np.ndarray) and a.dtype != object for a in state["arrays"].values())


def test_unsavable_parameter_is_reported(model):
    from innv_plugins.rules.epsilon import EpsilonRule

    analyzer = create_analyzer("lrp", model, rule=EpsilonRule(epsilon=0.1))
    with pytest.raises(AnalyzerFileError, match="rule.*cannot be saved"):
        analyzer.save()


def test_foreign_truncated_and_pickled_files_are_refused(model, tmp_path):
    analyzer = create_analyzer("gradient", model)
    good = tmp_path / "good.npz"
    analyzer.save_npz(str(good))

    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    with pytest.raises(AnalyzerFileError, match="not a saved innv analyzer"):
        AnalyzerBase.load_npz(str(foreign))

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(AnalyzerFileError, match="truncated, damaged"):
        AnalyzerBase.load_npz(str(truncated))

    pickled = tmp_path / "pickled.npz"
    with np.load(good) as data:
        contents = {k: data[k] for k in data.files}
    contents["__innv__"] = np.array([{"format": "innv-analyzer"}], dtype=object)
    np.savez(pickled, **contents)
    with pytest.raises(AnalyzerFileError, match="pickled"):
        AnalyzerBase.load_npz(str(pickled))

    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(AnalyzerFileError):
        AnalyzerBase.load_npz(str(text))

    with pytest.raises(AnalyzerFileError, match="format marker"):
        AnalyzerBase.load("Gradient", {"params": "{}"})
    with pytest.raises(FileNotFoundError):
        AnalyzerBase.load_npz(str(tmp_path / "missing.npz"))


def test_unknown_class_name(model):
    class_name, state = create_analyzer("gradient", model).save()
    state = {**state, "registry_name": None}
    with pytest.raises(AnalyzerFileError, match="No registered analyzer class 'Nope'"):
        AnalyzerBase.load("Nope", state)
