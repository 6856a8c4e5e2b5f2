"""LXT 2.1 (AttnLRP / CP-LRP, efficient mode) reference relevances for the two keras-hub models.

Run in the torch venv (torch 2.13 CPU + ``pip install --no-deps lxt-2.1.tar.gz``)::

    ~/venv-torch/bin/python tests/references/gen_lxt.py

Reads ``lxt_models.npz`` (written by ``lxt_models.py`` in /work/venv), mirrors both models in
PyTorch (float64), asserts the torch logits equal the Keras logits, and writes
``lxt_relevance.npz``. See README.md, section "LXT 2.1", for the conventions.

LXT's functions are used as they are: ``identity_rule_implicit`` (GELU), ``divide_gradient``
(AttnLRP: q/4, k/4, v/2 on the projected q, k, v, as LXT's ``wrap_attention_forward``),
``stop_gradient`` (CP-LRP: q and k, as ``cp_wrap_attention_forward``) and
``patches.layer_norm_forward`` (LayerNorm with the std detached). Linear maps keep their
plain gradient in LXT's efficient mode (``eps=None`` here); the epsilon rule is ``EpsLinear`` /
``EpsConv2d`` below.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import types

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float64)


def _import_lxt():
    """lxt/efficient/__init__.py imports lxt.efficient.models, which needs HF transformers.
    Register the package without running its __init__ and import LXT's own rules.py and
    patches.py (they only need torch)."""
    import lxt  # lxt/__init__.py is empty

    pkg = types.ModuleType("lxt.efficient")
    pkg.__path__ = [os.path.join(os.path.dirname(lxt.__file__), "efficient")]
    sys.modules.setdefault("lxt.efficient", pkg)
    from lxt.efficient import patches, rules

    return rules, patches


rules, patches = _import_lxt()
from lxt.efficient.rules import divide_gradient, identity_rule_implicit, stop_gradient  # noqa: E402


# --------------------------------------------------------------------------- epsilon rule


def _eps_factor(z, eps):
    sign = torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))  # sign(0) = +1
    return z / (z + eps * sign)


class EpsLinear(torch.autograd.Function):
    """z = x W^T + b; backward: g -> (g * z / (z + eps*sign(z))) W  (LRP-epsilon in x*grad form)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        z = F.linear(x, weight, bias)
        ctx.save_for_backward(weight, z)
        ctx.eps = eps
        return z

    @staticmethod
    def backward(ctx, g):
        weight, z = ctx.saved_tensors
        return (g * _eps_factor(z, ctx.eps)) @ weight, None, None, None


class EpsConv2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, eps):
        z = F.conv2d(x, weight, bias, stride=stride)
        ctx.save_for_backward(weight, z)
        ctx.eps, ctx.stride, ctx.x_shape = eps, stride, x.shape
        return z

    @staticmethod
    def backward(ctx, g):
        weight, z = ctx.saved_tensors
        gx = torch.nn.grad.conv2d_input(
            ctx.x_shape, weight, g * _eps_factor(z, ctx.eps), stride=ctx.stride
        )
        return gx, None, None, None, None


class Cfg:
    """conv: 'plain' (true gradient, used for the logit check), 'attnlrp' or 'cp';
    eps: None (LXT efficient mode: plain gradient through linear maps) or the epsilon."""

    def __init__(self, conv="plain", eps=None):
        assert conv in ("plain", "attnlrp", "cp")
        self.conv, self.eps = conv, eps


def linear(x, p, cfg):
    w, b = p
    if cfg.eps is None:
        return F.linear(x, w, b)
    return EpsLinear.apply(x, w, b, cfg.eps)


# TF quirk: tf.nn.gelu(approximate=False) is 0.5*x*erfc(-x*math_ops.cast(0.7071067811865476,
# dtype)), and math_ops.cast of a Python float goes through float32, so even in float64 the
# constant is float32(1/sqrt(2)) (a 5e-9 difference from torch's exact GELU). Likewise
# keras' dot_product_attention does tf.cast(scale, float64) of the Python float 1/sqrt(key_dim),
# i.e. float32(1/sqrt(key_dim)). Both are mirrored so that the logits agree to ~1e-15.
_TF_INV_SQRT2 = float(np.float32(0.7071067811865476))


