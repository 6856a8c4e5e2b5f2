"""Generate small reference arrays from Zennit 1.0.0 and Captum 0.9.0 (PyTorch 2.13 CPU).

Runs OUTSIDE the repo's dev venv, under ~/venv-torch (see README_torch.md):

    PYTHONPATH=~/torchvision_stub ~/venv-torch/bin/python tests/references/gen_torch.py

Weights are drawn with numpy (seeded) in KERAS layout (Dense kernel (in, out),
Conv2D kernel (kh, kw, in, out), channels-last inputs), stored as float32, and
converted to torch layout here.  All attributions are returned in Keras layout
(N, H, W, C) / (N, F) as float32.  Computation runs in float64 from the float32
weights/inputs, so the stored values are exact to float32 rounding.

Writes tests/references/torch_{mlp,cnn,resbn}{,_nobias}.npz.
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
from zennit.canonizers import SequentialMergeBatchNorm
from zennit.composites import (
    EpsilonAlpha2Beta1,
    EpsilonGammaBox,
    EpsilonPlus,
    EpsilonPlusFlat,
    LayerMapComposite,
    layer_map_base,
)
from zennit.layer import Sum as ZSum
from zennit.rules import AlphaBeta, Epsilon, Flat, Gamma, WSquare, ZPlus
from zennit.types import Linear as ZLinear

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPE = torch.float64
TARGET = 1
IG_STEPS = 64
IG_METHODS = ("riemann_trapezoid", "gausslegendre", "riemann_left", "riemann_right", "riemann_middle")
BN_EPS = 1e-3          # BatchNormalization epsilon, both frameworks (Keras' default)
BOX = (-3.0, 3.0)      # EpsilonGammaBox(low, high) for the ZBox first layer
WITH_BN = ("resbn",)   # models that get canonizers=[SequentialMergeBatchNorm()]
WITH_COMPOSITES = ("cnn", "resbn")
RESBN_SEED = 3313  # argmax [0, 1, 0]; relu_1 50 %, relu_2 38 % zeros; max|x| = 2.80 < 3 (inside the ZBox box)

torch.use_deterministic_algorithms(True)


# ----------------------------------------------------------------------------- weights (Keras layout)

def make_weights(name, rng):
    """Return (layer_names, {layer: (kernel, bias)}, x, ref) in Keras layout, float32.

    BatchNormalization layers (bn_*) get (gamma, beta, moving_mean, moving_variance).
    """
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
    elif name == "resbn":
        def conv(cin, cout):
            k = rng.normal(0.0, np.sqrt(2.0 / (9 * cin)), size=(3, 3, cin, cout))
            b = rng.normal(0.0, 0.3, size=(cout,))
            return k.astype(np.float32), b.astype(np.float32)

        def bn(c):
            gamma = rng.uniform(0.5, 1.5, size=(c,))
            beta = rng.normal(0.0, 0.1, size=(c,))
            mean = rng.normal(0.0, 0.2, size=(c,))
            var = rng.uniform(0.5, 1.5, size=(c,))
            return tuple(a.astype(np.float32) for a in (gamma, beta, mean, var))

        names = ["conv2d_1", "bn_1", "conv2d_2", "bn_2", "dense_1"]
        w = {"conv2d_1": conv(2, 4), "bn_1": bn(4), "conv2d_2": conv(4, 4), "bn_2": bn(4),
             "dense_1": dense(8 * 8 * 4, 3)}
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


def to_torch_conv(kernel, bias, padding=0):
    kh, kw, cin, cout = kernel.shape
    m = torch.nn.Conv2d(cin, cout, (kh, kw), padding=padding)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
        m.bias.copy_(torch.from_numpy(bias))
    return m


def to_torch_bn(gamma, beta, mean, var):
    m = torch.nn.BatchNorm2d(gamma.shape[0], eps=BN_EPS)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(gamma))
        m.bias.copy_(torch.from_numpy(beta))
        m.running_mean.copy_(torch.from_numpy(mean))
        m.running_var.copy_(torch.from_numpy(var))
    return m


class ResBN(torch.nn.Module):
    """conv-BN-ReLU, conv-BN, + skip (zennit Sum on a stacked tensor), ReLU, flatten, dense.

    Children are assigned in forward order: SequentialMergeBatchNorm pairs each BN with the leaf
    visited just before it, and SpecialFirstLayerMapComposite's "first" layer is the first match
    in named_modules() order.
    """

    def __init__(self, w):
        super().__init__()
        self.conv2d_1 = to_torch_conv(*w["conv2d_1"], padding=1)  # Keras padding="same" (3x3, stride 1)
        self.bn_1 = to_torch_bn(*w["bn_1"])
        self.relu_1 = torch.nn.ReLU()
        self.conv2d_2 = to_torch_conv(*w["conv2d_2"], padding=1)
        self.bn_2 = to_torch_bn(*w["bn_2"])
        self.add_1 = ZSum(dim=-1)  # sums over the LAST axis of its input: stack the summands there
        self.relu_2 = torch.nn.ReLU()
        self.flatten = ChannelsLastFlatten()
        self.dense_1 = to_torch_linear(*w["dense_1"])

    def forward(self, x):
        a = self.relu_1(self.bn_1(self.conv2d_1(x)))
        b = self.bn_2(self.conv2d_2(a))
        h = self.relu_2(self.add_1(torch.stack([b, a], dim=-1)))
        return self.dense_1(self.flatten(h))


def build_torch(name, w):
    if name == "resbn":
        model = ResBN(w).to(DTYPE)
        model.eval()
        return model
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
    "gamma": lambda: Gamma(gamma=0.25),
}

# Zennit's named composites, as zennit.composites defines them (default arguments except low/high).
ZENNIT_COMPOSITES = {
    "epsilon_plus": lambda x, canonizers: EpsilonPlus(canonizers=canonizers),
    "epsilon_plus_flat": lambda x, canonizers: EpsilonPlusFlat(canonizers=canonizers),
    "epsilon_alpha_2_beta_1": lambda x, canonizers: EpsilonAlpha2Beta1(canonizers=canonizers),
    "epsilon_gamma_box": lambda x, canonizers: EpsilonGammaBox(
        low=torch.full_like(x, BOX[0]), high=torch.full_like(x, BOX[1]), canonizers=canonizers),
}


def rule_composite(rule_factory, canonizers=None):
    """Same rule on every Linear/Conv; ReLU -> zennit's Pass (relevance passes unchanged)."""
    return LayerMapComposite(layer_map=layer_map_base() + [(ZLinear, rule_factory())], canonizers=canonizers)


