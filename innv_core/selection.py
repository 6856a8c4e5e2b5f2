"""Neuron selection: which output neurons an analysis explains.

``max_activation`` takes each sample's largest output, ``index`` a given neuron (one int, or one
per sample), ``all`` every neuron. Outputs with more than one non-batch axis are indexed in
their flattened (row-major) order. For a multi-output model, ``output_index`` picks the output.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from innv_core.errors import NeuronSelectionError, invalid_parameter

MODES = ("max_activation", "index", "all")


@attrs.frozen
class NeuronSelection:
    """How to pick the explained neurons of output ``output_index``."""

    mode: str = attrs.field(default="max_activation")
    output_index: int = 0

    @mode.validator
    def _check_mode(self, _attr: Any, value: str) -> None:
        if value not in MODES:
            raise invalid_parameter("neuron_selection_mode", value, f"one of {MODES}")

    def indices(self, neuron_selection: Any, batch_size: int, n_neurons: int) -> np.ndarray:
        """The per-sample int32 indices to feed the compiled analysis (checked before computing).

        For modes other than ``index`` a dummy vector of zeros is returned.
        """
        if self.mode != "index":
            if neuron_selection is not None:
                raise NeuronSelectionError(
                    f"neuron_selection was given but neuron_selection_mode is {self.mode!r}; "
                    "create the analyzer with neuron_selection_mode='index' to choose neurons."
                )
            return np.zeros((batch_size,), np.int32)
        if neuron_selection is None:
            raise NeuronSelectionError(
                "neuron_selection_mode='index' needs `neuron_selection` at analyze(): "
                "an int, or one int per sample."
            )
        idx = np.asarray(neuron_selection)
        if not np.issubdtype(idx.dtype, np.integer):
            raise NeuronSelectionError(
                f"neuron_selection must be integers, got {idx.dtype} ({neuron_selection!r})."
            )
        if idx.ndim > 1:
            raise NeuronSelectionError(
                f"neuron_selection must be one int or a 1-D list with one int per sample, got an "
                f"array of shape {idx.shape}. Neurons of outputs with several axes are numbered in "
                "row-major order of the flattened output (np.ravel_multi_index gives the number)."
            )
        if idx.ndim == 0:
            idx = np.full((batch_size,), int(idx))
        if idx.shape[0] != batch_size:
            raise NeuronSelectionError(
                f"neuron_selection has {idx.shape[0]} indices for a batch of {batch_size}; "
                "give one int, or exactly one per sample."
            )
        bad = (idx < -n_neurons) | (idx >= n_neurons)
        if bad.any():
            raise NeuronSelectionError(
                f"neuron_selection {idx[bad].tolist()} out of range: the output has {n_neurons} "
                f"neurons, valid indices are 0..{n_neurons - 1} (or negative from the end)."
            )
        return np.where(idx < 0, idx + n_neurons, idx).astype(np.int32)

    def mask(self, output: tf.Tensor, indices: tf.Tensor) -> tf.Tensor:
        """A 0/1 mask of ``output``'s shape marking the selected neurons of each sample."""
        flat = tf.reshape(output, (tf.shape(output)[0], -1))
        n = tf.shape(flat)[1]
        if self.mode == "all":
            return tf.ones_like(output)
        if self.mode == "max_activation":
            indices = tf.argmax(flat, axis=1, output_type=tf.int32)
        return tf.reshape(tf.one_hot(indices, n, dtype=output.dtype), tf.shape(output))


def n_neurons(output_shape: Any) -> int:
    """Number of neurons per sample of an output with shape ``(batch, ...)``."""
    return int(np.prod([d for d in output_shape[1:]]))


def resolve_output_index(model: Any, output_index: Any) -> int:
    """The position in ``model.outputs`` of the output to explain.

    ``output_index`` is a position in ``model.outputs`` (for dict outputs: Keras' order, sorted by
    key) or a name: a key of the model's output dict or the name of the layer producing it.
    Models without declared outputs (subclassed) accept any non-negative int here; it is checked
    at the first call.
    """
    from innv_core import keras_adapter as ka

    names = ka.output_names(model)
    if isinstance(output_index, str):
        matches = [i for i, aliases in enumerate(names or []) if output_index in aliases]
        if len(matches) != 1:
            known = sorted({a for aliases in names or [] for a in aliases})
            raise NeuronSelectionError(
                f"output_index={output_index!r} names no output of the model; its outputs are "
                f"{known or '(unnamed)'} (or give a position 0..{len(names or [1]) - 1})."
            )
        return matches[0]
    if isinstance(output_index, bool) or not isinstance(output_index, int | np.integer):
        raise NeuronSelectionError(
            f"output_index must be an int (position in model.outputs) or an output name, got "
            f"{output_index!r}."
        )
    n = len(names) if names is not None else None
    if output_index < 0 or (n is not None and output_index >= n):
        listing = "" if not names else " (" + ", ".join(
            f"{i}: {'/'.join(sorted(a))}" for i, a in enumerate(names)) + ")"
        raise NeuronSelectionError(
            f"output_index={output_index} but the model has {n} output(s){listing}; "
            f"give 0..{(n or 1) - 1} or an output name."
        )
    return int(output_index)
