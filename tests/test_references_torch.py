"""Cross-checks against Zennit 1.0.0 and Captum 0.9.0 (arrays made by references/gen_torch.py).

Conventions (references/README_torch.md): relevance starts at the selected output's value; the
same rule at every Dense/Conv layer; with biases only Epsilon and Flat share conventions with
Zennit, so the other rules are compared on the bias-free twins.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "references"))
from torch_models import build_torch_reference  # noqa: E402

from innv_core import create_analyzer  # noqa: E402

ZENNIT = {
    # our analyzer (and kwargs) -> zennit key
    "epsilon": ("lrp.epsilon", {"epsilon": 0.1}),
    "flat": ("lrp.flat", {}),
    "wsquare": ("lrp.w_square", {}),
    "zplus_stab1e-12": ("lrp.z_plus", {}),
    "alpha2beta1_stab1e-12": ("lrp.alpha_2_beta_1", {}),
}
WITH_BIAS = {"epsilon", "flat"}


def _analyze(model, name, kwargs, x, target):
    analyzer = create_analyzer(name, model, neuron_selection_mode="index", **kwargs)
    return analyzer.analyze(x, neuron_selection=target)


@pytest.mark.parametrize("model_name", ["mlp", "cnn", "mlp_nobias", "cnn_nobias"])
@pytest.mark.parametrize("key", sorted(ZENNIT))
def test_lrp_matches_zennit(model_name, key):
    if "nobias" not in model_name and key not in WITH_BIAS:
        pytest.skip("bias conventions differ from Zennit's for this rule")
    model, ref = build_torch_reference(model_name)
    name, kwargs = ZENNIT[key]
    for prefix, target in (("", int(ref["target"])), ("argmax/", ref["argmax"].astype(np.int32))):
        got = _analyze(model, name, kwargs, ref["x"], target)
        want = ref[f"{prefix}zennit/{key}"]
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5 * np.abs(want).max(), err_msg=prefix + key)


CAPTUM = {
    "saliency_signed": ("gradient", {}),
    "input_x_gradient": ("input_t_gradient", {}),
    "guided_backprop": ("guided_backprop", {}),
    "deconvolution": ("deconvnet", {}),
}


@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
@pytest.mark.parametrize("key", sorted(CAPTUM))
def test_gradient_family_matches_captum(model_name, key):
    model, ref = build_torch_reference(model_name)
    name, kwargs = CAPTUM[key]
    got = _analyze(model, name, kwargs, ref["x"], int(ref["target"]))
    want = ref[f"captum/{key}"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * max(1.0, np.abs(want).max()))
