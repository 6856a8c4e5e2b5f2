"""``innv analyze --report``: the agreement curves, the self-contained page, and the page in a
real browser (headless Chromium, skipped where it is not installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest
from test_cli import _tiny_cnn

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# -- the page --------------------------------------------------------------------------------
def _png(path, colour):
    import matplotlib.image

    matplotlib.image.imsave(path, np.full((20, 30, 3), colour, np.float32))
    return path


def test_report_embeds_every_image_escapes_text_and_fetches_nothing(tmp_path):
    from innv_core.app.report_page import ReportImage, write_report

    grid = ReportImage("Grid", _png(tmp_path / "a.png", 0.2), "caption <b>")
    maps = [ReportImage("m1", _png(tmp_path / "b.png", 0.5)), ReportImage("m2", _png(tmp_path / "c.png", 0.8))]
    path = write_report(tmp_path / "r.html", "title & <x>", {"methods": "a, <b>"}, [grid],
                        {"lrp": maps}, notes=["note <i>"], versions={"innv": "0.1.0"})
    page = path.read_text()
    assert page.count('src="data:image/png;base64,') == 3
    assert "title &amp; &lt;x&gt;" in page and "a, &lt;b&gt;" in page and "note &lt;i&gt;" in page
    assert "<b>" not in page.replace("<body", "")  # no markup smuggled in through a caption
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # no CDN, nothing fetched
    assert "<link" not in page and "@import" not in page


def test_library_versions_name_python_and_the_stack():
    import numpy

    from innv_core.app.report_page import library_versions

    versions = library_versions()
    assert versions["numpy"] == numpy.__version__ and versions["python"].count(".") == 2
    assert {"innv", "tensorflow", "keras", "matplotlib"} <= set(versions)


# -- the agreement curves -------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_and_data():
    from innv_core import model_wo_softmax

    model = model_wo_softmax(_tiny_cnn())
    x = np.random.default_rng(1).uniform(0, 1, (12, 8, 8, 3)).astype("float32")
    return model, x


def test_agreement_starts_at_the_share_predicted_as_the_target_and_ends_at_the_blank_image(model_and_data):
    from innv_core.tools.agreement import agreement_curves

    model, x = model_and_data
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    targets = np.where(np.arange(len(x)) % 2 == 0, predicted, (predicted + 1) % 3)  # half agree
    analysis = np.random.default_rng(2).normal(size=x.shape).astype("float32")
    # region 2 on 8x8: 16 regions; 10 steps of round(16 / 40) = 1 region: the last 6 remove all
    result = agreement_curves(model, x, targets, {"noise": analysis}, steps=20, region=2,
                              baseline_seeds=2, batch_size=5)
    curve = np.array([score[1] for score in result.curves["noise"]])
    assert len(curve) == 21 and result.regions_per_step == 1 and result.chance == pytest.approx(1 / 3)
    assert curve[0] == pytest.approx(0.5)
    blank = model.predict(np.zeros_like(x), verbose=0).argmax(axis=1)
    assert curve[-1] == pytest.approx(np.mean(blank == targets))  # every region set to zero
    assert len(result.baseline) == 2 and all(len(b) == 21 for b in result.baseline)


def test_agreement_scores_the_explained_output_of_a_two_output_model(model_and_data):
    import keras

    from innv_core.tools.agreement import agreement_curves

    _, x = model_and_data
    keras.utils.set_random_seed(3)
    inputs = keras.Input((8, 8, 3))
    hidden = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    model = keras.Model(inputs, [keras.layers.Dense(2)(hidden), keras.layers.Dense(4)(hidden)])
    second = model.predict(x, verbose=0)[1].argmax(axis=1)
    targets = np.zeros(len(x), np.int64)  # class 0 of the 4-class output
    result = agreement_curves(model, x, targets, {"a": x}, output_index=1, steps=2, baseline_seeds=0)
    assert result.curves["a"][0][1] == pytest.approx(np.mean(second == 0)) and result.chance == 0.25
    assert result.baseline == []


def test_agreement_on_grey_images_without_a_channel_axis():
    import keras

    from innv_core.tools.agreement import agreement_curves

    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(3)])
    x = np.random.default_rng(5).uniform(0, 1, (6, 8, 8)).astype("float32")
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    result = agreement_curves(model, x, predicted, {"x": x}, steps=16, region=2, baseline_seeds=1)
    curve = [score[1] for score in result.curves["x"]]
    blank = model.predict(np.zeros_like(x), verbose=0).argmax(axis=1)
    assert curve[0] == 1.0 and curve[-1] == pytest.approx(np.mean(blank == predicted))
    assert len(result.baseline) == 1 and len(result.baseline[0]) == 17


def test_agreement_needs_class_scores(model_and_data):
    import keras

    from innv_core.errors import InvalidInputError
    from innv_core.tools.agreement import agreement_curves

    _, x = model_and_data
    regressor = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(InvalidInputError, match="class scores"):
        agreement_curves(regressor, x, np.zeros(len(x)), {"a": x})


# -- innv analyze --report -------------------------------------------------------------------
@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """``innv analyze --report`` on the tiny CNN with two methods and 4 inputs."""
    from innv_core.app.cli import main

    root = tmp_path_factory.mktemp("report")
    _tiny_cnn().save(root / "tiny.keras")
    x = np.random.default_rng(0).uniform(0, 1, (4, 8, 8, 3)).astype("float32")
    np.save(root / "x.npy", x)
    rc = main(["analyze", str(root / "tiny.keras"), str(root / "x.npy"), "-m", "lrp.epsilon", "-m", "gradient",
               "--out", str(root / "out"), "--report", "--grid-rows", "3", "--overlay", "0.6"])
    assert rc == 0
    return root / "out"


def test_report_holds_the_grid_curves_heatmaps_parameters_and_versions(report):
    page = (report / "report.html").read_text()
    assert (report / "perturbation.png").is_file()
    assert page.count('src="data:image/png;base64,') == 2 + 2 * 3  # grid, curves, 3 rows x 2 methods
    for text in ("Heatmaps", "Perturbation curves", "lrp.epsilon (signed)", "gradient (signed)",
                 "tiny.keras", "4 of shape (8, 8, 3)", "sha256", "tensorflow", "overlay 0.6",
                 "higher AOPC"):
        assert text in page, text


def test_report_scores_each_method_with_the_default_metrics(report):
    """8 x 8 x 3 values: pixel flipping removes 8 values per step (24 steps); the table on the page
    and metrics/metrics.csv hold the same means as create_metric on the saved analyses."""
    import csv

    from innv_core import create_metric

    page = (report / "report.html").read_text()
    assert "<h2>Metrics</h2>" in page and "pixel_flipping:features_in_step=8 ↓" in page
    rows = list(csv.DictReader((report / "metrics" / "metrics.csv").open()))
    assert {(r["metric"], r["method"]) for r in rows} == {
        (m, method) for m in ("pixel_flipping:features_in_step=8", "sparseness", "complexity")
        for method in ("lrp.epsilon", "gradient")}
    a = np.load(report / "gradient.npy")
    want = create_metric("sparseness").evaluate(a, a=a).mean
    got = next(float(r["mean"]) for r in rows if r["metric"] == "sparseness" and r["method"] == "gradient")
    assert got == pytest.approx(want, rel=1e-5)
    assert np.load(report / "metrics" / "curves" / "pixel_flipping_features_in_step_8__gradient.npy").shape == (4, 24)


def test_report_takes_metrics_by_name_and_refuses_them_without_report(report, tmp_path, capsys):
    from innv_core.app.cli import main

    model, inputs = report.parent / "tiny.keras", report.parent / "x.npy"
    args = ["analyze", str(model), str(inputs), "-m", "gradient", "--out", str(tmp_path / "out")]
    assert main([*args, "--metric", "sparseness"]) == 2
    assert "--metric fills the metrics table of --report" in capsys.readouterr().err
    assert main([*args, "--report", "--metric", "sparsenes"]) == 2
    assert "sparseness" in capsys.readouterr().err  # the unknown name, with the closest known one
    assert main([*args, "--report", "--metric", "region_perturbation:patch_size=4"]) == 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert "region_perturbation:patch_size=4 ↑" in page and "sparseness" not in page


def test_report_of_non_images_says_why_it_has_no_figures(tmp_path):
    import keras

    from innv_core.app.cli import main

    keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)]).save(tmp_path / "mlp.keras")
    np.save(tmp_path / "x.npy", np.ones((2, 5), np.float32))
    rc = main(["analyze", str(tmp_path / "mlp.keras"), str(tmp_path / "x.npy"), "-m", "gradient",
               "--out", str(tmp_path / "out"), "--report"])
    page = (tmp_path / "out" / "report.html").read_text()
    assert rc == 0 and "are not images" in page and "data:image" not in page


def test_report_with_neuron_all_explains_the_missing_curves(report, tmp_path):
    from innv_core.app.cli import main

    model, inputs = report.parent / "tiny.keras", report.parent / "x.npy"
    rc = main(["analyze", str(model), str(inputs), "-m", "gradient", "--neuron", "all",
               "--out", str(tmp_path / "out"), "--report"])
    page = (tmp_path / "out" / "report.html").read_text()
    assert rc == 0 and "No perturbation curves: --neuron all" in page and "No metrics: --neuron all" in page
    assert not (tmp_path / "out" / "perturbation.png").exists()


def test_overlay_must_be_an_opacity(capsys):
    from innv_core.app.cli import main

    with pytest.raises(SystemExit):
        main(["analyze", "m.keras", "x.npy", "-m", "gradient", "--overlay", "2"])
    assert "opacity in (0, 1]" in capsys.readouterr().err


# -- in a real browser -----------------------------------------------------------------------
def _chromium(*args: str) -> subprocess.CompletedProcess:
    """Headless Chromium with the flags this offline machine needs (no sync, no updates)."""
    with tempfile.TemporaryDirectory() as profile:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}"]
        return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt install chromium)")
def test_report_renders_in_headless_chromium_with_every_image_loaded(report, tmp_path):
    import matplotlib.image

    url = (report / "report.html").resolve().as_uri()
    dom = _chromium("--dump-dom", url).stdout
    assert re.search(r'<body data-images="8/8"', dom), dom[:300]  # the page's own count of decoded images
    assert 'id="image-warning" hidden' in dom

    shot = tmp_path / "shot.png"
    _chromium("--window-size=1000,1600", f"--screenshot={shot}", url)
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1000)
    not_white = (pixels < 0.9).any(axis=-1).mean()
    coloured = (pixels.max(axis=-1) - pixels.min(axis=-1) > 0.3).mean()  # red/blue maps, not text only
    assert not_white > 0.05 and coloured > 0.01, (not_white, coloured)


def test_report_scores_localisation_with_masks_and_reuses_fitted_patterns(report, tmp_path, capsys):
    """``--masks`` adds relevance rank accuracy to the default table; a metric that explains
    noisy copies uses the run's fitted PatternNet (in index mode), not an unfitted one."""
    import csv

    from innv_core.app.cli import main

    model, inputs = report.parent / "tiny.keras", report.parent / "x.npy"
    masks = np.zeros((4, 8, 8), "float32")
    masks[:, 2:6, 2:6] = 1
    np.save(tmp_path / "s.npy", masks)
    args = ["analyze", str(model), str(inputs), "-m", "pattern.net", "--out", str(tmp_path / "out")]
    assert main([*args, "--masks", str(tmp_path / "s.npy")]) == 2
    assert "--masks fills the metrics table of --report" in capsys.readouterr().err
    assert main([*args, "--report", "--masks", str(tmp_path / "s.npy")]) == 0
    rows = list(csv.DictReader((tmp_path / "out" / "metrics" / "metrics.csv").open()))
    assert "relevance_rank_accuracy" in {r["metric"] for r in rows}
    out2 = tmp_path / "out2"
    assert main([*args[:-1], str(out2), "--report", "--metric", "max_sensitivity:nr_samples=2,seed=1"]) == 0
    page = (out2 / "report.html").read_text()
    assert "No metrics" not in page
    scores = np.load(out2 / "metrics" / "scores" / "max_sensitivity_nr_samples_2_seed_1__pattern.net.npy")
    assert scores.shape == (4,)
