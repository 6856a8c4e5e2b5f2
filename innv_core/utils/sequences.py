"""Batch sequences as Keras 3 ``PyDataset``s: usable by ``model.fit``/``evaluate`` and the tools.

This module imports Keras; ``innv_core.utils`` loads it on first access only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from innv_core.errors import InvalidInputError, invalid_parameter
from innv_core.utils.lists import to_list

__all__ = ["BatchSequence", "TargetAugmentedSequence"]


class BatchSequence(keras.utils.PyDataset):
    """Batches of one array, of a list of arrays or of a dict of arrays, cut along the first axis.

    Item ``i`` is ``X[i*batch_size:(i+1)*batch_size]`` for a single array (or a list of one),
    the tuple of these slices for a list, the dict of them (same keys) for a dict (innv
    addition: a model's inputs by name); the last batch may be smaller.

    Args:
        Xs: One array, a list of arrays or a dict of arrays, all with the same length along
            the first axis.
        batch_size: Batch size. Default 32.
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` of ``PyDataset``.
    """

    def __init__(self, Xs: Any, batch_size: int = 32, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keys = tuple(Xs) if isinstance(Xs, dict) else None
        self.Xs = list(Xs.values()) if isinstance(Xs, dict) else to_list(Xs)
        self.single_tensor = len(self.Xs) == 1
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be a positive integer, got {batch_size!r}.")
        if batch_size < 1:
            raise invalid_parameter("batch_size", batch_size, "a positive integer")
        self.batch_size = int(batch_size)
        lengths = [len(X) for X in self.Xs]
        if len(set(lengths)) > 1:
            raise InvalidInputError(
                f"All arrays of a BatchSequence need the same length along the first axis; "
                f"got lengths {lengths}."
            )

    def __len__(self) -> int:
        return math.ceil(len(self.Xs[0]) / self.batch_size)

    def __getitem__(self, idx: int) -> Any:
        if not -len(self) <= idx < len(self):
            raise IndexError(f"Batch index {idx} out of range for {len(self)} batches.")
        idx %= len(self)
        ret = tuple(X[idx * self.batch_size : (idx + 1) * self.batch_size] for X in self.Xs)
        if self.keys is not None:
            return dict(zip(self.keys, ret))
        return ret[0] if self.single_tensor else ret


class TargetAugmentedSequence(keras.utils.PyDataset):
    """Adds a target to each batch of a sequence on the fly: item ``i`` is ``(x, augment_f(x))``.

    Args:
        sequence: A sequence of input batches (e.g. a :class:`BatchSequence`).
        augment_f: Receives the batch's inputs as a list of arrays (see ``to_list``) and
            returns the target.
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` of ``PyDataset``.
    """

    def __init__(self, sequence: Any, augment_f: Callable[[list[Any]], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sequence = sequence
        self.augment_f = augment_f

    def __len__(self) -> int:
        return len(self.sequence)

    def __getitem__(self, idx: int) -> tuple[Any, Any]:
        inputs = self.sequence[idx]
        if isinstance(inputs, tuple):
            if len(inputs) != 1:
                raise InvalidInputError(
                    f"TargetAugmentedSequence expects batches of inputs only, got a tuple of "
                    f"{len(inputs)}; wrap multiple inputs in a list."
                )
            inputs = inputs[0]
        return inputs, self.augment_f(to_list(inputs))