def tf_gelu(z):
    return 0.5 * z * torch.erfc(-z * _TF_INV_SQRT2)


def gelu(z, cfg):
    if cfg.conv == "plain":
        return tf_gelu(z)  # exact (erf) GELU, as keras.activations.gelu(approximate=False)
    return identity_rule_implicit(tf_gelu, z)  # LXT: gelu(z)/(z+1e-10) as the local "gradient"


def layer_norm(x, ln, cfg):
    if cfg.conv == "plain":
        return F.layer_norm(x, (x.shape[-1],), ln.weight, ln.bias, ln.eps)
    return patches.layer_norm_forward(ln, x)  # LXT: (x-mean)/stop_gradient(std)*w+b


class LN:
    def __init__(self, gamma, beta, eps):
        self.weight, self.bias, self.eps = gamma, beta, eps


KERAS_LARGE_NEG = -0.7 * 3.38953e38  # keras tf backend _get_large_negative (float32/64)


def mha(x, p, heads, key_mask, cfg):
    """keras.layers.MultiHeadAttention(query=x, value=x) as run by Keras 3.15 on TF: EinsumDense
    q/k/v projections, ops.dot_product_attention (einsum, *1/sqrt(key_dim), where(mask, s,
    -0.7*3.38953e38), softmax, einsum), EinsumDense output projection."""
    B, T, D = x.shape
    dk = D // heads
    q = linear(x, p["query"], cfg)
    k = linear(x, p["key"], cfg)
    v = linear(x, p["value"], cfg)
    if cfg.conv == "attnlrp":  # lxt.efficient.patches.wrap_attention_forward
        q, k, v = divide_gradient(q, 4), divide_gradient(k, 4), divide_gradient(v, 2)
    elif cfg.conv == "cp":  # lxt.efficient.patches.cp_wrap_attention_forward
        q, k = stop_gradient(q), stop_gradient(k)
    q = q.reshape(B, T, heads, dk).transpose(1, 2)
    k = k.reshape(B, T, heads, dk).transpose(1, 2)
    v = v.reshape(B, T, heads, dk).transpose(1, 2)
    s = (q @ k.transpose(-1, -2)) * float(np.float32(1.0 / math.sqrt(float(dk))))
    if key_mask is not None:  # (B, S) bool; masks keys only
        s = torch.where(key_mask[:, None, None, :], s, torch.full_like(s, KERAS_LARGE_NEG))
    a = torch.softmax(s, dim=-1)
    o = (a @ v).transpose(1, 2).reshape(B, T, D)
    return linear(o, p["attention_output"], cfg)


# --------------------------------------------------------------------------- weights


def _t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def dense_params(W, prefix):
    """Keras Dense (in, out) / EinsumDense (in, h, d) or (h, d, out) -> torch (out, in), (out,)."""
    k = W[prefix + "/kernel"]
    b = W[prefix + "/bias"]
    if k.ndim == 3 and prefix.endswith(("query", "key", "value")):
        k = k.reshape(k.shape[0], -1)
    elif k.ndim == 3:
        k = k.reshape(-1, k.shape[-1])
    return _t(k.T.copy()), _t(b.reshape(-1))


def load_prefix(npz, prefix):
    paths = [str(p) for p in npz[f"{prefix}/weight_paths"]]
    return {p: npz[f"{prefix}/w/{p}"] for p in paths}


# --------------------------------------------------------------------------- text model


