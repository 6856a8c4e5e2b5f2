"""``explain_generation`` (docs/llms.md): each generated token's relevance, spans, contrasts.

Checked against independent numbers: row j equals the generic path (a wrapper of the last
position's logits, ``tests/test_hub_decoders.py``) on the prefix that predicts token j; greedy
tokens are the model's own argmax; LRP is linear in its start, so a span's relevance is the sum of
its tokens' rows and a contrast is row(a) − row(b); the gradient of a span's log-probability
matches central finite differences of a float64 copy of the model.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hub_decoders import V, backbone, causal_lm, last_logits

import innv_core
from innv_core.errors import InvalidInputError, InvalidParameterError, NotAnalyzableModelError
from innv_core.generation import Continuation, Contrast, Span
from innv_core.generation.explain import analyze_rows, analyzers_of, cache_of

pytest.importorskip("keras_hub")

PROMPT = [1, 5, 6, 7, 8]


@pytest.fixture(scope="module")
def llama():
    keras.utils.set_random_seed(0)
    return causal_lm("Llama")


@pytest.fixture(scope="module")
def gpt2():
    keras.utils.set_random_seed(0)
    return causal_lm("GPT2")


def _logits(lm, ids) -> np.ndarray:
    ids = np.asarray([ids], np.int32)
    return np.asarray(lm({"token_ids": ids, "padding_mask": np.ones_like(ids)}))[0]


def _generic_analyzer(lm, name):
    return innv_core.create_analyzer(name, last_logits(lm), neuron_selection_mode="index")


def _generic(lm, name, prefix, token, analyzer=None) -> np.ndarray:
    """The generic path: the last position's logits of ``prefix``, neuron ``token``."""
    analyzer = analyzer or _generic_analyzer(lm, name)
    ids = np.asarray([prefix], np.int32)
    return analyzer.analyze({"token_ids": ids, "padding_mask": np.ones_like(ids)}, neuron_selection=[token])["token_ids"][0]


# -- the rows ------------------------------------------------------------------------------------
@pytest.mark.parametrize("family,name", [("Llama", "lrp.attnlrp"), ("GPT2", "lrp.attnlrp"),
                                         ("Qwen2", "input_t_gradient")])
