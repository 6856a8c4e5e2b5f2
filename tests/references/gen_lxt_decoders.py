"""LXT 2.1 (efficient AttnLRP and CP-LRP) on Hugging Face transformers for the keras-hub decoders.

Run in ~/venv-hf (torch 2.6.0, transformers 4.52.4, lxt 2.1; ``../shared/REFERENCES.md``)::

    ~/venv-hf/bin/python tests/references/gen_lxt_decoders.py

Reads ``lxt_decoders.npz`` (written by ``lxt_decoders.py`` in the innv venv), maps each family's
keras-hub weights into ``LlamaForCausalLM``, ``Qwen2ForCausalLM``, ``Qwen3ForCausalLM``,
``GPT2LMHeadModel`` or ``Gemma3ForCausalLM`` (float64, ``attn_implementation="eager"``), asserts
that the HF logits equal the Keras logits at every real position, then runs LXT's own
``monkey_patch`` with the family's ``attnLRP`` and ``cp_LRP`` maps, each in a fresh interpreter
(the patches are process-wide and the two maps cannot be stacked), and writes
``lxt_decoders_relevance.npz``: input x gradient at the token embedding output (the input of the
first block; GPT-2: before its position embedding is added) for the last position's logit of
each row's argmax token and of token ``FIXED_TARGET``. See README.md, "LXT 2.1 on decoders".

Masks: HF's eager softmax runs in float32, so the float64 mask HF builds (float64's min) turns a
row without any allowed key (a left-padded query) into NaN, which the backward pass spreads. The
4-D additive mask is therefore built here with float32's min, in float64: 0 where the key is
causal and real, float32 min elsewhere.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = ("attnlrp", "cp")
#: family -> (transformers model module, class, LXT module)
HF = {
    "Llama": ("llama", "LlamaForCausalLM", "llama"),
    "Qwen2": ("qwen2", "Qwen2ForCausalLM", "qwen2"),
    "Qwen3": ("qwen3", "Qwen3ForCausalLM", "qwen3"),
    "GPT2": ("gpt2", "GPT2LMHeadModel", "gpt2"),
    "Gemma3": ("gemma3", "Gemma3ForCausalLM", "gemma3"),
}


# --------------------------------------------------------------------------- configs


def hf_config(family: str, kw: dict):
    """The Hugging Face config of the keras-hub backbone arguments ``kw``."""
    import transformers as tr

    common = dict(vocab_size=kw["vocabulary_size"], hidden_size=kw["hidden_dim"],
                  intermediate_size=kw["intermediate_dim"], num_hidden_layers=kw["num_layers"],
                  max_position_embeddings=64, attention_dropout=0.0, torch_dtype="float64")
    if family == "GPT2":
        return tr.GPT2Config(vocab_size=kw["vocabulary_size"], n_positions=kw["max_sequence_length"],
                             n_embd=kw["hidden_dim"], n_layer=kw["num_layers"], n_head=kw["num_heads"],
                             n_inner=kw["intermediate_dim"], activation_function="gelu_new",
                             resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
                             tie_word_embeddings=True, torch_dtype="float64")
    heads = dict(num_attention_heads=kw["num_query_heads"], num_key_value_heads=kw["num_key_value_heads"],
                 head_dim=kw.get("head_dim") or kw["hidden_dim"] // kw["num_query_heads"],
                 rms_norm_eps=kw["layer_norm_epsilon"])
    if family == "Gemma3":
        return tr.Gemma3TextConfig(**common, **heads, hidden_activation="gelu_pytorch_tanh",
                                   rope_theta=1_000_000.0, rope_local_base_freq=10_000.0,
                                   sliding_window=kw["sliding_window_size"], sliding_window_pattern=6,
                                   query_pre_attn_scalar=heads["head_dim"],
                                   final_logit_softcapping=kw.get("final_logit_soft_cap"),
                                   # HF 4.52's Gemma3 attention never applies it (eager_attention_forward
                                   # gets no softcap): a keras-hub attention_logit_soft_cap fails the logit check
                                   attn_logit_softcapping=kw.get("attention_logit_soft_cap"),
                                   tie_word_embeddings=True, rope_scaling=None)
    rope = dict(rope_theta=kw["rope_max_wavelength"], rope_scaling=None, hidden_act="silu",
                tie_word_embeddings=kw["tie_word_embeddings"])
    if family == "Llama":
        return tr.LlamaConfig(**common, **heads, **rope, attention_bias=False, mlp_bias=False)
    if family == "Qwen2":
        return tr.Qwen2Config(**common, **heads, **rope, use_sliding_window=False)
    if family == "Qwen3":
        return tr.Qwen3Config(**common, **heads, **rope, attention_bias=False, use_sliding_window=False)
    raise ValueError(family)


# --------------------------------------------------------------------------- weights


def _t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def _heads_in(k):
    """EinsumDense (in, heads, head_dim) -> torch Linear (heads*head_dim, in)."""
    return k.reshape(k.shape[0], -1).T


def _heads_out(k):
    """EinsumDense (heads, head_dim, out) -> torch Linear (out, heads*head_dim)."""
    return k.reshape(-1, k.shape[-1]).T


def state_dict(family: str, W: dict) -> dict:
    """HF parameter name -> array, from the keras weights ``W`` (path -> array)."""
    sd = {}
    n = 1 + max(int(p.split("/")[0].rsplit("_", 1)[1]) for p in W if p.startswith(("transformer_layer_",
                                                                                   "decoder_block_")))
    if family == "GPT2":
        sd["transformer.wte.weight"] = W["token_embedding/embeddings"]
        sd["transformer.wpe.weight"] = W["position_embedding/embeddings"]
        sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"] = W["layer_norm/gamma"], W["layer_norm/beta"]
        for i in range(n):
            k, h = f"transformer_layer_{i}/", f"transformer.h.{i}."
            a = k + "self_attention/"
            sd[h + "attn.c_attn.weight"] = np.concatenate(
                [W[a + f"{m}/kernel"].reshape(W[a + f"{m}/kernel"].shape[0], -1) for m in ("query", "key", "value")], 1)
            sd[h + "attn.c_attn.bias"] = np.concatenate([W[a + f"{m}/bias"].reshape(-1)
                                                         for m in ("query", "key", "value")])
            sd[h + "attn.c_proj.weight"] = W[a + "attention_output/kernel"].reshape(-1, W[a + "attention_output/kernel"].shape[-1])
            sd[h + "attn.c_proj.bias"] = W[a + "attention_output/bias"]
            for ln, name in (("ln_1", "self_attention_layer_norm"), ("ln_2", "feedforward_layer_norm")):
                sd[h + ln + ".weight"], sd[h + ln + ".bias"] = W[k + name + "/gamma"], W[k + name + "/beta"]
            for fc, name in (("c_fc", "feedforward_intermediate_dense"), ("c_proj", "feedforward_output_dense")):
                sd[h + f"mlp.{fc}.weight"], sd[h + f"mlp.{fc}.bias"] = W[k + name + "/kernel"], W[k + name + "/bias"]
        return sd
    sd["model.embed_tokens.weight"] = W["token_embedding/embeddings"]
    if "token_embedding/reverse_embeddings" in W:
        sd["lm_head.weight"] = W["token_embedding/reverse_embeddings"].T
    if family == "Gemma3":
        sd["model.norm.weight"] = W["final_normalization/scale"]
        for i in range(n):
            k, h = f"decoder_block_{i}/", f"model.layers.{i}."
            for m, p in (("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj")):
                kern = W[k + f"attention/{m}/kernel"]  # (heads, in, head_dim)
                sd[h + f"self_attn.{p}.weight"] = kern.transpose(0, 2, 1).reshape(-1, kern.shape[1])
            sd[h + "self_attn.o_proj.weight"] = _heads_out(W[k + "attention/attention_output/kernel"])
            sd[h + "self_attn.q_norm.weight"] = W[k + "attention/query_norm/scale"]
            sd[h + "self_attn.k_norm.weight"] = W[k + "attention/key_norm/scale"]
            for hf, name in (("input_layernorm", "pre_attention_norm"), ("post_attention_layernorm", "post_attention_norm"),
                             ("pre_feedforward_layernorm", "pre_ffw_norm"), ("post_feedforward_layernorm", "post_ffw_norm")):
                sd[h + hf + ".weight"] = W[k + name + "/scale"]
            for hf, name in (("gate_proj", "ffw_gating"), ("up_proj", "ffw_gating_2"), ("down_proj", "ffw_linear")):
                sd[h + f"mlp.{hf}.weight"] = W[k + name + "/kernel"].T
        return sd
    sd["model.norm.weight"] = W["sequence_output_layernorm/scale"]
    for i in range(n):
        k, h = f"transformer_layer_{i}/", f"model.layers.{i}."
        a = k + "self_attention/"
        for m, p in (("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj")):
            sd[h + f"self_attn.{p}.weight"] = _heads_in(W[a + f"{m}/kernel"])
            if a + f"{m}/bias" in W:
                sd[h + f"self_attn.{p}.bias"] = W[a + f"{m}/bias"].reshape(-1)
        sd[h + "self_attn.o_proj.weight"] = _heads_out(W[a + "attention_output/kernel"])
        if family == "Qwen3":
            sd[h + "self_attn.q_norm.weight"] = W[a + "query_dense_layernorm/scale"]
            sd[h + "self_attn.k_norm.weight"] = W[a + "key_dense_layernorm/scale"]
        sd[h + "input_layernorm.weight"] = W[k + "self_attention_layernorm/scale"]
        sd[h + "post_attention_layernorm.weight"] = W[k + "feedforward_layernorm/scale"]
        for hf, name in (("gate_proj", "feedforward_gate_dense"), ("up_proj", "feedforward_intermediate_dense"),
                         ("down_proj", "feedforward_output_dense")):
            sd[h + f"mlp.{hf}.weight"] = W[k + name + "/kernel"].T
    return sd


def family_of(npz, name: str) -> str:
    """The family of a family or variant name (a variant stores the family it takes weights from)."""
    return str(npz[f"{name}/weights_of"]) if f"{name}/weights_of" in npz else name


def hf_model(npz, name: str):
    """The HF causal LM (float64, eager attention, eval mode) holding the stored weights."""
    import transformers as tr

    family = family_of(npz, name)
    kw = json.loads(str(npz[f"{name}/config"]))
    config = hf_config(family, kw)
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    model = getattr(tr, HF[family][1])(config).to(torch.float64).eval()
    W = {str(p): npz[f"{family}/w/{p}"] for p in npz[f"{family}/weight_paths"]}
    sd = {name: _t(v) for name, v in state_dict(family, W).items()}
    own = model.state_dict()
    for name, v in sd.items():
        assert name in own, f"{family}: no parameter {name}"
        assert tuple(own[name].shape) == tuple(v.shape), (family, name, own[name].shape, v.shape)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    params = {n for n, _ in model.named_parameters()}
    tied = {"lm_head.weight"} if config.tie_word_embeddings else set()
    assert not unexpected and not (set(missing) & params) - tied, (family, missing, unexpected)
    assert params - tied <= set(sd), (family, params - tied - set(sd))
    if family == "Qwen3":
        # keras-hub 0.32's Qwen3Attention builds its query/key norms with its own default epsilon
        # (1e-5): the backbone's layer_norm_epsilon does not reach them (HF uses rms_norm_eps).
        for layer in model.model.layers:
            layer.self_attn.q_norm.variance_epsilon = layer.self_attn.k_norm.variance_epsilon = 1e-5
    if config.tie_word_embeddings:
        assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    return model


def additive_mask(padding_mask) -> torch.Tensor:
    """(B, 1, T, T) float64: 0 where the key is causal and real, float32's min elsewhere."""
    pm = torch.as_tensor(np.asarray(padding_mask) != 0)
    T = pm.shape[1]
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))[None] & pm[:, None, :]
    return torch.where(allowed, 0.0, float(np.finfo(np.float32).min)).to(torch.float64)[:, None]