def check_bn_merged(model, hooked, x, y):
    """Inside a composite context with SequentialMergeBatchNorm: every BN is the identity and the
    preceding conv holds W*gamma/sqrt(var+eps), (b-mean)*gamma/sqrt(var+eps)+beta; output unchanged.
    `model` is an untouched copy with the original parameters."""
    orig = dict(model.named_modules())
    errs = []
    for name, m in hooked.named_modules():
        if not isinstance(m, torch.nn.BatchNorm2d):
            continue
        assert bool((m.running_mean == 0).all() and (m.running_var == 1).all()), name
        assert bool((m.weight == 1).all() and (m.bias == 0).all()) and m.eps == 0.0, name
        conv, bn = orig[name.replace("bn_", "conv2d_")], orig[name]
        scale = bn.weight / (bn.running_var + bn.eps) ** 0.5
        merged = dict(hooked.named_modules())[name.replace("bn_", "conv2d_")]
        errs.append(float((merged.weight - conv.weight * scale[:, None, None, None]).abs().max().detach()))
        errs.append(float((merged.bias - ((conv.bias - bn.running_mean) * scale + bn.bias)).abs().max().detach()))
        assert float((merged.weight - conv.weight).abs().max().detach()) > 1e-3, "conv weight unchanged: no merge"
    assert len(errs) == 4 and max(errs) < 1e-12, errs
    with torch.no_grad():
        dy = float((hooked(x) - y).abs().max())
    assert dy < 1e-12, dy
    return max(errs), dy


