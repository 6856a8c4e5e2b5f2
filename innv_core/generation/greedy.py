"""Greedy generation with keras-hub's own compiled ``generate`` function (its key-value cache).

The model's sampler is swapped for keras-hub's ``GreedySampler`` for the call and put back after,
with the compiled generate function of the user's sampler: the model is left as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["greedy_continuation"]


@contextlib.contextmanager
def _greedy(model: Any) -> Iterator[Any]:
    """``model``'s generate function with greedy sampling, the user's sampler restored after."""
    import keras_hub

    saved = getattr(model, "sampler", None), model.generate_function
    model.sampler = keras_hub.samplers.GreedySampler()
    model.generate_function = None
    try:
        yield model.make_generate_function()
    finally:
        model.sampler, model.generate_function = saved


def greedy_continuation(model: Any, prompt: Sequence[int], max_new_tokens: int,
                        stop_token_ids: tuple[int, ...] | None) -> tuple[int, ...]:
    """The ``max_new_tokens`` tokens keras-hub generates greedily after ``prompt`` (fewer when a
    stop token comes first; the stop token is kept, as keras-hub keeps it)."""
    n = len(prompt)
    token_ids = np.zeros((1, n + max_new_tokens), np.int32)
    token_ids[0, :n] = prompt
    padding_mask = np.zeros_like(token_ids, dtype=bool)
    padding_mask[0, :n] = True
    with _greedy(model) as generate:
        out = generate({"token_ids": token_ids, "padding_mask": padding_mask}, stop_token_ids=stop_token_ids)
    ids = np.asarray(out["token_ids"])[0, n:]
    kept = np.asarray(out["padding_mask"])[0, n:].astype(bool)
    return tuple(int(i) for i in ids[kept])
