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


def _assert_matches_zennit(model_name, name, kwargs, key):
    """innv's ``name(**kwargs)`` equals the stored ``key`` for the fixed target and the argmax."""
    model, ref = build_torch_reference(model_name)
    for prefix, target in (("", int(ref["target"])), ("argmax/", ref["argmax"].astype(np.int32))):
        got = _analyze(model, name, kwargs, ref["x"], target)
        want = ref[prefix + key]
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5 * np.abs(want).max(), err_msg=prefix + key)


@pytest.mark.parametrize("model_name", ["mlp", "cnn", "mlp_nobias", "cnn_nobias"])
@pytest.mark.parametrize("key", sorted(ZENNIT))
def test_lrp_matches_zennit(model_name, key):
    if "nobias" not in model_name and key not in WITH_BIAS:
        pytest.skip("bias conventions differ from Zennit's for this rule")
    _assert_matches_zennit(model_name, *ZENNIT[key], f"zennit/{key}")


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


IG_STEPS = 64  # gen_torch.py: IntegratedGradients(n_steps=64), baselines = 0
IG_METHODS = ("riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle")
EPS32 = float(np.finfo(np.float32).eps)
BACKWARD_TERMS = {"mlp": 3 + 8 + 8, "cnn": 4 + 3 * 3 * 3}  # products summed into one gradient value


def _captum_ig_from_innv(model, x, targets, n=IG_STEPS):
    """Captum's Riemann rules, written with innv's IG (equal weights 1/n at ``r + a (x - r)``,
    ``a = linspace(0, 1, n)``) and the gradient; Captum's baseline is 0 (README_torch.md).

    trapezoid: innv's points, end weights halved (its weights sum to (n-1)/n); left, right,
    middle: points k/n, (k+1)/n, (k+1/2)/n (k = 0..n-1), weights 1/n. innv reaches those point
    sets by moving the endpoints; its factor ``x - r`` is then (n-1)/n of ``x``.
    Returns {target key: {method: attribution}}.
    """
    def ig(reference):
        return create_analyzer("integrated_gradients", model, steps=n, reference_inputs=reference,
                               neuron_selection_mode="index")

    from_zero, right, middle = ig(0.0), ig(x / n), ig(x / (2 * n))
    gradient = create_analyzer("gradient", model, neuron_selection_mode="index")
    stretch = n / (n - 1)
    out = {}
    for key, t in targets.items():
        ends = (gradient.analyze(np.zeros_like(x), neuron_selection=t)
                + gradient.analyze(x, neuron_selection=t))
        out[key] = {
            "riemann_trapezoid": from_zero.analyze(x, neuron_selection=t) - ends * x / (2 * n),
            "riemann_left": from_zero.analyze(x * (n - 1) / n, neuron_selection=t) * stretch,
            "riemann_right": right.analyze(x, neuron_selection=t) * stretch,
            "riemann_middle": middle.analyze(x * (1 - 1 / (2 * n)), neuron_selection=t) * stretch,
        }
    return out


@pytest.mark.parametrize("model_name", ["mlp", "cnn", "mlp_nobias", "cnn_nobias"])
def test_integrated_gradients_match_captum(model_name):
    """Captum's stored IG (64 steps), four Riemann rules, from innv's IG. innv's own IG with 64
    steps differs from Captum's trapezoid by 0.8-1.6 % of the largest value: the conventions are
    what is compared. ('gausslegendre' needs unequal weights, which innv's IG cannot take.)
    """
    model, ref = build_torch_reference(model_name)
    targets = {"": int(ref["target"]), "argmax/": ref["argmax"].astype(np.int32)}
    # float32 twin: a value sums 64 gradients of BACKWARD_TERMS products each; 4x the random-walk
    # rounding covers ours and Captum's float32 storage. The path points differ from Captum's
    # float32 alphas by ~1e-7 relative, but no pre-activation on any path comes closer to 0 than
    # 3.9e-6 of its layer's largest, so no ReLU flips between the two.
    n_terms = IG_STEPS * BACKWARD_TERMS[model_name.replace("_nobias", "")]
    for prefix, by_method in _captum_ig_from_innv(model, ref["x"], targets).items():
        for method in IG_METHODS:
            want = ref[f"{prefix}captum/integrated_gradients/{method}"]
            atol = 4 * EPS32 * np.sqrt(n_terms) * np.abs(want).max()
            np.testing.assert_allclose(by_method[method], want, rtol=0, atol=atol, err_msg=prefix + method)


# -- the gamma rule and Zennit's composites ------------------------------------------------------
COMPOSITES = {
    "epsilon_plus": ("lrp.epsilon_plus", {}),
    "epsilon_plus_flat": ("lrp.epsilon_plus_flat", {}),
    "epsilon_alpha_2_beta_1": ("lrp.epsilon_alpha_2_beta_1", {}),
    "epsilon_gamma_box": ("lrp.epsilon_gamma_box", {"low": -3.0, "high": 3.0}),
}


@pytest.mark.parametrize("model_name", ["mlp", "cnn", "mlp_nobias", "cnn_nobias", "resbn", "resbn_nobias"])
def test_gamma_rule_matches_zennit(model_name):
    """Zennit's Gamma(0.25) on every Linear/Conv (resbn: BatchNorm merged by Zennit's canonizer)."""
    kwargs = {"rule": "Gamma", "fuse_batchnorm": model_name.startswith("resbn")}
    _assert_matches_zennit(model_name, "lrp", kwargs, "zennit/gamma")


@pytest.mark.parametrize("model_name", ["cnn", "cnn_nobias", "resbn", "resbn_nobias"])
@pytest.mark.parametrize("key", sorted(COMPOSITES))
def test_composites_match_zennit(model_name, key):
    """Zennit's composites (resbn: with SequentialMergeBatchNorm), with biases and BatchNorm."""
    _assert_matches_zennit(model_name, *COMPOSITES[key], f"zennit_composite/{key}")