class TextMirror:
    """Embedding(50,16,mask_zero) + PositionEmbedding(12) -> 2 x keras-hub TransformerEncoder
    (post-norm, LN eps 1e-5, FFN Dense(32, gelu exact) -> Dense(16)) -> masked mean -> Dense(3)."""

    def __init__(self, npz):
        W = load_prefix(npz, "text")
        self.emb = _t(W["token_embedding/embeddings"])
        self.pos = _t(W["position_embedding/embeddings"])
        self.blocks = []
        for i in range(2):
            e = f"encoder_{i}"
            att = {n: dense_params(W, f"{e}/self_attention_layer/{n}")
                   for n in ("query", "key", "value", "attention_output")}
            self.blocks.append(dict(
                att=att,
                ln_att=LN(_t(W[f"{e}/self_attention_layer_norm/gamma"]),
                          _t(W[f"{e}/self_attention_layer_norm/beta"]), 1e-5),
                ln_ff=LN(_t(W[f"{e}/feedforward_layer_norm/gamma"]),
                         _t(W[f"{e}/feedforward_layer_norm/beta"]), 1e-5),
                ff1=dense_params(W, f"{e}/feedforward_intermediate_dense"),
                ff2=dense_params(W, f"{e}/feedforward_output_dense"),
            ))
        self.head = dense_params(W, "logits")

    def embed(self, ids):
        return self.emb[torch.as_tensor(ids, dtype=torch.long)]

    def forward(self, tok, ids, cfg, hidden=None):
        mask = torch.as_tensor(np.asarray(ids) != 0)
        x = tok + self.pos[None, : tok.shape[1]]
        if hidden is not None:
            hidden["embed_add"] = x
        for i, blk in enumerate(self.blocks):
            res = x
            x = mha(x, blk["att"], 2, mask, cfg)
            x = layer_norm(x + res, blk["ln_att"], cfg)
            res = x
            x = gelu(linear(x, blk["ff1"], cfg), cfg)
            x = linear(x, blk["ff2"], cfg)
            x = layer_norm(x + res, blk["ln_ff"], cfg)
            if hidden is not None:
                hidden[f"encoder_{i}"] = x
        m = mask[..., None].to(x.dtype)
        pooled = (torch.where(m > 0, x, torch.zeros_like(x))).sum(1) / m.sum(1)
        return linear(pooled, self.head, cfg)


# --------------------------------------------------------------------------- ViT


class ViTMirror:
    """keras-hub ViT: Conv2D 4x4/4 patches (row-major), [class_token; patches] + position
    embedding (17,16); 2 pre-norm blocks (ln_1 -> MHA -> +res, ln_2 -> MLP(gelu exact) -> +res),
    LN eps 1e-6; final LN; CLS token x[:, 0] -> Dense(3)."""

    def __init__(self, npz):
        W = load_prefix(npz, "vit")
        e = "vit_patching_and_embedding"
        self.cls = _t(W[f"{e}/class_token"])  # (1,1,16)
        k = W[f"{e}/patch_embedding/kernel"]  # (kh,kw,in,out)
        self.patch_w = _t(k.transpose(3, 2, 0, 1).copy())
        self.patch_b = _t(W[f"{e}/patch_embedding/bias"])
        self.pos = _t(W[f"{e}/position_embedding/embeddings"])  # (17,16)
        self.blocks = []
        for i in (1, 2):
            b = f"vit_encoder/transformer_block_{i}"
            self.blocks.append(dict(
                ln1=LN(_t(W[f"{b}/ln_1/gamma"]), _t(W[f"{b}/ln_1/beta"]), 1e-6),
                ln2=LN(_t(W[f"{b}/ln_2/gamma"]), _t(W[f"{b}/ln_2/beta"]), 1e-6),
                att={n: dense_params(W, f"{b}/mha/{n}")
                     for n in ("query", "key", "value", "attention_output")},
                fc1=dense_params(W, f"{b}/mlp/dense_1"),
                fc2=dense_params(W, f"{b}/mlp/dense_2"),
            ))
        self.ln = LN(_t(W["vit_encoder/ln/gamma"]), _t(W["vit_encoder/ln/beta"]), 1e-6)
        self.head = dense_params(W, "predictions")

    def forward(self, images, cfg):
        x = images.permute(0, 3, 1, 2)  # NHWC -> NCHW
        if cfg.eps is None:
            z = F.conv2d(x, self.patch_w, self.patch_b, stride=4)
        else:
            z = EpsConv2d.apply(x, self.patch_w, self.patch_b, 4, cfg.eps)
        B = z.shape[0]
        z = z.permute(0, 2, 3, 1).reshape(B, -1, z.shape[1])  # patch order (row, col)
        x = torch.cat([self.cls.expand(B, 1, -1), z], dim=1) + self.pos[None]
        for blk in self.blocks:
            h = mha(layer_norm(x, blk["ln1"], cfg), blk["att"], 2, None, cfg)
            x = h + x
            y = linear(layer_norm(x, blk["ln2"], cfg), blk["fc1"], cfg)
            y = linear(gelu(y, cfg), blk["fc2"], cfg)
            x = x + y
        x = layer_norm(x, self.ln, cfg)
        return linear(x[:, 0], self.head, cfg)