def test_each_row_is_the_generic_paths_analysis_of_its_prefix(family, name, llama, gpt2):
    lm = {"Llama": llama, "GPT2": gpt2}.get(family) or causal_lm(family)
    res = innv_core.explain_generation(lm, PROMPT, max_new_tokens=4, method=name)
    assert res.relevance.shape == (4, len(PROMPT) + 4) and len(res.generated) == 4
    generic = _generic_analyzer(lm, name)
    for j, token in enumerate(res.generated):
        p = len(PROMPT) + j  # the position of token j; positions 0..p-1 predict it
        expected = _generic(lm, name, res.tokens[:p], token, generic)
        assert np.abs(expected).max() > 0
        np.testing.assert_allclose(res.relevance[j, :p], expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
        assert not np.any(res.relevance[j, p:]) and not np.any(res.readable[j, p:]) and res.readable[j, :p].all()


def test_the_analysis_itself_gives_the_later_tokens_exactly_zero(llama):
    """Zero from the explained token's position on is the causal mask at work, not a cut-off."""
    res = innv_core.explain_generation(llama, PROMPT, max_new_tokens=3)
    (analyzer,) = analyzers_of(llama, "lrp.attnlrp")
    from innv_core.generation.targets import token_rows

    rows = token_rows(len(PROMPT), res.generated, res.row_labels)
    raw, scores = analyze_rows(analyzer, res.tokens, rows)
    for j in range(3):
        assert np.all(raw[j, len(PROMPT) + j:] == 0.0)
    np.testing.assert_array_equal(raw, res.relevance)
    logits = _logits(llama, res.tokens)
    np.testing.assert_allclose(scores, [logits[len(PROMPT) - 1 + j, t] for j, t in enumerate(res.generated)],
                               rtol=1e-5)


@pytest.mark.parametrize("fixture", ["llama", "gpt2"])
def test_greedy_tokens_are_the_models_argmax(fixture, request):
    lm = request.getfixturevalue(fixture)
    sampler = lm.sampler
    res = innv_core.explain_generation(lm, PROMPT, max_new_tokens=5)
    logits = _logits(lm, res.tokens)
    np.testing.assert_array_equal(res.generated, logits[len(PROMPT) - 1:-1].argmax(axis=-1))
    assert lm.sampler is sampler  # the user's sampler is back


def test_a_given_continuation_is_explained_token_by_token(llama):
    given = [3, 9, 27]
    res = innv_core.explain_generation(llama, PROMPT, target=given)
    assert list(res.generated) == given and res.relevance.shape == (3, 8)
    same = innv_core.explain_generation(llama, PROMPT, target=Continuation(given), max_new_tokens=3)
    np.testing.assert_array_equal(res.relevance, same.relevance)
    np.testing.assert_allclose(res.relevance[2, :7], _generic(llama, "lrp.attnlrp", [*PROMPT, 3, 9], 27),
                               rtol=1e-4, atol=1e-8)


# -- spans and contrasts -----------------------------------------------------------------------
def test_a_spans_lrp_relevance_is_the_sum_of_its_tokens_rows(llama):
    given = [3, 9, 27, 4]
    rows = innv_core.explain_generation(llama, PROMPT, target=given)
    span = innv_core.explain_generation(llama, PROMPT, target=Span(given))
    assert span.relevance.shape == (1, 9) and "sum of the span's logits" in span.quantity
    np.testing.assert_allclose(span.relevance[0], rows.relevance.sum(axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(span.scores[0], rows.scores.sum(), rtol=1e-5)
    greedy = innv_core.explain_generation(llama, PROMPT, max_new_tokens=3, target=Span())
    generated = innv_core.explain_generation(llama, PROMPT, max_new_tokens=3)
    np.testing.assert_allclose(greedy.relevance[0], generated.relevance.sum(axis=0), rtol=1e-5, atol=1e-7)


def test_a_contrast_is_row_a_minus_row_b(llama):
    a, b = 11, 30
    res = innv_core.explain_generation(llama, PROMPT, target=Contrast(a, b))
    row_a = innv_core.explain_generation(llama, PROMPT, target=[a]).relevance[0, :len(PROMPT)]
    row_b = innv_core.explain_generation(llama, PROMPT, target=[b]).relevance[0, :len(PROMPT)]
    assert res.relevance.shape == (1, len(PROMPT)) and np.abs(row_a - row_b).max() > 0
    np.testing.assert_allclose(res.relevance[0], row_a - row_b, rtol=1e-5, atol=1e-7)
    logits = _logits(llama, PROMPT)[-1]
    np.testing.assert_allclose(res.scores[0], logits[a] - logits[b], rtol=1e-5)


def _float64_copy(lm):
    import keras_hub

    copy = keras_hub.models.LlamaCausalLM(backbone=backbone_of(lm, "float64"), preprocessor=None)
    copy.set_weights([np.asarray(w, np.float64) for w in lm.get_weights()])
    return copy


def backbone_of(lm, dtype):
    import keras_hub

    config = {**lm.backbone.get_config(), "dtype": dtype}
    return keras_hub.models.LlamaBackbone.from_config(config)


def test_the_gradient_of_a_span_is_the_finite_difference_gradient_of_its_log_probability(llama):
    """Gradient (summed per token over the embedding axis) = the derivative of log p(span) along
    the all-ones direction of that token's embedding vector, by central differences in float64
    (the prompt's and span's ids are distinct, and Llama's LM head is untied: moving a token's
    input vector moves that position only)."""
    given = [3, 9, 27]
    res = innv_core.explain_generation(llama, PROMPT, method="gradient", target=Span(given))
    assert "log-probability" in res.quantity
    lm64 = _float64_copy(llama)
    table = lm64.backbone.token_embedding.embeddings
    ids = np.asarray([[*PROMPT, *given]], np.int32)
    n = len(PROMPT)

    def log_probability() -> float:
        z = np.asarray(lm64({"token_ids": ids, "padding_mask": np.ones_like(ids)}), np.float64)[0]
        logp = z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(-1, keepdims=True)
        return float(sum(logp[n - 1 + i, t] for i, t in enumerate(given)))

    np.testing.assert_allclose(log_probability(), res.scores[0], rtol=1e-5)
    h, original = 1e-5, np.asarray(table).copy()
    fd = []
    for position in range(len(ids[0])):
        values = []
        for sign in (1, -1):
            moved = original.copy()
            moved[ids[0, position]] += sign * h
            table.assign(moved)
            values.append(log_probability())
        fd.append((values[0] - values[1]) / (2 * h))
    table.assign(original)
    assert np.abs(fd).max() > 1e-2 and fd[-1] == 0.0  # the span's last token is read by nothing
    np.testing.assert_allclose(res.relevance[0], fd, rtol=1e-3, atol=1e-5 * np.abs(fd).max())


# -- one analyzer, one trace, memory chunks ------------------------------------------------------
def test_one_analyzer_and_one_trace_for_any_prompt_and_continuation(gpt2):
    n_weights = len(gpt2.weights)
    innv_core.explain_generation(gpt2, PROMPT, max_new_tokens=3, method="lrp.epsilon")
    innv_core.explain_generation(gpt2, [4, 2], max_new_tokens=6, method="lrp.epsilon")
    innv_core.explain_generation(gpt2, PROMPT, target=Span([3, 4]), method="lrp.epsilon")
    innv_core.explain_generation(gpt2, PROMPT, target=Contrast(3, 4), method="lrp.epsilon")
    analyzers = analyzers_of(gpt2, "lrp.epsilon")
    assert len(analyzers) == 1 and analyzers[0]._trace_count == 1
    assert len(gpt2.weights) == n_weights  # the kept wrappers are no sublayers of the model
    assert len(cache_of(gpt2)) >= 3


def test_a_small_memory_budget_analyzes_row_by_row_with_the_same_result(gpt2):
    whole = innv_core.explain_generation(gpt2, PROMPT, max_new_tokens=4)
    from innv_core.generation.explain import rows_per_call

    (analyzer,) = analyzers_of(gpt2, "lrp.attnlrp")
    assert rows_per_call(analyzer, 9, 1.0) == 1 and rows_per_call(analyzer, 9, 2 * 1024**3) > 4
    chunked = innv_core.explain_generation(gpt2, PROMPT, max_new_tokens=4, memory_budget=1.0)
    np.testing.assert_allclose(chunked.relevance, whole.relevance, rtol=1e-6, atol=1e-9)


# -- bad input (issue 25, point 7) ---------------------------------------------------------------
def test_a_prompt_longer_than_the_sequence_length_is_refused(gpt2):
    with pytest.raises(InvalidInputError, match="17 tokens, more than the model's sequence length 16"):
        innv_core.explain_generation(gpt2, list(range(1, 18)), max_new_tokens=1)
    with pytest.raises(InvalidInputError, match=r"make 18, more than .* Ask for at most 6 new tokens"):
        innv_core.explain_generation(gpt2, list(range(1, 11)), max_new_tokens=8)
    with pytest.raises(InvalidInputError, match="Ask for at most 1 new tokens"):
        innv_core.explain_generation(gpt2, list(range(1, 16)), target=[1, 2])


def test_token_ids_outside_the_vocabulary_are_refused(gpt2):
    with pytest.raises(InvalidInputError, match=rf"The prompt holds token id\(s\) \[{V}\] .* valid ids are 0..{V - 1}"):
        innv_core.explain_generation(gpt2, [1, V], max_new_tokens=1)
    with pytest.raises(InvalidInputError, match=r"The target holds token id\(s\) \[-1\]"):
        innv_core.explain_generation(gpt2, [1, 2], target=Span([3, -1]))
    with pytest.raises(InvalidInputError, match=r"The contrast holds token id\(s\) \[99\]"):
        innv_core.explain_generation(gpt2, [1, 2], target=Contrast(3, 99))


def test_a_target_span_of_the_wrong_length_is_refused(gpt2):
    with pytest.raises(InvalidParameterError, match="The target span has 3 token.* but max_new_tokens=2"):
        innv_core.explain_generation(gpt2, PROMPT, max_new_tokens=2, target=Span([3, 4, 5]))
    with pytest.raises(InvalidParameterError, match="is empty"):
        innv_core.explain_generation(gpt2, PROMPT, target=Span([]))
    with pytest.raises(InvalidParameterError, match="max_new_tokens is needed"):
        innv_core.explain_generation(gpt2, PROMPT, target=Span())
    with pytest.raises(InvalidParameterError, match="right after the prompt"):
        innv_core.explain_generation(gpt2, PROMPT, max_new_tokens=2, target=Contrast(3, 4))
    with pytest.raises(InvalidParameterError, match="with itself"):
        Contrast(3, 3)


def test_a_model_without_a_causal_lm_head_is_refused():
    with pytest.raises(NotAnalyzableModelError, match=r"backbone without a causal LM head.*LlamaCausalLM\(backbone"):
        innv_core.explain_generation(backbone("Llama"), PROMPT, max_new_tokens=1)
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    with pytest.raises(NotAnalyzableModelError, match="not a keras-hub causal LM.*generic path"):
        innv_core.explain_generation(dense, PROMPT, max_new_tokens=1)


def test_other_bad_prompts_and_targets_are_refused(gpt2):
    with pytest.raises(InvalidInputError, match="has no preprocessor"):
        innv_core.explain_generation(gpt2, "a string", max_new_tokens=1)
    with pytest.raises(InvalidInputError, match="one sequence of token ids"):
        innv_core.explain_generation(gpt2, [[1, 2], [3, 4]], max_new_tokens=1)
    with pytest.raises(InvalidInputError, match="empty"):
        innv_core.explain_generation(gpt2, [], max_new_tokens=1)
    with pytest.raises(InvalidParameterError, match="give the continuation as token ids"):
        innv_core.explain_generation(gpt2, PROMPT, target="Paris")
    with pytest.raises(InvalidParameterError, match="leave neuron_selection_mode out"):
        innv_core.explain_generation(gpt2, PROMPT, max_new_tokens=1, neuron_selection_mode="index")


# -- strings ---------------------------------------------------------------------------------------
def _tiny_gpt2_with_tokenizer():
    """A GPT-2 causal LM with an in-memory byte-level BPE tokenizer (no download)."""
    import keras_hub

    pieces = ["<|endoftext|>", "a", "b", "c", "d", "=", "?", "Ġ", "Ġa", "Ġb", "Ġc", "Ġd", "Ġ=", "Ġ?"]
    vocabulary = {p: i for i, p in enumerate(pieces)}
    tokenizer = keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=["Ġ a", "Ġ b", "Ġ c", "Ġ d",
                                                                             "Ġ =", "Ġ ?"])
    preprocessor = keras_hub.models.GPT2CausalLMPreprocessor(tokenizer, sequence_length=16)
    keras.utils.set_random_seed(1)
    bb = keras_hub.models.GPT2Backbone(vocabulary_size=len(pieces), num_layers=1, num_heads=2, hidden_dim=8,
                                       intermediate_dim=16, max_sequence_length=16)
    return keras_hub.models.GPT2CausalLM(backbone=bb, preprocessor=preprocessor), tokenizer


def test_a_string_prompt_is_read_by_the_models_preprocessor():
    lm, tokenizer = _tiny_gpt2_with_tokenizer()
    res = innv_core.explain_generation(lm, "a b = b", max_new_tokens=2, stop_token_ids=None)
    expected = [tokenizer.start_token_id, *np.asarray(tokenizer("a b = b")).tolist()]
    assert list(res.tokens[:res.n_prompt]) == expected
    assert res.token_labels[:res.n_prompt] == ("<|endoftext|>", "a", " b", " =", " b")
    assert res.text.startswith("<|endoftext|>a b = b") and res.has_tokenizer
    ids = innv_core.explain_generation(lm, expected, max_new_tokens=2, stop_token_ids=None)
    np.testing.assert_array_equal(ids.relevance, res.relevance)


# -- figures ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_prompt,n_new", [(5, 4), (3, 1), (60, 12)])
def test_matrix_figure_labels_neither_overlap_nor_leave_the_figure(n_prompt, n_new):
    from test_figures import layout_problems

    from innv_core.generation.figures import matrix_figure
    from innv_core.utils.figure_text import MIN_FONT_PT, PAGE_CM, print_font_sizes

    rng = np.random.default_rng(n_prompt)
    n = n_prompt + n_new
    readable = np.arange(n)[None, :] < (n_prompt + np.arange(n_new))[:, None]
    words = ["The", " capital", " of", " France", " is", "\n", " Paris", " ", "a-very-long-token-piece"]
    labels = [words[i % len(words)] for i in range(n)]
    fig = matrix_figure(rng.normal(size=(n_new, n)) * readable, labels[n_prompt:], labels, readable, n_prompt,
                        title="lrp.attnlrp: the logit of each generated token")
    assert layout_problems(fig) == [] and layout_problems(fig, dpi=72) == []
    width_cm = fig.get_figwidth() * 2.54
    assert width_cm <= PAGE_CM + 1e-9
    assert min(size for _, size in print_font_sizes(fig, width_cm)) >= MIN_FONT_PT - 1e-9


def test_the_result_writes_its_figures(llama, tmp_path):
    from PIL import Image

    res = innv_core.explain_generation(llama, PROMPT, max_new_tokens=3)
    for name in ("matrix.png", "matrix.pdf", "matrix.svg"):
        assert res.plot_matrix(tmp_path / name) == tmp_path / name and (tmp_path / name).stat().st_size > 1000
    assert Image.open(tmp_path / "matrix.png").info["dpi"][0] == pytest.approx(300, abs=1)
    res.plot_matrix(tmp_path / "two_rows.png", rows=[0, 2])
    assert (tmp_path / "two_rows.png").stat().st_size > 1000
    with pytest.raises(InvalidParameterError, match=r"rows must be row numbers in 0..2"):
        res.plot_matrix(tmp_path / "bad.png", rows=[3])
    res.plot_tokens(tmp_path / "tokens.png")
    assert (tmp_path / "tokens.png").stat().st_size > 1000
    page = res.save_html(tmp_path / "tokens.html")
    text = (tmp_path / "tokens.html").read_text()
    assert page == tmp_path / "tokens.html" and text.count("<h3>") == 3 and "<script" not in text
    assert "lrp.attnlrp: the logit of each generated token" in text


def test_the_targets_import_without_tensorflow():
    """``innv_core.Span`` / ``Contrast`` and the package load light; explain_generation loads TF."""
    import subprocess
    import sys

    code = ("import sys, innv_core\nfrom innv_core import Span, Contrast\nimport innv_core.generation\n"
            "Span([1, 2]); Contrast(1, 2)\nprint('tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
