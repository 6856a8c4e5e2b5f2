"""``explain_generation``: each generated token's relevance over the tokens before it.

How it runs (``docs/generation.md``): the full sequence (prompt + continuation) is known before
anything is explained, and a causal model's logits at position ``p`` depend on tokens ``0..p``
only. So every explanation comes from one forward pass over the full sequence: the sequence is
repeated along the batch axis, one row per explanation, and row ``r`` selects its own logits with
``neuron_selection_mode="weights"`` (a token: its logit; a span: its tokens' logits, weight 1
each; a contrast: ``+1`` and ``-1``). The analyzed model computes the LM head at the selected
positions only (:func:`~innv_core.generation.language_model.selected_logits_model`).

One analyzer per model, method (with its parameters) and explained quantity (logits, or
log-probabilities for a span explained by a gradient-type method) is kept for the model's
lifetime; its compiled function takes any batch, sequence length and number of selected
neurons (nothing retraces). Rows are analyzed in chunks that fit ``memory_budget``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, check_positive_int
from innv_core.generation import targets as tg
from innv_core.generation.language_model import LanguageModel, selected_logits_model
from innv_core.generation.result import GenerationExplanation
from innv_core.memory import DEFAULT_BUDGET, bytes_per_sample, check_budget

__all__ = ["explain_generation"]

#: The attribute of a causal LM that holds its wrappers and analyzers (set past Keras' attribute
#: tracking, so they are not sublayers of the model; they go with the model).
_CACHE_ATTRIBUTE = "_innv_generation_cache"


def explain_generation(
    causal_lm: Any,
    prompt: Any,
    max_new_tokens: int | None = None,
    method: str = "lrp.attnlrp",
    target: Any = None,
    *,
    stop_token_ids: Any = "auto",
    memory_budget: float = DEFAULT_BUDGET,
    **analyzer_kwargs: Any,
) -> GenerationExplanation:
    """Explain what ``causal_lm`` generates after ``prompt`` (or a given continuation).

    Args:
        causal_lm: a keras-hub ``CausalLM`` (its backbone's ``token_embedding`` is the LM head).
        prompt: a string (tokenized by ``causal_lm.preprocessor``, with its start token, as
            ``generate`` does) or token ids.
        max_new_tokens: how many tokens to generate greedily (``target=None`` or ``Span()``); with
            a given continuation, if given, its length.
        method: an analyzer name (``innv list``); every analyzer taking token inputs works.
        target: ``None`` (the greedy continuation, one row per token), token ids (a given
            continuation, teacher-forced, one row per token), ``Span(ids)`` (one row for the whole
            continuation; ``Span()`` the greedy one) or ``Contrast(token, against)`` (one row: why
            ``token`` and not ``against`` after the prompt); see :mod:`innv_core.generation.targets`.
        stop_token_ids: greedy generation stops after these tokens (keras-hub's argument;
            ``"auto"``: the tokenizer's end token when the model has a preprocessor).
        memory_budget: bytes one analyzed chunk of rows may use (estimated from the model's
            layer outputs); passed on to methods that take it (Integrated Gradients, SmoothGrad).
        **analyzer_kwargs: the method's parameters (e.g. ``epsilon=1e-6``).

    Returns:
        a :class:`~innv_core.generation.result.GenerationExplanation`: ``relevance`` ``(rows,
        n_total)``, row ``r`` over every token, 0 from the explained token's own position on.

    Raises:
        NotAnalyzableModelError: not a keras-hub causal LM, or the method cannot explain it.
        InvalidInputError: a string prompt without a preprocessor, token ids outside the
            vocabulary, a sequence longer than the model's position embeddings reach.
        InvalidParameterError: a target of the wrong form or length.
    """
    lm = LanguageModel.of(causal_lm)
    memory_budget = check_budget(memory_budget)
    prompt_ids = lm.prompt_ids(prompt)
    target = tg.as_target(target)
    continuation = _continuation(lm, prompt_ids, target, max_new_tokens, stop_token_ids)
    sequence = (*prompt_ids, *continuation)
    names = lm.token_names(sequence)
    log_probabilities = _log_probabilities(method, target)
    analyzer = _analyzer(causal_lm, method, log_probabilities, memory_budget, analyzer_kwargs)
    rows = _rows(lm, target, len(prompt_ids), continuation, names)
    raw, scores = analyze_rows(analyzer, np.asarray(sequence, np.int32), rows, memory_budget)
    readable = readable_tokens(rows, len(sequence))
    return GenerationExplanation(
        tokens=np.asarray(sequence, np.int32), n_prompt=len(prompt_ids),
        relevance=np.where(readable, raw, 0.0), readable=readable, scores=scores, token_labels=names,
        row_labels=rows.labels, target=target, method=method,
        quantity=_quantity(target, analyzer.decomposes_output), signed=analyzer.signed,
        has_tokenizer=lm.tokenizer is not None,
    )


# -- the continuation --------------------------------------------------------------------------
def _continuation(lm: LanguageModel, prompt: tuple[int, ...], target: tg.Target, max_new_tokens: Any,
                  stop_token_ids: Any) -> tuple[int, ...]:
    """The tokens after the prompt: given by the target, or generated greedily."""
    if isinstance(target, tg.Contrast):
        if max_new_tokens is not None:
            raise InvalidParameterError(
                f"target=Contrast(...) explains the position right after the prompt; "
                f"max_new_tokens={max_new_tokens!r} has no meaning there: leave it out (put earlier "
                "tokens into the prompt to contrast at a later position).")
        tg.check_ids([target.token, target.against], lm.vocabulary_size, "The contrast")
        lm.check_length(len(prompt), 1)
        return ()
    given = target.ids if isinstance(target, tg.Continuation | tg.Span) else None
    if given is not None:
        kind = type(target).__name__
        if not given:
            raise InvalidParameterError(f"target={kind}(()) is empty: give at least one token id.")
        if max_new_tokens is not None and max_new_tokens != len(given):
            raise InvalidParameterError(
                f"The target span has {len(given)} token(s) but max_new_tokens={max_new_tokens}: a "
                f"given continuation sets the length itself. Leave max_new_tokens out, or give a "
                f"span of {max_new_tokens} tokens.")
        tg.check_ids(given, lm.vocabulary_size, "The target")
        lm.check_length(len(prompt), len(given))
        return given
    if max_new_tokens is None:
        raise InvalidParameterError(
            "max_new_tokens is needed to generate (target None or Span()): e.g. max_new_tokens=8; "
            "or give the continuation as target.")
    check_positive_int("max_new_tokens", max_new_tokens)
    lm.check_length(len(prompt), max_new_tokens)
    from innv_core.generation.greedy import greedy_continuation

    return greedy_continuation(lm.model, prompt, max_new_tokens, lm.stop_ids(stop_token_ids))


def _rows(lm: LanguageModel, target: tg.Target, n_prompt: int, continuation: tuple[int, ...],
          names: tuple[str, ...]) -> tg.Rows:
    if isinstance(target, tg.Contrast):
        a, b = lm.token_names([target.token, target.against])
        return tg.contrast_rows(n_prompt, target, f"{a!r} vs {b!r}")
    if isinstance(target, tg.Span):
        return tg.span_rows(n_prompt, continuation, lm.vocabulary_size, "".join(names[n_prompt:]))
    return tg.token_rows(n_prompt, continuation, names[n_prompt:])


def readable_tokens(rows: tg.Rows, n_total: int) -> np.ndarray:
    """``(R, n_total)``: True where a row's explained quantity can depend on the token (up to
    the last position whose logits it reads), False from the explained token's position on."""
    return np.arange(n_total)[None, :] <= rows.positions.max(axis=1)[:, None]


def _quantity(target: tg.Target, decomposes: bool) -> str:
    if isinstance(target, tg.Contrast):
        return "the logit of one token minus the other's (= their log-probabilities' difference)"
    if isinstance(target, tg.Span):
        return ("the sum of the span's logits" if decomposes else
                "the span's log-probability (the sum of its tokens' log-probabilities)")
    return "the logit of each generated token"


# -- the analysis ------------------------------------------------------------------------------
def _log_probabilities(method: str, target: tg.Target) -> bool:
    """Whether the analyzed output is the log-probabilities: a span, explained by a method that
    does not decompose its output (relevance is conserved on logits, not log-probabilities)."""
    if not isinstance(target, tg.Span):
        return False
    from innv_core.registry import get_registry

    return not getattr(get_registry().get("analyzers", method), "decomposes_output", False)


def cache_of(model: Any) -> dict[Any, Any]:
    """The wrappers and analyzers ``explain_generation`` keeps for ``model``, by key
    (``("analyzer", method, log_probabilities, params)``, ``("wrapper", log_probabilities)``)."""
    entries = getattr(model, _CACHE_ATTRIBUTE, None)
    if entries is None:
        entries = {}
        object.__setattr__(model, _CACHE_ATTRIBUTE, entries)
    return entries


def analyzers_of(model: Any, method: str) -> list[Any]:
    """The analyzers of ``method`` kept for ``model`` (one per explained quantity and parameters)."""
    return [a for key, a in cache_of(model).items() if key[0] == "analyzer" and key[1] == method]


def _cached(model: Any, key: Any, make: Any) -> Any:
    entries = cache_of(model)
    try:
        hash(key)
    except TypeError:  # unhashable parameters (arrays): built for this call only
        return make()
    if key not in entries:
        entries[key] = make()
    return entries[key]


def _analyzer(model: Any, method: str, log_probabilities: bool, memory_budget: float,
              kwargs: dict[str, Any]) -> Any:
    """The cached analyzer of ``method`` on the selected-positions wrapper of ``model``."""
    import inspect

    from innv_core.create import create_analyzer
    from innv_core.registry import get_registry

    cls = get_registry().get("analyzers", method)
    params = dict(kwargs)
    if "memory_budget" in inspect.signature(cls.__init__).parameters:
        params.setdefault("memory_budget", memory_budget)
    if "neuron_selection_mode" in params:
        raise InvalidParameterError(
            "explain_generation selects the neurons itself (mode 'weights': one row per "
            "explanation); leave neuron_selection_mode out.")
    wrapper = _cached(model, ("wrapper", log_probabilities),
                      lambda: selected_logits_model(model, log_probabilities))
    key = ("analyzer", method, log_probabilities, tuple(sorted(params.items())))
    return _cached(model, key,
                   lambda: create_analyzer(method, wrapper, neuron_selection_mode="weights", **params))


def rows_per_call(analyzer: Any, n_total: int, memory_budget: float) -> int:
    """Rows analyzed together: the budget over one row's estimated bytes (every layer output of
    the wrapper per token, kept and reversed; attention's T×T scores inside keras-hub's layers
    are not seen, so this is an estimate for short to medium sequences)."""
    per_token = bytes_per_sample(analyzer._model) or 1
    return max(1, int(memory_budget // (per_token * n_total)))


def analyze_rows(analyzer: Any, sequence: np.ndarray, rows: tg.Rows,
                 memory_budget: float = DEFAULT_BUDGET) -> tuple[np.ndarray, np.ndarray]:
    """The raw analyses ``(R, T)`` of ``rows`` over ``sequence`` and each row's explained value
    ``sum w·y`` (the wrapper's output at the selected neurons), in chunks of rows."""
    n_rows, n_total = len(rows.positions), len(sequence)
    chunk = rows_per_call(analyzer, n_total, memory_budget)
    relevance, scores = [], []
    for start in range(0, n_rows, chunk):
        part = slice(start, start + chunk)
        count = len(rows.positions[part])
        ids = np.broadcast_to(sequence, (count, n_total))
        x = {"token_ids": np.ascontiguousarray(ids), "padding_mask": np.ones_like(ids),
             "positions": rows.positions[part]}
        selection = (rows.indices[part], rows.weights[part])
        relevance.append(np.asarray(analyzer.analyze(x, neuron_selection=selection)["token_ids"]))
        y = np.asarray(analyzer._model(x)).reshape(count, -1)
        scores.append((np.take_along_axis(y, rows.indices[part], axis=1) * rows.weights[part]).sum(axis=1))
    return np.concatenate(relevance), np.concatenate(scores)
