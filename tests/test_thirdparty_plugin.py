"""A separate distribution installed with pip is found through its entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import plugin_env

PLUGIN_DIR = Path(__file__).parent / "thirdparty_plugin"

SCRIPT = """
import numpy as np, keras
from innv_core import create_analyzer, list_registered
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
model.layers[0].set_weights([np.array([[1., -2.], [-3., 4.], [0.5, 0.]]), np.zeros(2)])
a = create_analyzer("thirdparty.gradient_sign", model, neuron_selection_mode="index")
print(a.analyze(np.ones((1, 3)), neuron_selection=1).tolist())
print([(e.plugin, e.distribution) for e in list_registered(["analyzers"]) if e.name.startswith("thirdparty")])
"""


def test_pip_installed_plugin_is_discovered(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(PLUGIN_DIR)],
        check=True, capture_output=True,
    )
    env = plugin_env("innv-thirdparty-example",
                     PYTHONPATH=os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[-2] == "[[-1.0, 1.0, 0.0]]"
    assert lines[-1] == "[('thirdparty_example', 'innv-thirdparty-example')]"
