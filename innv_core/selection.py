"""Neuron selection: which output neurons an analysis explains.

``max_activation`` takes each sample's largest output, ``index`` a given neuron (one int, or one
per sample), ``all`` every neuron, ``weights`` a weighted set of neurons per sample. Outputs with
more than one non-batch axis are indexed in their flattened (row-major) order. For a multi-output
model, ``output_index`` picks the output.

``weights``: ``neuron_selection=(indices, weights)``, two arrays of shape ``(batch, k)`` (or
``(k,)``, shared by every sample): sample ``i`` explains ``sum_j weights[i, j] * y[i, indices[i, j]]``.
Gradient-type methods take the gradient of that sum; LRP starts from the relevance ``w ⊙ z``
(the selected outputs, each times its weight; a neuron named twice adds its weights). A span of
a sequence's logits is weights 1 at its neurons, a contrast ``+1`` at one and ``-1`` at another.
The compiled analysis takes the ``(batch, k)`` pair, ``k`` free in its signature, never a dense
``(batch, n_neurons)`` array: a decoder's logits have up to 256k neurons per position. Neither
the batch size nor ``k`` retraces (the inputs' other dimensions are those the model declares, as
in every mode); the dense weights of a row exist only inside the compiled function, as large as
the explained output itself.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from innv_core.errors import NeuronSelectionError, invalid_parameter

MODES = ("max_activation", "index", "all", "weights")


@attrs.frozen
class NeuronSelection:
    """How to pick the explained neurons of output ``output_index``."""

    mode: str = attrs.field(default="max_activation")
    output_index: int = 0

    @mode.validator
    def _check_mode(self, _attr: Any, value: str) -> None:
        if value not in MODES:
            raise invalid_parameter("neuron_selection_mode", value, f"one of {MODES}")

    # -- what the compiled analysis is fed --------------------------------------------------
    def specs(self) -> list[tf.TensorSpec]:
        """The input signature of the selection arguments of the compiled analysis (batch-free)."""
        if self.mode == "weights":
            return [tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.float32)]
        return [tf.TensorSpec((None,), tf.int32)]

    def feed(self, neuron_selection: Any, batch_size: int, n_neurons: int) -> tuple[np.ndarray, ...]:
        """The checked arrays the compiled analysis takes after the inputs: ``(indices,)``, or
        ``(indices, weights)`` of shape ``(batch, k)`` in mode ``weights``."""
        if self.mode == "weights":
            return weighted_neurons(neuron_selection, batch_size, n_neurons)
        return (self.indices(neuron_selection, batch_size, n_neurons),)

    def per_sample(self, neuron_selection: Any) -> bool:
        """Whether ``neuron_selection`` gives each sample its own neurons (to split it per batch)."""
        if self.mode == "weights":
            return _weights_pair(neuron_selection) is not None and np.ndim(neuron_selection[0]) == 2
        return np.ndim(neuron_selection) == 1

    def count(self, neuron_selection: Any) -> int:
        """How many samples a per-sample ``neuron_selection`` names."""
        return len(neuron_selection[0] if self.mode == "weights" else neuron_selection)

    def part(self, neuron_selection: Any, start: int, stop: int) -> Any:
        """The samples ``start:stop`` of a per-sample ``neuron_selection``."""
        if self.mode == "weights":
            return tuple(np.asarray(a)[start:stop] for a in neuron_selection)
        return np.asarray(neuron_selection)[start:stop]

    @staticmethod
    def selected(feed: Any) -> Any:
        """What :meth:`mask` takes, from the fed arrays (or tensors): the indices, or in mode
        ``weights`` the pair ``(indices, weights)``."""
        return feed[0] if len(feed) == 1 else tuple(feed)

    @staticmethod
    def rows(feed: tuple[np.ndarray, ...], rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """The fed arrays of some samples."""
        return tuple(a[rows] for a in feed)

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

    def mask(self, output: tf.Tensor, indices: Any) -> tf.Tensor:
        """A mask of ``output``'s shape marking the selected neurons of each sample: 0/1, or in
        mode ``weights`` each selected neuron's weight (``indices`` is then the pair fed)."""
        flat = tf.reshape(output, (tf.shape(output)[0], -1))
        n = tf.shape(flat)[1]
        if self.mode == "all":
            return tf.ones_like(output)
        if self.mode == "weights":
            return tf.reshape(_scatter_weights(*indices, tf.shape(flat), output.dtype), tf.shape(output))
        if self.mode == "max_activation":
            indices = tf.argmax(flat, axis=1, output_type=tf.int32)
        return tf.reshape(tf.one_hot(indices, n, dtype=output.dtype), tf.shape(output))