def forward(model, npz, embeds=None):
    ids = torch.as_tensor(npz["token_ids"].astype(np.int64))
    if embeds is None:
        embeds = model.get_input_embeddings()(ids)
    return model(inputs_embeds=embeds, attention_mask=additive_mask(npz["padding_mask"]), use_cache=False).logits


def relerr(a, b, where=None):
    a, b = np.asarray(a), np.asarray(b)
    if where is not None:
        a, b = a[where], b[where]
    return float(np.abs(a - b).max() / np.abs(b).max())


# --------------------------------------------------------------------------- one (family, method)


def run_one(npz_path: str, name: str, method: str, out: str) -> None:
    """In a fresh interpreter: LXT's patches for ``method``, then x * grad at the embeddings."""
    import importlib

    npz = np.load(npz_path, allow_pickle=False)
    model, family = hf_model(npz, name), family_of(npz, name)
    ids = torch.as_tensor(npz["token_ids"].astype(np.int64))
    sel = torch.as_tensor(npz[f"{name}/targets_max"].astype(np.int64))
    embeds = model.get_input_embeddings()(ids).detach().requires_grad_(True)
    logits = forward(model, npz, embeds)
    (grad,) = torch.autograd.grad(logits[torch.arange(len(ids)), -1, sel].sum(), embeds)
    plain, plain_R = logits.detach().numpy(), (embeds * grad).detach().numpy()
    from lxt.efficient import monkey_patch

    hf_module = importlib.import_module(f"transformers.models.{HF[family][0]}.modeling_{HF[family][0]}")
    maps = importlib.import_module(f"lxt.efficient.models.{HF[family][2]}")
    monkey_patch(hf_module, maps.attnLRP if method == "attnlrp" else maps.cp_LRP)
    fixed = json.loads(str(npz["meta"]))["fixed_target"]
    result = {}
    for target, sel in (("max", npz[f"{name}/targets_max"]), ("fixed", np.full(len(ids), fixed))):
        embeds = model.get_input_embeddings()(ids).detach().requires_grad_(True)
        logits = forward(model, npz, embeds)
        chosen = logits[torch.arange(len(ids)), -1, torch.as_tensor(sel.astype(np.int64))]
        (grad,) = torch.autograd.grad(chosen.sum(), embeds)
        R = (embeds * grad).detach().numpy()
        result[f"{target}"] = R
        result[f"{target}_logit"] = chosen.detach().numpy()
    # the patches took effect: LXT's relevance is not the plain input x gradient
    result["lxt_vs_gradient"] = np.array(relerr(result["max"], plain_R))
    result["patched_vs_plain"] = np.array(relerr(logits.detach().numpy(), plain, npz["padding_mask"] == 1))
    np.savez(out, **result)