# --------------------------------------------------------------------------- relevance


def targets(logits, target):
    if target == "max":
        return logits.argmax(1)
    return torch.full((logits.shape[0],), int(target[len("neuron"):]), dtype=torch.long)


def relevance_text(model, ids, conv, eps, target):
    tok = model.embed(ids).detach().requires_grad_(True)
    y = model.forward(tok, ids, Cfg(conv, eps))
    idx = targets(y.detach(), target)
    sel = y[torch.arange(y.shape[0]), idx]
    (g,) = torch.autograd.grad(sel.sum(), tok)  # one-hot gradient = relevance starts at the logit
    return (tok * g).detach().numpy(), sel.detach().numpy()


def relevance_vit(model, images, conv, eps, target):
    x = torch.tensor(images).requires_grad_(True)
    y = model.forward(x, Cfg(conv, eps))
    idx = targets(y.detach(), target)
    sel = y[torch.arange(y.shape[0]), idx]
    (g,) = torch.autograd.grad(sel.sum(), x)
    return (x * g).detach().numpy(), sel.detach().numpy()


def relerr(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def self_test_eps():
    """EpsLinear / EpsConv2d against the explicit LRP-epsilon formula."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 7, generator=g)
    w, b = torch.randn(4, 7, generator=g), torch.randn(4, generator=g)
    xr = x.clone().requires_grad_(True)
    z = EpsLinear.apply(xr, w, b, 0.3)
    r_out = torch.randn(5, 4, generator=g)
    (gx,) = torch.autograd.grad(z, xr, grad_outputs=r_out / z.detach())
    zz = x @ w.T + b
    expl = x * ((r_out / (zz + 0.3 * torch.where(zz >= 0, 1.0, -1.0))) @ w)
    assert torch.allclose(xr.detach() * gx, expl, atol=1e-12)
    xi = torch.randn(2, 3, 8, 8, generator=g).requires_grad_(True)
    wc, bc = torch.randn(5, 3, 4, 4, generator=g), torch.randn(5, generator=g)
    zc = EpsConv2d.apply(xi, wc, bc, 4, 0.2)
    gc = torch.randn_like(zc)
    (g1,) = torch.autograd.grad(zc, xi, grad_outputs=gc)
    xi2 = xi.detach().requires_grad_(True)
    zc2 = F.conv2d(xi2, wc, bc, stride=4)
    (g2,) = torch.autograd.grad(zc2, xi2, grad_outputs=gc * _eps_factor(zc2.detach(), 0.2))
    assert torch.allclose(g1, g2, atol=1e-12)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(HERE, "lxt_models.npz"))
    ap.add_argument("--out", default=os.path.join(HERE, "lxt_relevance.npz"))
    args = ap.parse_args(argv)
    npz = np.load(args.models, allow_pickle=False)
    self_test_eps()

    text, vit = TextMirror(npz), ViTMirror(npz)
    ids = npz["text/x"]
    images = npz["vit/x"].astype(np.float64)
    pad = ids == 0

    report = {}
    with torch.no_grad():
        hidden = {}
        tok = text.embed(ids)
        yt = text.forward(tok, ids, Cfg(), hidden).numpy()
        yv = vit.forward(torch.tensor(images), Cfg()).numpy()
        # the LXT forward (detached std etc.) must give the same logits
        yt_l = text.forward(tok, ids, Cfg("attnlrp", 1e-3)).numpy()
        yv_l = vit.forward(torch.tensor(images), Cfg("cp", 1e-3)).numpy()
    hidden["token_embedding"] = tok
    report["text_logit_maxabs"] = float(np.abs(yt - npz["text/logits"]).max())
    report["vit_logit_maxabs"] = float(np.abs(yv - npz["vit/logits"]).max())
    report["lxt_forward_vs_plain"] = max(float(np.abs(yt_l - yt).max()),
                                         float(np.abs(yv_l - yv).max()))
    report["text_hidden_maxabs"] = max(
        float(np.abs(hidden[k].numpy() - npz[f"text/hidden/{k}"]).max()) for k in hidden)
    assert report["text_logit_maxabs"] < 1e-12 and report["vit_logit_maxabs"] < 1e-12, report
    assert report["text_hidden_maxabs"] < 1e-12, report  # incl. padded positions
    assert report["lxt_forward_vs_plain"] < 1e-12, report

    out = {"text_logits": yt, "vit_logits": yv}
    ratios = {}
    for conv in ("attnlrp", "cp"):
        for target in ("max", "neuron1"):
            # LXT's efficient mode as shipped (plain gradient through linear maps)
            rt0, _ = relevance_text(text, ids, conv, None, target)
            rv0, _ = relevance_vit(vit, images, conv, None, target)
            for eps in (1e-3, 1e-9):
                rt, st = relevance_text(text, ids, conv, eps, target)
                rv, sv = relevance_vit(vit, images, conv, eps, target)
                tag = f"{conv}_{eps:.0e}_{target}"
                assert np.all(rt[pad] == 0.0), tag  # padded tokens get exactly 0
                assert np.all(np.isfinite(rt)) and np.all(np.isfinite(rv)), tag
                if eps == 1e-9:
                    # eps -> 0 must give LXT's efficient mode. 1e-9 leaves ~1e-6 (a few
                    # pre-activations are ~5e-6 in magnitude), 1e-12 must leave < 1e-8.
                    e = max(relerr(rt, rt0), relerr(rv, rv0))
                    report[f"eps1e-9_vs_lxt_plain_{conv}_{target}"] = e
                    assert e < 1e-5, (tag, e)
                    e12 = max(relerr(relevance_text(text, ids, conv, 1e-12, target)[0], rt0),
                              relerr(relevance_vit(vit, images, conv, 1e-12, target)[0], rv0))
                    report[f"eps1e-12_vs_lxt_plain_{conv}_{target}"] = e12
                    assert e12 < 1e-8, (tag, e12)
                if conv == "attnlrp" and eps == 1e-9:
                    ratios[f"text_{target}"] = (rt.sum((1, 2)) / st).round(4).tolist()
                    ratios[f"vit_{target}"] = (rv.sum((1, 2, 3)) / sv).round(4).tolist()
                out[f"text_{tag}"] = rt.astype(np.float32)
                out[f"text_{tag}_tokens"] = rt.sum(-1).astype(np.float32)
                out[f"vit_{tag}"] = rv.astype(np.float32)
    out["text_targets_max"] = np.asarray(yt.argmax(1))
    out["vit_targets_max"] = np.asarray(yv.argmax(1))
    meta = {"torch": torch.__version__, "lxt": "2.1", "dtype": "computed float64, stored float32",
            "models": os.path.basename(args.models)}
    out["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(args.out, **out)
    report["sum_R_over_logit_attnlrp_eps1e-9"] = ratios
    report["out_bytes"] = os.path.getsize(args.out)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
