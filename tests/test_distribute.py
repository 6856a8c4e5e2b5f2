"""analyze and PatternComputer.compute under a MirroredStrategy over two logical CPU devices
equal the single-device run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, {tests!r})
import numpy as np
from conftest import multi_input_model, random_inputs, residual_model
from innv_core import create_analyzer

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
model = residual_model()
x = random_inputs(model, batch=10)
data = tf.data.Dataset.from_tensor_slices((x, np.zeros(10))).batch(4)
for name in ("gradient", "lrp.epsilon", "integrated_gradients"):
    analyzer = create_analyzer(name, model, neuron_selection_mode="index")
    single = analyzer.analyze(x, neuron_selection=2)
    spread = analyzer.analyze(data, neuron_selection=2, strategy=strategy)
    np.testing.assert_allclose(spread, single, rtol=1e-5, atol=1e-7)
    # one trace for the single-device run, one per replica device
    assert analyzer._trace_count <= 1 + strategy.num_replicas_in_sync, analyzer._trace_count
two = multi_input_model()
xs = random_inputs(two, batch=6)
a = create_analyzer("lrp.z", two)
for got, want in zip(a.analyze(xs, strategy=strategy), a.analyze(xs)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
from innv_core.tools.pattern import PatternComputer
from conftest import sequential_cnn
cnn = sequential_cnn()
xp = random_inputs(cnn, batch=20)
for kind in ("linear", "relu"):
    single = PatternComputer(cnn, pattern_type=kind).compute(xp, batch_size=6)
    spread = PatternComputer(cnn, pattern_type=kind).compute(xp, batch_size=6, strategy=strategy)
    for a, b in zip(spread, single):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)  # float32 sums in another order
print("ok")
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus_equals_single_device():
    code = SCRIPT.format(tests=str(Path(__file__).parent))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
