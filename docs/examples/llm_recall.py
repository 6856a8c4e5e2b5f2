"""Explaining a tiny keras-hub Llama on key-value recall (docs/llms.md).

The task: four key-value pairs, then questions: ``a 3 b 7 c 1 d 5 ? b`` → ``7``. Keys are letters
a–h (four distinct ones), values digits; three questions follow the pairs, each ``? key value``.
The answer depends on one earlier token, the value after the asked key, which the model must find
by content (the pairs come in random order). A 2-layer Llama (hidden size 32) learns it in about
a minute on a CPU: it has to build an "induction head" (find the earlier occurrence of the current
token, copy what followed it); test accuracy jumps from ~0.44 to 1.0 within one epoch.

Then: the generic path (a wrapper of the last position's logits, ``create_analyzer``) on 300 test
prompts, and how much of each method's positive relevance lies on the value token the answer
copies; ``explain_generation`` on one prompt given as a string (keras-hub's ``BertTokenizer`` holds
the 22-word vocabulary in memory, a ``CausalLMPreprocessor`` packs it); a span and a contrast;
the figures.

    python docs/examples/llm_recall.py      # writes docs/images/llm_recall_*.png and .html
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

KEYS = list("abcdefgh")
VALUES = [str(d) for d in range(10)]
#: [CLS] is BertTokenizer's start token, the others are its required special tokens.
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "?", *KEYS, *VALUES]
ID = {w: i for i, w in enumerate(VOCAB)}
PAIRS, QUESTIONS = 4, 3
#: The methods compared on the generic path, with their parameters.
METHODS: dict[str, dict[str, Any]] = {
    "lrp.attnlrp": {},
    "lrp.cp_lrp": {},
    "input_t_gradient": {},
    "integrated_gradients": {"steps": 32},
    "gradient": {},
}


def make_sequences(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` token sequences ``[CLS] k v k v k v k v ? k v ? k v ? k v`` and the loss weights of
    the next-token targets: 1 where the next token is an answer or a ``?`` after one."""
    rng = np.random.default_rng(seed)
    keys = np.argsort(rng.random((n, len(KEYS))), axis=1)[:, :PAIRS] + ID["a"]
    values = rng.integers(0, len(VALUES), (n, PAIRS)) + ID["0"]
    asked = np.argsort(rng.random((n, PAIRS)), axis=1)[:, :QUESTIONS]
    rows = np.arange(n)[:, None]
    questions = np.stack([np.full((n, QUESTIONS), ID["?"]), keys[rows, asked], values[rows, asked]], -1)
    pairs = np.stack([keys, values], -1).reshape(n, -1)
    ids = np.concatenate([np.full((n, 1), ID["[CLS]"]), pairs, questions.reshape(n, -1)], 1).astype(np.int32)
    weights = np.zeros((n, ids.shape[1] - 1), np.float32)
    start = 1 + 2 * PAIRS
    for j in range(QUESTIONS):
        weights[:, start + 3 * j + 1] = 1.0  # the answer
        if j:
            weights[:, start + 3 * j - 1] = 1.0  # the "?" after an answer
    return ids, weights


