"""docs/llms.md: its code runs as written (on an untrained model, fast), and the worked example
finds the token the answer copies (the trained model, slow)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import keras
import numpy as np
import pytest

pytest.importorskip("keras_hub")

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "llms.md"


def _example():
    spec = importlib.util.spec_from_file_location("llm_recall", ROOT / "docs" / "examples" / "llm_recall.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)


def test_the_pages_code_runs_on_an_untrained_model(tmp_path, monkeypatch):
    """Every Python block of the page, in order, but the one that trains (a minute): the page's
    API calls, the figures it shows, and its linearity claim for a span."""
    example = _example()
    blocks = _blocks()
    training = [b for b in blocks if "train()" in b]
    assert len(training) == 1 and len(blocks) >= 5
    keras.utils.set_random_seed(0)
    namespace = {"ID": example.ID, "first_questions": example.first_questions,
                 "with_tokenizer": example.with_tokenizer, "causal_lm": example.build_model()}
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        if block not in training:
            exec(compile(block, str(PAGE), "exec"), namespace)  # noqa: S102 - the page's own code
    for name in ("llm_recall_matrix.png", "llm_recall_answers.png", "llm_recall_tokens.png", "llm_recall.html"):
        assert (tmp_path / name).stat().st_size > 1000, name
    assert namespace["R"].shape == (300, 11) and namespace["res"].relevance.shape == (1, 12)
    assert namespace["given"].relevance.shape == (7, 18)
    assert "log-probability" in namespace["logp"].quantity and namespace["contrast"].relevance.shape == (1, 11)


def test_the_page_links_the_figures_the_example_writes():
    text = PAGE.read_text()
    for name in ("llm_recall_matrix.png", "llm_recall_tokens.png"):
        assert f"(images/{name})" in text and (ROOT / "docs" / "images" / name).exists()


@pytest.mark.slow
def test_the_worked_example_finds_the_copied_value(tmp_path):
    results = _example().main(tmp_path)
    assert results["accuracy"] >= 0.99 and results["epochs"] <= 15
    shares = results["shares"]
    for name in ("lrp.attnlrp", "lrp.cp_lrp"):
        share, top = shares[name]
        assert share > 0.5 and top > 0.95, (name, share, top)
        assert share > 2 * shares["gradient"][0]
    greedy = results["greedy"]
    assert greedy.token_labels[-1] == "7" and int(np.argmax(greedy.relevance[0])) == 4  # the "7" of "b 7"
    given = results["given"]
    for row, source in ((0, 4), (3, 8), (6, 2)):  # the answers 7, 5, 3 and where they were
        assert int(np.argmax(given.relevance[row])) == source
    for name in ("llm_recall_matrix.png", "llm_recall_answers.png", "llm_recall_tokens.png", "llm_recall.html"):
        assert (tmp_path / name).exists()
