"""The example plugin distribution (examples/innv-gamma-occlusion), pip-installed and used by name.

It is installed with ``pip install --target`` into a temporary folder and used in a subprocess
with that folder on ``PYTHONPATH``, so innv finds it through its entry points only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import plugin_env

EXAMPLE_DIR = Path(__file__).parents[1] / "examples" / "innv-gamma-occlusion"

SCRIPT = r"""
import json
import numpy as np, keras
from innv_core import create_analyzer
from innv_core.app.cli import main as innv
from innv_plugins.lrp.analyzer import LRP
from innv_example.gamma import PositiveGamma

rng = np.random.default_rng(0)
out = {}

# Occlusion on a linear model: occluding a patch changes output j by sum_patch w_j * (x - baseline).
linear = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Flatten(), keras.layers.Dense(3)])
linear.layers[-1].set_weights([rng.normal(size=(32, 3)), rng.normal(size=3)])
x = rng.normal(size=(5, 4, 4, 2)).astype("float32")
w1 = linear.layers[-1].get_weights()[0][:, 1].reshape(4, 4, 2)
contribution = (w1 * (x - 0.5)).sum(axis=-1)  # per pixel, channels together

def window_sums(size, stride):
    # (n, windows, 4, 4): each window's occlusion drop painted on its pixels
    starts = range(0, 4 - size + 1, stride)
    out = []
    for i in starts:
        for j in starts:
            m = np.zeros((4, 4)); m[i:i + size, j:j + size] = 1
            out.append(m * (contribution * m).sum(axis=(1, 2))[:, None, None])
    return np.stack(out, 1), len(starts) ** 2

tiles, _ = window_sums(2, 2)
want = np.repeat(tiles.sum(1)[..., None], 2, axis=-1)
a = create_analyzer("occlusion", linear, patch_size=2, baseline=0.5, neuron_selection_mode="index")
out["occlusion_tiles"] = float(np.abs(a.analyze(x, neuron_selection=1) - want).max())

painted, n_windows = window_sums(2, 1)
covered = np.stack([np.pad(np.ones((2, 2)), ((i, 2 - i), (j, 2 - j))) for i in range(3) for j in range(3)]).sum(0)
want = np.repeat((painted.sum(1) / covered)[..., None], 2, axis=-1)
a = create_analyzer("occlusion", linear, patch_size=2, stride=1, baseline=0.5,
                    patches_per_chunk=4, neuron_selection_mode="index")
out["occlusion_overlap"] = float(np.abs(a.analyze(x, neuron_selection=1) - want).max())
out["occlusion_windows"] = [n_windows, int(a._masks.shape[0])]
out["scale"] = float(np.abs(want).max())

# PositiveGamma: by name through LRP; gamma=0 is the z-rule; a one-layer oracle for gamma=0.5.
mlp = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3)])
xm = rng.normal(size=(4, 6)).astype("float32")
by_name = LRP(mlp, rule="PositiveGamma").analyze(xm)
out["gamma_by_name_finite"] = bool(np.isfinite(by_name).all()) and by_name.shape == xm.shape
z = create_analyzer("lrp.z", mlp).analyze(xm)
out["gamma0_vs_z"] = float(np.abs(LRP(mlp, rule=PositiveGamma(gamma=0.0)).analyze(xm) - z).max())
out["gamma_vs_z"] = float(np.abs(by_name - z).max())

dense = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
dense.layers[0].set_weights([rng.normal(size=(6, 3)), np.zeros(3)])
xp = np.abs(xm)
w, _ = dense.layers[0].get_weights()
wg = w[:, 0] + 0.5 * np.maximum(w[:, 0], 0)
want = xp * wg / (xp @ wg)[:, None] * (xp @ w[:, 0])[:, None]
got = create_analyzer("lrp", dense, rule=PositiveGamma(gamma=0.5), neuron_selection_mode="index").analyze(xp, neuron_selection=0)
out["gamma_oracle"] = float(np.abs(got - want).max())

# top_fraction_drop: by name through create_metric; on the linear model the drop of class 1 is
# sum over the removed values of w_1 * (x - baseline).
from innv_core import create_metric
ta = rng.normal(size=x.shape).astype("float32")
result = create_metric("top_fraction_drop", linear, fraction=0.25, baseline=0.5).evaluate(x, np.ones(5, int), a=ta)
top = np.argsort(-ta.reshape(5, -1), axis=1)[:, :8]
want = np.take_along_axis((w1 * (x - 0.5)).reshape(5, -1), top, axis=1).sum(axis=1)
out["metric_drop"] = float(np.abs(result.scores - want).max())
out["metric_better"] = bool(result.higher_is_better)

