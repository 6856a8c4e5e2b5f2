"""What a generation's explanation explains: value objects, and the neurons each one selects.

- ``None`` (the default): the tokens the model generates greedily, one explanation per token;
- :class:`Continuation`: given tokens (teacher-forced), one explanation per token;
- :class:`Span`: one explanation of a whole continuation (given, or the greedy one);
- :class:`Contrast`: why ``token`` and not ``against`` right after the prompt.

Each target becomes :class:`Rows`: per explanation (a row of the batch) the positions whose logits
are computed and, in the ``(k, V)`` logits of those positions (row-major), the selected neurons
and their weights (``neuron_selection_mode="weights"``). Light: numpy and attrs only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from innv_core.errors import InvalidInputError, InvalidParameterError

__all__ = ["Contrast", "Continuation", "Rows", "Span", "as_target", "check_ids", "token_rows"]


def _ids(value: Any) -> tuple[int, ...] | None:
    """Token ids as a tuple of Python ints (None stays None); the values are checked later."""
    if value is None:
        return None
    array = np.asarray(value)
    if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        raise InvalidInputError(
            f"Token ids must be a 1-D sequence of ints, got {array.dtype} of shape {array.shape} "
            f"({value!r:.60})."
        )
    return tuple(int(i) for i in array)


@attrs.frozen
class Continuation:
    """Given continuation tokens, explained one by one (teacher-forced: each row explains the
    logit of token ``j`` given the prompt and tokens ``0..j-1``)."""

    ids: tuple[int, ...] = attrs.field(converter=_ids)


@attrs.frozen
class Span:
    """One explanation of a whole continuation: LRP-type methods (``decomposes_output``) explain
    the sum of its tokens' logits, gradient-type ones the sum of their log-probabilities
    (the continuation's log-probability). ``ids=None``: the greedy continuation of
    ``max_new_tokens`` tokens."""

    ids: tuple[int, ...] | None = attrs.field(default=None, converter=_ids)


@attrs.frozen
class Contrast:
    """Why ``token`` and not ``against`` at the position after the prompt: the logit of one
    minus the other's (also their log-probabilities' difference: the normaliser cancels)."""

    token: int = attrs.field(converter=int)
    against: int = attrs.field(converter=int)

    def __attrs_post_init__(self) -> None:
        if self.token == self.against:
            raise InvalidParameterError(
                f"Contrast({self.token}, {self.against}) contrasts a token with itself (always 0); "
                "give two different token ids.")


Target = Continuation | Span | Contrast | None


def as_target(target: Any) -> Target:
    """``target`` as one of the value objects (a list of ids is a :class:`Continuation`)."""
    if target is None or isinstance(target, Continuation | Span | Contrast):
        return target
    if isinstance(target, str):
        raise InvalidParameterError(
            f"target={target!r}: give the continuation as token ids, e.g. "
            "target=causal_lm.preprocessor.tokenizer(text), or Span(ids) / Contrast(token, against)."
        )
    if isinstance(target, Sequence | np.ndarray) or hasattr(target, "__array__"):  # lists, arrays, tensors
        return Continuation(target)
    raise InvalidParameterError(
        f"target must be None (greedy), token ids (a given continuation), Span(ids) or "
        f"Contrast(token, against) from innv_core.generation, got {type(target).__name__}."
    )


def check_ids(ids: Sequence[int], vocabulary_size: int, what: str) -> None:
    """Refuse token ids outside ``0..vocabulary_size - 1``, naming them."""
    array = np.asarray(ids, dtype=np.int64)
    bad = (array < 0) | (array >= vocabulary_size)
    if bad.any():
        raise InvalidInputError(
            f"{what} holds token id(s) {np.unique(array[bad]).tolist()[:10]} outside the model's "
            f"vocabulary: valid ids are 0..{vocabulary_size - 1}. Use the model's own tokenizer "
            "(causal_lm.preprocessor.tokenizer), or a model with a larger vocabulary."
        )


@attrs.frozen
class Rows:
    """The explanations of one target: the logits rows of the batch compute and what they select.

    ``positions`` ``(R, k)``: the sequence positions whose logits row ``r`` computes;
    ``indices``, ``weights`` ``(R, k')``: neurons of those ``(k, V)`` logits (row-major) and weights;
    ``labels``: what each row explains (for figures).
    """

    positions: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    labels: tuple[str, ...]


def token_rows(n_prompt: int, continuation: Sequence[int], names: Sequence[str]) -> Rows:
    """One row per continuation token ``j``: the logit of that token at position
    ``n_prompt + j - 1`` (the position that predicts it)."""
    n = len(continuation)
    return Rows(
        positions=(n_prompt - 1 + np.arange(n, dtype=np.int32))[:, None],
        indices=np.asarray(continuation, np.int32)[:, None],
        weights=np.ones((n, 1), np.float32),
        labels=tuple(names),
    )


def span_rows(n_prompt: int, continuation: Sequence[int], vocabulary_size: int, label: str) -> Rows:
    """One row: the span's tokens at their positions, weight 1 each (the sum of the rows of
    :func:`token_rows`, by linearity of the explained quantity)."""
    n = len(continuation)
    return Rows(
        positions=(n_prompt - 1 + np.arange(n, dtype=np.int32))[None, :],
        indices=(np.arange(n) * vocabulary_size + np.asarray(continuation)).astype(np.int32)[None, :],
        weights=np.ones((1, n), np.float32),
        labels=(label,),
    )


def contrast_rows(n_prompt: int, contrast: Contrast, label: str) -> Rows:
    """One row: ``+1`` at ``token``'s logit, ``-1`` at ``against``'s, after the prompt."""
    return Rows(
        positions=np.array([[n_prompt - 1]], np.int32),
        indices=np.array([[contrast.token, contrast.against]], np.int32),
        weights=np.array([[1.0, -1.0]], np.float32),
        labels=(label,),
    )