def first_questions(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test prompts up to the first asked key, their answers, and the position of the value
    the answer copies."""
    ids, _ = make_sequences(n, seed)
    prompt, answer = ids[:, : 2 + 2 * PAIRS + 1], ids[:, 2 + 2 * PAIRS + 1]
    asked = prompt[:, -1:]
    source = 1 + np.argmax(prompt[:, 1:1 + 2 * PAIRS] == asked, axis=1) + 1  # the value after the key
    return prompt, answer, source


def build_model() -> Any:
    import keras_hub

    backbone = keras_hub.models.LlamaBackbone(
        vocabulary_size=len(VOCAB), num_layers=2, num_query_heads=4, num_key_value_heads=4,
        hidden_dim=32, intermediate_dim=64)
    return keras_hub.models.LlamaCausalLM(backbone, preprocessor=None)


def with_tokenizer(causal_lm: Any) -> Any:
    """The same backbone as a causal LM that reads strings (the 22 words as a WordPiece vocabulary)."""
    import keras_hub

    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCAB, lowercase=False)
    preprocessor = keras_hub.models.CausalLMPreprocessor(tokenizer, sequence_length=32)
    return keras_hub.models.LlamaCausalLM(causal_lm.backbone, preprocessor=preprocessor)


def _inputs(ids: np.ndarray) -> dict[str, np.ndarray]:
    return {"token_ids": ids, "padding_mask": np.ones_like(ids)}


def train(max_epochs: int = 15, seed: int = 0, verbose: bool = True) -> tuple[Any, float, int]:
    """The trained causal LM, its test accuracy on the answers and the epochs it took (training
    stops once the accuracy is 0.99 or more)."""
    from innv_core.app.demo.determinism import seeded

    x, weights = make_sequences(20000, seed=0)
    x_test, w_test = make_sequences(1000, seed=1)
    answers = w_test.astype(bool) & np.isin(x_test[:, 1:], np.arange(ID["0"], ID["9"] + 1))
    with seeded(seed):
        causal_lm = build_model()
        causal_lm.compile(optimizer=keras.optimizers.Adam(2e-3),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        start, accuracy = time.time(), 0.0
        for epoch in range(1, max_epochs + 1):
            causal_lm.fit(_inputs(x[:, :-1]), x[:, 1:], sample_weight=weights, batch_size=128, epochs=1,
                          verbose=0, shuffle=False)
            predicted = np.asarray(causal_lm.predict(_inputs(x_test[:, :-1]), verbose=0)).argmax(-1)
            accuracy = float(np.mean(predicted[answers] == x_test[:, 1:][answers]))
            if verbose:
                print(f"epoch {epoch}: test accuracy {accuracy:.3f} ({time.time() - start:.0f} s)")
            if accuracy >= 0.99:
                break
    return causal_lm, accuracy, epoch


def source_shares(analysis: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Per prompt: the positive relevance on the copied value token over all positive relevance."""
    positive = np.maximum(analysis, 0.0)
    total = positive.sum(1)
    return positive[np.arange(len(source)), source] / np.where(total > 0, total, 1.0)


def generic_path(causal_lm: Any, n: int = 300) -> dict[str, tuple[float, float]]:
    """Per method on ``n`` test prompts, by the generic path: the mean source share, and how often
    the copied value is the most relevant token."""
    import innv_core

    prompts, answers, source = first_questions(n, seed=2)
    inputs = {name: keras.Input((None,), dtype="int32", name=name) for name in ("token_ids", "padding_mask")}
    wrapper = keras.Model(inputs, causal_lm(inputs)[:, -1, :])  # the last position's logits
    results = {"uniform map": (float(np.mean(1.0 / prompts.shape[1])), float("nan"))}
    for name, kwargs in METHODS.items():
        analyzer = innv_core.create_analyzer(name, wrapper, neuron_selection_mode="index", **kwargs)
        relevance = analyzer.analyze(_inputs(prompts), neuron_selection=answers)["token_ids"]
        results[name] = (float(np.mean(source_shares(relevance, source))),
                         float(np.mean(relevance.argmax(axis=1) == source)))
    return results


PROMPT = "a 3 b 7 c 1 d 5 ? b"
#: The answer and two more questions, teacher-forced (which key is asked next, no model can know).
CONTINUATION = "7 ? d 5 ? a 3"


def explain(causal_lm: Any, out: Path | None = None) -> dict[str, Any]:
    """``explain_generation`` on :data:`PROMPT`: greedy, a span, a contrast; the figures."""
    import innv_core
    from innv_core import Contrast, Span

    lm = with_tokenizer(causal_lm)
    greedy = innv_core.explain_generation(lm, PROMPT, max_new_tokens=1)
    given = innv_core.explain_generation(lm, PROMPT, target=lm.preprocessor.tokenizer(CONTINUATION))
    span = innv_core.explain_generation(lm, PROMPT, target=Span(given.generated))  # the sum of its logits
    span_logp = innv_core.explain_generation(lm, PROMPT, target=Span(given.generated),
                                             method="input_t_gradient")  # its log-probability
    contrast = innv_core.explain_generation(lm, PROMPT, target=Contrast(ID["7"], ID["3"]))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        given.plot_matrix(out / "llm_recall_matrix.png")
        given.plot_matrix(out / "llm_recall_answers.png", rows=[0, 3, 6])
        greedy.plot_tokens(out / "llm_recall_tokens.png")
        given.save_html(out / "llm_recall.html")
    return {"greedy": greedy, "given": given, "span": span, "span_logp": span_logp, "contrast": contrast}


def main(out: Path | None, max_epochs: int = 15) -> dict[str, Any]:
    """Train, print the generic path's source shares and the greedy generation, write the figures."""
    causal_lm, accuracy, epochs = train(max_epochs)
    print(f"trained {epochs} epochs, test accuracy {accuracy:.3f}")
    shares = generic_path(causal_lm)
    for name, (share, top) in shares.items():
        most = "" if np.isnan(top) else f", the copied value most relevant in {top:.3f} of the prompts"
        print(f"{name:22s} source share {share:.3f}{most}")
    results = explain(causal_lm, out)
    print(f"greedy: {PROMPT!r} -> {results['greedy'].token_labels[-1]!r}")
    for key in ("greedy", "given", "span", "span_logp", "contrast"):
        res = results[key]
        print(f"{key}: {res.method}, {res.quantity}")
        for label, row, score in zip(res.row_labels, res.relevance, res.scores):
            top = int(np.argmax(row))
            print(f"  {label!r}: value {score:.3f}, relevance sum {row.sum():.3f}, most relevant "
                  f"{res.token_labels[top]!r} at {top} ({row[top]:.3f})")
    return {"accuracy": accuracy, "epochs": epochs, "shares": shares, **results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path(__file__).parent.parent / "images")
    parser.add_argument("--max-epochs", type=int, default=15)
    args = parser.parse_args()
    main(args.out, args.max_epochs)
