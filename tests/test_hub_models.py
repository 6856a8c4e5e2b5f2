"""keras-hub's ViT, BERT and GPT-2 blocks, tiny configs with random weights: the analyzers run.

Every analyzer gives finite attributions of the input shapes, not all zero; LRP-epsilon's
relevance sum over the explained logit is printed (``pytest -s``). DeepTaylor and Pattern*
refuse transformers. Nothing is downloaded (no presets).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import innv_core
from innv_core.errors import AnalysisWarning, NotAnalyzableModelError
from innv_core.keras_adapter import call_model
from innv_core.registry import get_registry

keras_hub = pytest.importorskip("keras_hub")
T = 8


def vit():
    backbone = keras_hub.models.ViTBackbone(image_shape=(16, 16, 3), patch_size=4, num_layers=2, num_heads=2,
                                            hidden_dim=16, mlp_dim=32)
    return keras_hub.models.ViTImageClassifier(backbone, num_classes=3, preprocessor=None, activation=None)


def bert():
    backbone = keras_hub.models.BertBackbone(vocabulary_size=30, num_layers=2, num_heads=2, hidden_dim=16,
                                             intermediate_dim=32, max_sequence_length=T)
    return keras_hub.models.BertTextClassifier(backbone, num_classes=3, preprocessor=None, activation=None)


def gpt2():
    """A decoder (causal attention) with a mean-pooled classification head."""
    backbone = keras_hub.models.GPT2Backbone(vocabulary_size=30, num_layers=2, num_heads=2, hidden_dim=16,
                                             intermediate_dim=32, max_sequence_length=T)
    tok = keras.Input((T,), dtype="int32", name="token_ids")
    pad = keras.Input((T,), dtype="int32", name="padding_mask")
    h = backbone({"token_ids": tok, "padding_mask": pad})
    return keras.Model([tok, pad], keras.layers.Dense(3)(keras.layers.GlobalAveragePooling1D()(h)))


def inputs_for(model):
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 30, (2, T)).astype("int32")
    ids[1, 5:] = 0
    pool = {"token_ids": ids, "padding_mask": ids != 0, "segment_ids": np.zeros_like(ids),
            "images": rng.random((2, 16, 16, 3)).astype("float32")}
    return [pool[k.name] for k in model.inputs]


MODELS = {"vit": vit, "bert": bert, "gpt2": gpt2}


@pytest.fixture(scope="module", params=sorted(MODELS))
def hub_model(request):
    keras.utils.set_random_seed(0)
    model = MODELS[request.param]()
    return request.param, model, inputs_for(model)


def _check(model, X, R):
    R = R if isinstance(R, list) else [R]
    explained = [r for r, k in zip(R, model.inputs) if k.name in ("token_ids", "images")]
    for r, x in zip(R, X):
        if r is not None:
            assert r.shape == x.shape and np.isfinite(r).all()
    assert explained and all(np.abs(r).max() > 0 for r in explained)
    return R


@pytest.mark.parametrize("name", ["lrp.epsilon", *(pytest.param(n, marks=pytest.mark.slow)
                                                  for n in ("lrp.cp_lrp", "integrated_gradients"))])
def test_analyzers_run(hub_model, name):
    model_name, model, X = hub_model
    analyzer = innv_core.create_analyzer(name, model)
    R = _check(model, X, analyzer.analyze(X))
    if name == "lrp.epsilon":
        out = np.asarray(call_model(model, [x.astype("int32") if x.dtype == bool else x for x in X]))
        total = sum(r.reshape(len(r), -1).sum(1) for r in R if r is not None)
        print(f"{model_name}: lrp.epsilon sum(R) / logit = {np.round(total / out.max(1), 3)}")


def test_relu_only_methods_refuse(hub_model):
    _, model, _ = hub_model
    for name in ("deep_taylor", "pattern.net"):
        with pytest.raises(NotAnalyzableModelError, match="ReLU networks only"):
            innv_core.create_analyzer(name, model)


NEEDS = {"lrp": {"rule": "Epsilon"}, "lrp.alpha_beta": {"alpha": 2, "beta": 1},
         "deep_taylor.bounded": {"low": 0.0, "high": 1.0}, "lrp.epsilon_gamma_box": {"low": 0.0, "high": 1.0}}
REFUSE = {"deep_taylor", "deep_taylor.bounded", "pattern.net", "pattern.attribution"}


@pytest.mark.slow
def test_every_analyzer_runs(hub_model):
    _, model, X = hub_model
    for name in sorted(get_registry().names("analyzers")):
        if name in REFUSE:
            continue
        analyzer = innv_core.create_analyzer(name, model, **NEEDS.get(name, {}))
        _check(model, X, analyzer.analyze(X))


def test_token_and_position_embedding_is_a_token_input():
    """keras-hub's composite embedding is where the graph is cut: padding gets exactly 0, and
    Integrated Gradients sums to the model's own f(x) - f(reference token) (its Keras mask, set in
    its call, reaches the encoder in the cut graph)."""
    keras.utils.set_random_seed(0)
    ids = keras.Input((6,), dtype="int32")
    h = keras_hub.layers.TokenAndPositionEmbedding(20, 6, 8, mask_zero=True)(ids)
    h = keras_hub.layers.TransformerEncoder(16, 2)(h)
    model = keras.Model(ids, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(h)))
    X = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]], "int32")
    for name in ("lrp.attnlrp", "deep_lift.wrapper", "smoothgrad"):
        R = innv_core.create_analyzer(name, model).analyze(X)
        assert R.shape == X.shape and not np.any(R[X == 0]) and np.abs(R).max() > 0
    ig = innv_core.create_analyzer("integrated_gradients", model, reference_token=1, steps=128,
                                   neuron_selection_mode="index")
    R = ig.analyze(X, neuron_selection=0)
    delta = np.asarray(model(X))[:, 0] - np.asarray(model(np.where(X > 0, 1, 0)))[:, 0]
    assert not np.any(R[X == 0])
    np.testing.assert_allclose(R.sum(1), delta, rtol=5e-3, atol=5e-3)


def test_input_layer_rule_without_a_layer_to_apply_to_warns():
    """A ViT's patch embedding is inside an opened keras-hub layer: the input rule cannot apply."""
    keras.utils.set_random_seed(0)
    model = vit()
    with pytest.warns(AnalysisWarning, match="input_layer_rule has no layer to apply to"):
        innv_core.create_analyzer("lrp.attnlrp", model, input_layer_rule="Flat")


