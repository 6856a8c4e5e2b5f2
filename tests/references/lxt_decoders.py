"""Tiny keras-hub 0.32 causal LMs for the LXT 2.1 decoder cross-check (issue 25, point 4).

``main()`` (in the innv venv) builds Llama, Qwen2, Qwen3, GPT-2 and Gemma3 causal LMs in float64
from tiny configs (``tests/hub_decoders.py``'s, extended so that the weight mapping is exercised:
rope wavelengths other than the default, a head_dim other than hidden/heads, tied and untied heads,
grouped-query attention, Gemma3's sliding windows and its global layer), sets seeded weights, and
writes ``lxt_decoders.npz``. ``gen_lxt_decoders.py`` (in ~/venv-hf) maps those weights into the
Hugging Face models, checks the logits, and runs LXT. See README.md, "LXT 2.1 on decoders".

    python tests/references/lxt_decoders.py

npz keys (the models compute in float64; their weights are float32 values, stored as float32):
  ``token_ids``, ``padding_mask`` (3, 8) int32: row 0 has 3 left pads, row 2 one, row 1 none
  ``<family>/config``: 0-d JSON, the backbone's keyword arguments (``build`` rebuilds from it)
  ``<family>/w/<weight path>``, ``<family>/weight_paths`` (``model.weights`` order)
  ``<family>/logits`` (3, 8, V): the causal LM's logits; ``<family>/targets_max`` (3,): the
  argmax of the last position's logits
  a variant (``VARIANTS``: a family with other arguments) has the same keys but its weights:
  ``<variant>/weights_of`` names the family whose stored weights it uses
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for hub_decoders

import keras  # noqa: E402
from hub_decoders import CONFIGS as HUB_CONFIGS  # noqa: E402
from hub_decoders import HIDDEN, INTERMEDIATE, LAYERS, V  # noqa: E402

FAMILIES = ("Llama", "Qwen2", "Qwen3", "GPT2", "Gemma3")
#: variant -> (family, backbone arguments beyond the family's), with the family's weights. The
#: soft-capped head: innv's identity rule there against LXT's true gradient of c*tanh(z/c).
VARIANTS = {"Gemma3-softcap": ("Gemma3", {"final_logit_soft_cap": 10.0})}
DTYPE = "float64"
SEQ_LEN = 8
LEFT_PADS = (3, 0, 1)
#: the second target of the check: one fixed token for every row (the first is each row's argmax)
FIXED_TARGET = 7
SEED_INPUTS = 11
SEEDS = {"Llama": 101, "Qwen2": 102, "Qwen3": 103, "GPT2": 104, "Gemma3": 105}

#: family -> keras-hub backbone arguments: hub_decoders' tiny config, plus what makes the mapping
#: to Hugging Face non-trivial. Gemma3 gets 6 layers: keras-hub (and HF) make every 6th layer
#: global (rope 1e6) and the others sliding-window (rope 1e4); a window of 4 < 8 tokens is active.
CONFIGS = {
    "Llama": {**HUB_CONFIGS["Llama"], "rope_max_wavelength": 500000.0, "layer_norm_epsilon": 1e-5,
              "tie_word_embeddings": False},
    "Qwen2": {**HUB_CONFIGS["Qwen2"], "rope_max_wavelength": 1000000.0, "layer_norm_epsilon": 1e-6,
              "tie_word_embeddings": True},
    "Qwen3": {**HUB_CONFIGS["Qwen3"], "head_dim": 8, "rope_max_wavelength": 1000000.0,
              "layer_norm_epsilon": 1e-6, "tie_word_embeddings": False},
    "GPT2": {**HUB_CONFIGS["GPT2"], "dropout": 0.0},
    "Gemma3": {**HUB_CONFIGS["Gemma3"], "num_layers": 6, "head_dim": 8, "use_post_attention_norm": True,
               "use_post_ffw_norm": True, "use_sliding_window_attention": True, "sliding_window_size": 4,
               "layer_norm_epsilon": 1e-6},
}


def family_of(name: str) -> str:
    """The keras-hub family of a family or variant name."""
    return VARIANTS.get(name, (name, {}))[0]


def config(name: str) -> dict:
    """The backbone's keyword arguments."""
    family, extra = VARIANTS.get(name, (name, {}))
    return {"vocabulary_size": V, "num_layers": LAYERS, "hidden_dim": HIDDEN, "intermediate_dim": INTERMEDIATE,
            **CONFIGS[family], **extra}


def build(name: str, kwargs: dict | None = None):
    """The ``CausalLM`` (no preprocessor) in float64 from ``kwargs`` (default: ``config``)."""
    import keras_hub

    family = family_of(name)
    kwargs = config(name) if kwargs is None else kwargs
    backbone = getattr(keras_hub.models, family + "Backbone")(dtype=DTYPE, **kwargs)
    return getattr(keras_hub.models, family + "CausalLM")(backbone=backbone, preprocessor=None)


def inputs() -> dict:
    rng = np.random.default_rng(SEED_INPUTS)
    ids = rng.integers(1, V, size=(len(LEFT_PADS), SEQ_LEN)).astype("int32")
    for row, pads in enumerate(LEFT_PADS):
        ids[row, :pads] = 0
    return {"token_ids": ids, "padding_mask": (ids != 0).astype("int32")}


# --------------------------------------------------------------------------- weights


def _einsum_fan_in(layer) -> int:
    """The product of the kernel dimensions an EinsumDense contracts with its input."""
    left, out = layer.equation.split("->")
    x, k = left.split(",")
    return int(np.prod([n for c, n in zip(k, layer.kernel.shape) if c in x and c not in out]))


