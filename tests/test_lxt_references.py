"""AttnLRP and CP-LRP on keras-hub transformers against LXT 2.1 (PyTorch), identical weights.

The references (``tests/references/lxt_relevance.npz``) were made by ``gen_lxt.py`` with LXT's own
rules on torch mirrors of a keras-hub text encoder (token + position embedding, 2 post-norm
``TransformerEncoder`` blocks, masked padding, mean pooling) and a keras-hub ``ViTBackbone``
(patch embedding, class token, 2 pre-norm blocks, CLS pooling), float64. innv opens the keras-hub
blocks and Keras' ``MultiHeadAttention`` (docs/opening-layers.md). Tolerance:
max|innv - LXT| / max|LXT| < 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import REFERENCES, reference_module

import innv_core

pytest.importorskip("keras_hub")
REFS = REFERENCES


@pytest.fixture(scope="module")
def models():
    lxt_models = reference_module("lxt_models")
    weights = np.load(REFS / "lxt_models.npz")
    text, vit = lxt_models.build_text_model(), lxt_models.build_vit_model()
    lxt_models.load_weights(text, weights, "text")
    lxt_models.load_weights(vit, weights, "vit")
    return {"text": (text, weights["text/x"]), "vit": (vit, weights["vit/x"].astype("float32"))}


@pytest.fixture(scope="module")
def refs():
    return np.load(REFS / "lxt_relevance.npz")


@pytest.mark.parametrize("name", ["text", "vit"])
def test_models_reproduce_the_logits(models, refs, name):
    model, x = models[name]
    np.testing.assert_allclose(np.asarray(model(x)), refs[f"{name}_logits"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["text", "vit"])
@pytest.mark.parametrize("convention", ["attnlrp", "cp"])
@pytest.mark.parametrize("eps", [pytest.param(1e-3, marks=pytest.mark.slow), 1e-9])
def test_matches_lxt(models, refs, name, convention, eps):
    """Both targets: each sample's max logit (LXT's argmax, checked against innv's) and neuron 1."""
    model, x = models[name]
    analyzer = innv_core.create_analyzer(
        "lrp.epsilon", model, epsilon=eps, attention=convention, neuron_selection_mode="index"
    )
    kwargs = {"token_reduce": None} if name == "text" else {}
    targets = refs[f"{name}_targets_max"]
    assert np.array_equal(targets, np.argmax(np.asarray(model(x)), axis=1))
    for target, selection in (("max", targets), ("neuron1", 1)):
        got = analyzer.analyze(x, neuron_selection=selection, **kwargs)
        want = refs[f"{name}_{convention}_{eps:.0e}_{target}"]
        rel = np.abs(got - want).max() / np.abs(want).max()
        print(f"{name} {convention} eps={eps:g} {target}: max rel diff {rel:.2e}")
        assert rel < 1e-3
        if name == "text":
            assert not np.any(got[x == 0]), "padded tokens must get exactly 0"