@pytest.mark.parametrize("name", ["lrp.attnlrp", "deep_lift.wrapper", "integrated_gradients"])
def test_padding_vectors_do_not_matter(name):
    """The padding mask set by the cut embedding reaches the encoder in every analyzer's forward
    pass: changing the padding id's embedding vector leaves the real tokens' attributions as
    they are (an encoder that attended to padded keys would change them)."""
    keras.utils.set_random_seed(0)
    ids = keras.Input((6,), dtype="int32")
    embedding = keras_hub.layers.TokenAndPositionEmbedding(20, 6, 8, mask_zero=True)
    h = keras_hub.layers.TransformerEncoder(16, 2)(embedding(ids))
    model = keras.Model(ids, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(h)))
    X = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]], "int32")
    before = innv_core.create_analyzer(name, model).analyze(X)
    table = embedding.token_embedding.embeddings
    table.assign(np.concatenate([np.full((1, 8), 5.0, "float32"), table.numpy()[1:]]))
    after = innv_core.create_analyzer(name, model).analyze(X)
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-6)


def test_the_token_inputs_page_example(tmp_path):
    """docs/token-inputs.md's keras-hub example runs as written and indexes the result by name."""
    import runpy
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "token-inputs.md").read_text()
    marker = "<!-- run by tests/test_hub_models.py::test_the_token_inputs_page_example -->\n```python\n"
    code = page.split(marker, 1)[1].split("\n```", 1)[0]
    (tmp_path / "example.py").write_text(code)
    keras.utils.set_random_seed(0)
    namespace = runpy.run_path(str(tmp_path / "example.py"))  # the page's code, as a script
    analysis, ids = namespace["analysis"], namespace["ids"]
    assert list(analysis) == ["token_ids", "padding_mask", "segment_ids"]
    assert [t.name for t in namespace["classifier"].inputs][0] == "padding_mask"  # model order differs
    per_token = namespace["per_token"]
    assert per_token.shape == ids.shape and np.abs(per_token).max() > 0 and not np.any(per_token[ids == 0])
    assert not np.any(analysis["padding_mask"])
