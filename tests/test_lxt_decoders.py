"""AttnLRP and CP-LRP on keras-hub causal LMs against LXT 2.1 on Hugging Face transformers.

The references (``tests/references/lxt_decoders_relevance.npz``) were made by
``gen_lxt_decoders.py``: the tiny keras-hub models of ``lxt_decoders.py`` (float64, seeded
weights, left padding in two of three rows) mapped into ``LlamaForCausalLM``,
``Qwen2ForCausalLM``, ``Qwen3ForCausalLM``, ``GPT2LMHeadModel`` and ``Gemma3ForCausalLM`` (logits
equal to 2e-7), with
LXT's own ``monkey_patch`` (efficient mode). Relevance is input x gradient at the token embedding
output for the last position's logit of each row's argmax token and of one fixed token; innv
runs ``lrp.attnlrp`` / ``lrp.cp_lrp`` (default epsilon) on the generic wrapper of
``docs/generation.md`` with ``token_reduce=None`` (per feature) and compares at the same place.
Tolerance: max|innv - LXT| / max|LXT| < 1e-3 over the whole array, per feature and per token;
left padding exactly 0. A soft-capped Gemma3 head is a convention difference (innv: the identity
rule, LXT: the true gradient of ``c tanh(z/c)``), checked as the factor it must be (slow).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import REFERENCES, reference_module

pytest.importorskip("keras_hub")
REFS = REFERENCES
FAMILIES = ("Llama", "Qwen2", "Qwen3", "GPT2", "Gemma3")
METHODS = {"attnlrp": "lrp.attnlrp", "cp": "lrp.cp_lrp"}
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def models():
    return np.load(REFS / "lxt_decoders.npz", allow_pickle=False)


@pytest.fixture(scope="module")
def refs():
    return np.load(REFS / "lxt_decoders_relevance.npz", allow_pickle=False)


@pytest.fixture(scope="module")
def wrappers(models):
    """family -> the last-position wrapper of the stored causal LM (built once per module)."""
    from hub_decoders import last_logits

    lxt_decoders, built = reference_module("lxt_decoders"), {}

    def get(family):
        if family not in built:
            built[family] = last_logits(lxt_decoders.from_npz(models, family))
        return built[family]

    return get


def _inputs(models):
    return {"token_ids": models["token_ids"], "padding_mask": models["padding_mask"]}


def relative(got, want):
    return float(np.abs(got - want).max() / np.abs(want).max())


@pytest.mark.parametrize("family", FAMILIES)
def test_models_reproduce_the_logits(models, refs, wrappers, family):
    """The rebuilt keras model gives its stored logits, which HF reproduced (real positions)."""
    x = _inputs(models)
    np.testing.assert_allclose(np.asarray(wrappers(family)(x)), models[f"{family}/logits"][:, -1], rtol=1e-9,
                               atol=1e-12)
    real = x["padding_mask"] == 1
    assert relative(refs[f"{family}/logits"][real], models[f"{family}/logits"][real]) < 1e-6


def _selections(models, family):
    fixed = json.loads(str(models["meta"]))["fixed_target"]
    return (("max", models[f"{family}/targets_max"]), ("fixed", np.full(3, fixed)))


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("family", FAMILIES)
def test_matches_lxt(models, refs, wrappers, family, method):
    import innv_core

    x = _inputs(models)
    analyzer = innv_core.create_analyzer(METHODS[method], wrappers(family), neuron_selection_mode="index")
    for target, selection in _selections(models, family):
        got = analyzer.analyze(x, neuron_selection=selection, token_reduce=None)["token_ids"]
        want = refs[f"{family}/{method}/{target}"]
        assert got.shape == want.shape == (*x["token_ids"].shape, want.shape[-1])
        per_feature, per_token = relative(got, want), relative(got.sum(-1), refs[f"{family}/{method}/{target}_tokens"])
        print(f"{family} {method} {target}: max rel diff per feature {per_feature:.1e}, per token {per_token:.1e}")
        assert per_feature < TOLERANCE and per_token < TOLERANCE
        assert not np.any(got[x["padding_mask"] == 0]), "left padding must get exactly 0"


@pytest.mark.slow  # 6 more Gemma3 blocks to open per method (10-18 s each on a loaded machine)
@pytest.mark.parametrize("method", sorted(METHODS))
def test_soft_capped_head_differs_from_lxt_by_its_rule(models, refs, wrappers, method):
    """Gemma3 with ``final_logit_soft_cap=c`` (the same weights as Gemma3). innv crosses the cap
    ``y = c tanh(z/c)`` by the identity rule (relevance ``y`` reaches ``z``); LXT has no rule for it
    and keeps its gradient ``1 - (y/c)**2``. Everything below the cap is the same, so per row
    innv = LXT * (y / z) / (1 - (y/c)**2), with ``z`` the uncapped logit (stored for Gemma3)."""
    import innv_core

    name, x = "Gemma3-softcap", _inputs(models)
    c = json.loads(str(models[f"{name}/config"]))["final_logit_soft_cap"]
    analyzer = innv_core.create_analyzer(METHODS[method], wrappers(name), neuron_selection_mode="index")
    rows = np.arange(3)
    for target, selection in _selections(models, name):
        got = analyzer.analyze(x, neuron_selection=selection, token_reduce=None)["token_ids"]
        y = models[f"{name}/logits"][rows, -1, selection]
        z = models["Gemma3/logits"][rows, -1, selection]
        np.testing.assert_allclose(y, c * np.tanh(z / c), rtol=1e-12)
        factor = (y / z) / (1.0 - (y / c) ** 2)
        want = refs[f"{name}/{method}/{target}"] * factor[:, None, None]
        rel = relative(got, want)
        print(f"{name} {method} {target}: max rel diff after the factor {rel:.1e}, "
              f"without it {relative(got, refs[f'{name}/{method}/{target}']):.1e}")
        assert rel < TOLERANCE
        assert not np.any(got[x["padding_mask"] == 0])
