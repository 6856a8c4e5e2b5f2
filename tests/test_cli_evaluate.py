"""``innv evaluate``: a table of metric x method from a saved model, and its errors."""

from __future__ import annotations

import csv

import keras
import numpy as np
import pytest

from innv_core.app.cli import main
from innv_core.app.evaluate import parse_metric


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluate")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.save(folder / "m.keras")
    x = np.random.default_rng(0).random((6, 8, 8, 1)).astype("float32")
    np.save(folder / "x.npy", x)
    masks = np.zeros((6, 8, 8), "float32")
    masks[:, 2:5, 2:5] = 1
    np.save(folder / "s.npy", masks)
    return folder, model, x, masks


def test_parse_metric_reads_json_values_and_text():
    spec = parse_metric("pixel_flipping:features_in_step=16,perturb_baseline=mean,abs=true")
    assert spec.name == "pixel_flipping"
    assert spec.params == {"features_in_step": 16, "perturb_baseline": "mean", "abs": True}
    with pytest.raises(ValueError, match="key=value"):
        parse_metric("sparseness:abs")


def test_evaluate_writes_the_table_and_matches_the_api(files, capsys):
    folder, model, x, masks = files
    out = folder / "out"
    rc = main([
        "evaluate", str(folder / "m.keras"), str(folder / "x.npy"), "-m", "gradient", "-m", "lrp.epsilon",
        "--metric", "pixel_flipping:features_in_step=8", "--metric", "sparseness",
        "--metric", "relevance_mass_accuracy", "--masks", str(folder / "s.npy"), "-o", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "| metric | gradient | lrp.epsilon |" in printed
    rows = list(csv.DictReader(open(out / "metrics.csv", encoding="utf-8")))
    assert [(r["metric"], r["method"]) for r in rows] == [
        (m, a) for m in ("pixel_flipping:features_in_step=8", "sparseness", "relevance_mass_accuracy")
        for a in ("gradient", "lrp.epsilon")]
    from innv_core import create_analyzer, create_metric
    from innv_core.graph import model_wo_softmax

    logits = model_wo_softmax(model)
    y = logits.predict(x, verbose=0).argmax(1)
    a = create_analyzer("gradient", logits, neuron_selection_mode="index").analyze(x, neuron_selection=y)
    want = create_metric("pixel_flipping", logits, features_in_step=8).evaluate(x, y, a=a)
    np.testing.assert_allclose(np.load(out / "scores" / "pixel_flipping_features_in_step_8__gradient.npy"),
                               want.scores, rtol=1e-5)
    assert float(rows[0]["mean"]) == pytest.approx(want.mean, rel=1e-4)
    assert np.load(out / "curves" / "pixel_flipping_features_in_step_8__gradient.npy").shape == (6, 8)


@pytest.mark.parametrize("metric,match", [
    ("pixel_flipin", "Did you mean 'pixel_flipping'"),
    ("pixel_flipping:features_in_step=7", "does not divide"),
    ("pointing_game", "--masks"),
    ("sparseness:foo=1", "unknown parameter"),
])
def test_evaluate_errors_are_one_line(files, capsys, metric, match):
    folder, *_ = files
    rc = main(["evaluate", str(folder / "m.keras"), str(folder / "x.npy"), "-m", "gradient",
               "--metric", metric, "-o", str(folder / "bad")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and match in err, err
    assert not (folder / "bad").exists()


def test_evaluate_focus_takes_mosaic_quadrants_from_masks(files, capsys, tmp_path):
    """Focus' ``s`` is (n, 4) quadrant labels, not pixel masks: read from --masks as they are."""
    from innv_core import create_analyzer, create_metric
    from innv_core.graph import model_wo_softmax
    from innv_core.metrics.mosaic import mosaic_creation

    folder, model, *_ = files
    images = np.random.default_rng(1).random((6, 4, 4, 1)).astype("float32")
    mosaics = mosaic_creation(images, np.array([0, 0, 1, 1, 2, 2]), mosaics_per_class=2, seed=3)
    np.save(tmp_path / "x.npy", mosaics.x.astype("float32"))
    np.save(tmp_path / "s.npy", mosaics.s)
    np.save(tmp_path / "y.npy", mosaics.y)
    rc = main(["evaluate", str(folder / "m.keras"), str(tmp_path / "x.npy"), "-m", "gradient",
               "--metric", "focus", "--masks", str(tmp_path / "s.npy"), "--labels", str(tmp_path / "y.npy"),
               "-o", str(tmp_path / "out")])
    assert rc == 0, capsys.readouterr().err
    logits = model_wo_softmax(model)
    x = mosaics.x.astype("float32")
    a = create_analyzer("gradient", logits, neuron_selection_mode="index").analyze(x, neuron_selection=mosaics.y)
    want = create_metric("focus").evaluate(x, mosaics.y, a=a, s=mosaics.s).scores
    np.testing.assert_allclose(np.load(tmp_path / "out" / "scores" / "focus__gradient.npy"), want, rtol=1e-5)
    assert len(want) == 6 and np.all((want >= 0) & (want <= 1))


def test_evaluate_fits_pattern_analyzers_before_scoring(files, capsys):
    """PatternNet learns its patterns from the inputs first; a metric that explains noisy copies
    (max-sensitivity) then uses those patterns, as the API does after ``fit``."""
    from innv_core import create_analyzer, create_metric
    from innv_core.graph import model_wo_softmax

    folder, model, x, _ = files
    out = folder / "patterns"
    rc = main(["evaluate", str(folder / "m.keras"), str(folder / "x.npy"), "-m", "pattern.net",
               "--metric", "max_sensitivity:nr_samples=3,seed=5", "-o", str(out)])
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    assert "pattern.net learns from data" in printed.out
    logits = model_wo_softmax(model)
    analyzer = create_analyzer("pattern.net", logits, neuron_selection_mode="index")
    analyzer.fit(x, batch_size=32)
    y = logits.predict(x, verbose=0).argmax(1)
    a = analyzer.analyze(x, neuron_selection=y)
    want = create_metric("max_sensitivity", logits, nr_samples=3, seed=5).evaluate(
        x, y, a=a, analyzer=analyzer).scores
    np.testing.assert_allclose(np.load(out / "scores" / "max_sensitivity_nr_samples_3_seed_5__pattern.net.npy"),
                               want, rtol=1e-5)
