"""A keras-hub causal LM as the generation API sees it: checks, tokens, and the analyzed wrapper.

:class:`LanguageModel` checks that a model is a keras-hub ``CausalLM`` whose logits are its
backbone's ``token_embedding`` called with ``reverse=True`` (every text decoder of keras-hub 0.32),
reads its vocabulary size and sequence-length limit, and turns prompts into token ids with the
model's preprocessor when it has one.

:func:`selected_logits_model` is what the analyzers explain: a functional model with the
backbone's inputs plus ``positions`` ``(batch, k)``, whose output is the logits ``(batch, k, V)`` of
those positions only (or their log-probabilities): the LM head is applied to ``k`` hidden states,
never to all ``T``, so a row of the batch holds ``k·V`` logits instead of ``T·V`` (with V = 256k and
T = 2048, 2 GB per row in float32).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from innv_core.errors import InvalidInputError, NotAnalyzableModelError
from innv_core.generation.targets import check_ids

__all__ = ["LanguageModel", "selected_logits_model"]

_TEXT_INPUTS = ("token_ids", "padding_mask")


@attrs.frozen
class LanguageModel:
    """A checked keras-hub causal LM (build with :meth:`of`)."""

    model: Any
    vocabulary_size: int
    max_length: int | None  # the backbone's max_sequence_length (position embeddings), if any
    preprocessor: Any

    @classmethod
    def of(cls, model: Any) -> LanguageModel:
        """``model`` checked: a keras-hub CausalLM with a reversible-embedding LM head."""
        backbone = getattr(model, "backbone", None)
        if backbone is None or not callable(getattr(model, "generate", None)):
            raise NotAnalyzableModelError(_not_a_causal_lm(model))
        head = getattr(backbone, "token_embedding", None)
        if not any(c.__name__ == "ReversibleEmbedding" for c in type(head).__mro__):
            raise NotAnalyzableModelError(
                f"{type(model).__name__} has no causal LM head innv knows: its backbone has no "
                "ReversibleEmbedding `token_embedding` computing the logits. "
                + _GENERIC_PATH)
        names = set(getattr(backbone, "input", {}) or {})
        if not isinstance(backbone.input, dict) or not set(_TEXT_INPUTS) <= names:
            raise NotAnalyzableModelError(
                f"{type(model).__name__}'s backbone takes {sorted(names) or backbone.input}, not the "
                f"text inputs {list(_TEXT_INPUTS)}. " + _GENERIC_PATH)
        producer = getattr(getattr(model.outputs[0], "_keras_history", None), "operation", None)
        if producer is not head:
            raise NotAnalyzableModelError(
                f"{type(model).__name__} computes its logits with more than its backbone's "
                f"token_embedding (the last operation is {type(producer).__name__}). " + _GENERIC_PATH)
        return cls(model, int(head.input_dim), getattr(backbone, "max_sequence_length", None),
                   getattr(model, "preprocessor", None))

    @property
    def tokenizer(self) -> Any:
        return getattr(self.preprocessor, "tokenizer", None)

    # -- tokens ------------------------------------------------------------------------------
    def prompt_ids(self, prompt: Any) -> tuple[int, ...]:
        """The prompt as the model reads it: a string through the preprocessor (with its start
        token, as ``generate`` does), token ids as given (checked)."""
        if isinstance(prompt, str):
            if self.preprocessor is None or not hasattr(self.preprocessor, "generate_preprocess"):
                raise InvalidInputError(
                    f"The prompt is a string but {type(self.model).__name__} has no preprocessor "
                    "(causal_lm.preprocessor is None) to tokenize it. Give token ids, or build the "
                    "model with its preprocessor (e.g. keras_hub.models.LlamaCausalLM(backbone, "
                    "preprocessor=keras_hub.models.LlamaCausalLMPreprocessor(tokenizer)))."
                )
            ids = _preprocessed(self.preprocessor, prompt)
        else:
            array = np.asarray(prompt)
            if array.ndim == 2 and array.shape[0] == 1:
                array = array[0]
            if array.ndim == 1 and array.size == 0:
                raise InvalidInputError("The prompt is empty: give at least one token.")
            if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
                raise InvalidInputError(
                    f"The prompt must be a string or one sequence of token ids (1-D ints), got "
                    f"{array.dtype} of shape {array.shape}. explain_generation explains one prompt "
                    "at a time."
                )
            ids = tuple(int(i) for i in array)
        if not ids:
            raise InvalidInputError("The prompt is empty: give at least one token.")
        check_ids(ids, self.vocabulary_size, "The prompt")
        return ids

    def check_length(self, n_prompt: int, n_new: int) -> None:
        """Refuse sequences the model's position embeddings do not reach."""
        limit = self.max_length
        if limit is None:
            return
        if n_prompt > limit:
            raise InvalidInputError(
                f"The prompt has {n_prompt} tokens, more than the model's sequence length "
                f"{limit} (backbone.max_sequence_length). Shorten the prompt to at most {limit - 1} "
                "tokens (one position is needed for the next token)."
            )
        if n_prompt + n_new > limit:
            raise InvalidInputError(
                f"The prompt ({n_prompt} tokens) and {n_new} new tokens make {n_prompt + n_new}, "
                f"more than the model's sequence length {limit} (backbone.max_sequence_length). "
                f"Ask for at most {limit - n_prompt} new tokens, or shorten the prompt."
            )

    def token_names(self, ids: Sequence[int]) -> tuple[str, ...]:
        """Each token as text (the tokenizer's detokenized piece), or its id without a tokenizer."""
        tokenizer = self.tokenizer
        if tokenizer is None:
            return tuple(str(i) for i in ids)
        return tuple(_piece(tokenizer, int(i)) for i in ids)

    def stop_ids(self, stop_token_ids: Any) -> tuple[int, ...] | None:
        """keras-hub's ``stop_token_ids``: ``"auto"`` is the tokenizer's end token(s), if any."""
        if stop_token_ids != "auto":
            return None if stop_token_ids is None else tuple(int(i) for i in stop_token_ids)
        tokenizer = self.tokenizer
        ends = [getattr(tokenizer, name, None) for name in ("end_token_id", "end_token2_id")]
        ends = [int(e) for e in ends if e is not None]
        return tuple(ends) or None


