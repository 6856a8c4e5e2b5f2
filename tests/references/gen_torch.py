"""Generate small reference arrays from Zennit 1.0.0 and Captum 0.9.0 (PyTorch 2.13 CPU).

Runs OUTSIDE the repo's dev venv, under ~/venv-torch (see README_torch.md):

    PYTHONPATH=~/torchvision_stub ~/venv-torch/bin/python tests/references/gen_torch.py

Weights are drawn with numpy (seeded) in KERAS layout (Dense kernel (in, out),
Conv2D kernel (kh, kw, in, out), channels-last inputs), stored as float32, and
converted to torch layout here.  All attributions are returned in Keras layout
(N, H, W, C) / (N, F) as float32.  Computation runs in float64 from the float32
weights/inputs, so the stored values are exact to float32 rounding.

Writes tests/references/torch_{mlp,cnn,mlp_nobias,cnn_nobias}.npz.
"""
import collections
import json
import os
import sys

import captum
import captum.attr as cattr
import numpy as np
import torch
import zennit
from zennit.composites import LayerMapComposite, layer_map_base
from zennit.rules import AlphaBeta, Epsilon, Flat, WSquare, ZPlus
from zennit.types import Linear as ZLinear

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPE = torch.float64
TARGET = 1
IG_STEPS = 64
IG_METHODS = ("riemann_trapezoid", "gausslegendre", "riemann_left", "riemann_right", "riemann_middle")

torch.use_deterministic_algorithms(True)


# ----------------------------------------------------------------------------- weights (Keras layout)

def make_weights(name, rng):
    """Return (layer_names, {layer: (kernel, bias)}, x, ref) in Keras layout, float32."""
    def dense(fan_in, fan_out):
        k = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        b = rng.normal(0.0, 0.3, size=(fan_out,))
        return k.astype(np.float32), b.astype(np.float32)

    if name == "mlp":
        names = ["dense_1", "dense_2", "dense_3"]
        w = {"dense_1": dense(6, 8), "dense_2": dense(8, 8), "dense_3": dense(8, 3)}
        shape = (6,)
    elif name == "cnn":
        names = ["conv2d_1", "dense_1"]
        k = rng.normal(0.0, np.sqrt(2.0 / 18), size=(3, 3, 2, 3)).astype(np.float32)
        b = rng.normal(0.0, 0.3, size=(3,)).astype(np.float32)
        w = {"conv2d_1": (k, b), "dense_1": dense(6 * 6 * 3, 4)}
        shape = (8, 8, 2)
    else:
        raise ValueError(name)
    x = rng.normal(size=(3,) + shape).astype(np.float32)
    ref = rng.normal(size=(1,) + shape).astype(np.float32)
    return names, w, x, ref


# ----------------------------------------------------------------------------- torch models