# --------------------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(HERE, "lxt_decoders.npz"))
    ap.add_argument("--out", default=os.path.join(HERE, "lxt_decoders_relevance.npz"))
    ap.add_argument("--families", nargs="*", default=None, help="default: every family and variant stored")
    ap.add_argument("--one", nargs=3, metavar=("FAMILY", "METHOD", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    torch.set_default_dtype(torch.float64)
    if args.one:
        return run_one(args.models, *args.one)
    import lxt
    import transformers

    npz = np.load(args.models, allow_pickle=False)
    real = npz["padding_mask"] == 1
    pad = ~real
    out, report = {}, {}
    names = args.families or sorted({k.split("/")[0] for k in npz.files if k.endswith("/config")},
                                    key=lambda n: (list(HF).index(family_of(npz, n)), n))
    for family in names:
        with torch.no_grad():
            logits = forward(hf_model(npz, family), npz).numpy()
        err = relerr(logits, npz[f"{family}/logits"], real)
        report[f"{family}/logits_vs_keras"] = err
        assert np.isfinite(logits).all(), family
        assert err < 1e-6, (family, err)  # float32 in both: RMSNorm, softmax, keras' SiLU/GELU casts
        assert np.array_equal(logits[:, -1].argmax(-1), npz[f"{family}/targets_max"]), family
        out[f"{family}/logits"] = logits
        for method in METHODS:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "r.npz")
                subprocess.run([sys.executable, __file__, "--models", args.models, "--one", family, method, path],
                               check=True)
                r = dict(np.load(path, allow_pickle=False))
            report[f"{family}/{method}/patched_forward_vs_plain"] = float(r["patched_vs_plain"])
            assert r["patched_vs_plain"] < 1e-6, (family, method, r["patched_vs_plain"])
            report[f"{family}/{method}/lxt_vs_input_x_gradient"] = float(r["lxt_vs_gradient"])
            assert r["lxt_vs_gradient"] > 1e-2, (family, method, "LXT's patches did not change the gradient")
            for target in ("max", "fixed"):
                R = r[target]
                assert np.isfinite(R).all(), (family, method, target)
                assert not np.any(R[pad]), (family, method, target, "padding must get exactly 0")
                key = f"{family}/{method}/{target}"
                out[key] = R.astype(np.float32)
                out[key + "_tokens"] = R.sum(-1).astype(np.float32)
                out[key + "_logit"] = r[target + "_logit"]
                report[key + "/sum_over_logit"] = np.round(R.sum((1, 2)) / r[target + "_logit"], 4).tolist()
    out["meta"] = np.array(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__,
                                       "lxt": getattr(lxt, "__version__", "2.1"),
                                       "dtype": "computed float64 (HF's RMSNorm and eager softmax in float32), "
                                                "stored float32", "models": os.path.basename(args.models)}))
    np.savez_compressed(args.out, **out)
    report["out_bytes"] = os.path.getsize(args.out)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