def zennit_attribute(model_factory, x, targets, composite, bn_check=None):
    """Relevance at the input; it starts at one_hot(target) * output (the selected output's VALUE).

    model_factory() gives the model: a fresh copy for canonized models, because zennit 1.0's
    MergeBatchNorm and ParamMod(assign=True) leave the merged values in module._parameters after
    the context closes (forward still uses the restored originals).
    """
    model = model_factory()
    xin = x.clone().requires_grad_(True)
    with composite.context(model) as hooked:
        if bn_check is not None:
            bn_check(hooked)
        out = hooked(xin)
        onehot = torch.nn.functional.one_hot(targets, out.shape[1]).to(out)
        (rel,) = torch.autograd.grad(out, xin, grad_outputs=onehot * out.detach())
    return rel


def zennit_lrp(model, x, targets, rule_factory):
    """Same rule on every Linear/Conv, no canonizer, on `model` itself."""
    return zennit_attribute(lambda: model, x, targets, rule_composite(rule_factory))


def composite_assignment(composite, model):
    """Which hook each module gets: the composite's module_map over named_modules(), as register() does."""
    ctx = {}
    res = {}
    for name, m in model.named_modules():
        hook = composite.module_map(ctx, name, m)
        if hook is not None:
            desc = type(hook).__name__
            if desc == "Epsilon":
                desc += f"(eps={hook.gradient_mapper.__closure__[0].cell_contents.epsilon:g})"
            res[name] = desc
    return res


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
        # every conv/dense bias zero; BatchNormalization: beta and moving mean zero
        w = {k: ((v[0], np.zeros_like(v[1]), np.zeros_like(v[2]), v[3]) if len(v) == 4
                 else (v[0], np.zeros_like(v[1]))) for k, v in w.items()}
    model = build_torch(base, w)
    xt = to_torch_input(x)
    reft = to_torch_input(ref)
    with torch.no_grad():
        y = model(xt)
        yref = model(reft)

    with_bn = base in WITH_BN
    canon = (lambda: [SequentialMergeBatchNorm()]) if with_bn else (lambda: None)  # noqa: E731
    # canonized models: a fresh copy per attribution, checked inside the context (see zennit_attribute)
    factory = (lambda: build_torch(base, w)) if with_bn else (lambda: model)  # noqa: E731
    bn_check = (lambda hooked: check_bn_merged(model, hooked, xt, y)) if with_bn else None  # noqa: E731

    def lrp(fac, targets):
        return zennit_attribute(factory, xt, targets, rule_composite(fac, canon()), bn_check)

    def lrp_composite(cname, targets):
        return zennit_attribute(factory, xt, targets, ZENNIT_COMPOSITES[cname](xt, canon()), bn_check)

    out = {}
    for ln in layer_names:
        if len(w[ln]) == 4:
            for key, arr in zip(("gamma", "beta", "moving_mean", "moving_variance"), w[ln]):
                out[f"w/{ln}/{key}"] = arr
        else:
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
    flat = lambda a: a.reshape(a.shape[0], -1)  # noqa: E731
    if with_bn:
        probe = build_torch(base, w)
        merges = SequentialMergeBatchNorm().apply(probe)
        sanity["canonizer: SequentialMergeBatchNorm merges"] = len(merges)
        werr, dy = check_bn_merged(model, probe, xt, y)
        for m in merges:
            m.remove()
        sanity["canonizer: max|merged param - W*gamma/sqrt(var+eps) (resp. bias)|"] = werr
        sanity["canonizer: max|canonized output - y|"] = dy
        with torch.no_grad():
            a1 = model.relu_1(model.bn_1(model.conv2d_1(xt)))
            h2 = model.relu_2(model.add_1(torch.stack([model.bn_2(model.conv2d_2(a1)), a1], dim=-1)))
        sanity["dead relu fraction (relu_1, relu_2)"] = [float((a1 == 0).double().mean()),
                                                         float((h2 == 0).double().mean())]
    if base in WITH_COMPOSITES:
        sanity["max|x|"] = float(np.abs(x).max())
    for tag, targets in (("", torch.full((x.shape[0],), TARGET, dtype=torch.long)), ("argmax/", argmax)):
        sel = y.gather(1, targets[:, None])[:, 0]
        for rname, fac in ZENNIT_RULES.items():
            r = lrp(fac, targets)
            out[f"{tag}zennit/{rname}"] = to_keras_layout(r)
        if base in WITH_COMPOSITES:
            sanity[f"{tag}composites: selected output"] = sel.tolist()
            for cname in ZENNIT_COMPOSITES:
                r = lrp_composite(cname, targets)
                out[f"{tag}zennit_composite/{cname}"] = to_keras_layout(r)
                sanity[f"{tag}composite sum {cname}"] = flat(r).sum(1).tolist()
        cres, d0, dref = captum_all(model, xt, targets, reft)
        for k, v in cres.items():
            out[f"{tag}captum/{k}"] = to_keras_layout(v)
        if tag == "":
            # plain gradient (float64) for sanity
            xg = xt.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(model(xg).gather(1, targets[:, None]).sum(), xg)
            ixg = (xt * g)
            sanity["selected_output"] = sel.tolist()
            sanity["max|eps1e-7 - x*grad|"] = float((flat(lrp(ZENNIT_RULES["epsilon_1e-7"], targets)) - flat(ixg)).abs().max())
            sanity["max|eps0.1 - x*grad|"] = float((flat(lrp(ZENNIT_RULES["epsilon"], targets)) - flat(ixg)).abs().max())
            for rn in ("zplus", "alpha1beta0", "alpha2beta1", "flat", "wsquare", "epsilon", "gamma"):
                sanity[f"sum {rn}"] = flat(lrp(ZENNIT_RULES[rn], targets)).sum(1).tolist()
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
            "gamma": "Gamma(gamma=0.25)",
            "all": "same rule on every Linear/Conv2d; ReLU -> Pass; other stabilizers default 1e-6",
        },
        "captum_methods": {
            "deeplift_rescale": "DeepLift(model).attribute(x, baselines=0, target)",
            "deeplift_rescale_ref": "DeepLift(model).attribute(x, baselines=ref, target)",
            "integrated_gradients/<method>": f"IntegratedGradients, baselines=0, n_steps={IG_STEPS}",
            "saliency_signed": "Saliency(abs=False)",
        },
        "sanity": sanity,
    }
    if with_bn:
        meta["canonizers"] = ("[SequentialMergeBatchNorm()] for zennit/<rule> and zennit_composite/<name>: "
                              "bn_1 merged into conv2d_1, bn_2 into conv2d_2 (BN eps 1e-3)")
        meta["zennit_rules"]["all"] += "; BatchNorm merged by the canonizer, then Pass; add_1 (zennit Sum) -> Norm()"
    if base in WITH_COMPOSITES:
        meta["zennit_composites"] = {
            "epsilon_plus": "EpsilonPlus()",
            "epsilon_plus_flat": "EpsilonPlusFlat()",
            "epsilon_alpha_2_beta_1": "EpsilonAlpha2Beta1()",
            "epsilon_gamma_box": f"EpsilonGammaBox(low=full_like(x, {BOX[0]}), high=full_like(x, {BOX[1]}))",
            "layer_assignment": {c: composite_assignment(f(xt, None), model) for c, f in ZENNIT_COMPOSITES.items()},
        }
    out["meta"] = np.array(json.dumps(meta))
    path = os.path.join(HERE, f"torch_{name}{'_nobias' if nobias else ''}.npz")
    np.savez_compressed(path, **out)
    return path, sanity


def main():
    assert torch.__version__.startswith("2.13.0"), torch.__version__
    assert captum.__version__ == "0.9.0", captum.__version__
    report = {}
    for name, seed in (("mlp", 1247), ("cnn", 5681), ("resbn", RESBN_SEED)):
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