class ChannelsLastFlatten(torch.nn.Module):
    """NCHW -> NHWC -> flatten, i.e. Keras' Flatten on channels-last data."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


def to_torch_linear(kernel, bias):
    m = torch.nn.Linear(kernel.shape[0], kernel.shape[1])
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(kernel.T.copy()))
        m.bias.copy_(torch.from_numpy(bias))
    return m


def to_torch_conv(kernel, bias):
    kh, kw, cin, cout = kernel.shape
    m = torch.nn.Conv2d(cin, cout, (kh, kw), padding=0)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
        m.bias.copy_(torch.from_numpy(bias))
    return m


def build_torch(name, w):
    if name == "mlp":
        layers = [
            ("dense_1", to_torch_linear(*w["dense_1"])), ("relu_1", torch.nn.ReLU()),
            ("dense_2", to_torch_linear(*w["dense_2"])), ("relu_2", torch.nn.ReLU()),
            ("dense_3", to_torch_linear(*w["dense_3"])),
        ]
    else:
        layers = [
            ("conv2d_1", to_torch_conv(*w["conv2d_1"])), ("relu_1", torch.nn.ReLU()),
            ("flatten", ChannelsLastFlatten()),
            ("dense_1", to_torch_linear(*w["dense_1"])),
        ]
    model = torch.nn.Sequential(collections.OrderedDict(layers)).to(DTYPE)
    model.eval()
    return model


def to_torch_input(x):
    t = torch.from_numpy(x).to(DTYPE)
    return t.permute(0, 3, 1, 2).contiguous() if t.ndim == 4 else t


def to_keras_layout(t):
    a = t.detach().to(torch.float64).numpy()
    if a.ndim == 4:
        a = a.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(a.astype(np.float32))


# ----------------------------------------------------------------------------- zennit LRP

ZENNIT_RULES = {
    "epsilon": lambda: Epsilon(epsilon=0.1),
    "alpha2beta1": lambda: AlphaBeta(alpha=2.0, beta=1.0),
    "zplus": lambda: ZPlus(),
    "flat": lambda: Flat(),
    "wsquare": lambda: WSquare(),
    # extras used for sanity checks / stricter comparisons
    "alpha1beta0": lambda: AlphaBeta(alpha=1.0, beta=0.0),
    "epsilon_1e-7": lambda: Epsilon(epsilon=1e-7),
    # near-unstabilized variants (computation is float64): closest to a safe-divide implementation
    "alpha2beta1_stab1e-12": lambda: AlphaBeta(alpha=2.0, beta=1.0, stabilizer=1e-12),
    "zplus_stab1e-12": lambda: ZPlus(stabilizer=1e-12),
}


def zennit_lrp(model, x, targets, rule_factory):
    """Same rule on every Linear/Conv; ReLU -> zennit's Pass (relevance passes unchanged).

    Relevance starts at one_hot(target) * output (the selected output's VALUE).
    """
    composite = LayerMapComposite(layer_map=layer_map_base() + [(ZLinear, rule_factory())])
    xin = x.clone().requires_grad_(True)
    with composite.context(model) as hooked:
        out = hooked(xin)
        onehot = torch.nn.functional.one_hot(targets, out.shape[1]).to(out)
        (rel,) = torch.autograd.grad(out, xin, grad_outputs=onehot * out.detach())
    return rel


# ----------------------------------------------------------------------------- captum

def captum_all(model, x, targets, ref):
    res = {}
    base0 = torch.zeros_like(x)
    dl = cattr.DeepLift(model)  # default multiply_by_inputs=True, rescale rule
    res["deeplift_rescale"], d0 = dl.attribute(x, baselines=base0, target=targets, return_convergence_delta=True)
    res["deeplift_rescale_ref"], dref = dl.attribute(
        x, baselines=ref.expand_as(x), target=targets, return_convergence_delta=True)
    ig = cattr.IntegratedGradients(model)
    for m in IG_METHODS:
        res["integrated_gradients/" + m] = ig.attribute(
            x, baselines=base0, target=targets, n_steps=IG_STEPS, method=m)
    res["input_x_gradient"] = cattr.InputXGradient(model).attribute(x, target=targets)
    res["saliency_signed"] = cattr.Saliency(model).attribute(x, target=targets, abs=False)
    res["guided_backprop"] = cattr.GuidedBackprop(model).attribute(x, target=targets)
    res["deconvolution"] = cattr.Deconvolution(model).attribute(x, target=targets)
    return res, d0, dref


# ----------------------------------------------------------------------------- main

def generate(name, seed, nobias):
    base = name
    rng = np.random.default_rng(seed)
    layer_names, w, x, ref = make_weights(base, rng)
    if nobias:
        w = {k: (kern, np.zeros_like(b)) for k, (kern, b) in w.items()}
    model = build_torch(base, w)
    xt = to_torch_input(x)
    reft = to_torch_input(ref)
    with torch.no_grad():
        y = model(xt)
        yref = model(reft)

    out = {}
    for ln in layer_names:
        out[f"w/{ln}/kernel"] = w[ln][0]
        out[f"w/{ln}/bias"] = w[ln][1]
    out["x"] = x
    out["ref"] = ref
    out["y"] = y.numpy().astype(np.float32)
    out["y_ref"] = yref.numpy().astype(np.float32)
    out["layer_names"] = np.array(json.dumps(layer_names))
    argmax = y.argmax(dim=1)
    out["argmax"] = argmax.numpy().astype(np.int64)
    out["target"] = np.array(TARGET, dtype=np.int64)

    sanity = {}
    for tag, targets in (("", torch.full((x.shape[0],), TARGET, dtype=torch.long)), ("argmax/", argmax)):
        sel = y.gather(1, targets[:, None])[:, 0]
        for rname, fac in ZENNIT_RULES.items():
            r = zennit_lrp(model, xt, targets, fac)
            out[f"{tag}zennit/{rname}"] = to_keras_layout(r)
        cres, d0, dref = captum_all(model, xt, targets, reft)
        for k, v in cres.items():
            out[f"{tag}captum/{k}"] = to_keras_layout(v)
        if tag == "":
            # plain gradient (float64) for sanity
            xg = xt.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(model(xg).gather(1, targets[:, None]).sum(), xg)
            ixg = (xt * g)
            flat = lambda a: a.reshape(a.shape[0], -1)  # noqa: E731
            sanity["selected_output"] = sel.tolist()
            sanity["max|eps1e-7 - x*grad|"] = float((flat(zennit_lrp(model, xt, targets, ZENNIT_RULES["epsilon_1e-7"])) - flat(ixg)).abs().max())
            sanity["max|eps0.1 - x*grad|"] = float((flat(zennit_lrp(model, xt, targets, ZENNIT_RULES["epsilon"])) - flat(ixg)).abs().max())
            for rn in ("zplus", "alpha1beta0", "alpha2beta1", "flat", "wsquare", "epsilon"):
                sanity[f"sum {rn}"] = flat(zennit_lrp(model, xt, targets, ZENNIT_RULES[rn])).sum(1).tolist()
            ysel_ref = yref[0, targets]
            dlsum = flat(cres["deeplift_rescale_ref"]).sum(1)
            sanity["deeplift_ref: sum attr"] = dlsum.tolist()
            sanity["deeplift_ref: f(x)-f(ref)"] = (sel - ysel_ref).tolist()
            sanity["deeplift_ref: captum delta"] = dref.tolist()
            sanity["deeplift_zero: captum delta"] = d0.tolist()
            sanity["deeplift_zero: sum - (f(x)-f(0))"] = (
                flat(cres["deeplift_rescale"]).sum(1) - (sel - model(torch.zeros_like(xt)).detach()[:, TARGET])).tolist()
            for m in IG_METHODS:
                sanity[f"IG {m}: sum - (f(x)-f(0))"] = (
                    flat(cres["integrated_gradients/" + m]).sum(1)
                    - (sel - model(torch.zeros_like(xt)).detach()[:, TARGET])).tolist()

    meta = {
        "model": name,
        "seed": seed,
        "torch": torch.__version__, "zennit": zennit.__version__ if hasattr(zennit, "__version__") else "1.0.0",
        "captum": captum.__version__, "numpy": np.__version__,
        "compute_dtype": "float64 (stored float32)",
        "relevance_start": "one_hot(target) * model_output (selected output's value)",
        "zennit_rules": {
            "epsilon": "Epsilon(epsilon=0.1)", "alpha2beta1": "AlphaBeta(alpha=2, beta=1)",
            "zplus": "ZPlus()", "flat": "Flat()", "wsquare": "WSquare()",
            "alpha1beta0": "AlphaBeta(alpha=1, beta=0)", "epsilon_1e-7": "Epsilon(epsilon=1e-7)",
            "alpha2beta1_stab1e-12": "AlphaBeta(alpha=2, beta=1, stabilizer=1e-12)",
            "zplus_stab1e-12": "ZPlus(stabilizer=1e-12)",
            "all": "same rule on every Linear/Conv2d; ReLU -> Pass; other stabilizers default 1e-6",
        },
        "captum": {
            "deeplift_rescale": "DeepLift(model).attribute(x, baselines=0, target)",
            "deeplift_rescale_ref": "DeepLift(model).attribute(x, baselines=ref, target)",
            "integrated_gradients/<method>": f"IntegratedGradients, baselines=0, n_steps={IG_STEPS}",
            "saliency_signed": "Saliency(abs=False)",
        },
        "sanity": sanity,
    }
    out["meta"] = np.array(json.dumps(meta))
    path = os.path.join(HERE, f"torch_{name}{'_nobias' if nobias else ''}.npz")
    np.savez_compressed(path, **out)
    return path, sanity


def main():
    assert torch.__version__.startswith("2.13.0"), torch.__version__
    assert captum.__version__ == "0.9.0", captum.__version__
    report = {}
    for name, seed in (("mlp", 1247), ("cnn", 5681)):
        for nobias in (False, True):
            path, sanity = generate(name, seed, nobias)
            report[os.path.basename(path)] = sanity
            # verify it loads without pickle
            with np.load(path, allow_pickle=False) as z:
                for k in z.files:
                    assert z[k].dtype != object, k
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
