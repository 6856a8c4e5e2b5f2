"""Two decoder rules found by the LXT cross-check (tests/test_lxt_decoders.py) on float64 models.

1. A gated MLP whose gate activation runs in float32 and is cast back (keras-hub's Llama, Qwen,
   Mistral, Phi-3: ``cast(silu(cast(gate, float32)), compute_dtype)``) is still a gate: CP-LRP
   holds it (LXT's ``cp_gated_mlp_forward``). Before, the cast hid the activation and CP-LRP
   shared the product with the gate, 0.3 away from LXT in float64 (innv_plugins/ops/products.py).
2. The decoders' RMSNorm rules compute in float32 and return the layer's compute dtype, as the
   layers do; a float64 Gemma RMSNorm failed (float32 times float64) before
   (innv_plugins/layers/keras_hub.py).
"""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pytest

import innv_core
from innv_plugins.layers.keras_hub import GEMMA_RMS_NORMS, RMS_NORMS

L = keras.layers
D, HIDDEN = 6, 5


class CastGatedMLP(keras.layers.Layer):
    """``down(cast(silu(cast(gate(x), float32))) * up(x))``, as keras-hub's Llama decoder."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.gate = L.Dense(HIDDEN, use_bias=False, dtype=self.dtype_policy)
        self.up = L.Dense(HIDDEN, use_bias=False, dtype=self.dtype_policy)
        self.down = L.Dense(D, use_bias=False, dtype=self.dtype_policy)

    def call(self, x):
        ops = keras.ops
        gate = ops.cast(ops.silu(ops.cast(self.gate(x), "float32")), self.compute_dtype)
        return self.down(ops.multiply(self.up(x), gate))


@pytest.mark.parametrize("convention", ["attnlrp", "cp"])
def test_a_gate_cast_between_dtypes_is_still_a_gate(convention):
    """Numpy oracle: AttnLRP gives each branch half of the product (the gate's half through the
    identity rule at silu); CP-LRP holds the gate and the up branch takes all."""
    x = keras.Input((D,), dtype="float64")
    mlp = CastGatedMLP(dtype="float64")
    head = L.Dense(2, use_bias=False, dtype="float64")
    model = keras.Model(x, head(mlp(x)))
    rng = np.random.default_rng(3)
    for w in model.weights:
        w.assign(rng.standard_normal(w.shape) / np.sqrt(w.shape[0]))
    X = rng.standard_normal((3, D))
    got = innv_core.create_analyzer("lrp.epsilon", model, epsilon=1e-12, attention=convention,
                                    neuron_selection_mode="index").analyze(X, neuron_selection=0)
    Wg, Wu, Wd = (layer.kernel.numpy() for layer in (mlp.gate, mlp.up, mlp.down))
    gp, u = X @ Wg, X @ Wu
    g = (gp / (1 + np.exp(-gp))).astype("float32").astype("float64")  # silu in float32
    h = g * u
    y = h @ Wd
    R_h = h * ((y * head.kernel.numpy()[:, 0] / y) @ Wd.T)
    share = 0.5 if convention == "attnlrp" else 1.0
    want = X * ((share * R_h / u) @ Wu.T)
    if convention == "attnlrp":
        want += X * ((0.5 * R_h / gp) @ Wg.T)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("qualified", [*RMS_NORMS, *GEMMA_RMS_NORMS])
def test_rms_norm_rules_keep_a_float64_layers_dtype_and_values(qualified):
    """The rule's linearized map is the float64 layer's output (same dtype, same values), and
    LRP-z of ``norm -> Dense(no bias)`` is the oracle ``y_i W_ik``."""
    pytest.importorskip("keras_hub")
    from innv_core.registry import get_registry

    module, name = qualified.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    norm = cls(epsilon=1e-6, dtype="float64")
    x_in = keras.Input((5,), dtype="float64")
    dense = L.Dense(3, use_bias=False, dtype="float64")
    model = keras.Model(x_in, dense(norm(x_in)))
    rng = np.random.default_rng(4)
    norm.scale.assign(rng.normal(size=5))
    x = rng.normal(size=(4, 5))
    y = np.asarray(norm(x))
    lin = get_registry().layer_handler(cls).linearized(norm, x)
    assert keras.backend.standardize_dtype(lin.dtype) == keras.backend.standardize_dtype(norm(x).dtype) == "float64"
    np.testing.assert_allclose(np.asarray(lin), y, rtol=1e-6, atol=1e-9)
    R = innv_core.create_analyzer("lrp.z", model, neuron_selection_mode="index").analyze(x, neuron_selection=1)
    np.testing.assert_allclose(R, y * dense.kernel.numpy()[:, 1], rtol=1e-5, atol=1e-8)