def _roles(model) -> tuple[dict, set]:
    """kernel path -> fan-in, and the paths of Gemma's ``(1 + w)`` norm scales."""
    fan_in, gemma = {}, set()
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.EinsumDense):
            fan_in[layer.kernel.path] = _einsum_fan_in(layer)
        elif isinstance(layer, keras.layers.Dense):
            fan_in[layer.kernel.path] = int(layer.kernel.shape[0])
        elif type(layer).__module__.endswith("gemma3_layers") and type(layer).__name__ == "RMSNormalization":
            gemma.add(layer.scale.path)
    return fan_in, gemma


def randomize(model, seed: int) -> None:
    """Seeded weights keeping activations O(1): kernels N(0, 1/fan_in), biases and LayerNorm shifts
    N(0, 0.1), norm scales 1 + N(0, 0.1) (Gemma's ``(1 + w)``: w ~ N(0, 0.1)), token embeddings
    N(0, 1), GPT-2's position embeddings N(0, 0.5), an untied head N(0, 1/hidden)."""
    rng = np.random.default_rng(seed)
    fan_in, gemma = _roles(model)
    for w in model.weights:
        shape, leaf = tuple(w.shape), w.path.split("/")[-1]
        if w.path in fan_in:
            v = rng.normal(0.0, 1.0 / np.sqrt(fan_in[w.path]), shape)
        elif leaf in ("bias", "beta"):
            v = rng.normal(0.0, 0.1, shape)
        elif leaf == "scale" and w.path in gemma:
            v = rng.normal(0.0, 0.1, shape)
        elif leaf in ("scale", "gamma"):
            v = 1.0 + rng.normal(0.0, 0.1, shape)
        elif leaf == "embeddings":
            v = rng.normal(0.0, 0.5 if w.path.startswith("position") else 1.0, shape)
        elif leaf == "reverse_embeddings":
            v = rng.normal(0.0, 1.0 / np.sqrt(shape[0]), shape)
        else:
            raise ValueError(f"unexpected weight {w.path} {shape}")
        w.assign(v.astype("float32").astype(w.dtype))  # float32 values: stored losslessly as float32


def weights_of(npz, name: str) -> str:
    """The key prefix of the weights ``name`` uses (a variant uses its family's)."""
    return str(npz[f"{name}/weights_of"]) if f"{name}/weights_of" in npz else name


def load_weights(model, npz, name: str) -> None:
    """Set ``model``'s weights from ``npz`` by weight path (the stored order must be the model's)."""
    family = weights_of(npz, name)
    paths = [str(p) for p in npz[f"{family}/weight_paths"]]
    mine = [w.path for w in model.weights]
    if paths != mine:
        raise ValueError(f"{family}: weight paths differ:\nstored {paths}\nmodel  {mine}")
    for w in model.weights:
        w.assign(npz[f"{family}/w/{w.path}"])


def from_npz(npz, family: str):
    """The stored family's causal LM with its stored weights."""
    model = build(family, json.loads(str(npz[f"{family}/config"])))
    load_weights(model, npz, family)
    return model


def check_padding(model, x) -> None:
    """Left padding must not reach the real positions: another token id under the padding leaves
    their logits bit for bit."""
    other = dict(x, token_ids=np.where(x["padding_mask"] == 0, 5, x["token_ids"]).astype("int32"))
    a, b = np.asarray(model(x)), np.asarray(model(other))
    real = x["padding_mask"] == 1
    assert np.array_equal(a[real], b[real]), "padding leaks into the real positions"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "lxt_decoders.npz"))
    ap.add_argument("--families", nargs="*", default=[*FAMILIES, *VARIANTS])
    args = ap.parse_args(argv)
    import keras_hub

    x = inputs()
    out = dict(x)
    for family in args.families:
        model = build(family)
        randomize(model, SEEDS[family_of(family)])
        check_padding(model, x)
        paths = [w.path for w in model.weights]
        assert len(set(paths)) == len(paths), "weight paths are not unique"
        if family in VARIANTS:
            assert family_of(family) in args.families, f"{family} needs the weights of {family_of(family)}"
            out[f"{family}/weights_of"] = np.array(family_of(family))
        else:
            out.update({f"{family}/w/{w.path}": np.asarray(w.numpy()).astype("float32") for w in model.weights})
            out[f"{family}/weight_paths"] = np.array(paths)
        out[f"{family}/config"] = np.array(json.dumps(config(family)))
        logits = np.asarray(model(x))
        out[f"{family}/logits"] = logits
        out[f"{family}/targets_max"] = logits[:, -1].argmax(-1).astype("int32")
        margin = np.sort(logits[:, -1], -1)
        print(family, "targets", out[f"{family}/targets_max"], "top-2 margins",
              np.round(margin[:, -1] - margin[:, -2], 3), "weights", sum(w.numpy().size for w in model.weights))
    out["meta"] = np.array(json.dumps({"keras": keras.__version__, "keras_hub": keras_hub.__version__,
                                       "fixed_target": FIXED_TARGET}))
    np.savez_compressed(args.out, **out)
    print("wrote", args.out, os.path.getsize(args.out), "bytes")
    npz = np.load(args.out, allow_pickle=False)  # round trip
    for family in args.families:
        assert np.array_equal(np.asarray(from_npz(npz, family)(x)), npz[f"{family}/logits"]), family


if __name__ == "__main__":
    main()
