"""DeepLIFT's reference: the ``reference_inputs`` parameter and the reference's forward pass.

DeepLIFT explains ``f(x) - f(reference)``. The reference is given once, at construction:

- a number (None means 0): every input value of every model input is compared with it;
- an array shaped like one sample (``x.shape[1:]``) or with a batch axis of 1: one reference
  shared by every sample;
- an array with a batch axis of ``N > 1``: one reference per sample (``analyze`` then needs
  exactly ``N`` samples);
- for multi-input models, a list with one of the above per input (a single number applies to all).

A shared reference runs forward once per call with batch 1; its tensors broadcast against the
batch in every difference ``x - x_ref``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from innv_core.graph import ExecutionGraph
from innv_core.reverse import Forward, NodeTensors, ReverseState, forward

#: Where the reference pass lives in ``ReverseState.extra``.
KEY = "deep_lift.reference"


class References:
    """The reference of each model input: a number, or an array with a batch axis (1 or N).

    Args:
        reference_inputs: see the module docstring.
        model_inputs: the model's symbolic inputs (their shapes check the arrays).

    Raises:
        ValueError: a list of the wrong length, an array of the wrong shape, or NaN/inf values.
    """

    def __init__(self, reference_inputs: Any, model_inputs: list[Any]) -> None:
        values = _per_input(0 if reference_inputs is None else reference_inputs, len(model_inputs))
        self._values = [
            _checked(v, spec, i, len(model_inputs)) for i, (v, spec) in enumerate(zip(values, model_inputs))
        ]

    @property
    def per_sample_batch(self) -> int | None:
        """N if some reference holds one sample per input sample (batch N > 1), else None."""
        sizes = {v.shape[0] for v in self._values if v.ndim > 0 and v.shape[0] > 1}
        return sizes.pop() if sizes else None

    def check_batch(self, batch: int) -> None:
        """Refuse a batch that per-sample references cannot be paired with."""
        n = self.per_sample_batch
        if n is not None and batch != n:
            raise ValueError(
                f"reference_inputs holds {n} references (one per sample) but analyze() got a "
                f"batch of {batch}. Analyze exactly {n} samples at once, or give one reference "
                "shared by all samples (shape (1, ...) or a number)."
            )

    def tensors(self, inputs: list[Any]) -> list[Any]:
        """The references as tensors of the inputs' dtypes (batch 1 when shared); inside the trace."""
        out = []
        for value, x in zip(self._values, inputs):
            if value.ndim == 0:
                out.append(tf.fill(tf.shape(x[:1]), tf.cast(value, x.dtype)))
            else:
                out.append(tf.constant(value, dtype=x.dtype))
        return out


def _per_input(reference_inputs: Any, n_inputs: int) -> list[Any]:
    if isinstance(reference_inputs, list | tuple):
        if len(reference_inputs) == n_inputs:
            return list(reference_inputs)
        if n_inputs > 1:
            raise ValueError(
                f"reference_inputs is a list of {len(reference_inputs)} but the model has "
                f"{n_inputs} inputs; give one reference per input, or one number for all."
            )
        return [reference_inputs]
    if n_inputs > 1 and np.ndim(reference_inputs) > 0:
        raise ValueError(
            f"The model has {n_inputs} inputs: give reference_inputs as a list with one "
            "reference per input, or one number for all."
        )
    return [reference_inputs] * n_inputs


def _checked(value: Any, spec: Any, i: int, n: int) -> np.ndarray:
    array = np.asarray(value)
    where = f"reference_inputs[{i}]" if n > 1 else "reference_inputs"
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{where} must be numbers, got {array.dtype}.")
    if not np.isfinite(array.astype(np.float64)).all():
        raise ValueError(f"{where} contains NaN or infinite values.")
    if array.ndim == 0:
        return array
    sample = tuple(spec.shape[1:])
    if array.ndim == len(sample):
        array = array[None]
    shape_ok = array.ndim == len(sample) + 1 and all(
        e is None or e == a for e, a in zip(sample, array.shape[1:])
    )
    if not shape_ok:
        text = "(" + ", ".join("any" if d is None else str(d) for d in sample) + ")"
        raise ValueError(
            f"{where} has shape {np.shape(value)}; expected a number, one sample of shape "
            f"{text}, or a batch (1 or N, *{text})."
        )
    return array


def reference_pass(graph: ExecutionGraph, references: list[Any], state: ReverseState) -> Forward:
    """Run the references forward through the same nodes (recorded on the engine's tape)."""
    return forward(graph, references, ReverseState(graph, state.tape, state.options))


def reference_of(nt: NodeTensors, state: ReverseState) -> NodeTensors:
    """The reference pass's tensors of the node whose input pass is ``nt``."""
    return state.extra[KEY].node_tensors[nt.node.nid]