print("RESULT " + json.dumps(out))
innv(["list", "--kind", "analyzers", "--kind", "rules", "--kind", "metrics"])

# A second plugin giving "PositiveGamma": the plain name turns ambiguous, the qualified names pick one.
import types, warnings
from innv_core import hookimpl, register_plugin
from innv_core.errors import AmbiguousNameError, PluginConflictWarning

class OtherGamma(PositiveGamma):
    pass

clash = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    register_plugin(types.SimpleNamespace(
        innv_register_rules=hookimpl(lambda registry: registry.add_rule("PositiveGamma", OtherGamma))), name="other_gamma")
    try:
        LRP(mlp, rule="PositiveGamma")
    except AmbiguousNameError as error:
        clash["plain"] = str(error)
clash["warnings"] = [str(w.message) for w in caught if issubclass(w.category, PluginConflictWarning)]
qualified = LRP(mlp, rule="innv_gamma_occlusion:PositiveGamma")
clash["qualified_vs_by_name"] = float(np.abs(qualified.analyze(xm) - by_name).max())
clash["rules"] = [type(LRP(mlp, rule=name).rules[mlp.layers[0].name]).__name__
                  for name in ("innv-gamma-occlusion:PositiveGamma", "other_gamma:PositiveGamma")]
clash["occlusion"] = type(create_analyzer("innv-gamma-occlusion:occlusion", linear, patch_size=2)).__name__
print("CLASH " + json.dumps(clash))
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Install the example into a temporary folder and run SCRIPT with it on the path."""
    tmp = tmp_path_factory.mktemp("example_plugin")
    source = tmp / "src"  # a copy, so that pip's build files stay out of the repository
    shutil.copytree(EXAMPLE_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(source)],
        check=True, capture_output=True,
    )
    env = plugin_env("innv-gamma-occlusion", TF_CPP_MIN_LOG_LEVEL="3",
                     PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    result = next(json.loads(line[len("RESULT "):]) for line in lines if line.startswith("RESULT "))
    result["clash"] = next(json.loads(line[len("CLASH "):]) for line in lines if line.startswith("CLASH "))
    return result, lines


def test_occlusion_drop_is_w_times_x_minus_baseline_per_patch(run):
    result, _ = run
    assert result["occlusion_tiles"] < 1e-5 * max(1.0, result["scale"])


def test_occlusion_overlapping_patches_average_their_drops(run):
    result, _ = run
    assert result["occlusion_windows"] == [9, 9]
    assert result["occlusion_overlap"] < 1e-5 * max(1.0, result["scale"])


def test_gamma_rule_by_name_and_against_its_formula(run):
    result, _ = run
    assert result["gamma_by_name_finite"]
    assert result["gamma0_vs_z"] < 1e-6
    assert result["gamma_vs_z"] > 1e-3  # gamma=0.25 does change the relevance
    assert result["gamma_oracle"] < 1e-5


def test_innv_list_shows_the_plugin_and_its_distribution(run):
    _, lines = run
    found = {line.split()[0]: line for line in lines
             if "innv-gamma-occlusion" in line and not line.startswith(("RESULT ", "CLASH "))}
    assert set(found) == {"occlusion", "PositiveGamma", "top_fraction_drop"}
    assert "plugin example_occlusion (innv-gamma-occlusion)" in found["occlusion"]
    assert "plugin example_top_fraction (innv-gamma-occlusion)" in found["top_fraction_drop"]
    assert "plugin example_gamma (innv-gamma-occlusion)" in found["PositiveGamma"]


def test_a_second_gamma_makes_the_plain_name_ambiguous_and_qualified_names_pick(run):
    clash = run[0]["clash"]
    assert len(clash["warnings"]) == 1
    assert "innv-gamma-occlusion" in clash["warnings"][0] and "other_gamma" in clash["warnings"][0]
    assert "'innv-gamma-occlusion:PositiveGamma'" in clash["plain"] and "'other_gamma:PositiveGamma'" in clash["plain"]
    assert clash["qualified_vs_by_name"] < 1e-6
    assert clash["rules"] == ["PositiveGamma", "OtherGamma"]
    assert clash["occlusion"] == "Occlusion"


def test_the_example_metric_is_the_drop_of_the_removed_contributions(run):
    result, lines = run
    assert result["metric_drop"] < 1e-4 and result["metric_better"]
