"""DeepLIFT's reference: the ``reference_inputs`` parameter and the reference's forward pass.

DeepLIFT explains ``f(x) - f(reference)``. The reference is given once, at construction:

- a number (None means 0): every input value of every model input is compared with it;
- an array shaped like one sample (``x.shape[1:]``) or with a batch axis of 1: one reference
  shared by every sample;
- an array with a batch axis of ``N > 1``: one reference per sample (``analyze`` then needs
  exactly ``N`` samples);
- for multi-input models, a list with one of the above per input (in the order of
  ``model.inputs``) or a dict by input name (a single number applies to all).

A shared reference runs forward once per call with batch 1; its tensors broadcast against the
batch in every difference ``x - x_ref``.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core.errors import InvalidInputError
from innv_core.graph import ExecutionGraph
from innv_core.inputs import specs_of_tensors
from innv_core.inputs.references import checked_sample, per_input
from innv_core.reverse import Forward, NodeTensors, ReverseState, forward

#: Where the reference pass lives in ``ReverseState.extra``.
KEY = "deep_lift.reference"


class References:
    """The reference of each model input: a number, or an array with a batch axis (1 or N).

    Args:
        reference_inputs: see the module docstring.
        model_inputs: the model's symbolic inputs (their shapes check the arrays).
        names: the model's input names (a dict of references is read by them).

    Raises:
        InvalidParameterError: a list of the wrong length, an array of the wrong shape, or NaN/inf.
    """

    def __init__(self, reference_inputs: Any, model_inputs: list[Any],
                 names: list[str] | None = None) -> None:
        specs = specs_of_tensors(model_inputs, names)
        values = per_input(0 if reference_inputs is None else reference_inputs, len(specs), names)
        n = len(specs)
        self._values = [checked_sample(v, spec, i, n) for i, (v, spec) in enumerate(zip(values, specs))]

    @property
    def per_sample_batch(self) -> int | None:
        """N if some reference holds one sample per input sample (batch N > 1), else None."""
        sizes = {v.shape[0] for v in self._values if v.ndim > 0 and v.shape[0] > 1}
        return sizes.pop() if sizes else None

    def check_batch(self, batch: int) -> None:
        """Refuse a batch that per-sample references cannot be paired with."""
        n = self.per_sample_batch
        if n is not None and batch != n:
            raise InvalidInputError(
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


def reference_pass(graph: ExecutionGraph, references: list[Any], state: ReverseState) -> Forward:
    """Run the references forward through the same nodes (recorded on the engine's tape)."""
    return forward(graph, references, ReverseState(graph, state.tape, state.options))


def reference_of(nt: NodeTensors, state: ReverseState) -> NodeTensors:
    """The reference pass's tensors of the node whose input pass is ``nt``."""
    return state.extra[KEY].node_tensors[nt.node.nid]