_GENERIC_PATH = (
    "explain_generation takes a keras-hub CausalLM (e.g. keras_hub.models.LlamaCausalLM); for "
    "another model explain a functional wrapper of the last position's logits with "
    "create_analyzer (the generic path, docs/llms.md)."
)


def _not_a_causal_lm(model: Any) -> str:
    name = type(model).__name__
    if name.endswith("Backbone"):
        family = name[: -len("Backbone")]
        return (f"{name} is a backbone without a causal LM head (it returns hidden states, not "
                f"logits). Wrap it: keras_hub.models.{family}CausalLM(backbone, preprocessor=None).")
    return f"{name} is not a keras-hub causal LM (no `backbone` and `generate`). " + _GENERIC_PATH


def _preprocessed(preprocessor: Any, prompt: str) -> tuple[int, ...]:
    """The token ids ``generate`` would feed for ``prompt`` (start token included)."""
    n = len(np.asarray(preprocessor.tokenizer(prompt)).reshape(-1))
    packed = preprocessor.generate_preprocess([prompt], sequence_length=n + 2)
    ids = np.asarray(packed["token_ids"])[0]
    mask = np.asarray(packed["padding_mask"])[0].astype(bool)
    return tuple(int(i) for i in ids[mask])


def _piece(tokenizer: Any, token: int) -> str:
    try:
        text = tokenizer.detokenize([token])
    except Exception:  # noqa: BLE001 - a tokenizer that cannot decode one piece
        return str(tokenizer.id_to_token(token))
    text = np.asarray(text).reshape(-1)[0] if not isinstance(text, str) else text
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def selected_logits_model(model: Any, log_probabilities: bool = False) -> Any:
    """The functional model ``{backbone inputs, positions (batch, k)} -> (batch, k, V)``: the
    logits (or log-probabilities) at the given positions, with the model's own layers."""
    import keras
    from keras import ops

    backbone = model.backbone
    inputs = {name: keras.Input(tuple(t.shape[1:]), dtype=t.dtype, name=name)
              for name, t in backbone.input.items()}
    positions = keras.Input((None,), dtype="int32", name="positions")
    hidden = backbone(inputs)
    picked = ops.take_along_axis(hidden, ops.expand_dims(positions, -1), axis=1)
    out = backbone.token_embedding(picked, reverse=True)
    if log_probabilities:  # log_softmax written out: innv refuses softmax outputs, rightly for LRP
        out = out - ops.logsumexp(out, axis=-1, keepdims=True)
    return keras.Model({**inputs, "positions": positions}, out)
