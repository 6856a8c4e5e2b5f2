"""The demo: the synthetic shapes, the choice of analyzers, and a reduced end-to-end run."""

from __future__ import annotations

import csv
import os
import random
import re
import subprocess
import sys

import numpy as np
import pytest

from innv_core.app.demo.data import CLASSES, make_shapes
from innv_core.app.demo.run import DemoConfig, object_share, select_methods


# -- the data (numpy only) -------------------------------------------------------------------
def test_shapes_are_reproducible_balanced_and_in_range():
    a, b, c = make_shapes(60, seed=3), make_shapes(60, seed=3), make_shapes(60, seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert not np.array_equal(a.x, c.x)
    assert a.x.shape == (60, 32, 32, 3) and a.x.dtype == np.float32
    assert a.mask.shape == (60, 32, 32) and a.mask.dtype == bool
    assert 0 <= a.x.min() and a.x.max() <= 1
    assert np.bincount(a.y).tolist() == [20, 20, 20]
    assert len(a[:5]) == 5 and np.array_equal(a[:5].x, a.x[:5])


def test_masks_have_the_class_shape():
    data = make_shapes(90, seed=0, noise=0.0)
    for x, y, mask in zip(data.x, data.y, data.mask):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        assert 10 - 1 <= box.shape[0] <= 17 + 1 and abs(box.shape[0] - box.shape[1]) <= 1
        fill = box.mean()
        expected = {"square": (0.99, 1.0), "disc": (0.65, 0.9), "cross": (0.35, 0.65)}[CLASSES[y]]
        assert expected[0] <= fill <= expected[1], (CLASSES[y], fill)
        # without noise, every object pixel has the object's colour (at least 0.6 in some channel)
        colours = np.unique(x[mask].round(5), axis=0)
        assert len(colours) == 1 and colours.max() >= 0.6
        assert (x[~mask] <= 0.45).all()  # background in [0, 0.45]


def test_make_shapes_checks_its_arguments():
    with pytest.raises(ValueError, match="positive"):
        make_shapes(0)
    with pytest.raises(ValueError, match="object_size"):
        make_shapes(3, size=16, object_size=(10, 20))


# -- the table and the choice of analyzers ---------------------------------------------------
def test_object_share():
    mask = np.zeros((2, 4, 4), bool)
    mask[:, :2, :2] = True
    analysis = np.zeros((2, 4, 4, 3))
    analysis[0, 0, 0] = [1, 1, 1]  # 3 on the object
    analysis[0, 3, 3] = [2, -1, 0]  # 1 off it
    analysis[0, 1, 1] = [-5, 0, 0]  # negative: not counted
    share = object_share(analysis, mask)
    assert share[0] == pytest.approx(0.75)
    assert np.isnan(share[1])  # no positive relevance at all


def test_select_methods_takes_every_family_once_and_random_last():
    registered = [
        "random", "input", "gradient", "gradient.baseline", "lrp", "lrp.z", "lrp.epsilon",
        "lrp.alpha_2_beta_1", "lrp.sequential_preset_a", "deep_taylor.bounded", "deep_lift.wrapper",
        "deep_lift", "gradcam.plus", "gradcam", "occlusion.fast", "occlusion.slow", "smoothgrad",
    ]
    names = [spec.name for spec in select_methods(DemoConfig(), registered)]
    assert names == [
        "gradient", "smoothgrad", "deep_taylor.bounded", "lrp.epsilon", "lrp.alpha_2_beta_1",
        "lrp.sequential_preset_a", "deep_lift",
        "gradcam",  # a family without curated names: the name equal to the family
        "occlusion.fast",  # else its first name
        "random",
    ]
    config = DemoConfig(methods=("lrp.epsilon", "occlusion.slow"), ig_steps=5)
    specs = select_methods(config, registered)
    assert [s.name for s in specs] == ["lrp.epsilon", "occlusion.slow"]
    assert specs[0].kwargs == {"epsilon": 0.1} and specs[1].kwargs == {}
    ig = next(s for s in select_methods(config.__class__(ig_steps=5), ["integrated_gradients"]))
    assert ig.kwargs == {"steps": 5}


def test_demo_modules_import_without_tensorflow():
    code = "import sys, innv_core.app.demo.data, innv_core.app.demo.run; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# -- reproducibility -------------------------------------------------------------------------
def test_training_gives_the_callers_random_state_back():
    import keras
    from tensorflow.python.eager import context

    from innv_core.app.demo.model import build_cnn, train_cnn

    random.seed(123)
    np.random.seed(123)
    before = (random.getstate(), np.random.get_state()[1].copy(), context.global_seed(), _op_determinism())
    build_cnn(seed=5)
    first = train_cnn(make_shapes(64, seed=2), epochs=1, seed=5)
    after = (random.getstate(), np.random.get_state()[1].copy(), context.global_seed(), _op_determinism())
    assert before[0] == after[0], "Python's random state changed"
    np.testing.assert_array_equal(before[1], after[1], err_msg="numpy's global random state changed")
    assert before[2:] == after[2:], "TensorFlow's global seed or op determinism changed"
    # the same arguments give the same weights again, whatever ran in between
    keras.random.normal((3,))
    second = train_cnn(make_shapes(64, seed=2), epochs=1, seed=5)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert first.weights[0].dtype == "float32"


def _op_determinism():
    from tensorflow.python.framework import config

    return config.is_op_determinism_enabled()


_TRAIN = """
import sys, numpy as np
from innv_core.app.demo.data import make_shapes
from innv_core.app.demo.model import train_cnn
model = train_cnn(make_shapes(320, seed=0), epochs=2, seed=0)
np.save(sys.argv[1], np.concatenate([w.ravel() for w in model.get_weights()]))
"""


def test_training_gives_the_same_weights_on_other_cpus(tmp_path):
    """Two fresh processes, the second with oneDNN's kernels for another CPU (AVX2) and one thread:
    the trained weights are the same (float64 training rounded to float32, docs/demo.md)."""
    runs = {"native": {}, "avx2-1thread": {"ONEDNN_MAX_CPU_ISA": "AVX2", "TF_NUM_INTRAOP_THREADS": "1"}}
    procs = {name: subprocess.Popen([sys.executable, "-c", _TRAIN, str(tmp_path / f"{name}.npy")],
                                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for name, env in runs.items()}
    for proc in procs.values():
        assert proc.wait(timeout=300) == 0, proc.stderr.read()[-2000:]
    weights = {name: np.load(tmp_path / f"{name}.npy") for name in runs}
    for name in runs:
        # equal up to a float32 rounding flip (the float64 weights differ by ~1e-12 between thread counts)
        np.testing.assert_allclose(weights[name], weights["native"], rtol=1e-6, atol=1e-7, err_msg=name)


def test_pin_threads_refuses_once_tensorflow_runs():
    import tensorflow as tf

    from innv_core.app.demo.determinism import intra_op_threads, pin_threads

    tf.constant(1.0) + 1.0  # the runtime is initialised
    now = intra_op_threads()
    assert pin_threads(now) is True
    assert pin_threads(now + 1) is False
    assert intra_op_threads() == now
    with pytest.raises(ValueError, match="positive"):
        pin_threads(0)


# -- end to end ------------------------------------------------------------------------------
GRADIENT_TYPE = ("gradient", "input_t_gradient", "lrp.epsilon")


def _check_outputs(result, out):
    for key in ("grid", "perturbation", "table_csv", "table_md", "model", "inputs"):
        assert result.files[key].exists() and result.files[key].stat().st_size > 0, key
        assert result.files[key].parent == out
    with open(result.files["table_csv"]) as f:
        rows = {row["method"]: row for row in csv.DictReader(f)}
    assert set(rows) == {r.spec.name for r in result.results}
    markdown = result.files["table_md"].read_text()
    assert "| method" in markdown and "positive relevance on object" in markdown
    return rows


def test_quick_demo_end_to_end(tmp_path, capsys):
    import keras
    import matplotlib.image

    from innv_core.app.demo.run import run_demo

    config = DemoConfig.quick(methods=(*GRADIENT_TYPE, "random", "no_such.analyzer"))
    result = run_demo(tmp_path, config, progress=False)
    printed = capsys.readouterr().out
    rows = _check_outputs(result, tmp_path)
    assert result.test_accuracy > 0.6
    assert list(result.skipped) == ["no_such.analyzer"], result.skipped  # reported, the others run
    assert "skipped no_such.analyzer: UnknownNameError" in printed
    for name in GRADIENT_TYPE:  # relevance concentrates on the object, random does not
        assert result.share(name) > result.share("random") + 0.15, (name, rows)
        assert result.aopc(name) > result.aopc("random") + 0.1, (name, rows)
    assert abs(result.share("random") - result.object_area) < 0.05
    assert float(rows["lrp.epsilon"]["positive relevance on object"]) == pytest.approx(
        result.share("lrp.epsilon"), abs=1e-3)
    # grid: a row per class (quick), input + 4 methods, one column (8.5 cm) wide at 300 dpi
    height, width = matplotlib.image.imread(result.files["grid"]).shape[:2]
    assert width <= round(300 * 8.5 / 2.54) + 1 and height >= 3 * 0.6 * width / 5
    # the saved model and inputs are what `innv analyze` needs
    model = keras.saving.load_model(result.files["model"], safe_mode=True, compile=False)
    with np.load(result.files["inputs"]) as saved:
        assert saved.files[0] == "x" and saved["x"].shape == (3, 32, 32, 3)
        assert model.predict(saved["x"], verbose=0).shape == (3, 3)
    assert str(tmp_path) in printed and "grid.png" in printed and "| lrp.epsilon" in printed
    # what the numbers repeat under, and how far they move on other machines
    flat = " ".join(printed.split())
    assert re.search(r"Reproducible: every number above repeats exactly in runs with seed 0, op determinism on, "
                     r"\d+ intra-op thread\(s\), TensorFlow [\d.]+, Keras [\d.]+, CPU ", flat)
    assert "Other CPUs and thread counts" in flat and "emulated machines" in flat and "nan" not in flat
    assert result.conditions.op_determinism and result.conditions.seed == 0
    # the metrics table: printed, and in metrics/; the gradient-type maps rank the object above random
    assert "Metrics (Quantus 0.6's names and defaults" in printed and "| relevance_rank_accuracy ↑ |" in printed
    with open(result.files["metrics_csv"]) as f:
        metric_rows = {(row["metric"], row["method"]): float(row["mean"]) for row in csv.DictReader(f)}
    for name in GRADIENT_TYPE:
        assert metric_rows["relevance_rank_accuracy", name] > metric_rows["relevance_rank_accuracy", "random"] + 0.1
    assert ("pixel_flipping:features_in_step=128", "random") in metric_rows  # 32 x 32 x 3 values in 24 steps


@pytest.mark.slow
def test_innv_demo_command_full(tmp_path):
    """The full demo through the console entry point, as a user runs it (< 60 s when the machine is idle)."""
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "innv_core.app.cli", "demo", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("grid.png", "perturbation.png", "object_relevance.csv", "object_relevance.md",
                 "model.keras", "inputs.npz"):
        assert (out / name).exists(), name
    with open(out / "object_relevance.csv") as f:
        rows = {row["method"]: row for row in csv.DictReader(f)}
    required = ("gradient", "input_t_gradient", "guided_backprop", "integrated_gradients", "smoothgrad",
                "lrp.epsilon", "lrp.alpha_2_beta_1", "lrp.sequential_preset_a", "deep_taylor", "random")
    assert set(required) <= set(rows)
    share = {name: float(row["positive relevance on object"]) for name, row in rows.items()}
    aopcs = {name: float(row["AOPC (accuracy)"]) for name, row in rows.items() if row["AOPC (accuracy)"] != "-"}
    assert {"gradient", "input_t_gradient", "lrp.epsilon", "random"} <= set(aopcs)
    for name in required[:-1]:
        assert share[name] > share["random"] + 0.1, name
        assert name not in aopcs or aopcs[name] > aopcs["random"] + 0.1, name
    assert "Wrote into" in proc.stdout


def _printed_numbers(stdout: str) -> list[str]:
    """Every number ``innv demo`` prints but the timings (seconds, and the table's seconds column)."""
    lines = []
    for line in stdout.splitlines():
        if line.startswith("|") and line.count("|") == 6:  # the object-relevance table: drop seconds
            line = line.rsplit("|", 2)[0]
        line = re.sub(r"\d+(\.\d+)? s\b", "<t> s", line)
        lines.append(line)
    return lines


def _metric_means(stdout: str) -> dict[tuple[str, int], float]:
    """The printed metric means, by (metric row, column)."""
    means = {}
    for line in stdout.splitlines():
        if line.startswith("| ") and " ± " in line:
            cells = [c.strip() for c in line.strip("|").split("|")]
            means.update({(cells[0], k): float(c.split(" ± ")[0]) for k, c in enumerate(cells[1:])})
    return means


@pytest.mark.slow
def test_innv_demo_prints_the_same_numbers_twice(tmp_path):
    """``innv demo --quick`` in fresh processes: a second run prints every number again (timings
    aside); a third on another CPU's kernels (AVX2) and 1 thread the same table and accuracy, and
    metric means within 0.2% (DeepLIFT's move most, docs/demo.md)."""
    runs = [([], {}), ([], {}), (["--threads", "1"], {"ONEDNN_MAX_CPU_ISA": "AVX2"})]
    procs = []
    for k, (args, env) in enumerate(runs):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "innv_core.app.cli", "demo", "--quick", "--out", str(tmp_path / f"run{k}"),
             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env}))
        if k == 0:  # the reference alone, the other two side by side
            procs[0].wait(timeout=600)
    outs = []
    for k, proc in enumerate(procs):
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr[-2000:]
        outs.append(stdout.replace(str(tmp_path / f"run{k}"), "<out>"))
    first, again, other = (_printed_numbers(out) for out in outs)
    assert first == again, [(a, b) for a, b in zip(first, again) if a != b][:5]
    assert any("test accuracy" in line for line in first) and any("| lrp.epsilon" in line for line in first)
    end = next(k for k, line in enumerate(first) if line.startswith("Reproducible:"))  # then the conditions
    not_metrics = [(a, b) for a, b in zip(first[:end], other) if a != b and " ± " not in a]
    assert other[end].startswith("Reproducible:") and not not_metrics, not_metrics[:5]
    means, moved = _metric_means(outs[0]), _metric_means(outs[2])
    assert means.keys() == moved.keys() and len(means) >= 40
    for key, value in means.items():
        assert moved[key] == pytest.approx(value, rel=2e-3), key