def _scatter_weights(indices: tf.Tensor, weights: tf.Tensor, shape: tf.Tensor, dtype: Any) -> tf.Tensor:
    """The dense ``(batch, n)`` weights of the ``(batch, k)`` pair (repeated neurons add up)."""
    rows = tf.broadcast_to(tf.range(tf.shape(indices)[0])[:, None], tf.shape(indices))
    coords = tf.stack([tf.reshape(rows, [-1]), tf.reshape(indices, [-1])], axis=1)
    return tf.scatter_nd(coords, tf.reshape(tf.cast(weights, dtype), [-1]), shape)


def _weights_pair(neuron_selection: Any) -> tuple[Any, Any] | None:
    """``(indices, weights)`` if ``neuron_selection`` is a pair (tuple, list or dict), else None."""
    if isinstance(neuron_selection, dict) and set(neuron_selection) == {"indices", "weights"}:
        return neuron_selection["indices"], neuron_selection["weights"]
    if isinstance(neuron_selection, tuple | list) and len(neuron_selection) == 2:
        return neuron_selection[0], neuron_selection[1]
    return None


def weighted_neurons(neuron_selection: Any, batch_size: int, n_neurons: int) -> tuple[np.ndarray, np.ndarray]:
    """The checked ``(indices int32, weights float32)`` pair of mode ``weights``, each ``(batch, k)``."""
    usage = ("neuron_selection_mode='weights' needs neuron_selection=(indices, weights): two arrays "
             "of the same shape, (batch, k) for one set per sample or (k,) for every sample, "
             "integer neuron indices and real weights (sample i explains sum_j w[i, j] * y[i, idx[i, j]]).")
    pair = _weights_pair(neuron_selection)
    if pair is None:
        raise NeuronSelectionError(f"{usage} Got {type(neuron_selection).__name__} {neuron_selection!r:.80}.")
    idx, w = (np.asarray(a) for a in pair)
    if not np.issubdtype(idx.dtype, np.integer):
        raise NeuronSelectionError(f"{usage} The indices are {idx.dtype}.")
    if not (np.issubdtype(w.dtype, np.floating) or np.issubdtype(w.dtype, np.integer)) or w.dtype == bool:
        raise NeuronSelectionError(f"{usage} The weights are {w.dtype}.")
    if idx.shape != w.shape or idx.ndim not in (1, 2) or idx.shape[-1] == 0:
        raise NeuronSelectionError(
            f"{usage} Got indices of shape {idx.shape} and weights of shape {w.shape}.")
    if idx.ndim == 1:
        idx, w = np.broadcast_to(idx, (batch_size, idx.size)), np.broadcast_to(w, (batch_size, w.size))
    if idx.shape[0] != batch_size:
        raise NeuronSelectionError(
            f"neuron_selection has {idx.shape[0]} rows of (indices, weights) for a batch of "
            f"{batch_size}; give one row per sample, or 1-D arrays shared by every sample."
        )
    if not np.all(np.isfinite(w)):
        raise NeuronSelectionError("neuron_selection's weights contain NaN or inf; give finite weights.")
    bad = (idx < -n_neurons) | (idx >= n_neurons)
    if bad.any():
        raise NeuronSelectionError(
            f"neuron_selection indices {np.unique(idx[bad]).tolist()[:10]} out of range: the output has "
            f"{n_neurons} neurons, valid indices are 0..{n_neurons - 1} (or negative from the end)."
        )
    idx = np.where(idx < 0, idx + n_neurons, idx)
    return np.ascontiguousarray(idx, np.int32), np.ascontiguousarray(w, np.float32)


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
