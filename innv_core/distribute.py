"""Analyzing a dataset across devices with a ``tf.distribute.Strategy``.

Each global batch of the dataset is split over the strategy's replicas; every replica runs the
analyzer's one compiled function on its share, and the shares are put back in order. With
``MirroredStrategy`` this uses every local device; with ``MultiWorkerMirroredStrategy`` every
worker analyzes its shard (each worker then holds the analyses of its own replicas).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from innv_core import inputs as input_checks
from innv_core.errors import InvalidInputError, InvalidParameterError, NeuronSelectionError


def analyze_distributed(
    analyzer: Any, data: Any, strategy: Any, neuron_selection: Any = None, token_reduce: Any = "sum"
) -> Any:
    """Analyze ``data`` (a batched ``tf.data.Dataset``, or arrays as one batch) under ``strategy``.

    ``neuron_selection`` may be one int (mode ``index``); per-sample indices cannot follow the
    split of batches across replicas and are refused. The result has the structure of ``data``
    (of its elements for a dataset), as ``analyze``'s.
    """
    options = getattr(analyzer, "_reverse_options", None)
    if options is not None and options.keep_tensors:
        raise InvalidParameterError(
            "reverse_keep_tensors=True is not supported with a distribution strategy; analyze "
            "without strategy= to keep the reversed tensors."
        )
    if analyzer._selection.mode == "weights":
        raise NeuronSelectionError(
            "neuron_selection_mode='weights' is not supported with a distribution strategy (the "
            "(indices, weights) rows cannot follow the split of each batch across replicas); "
            "analyze without strategy=, or use mode 'index' with one int."
        )
    if neuron_selection is not None and np.ndim(neuron_selection) > 0:
        raise NeuronSelectionError(
            "With a distribution strategy give neuron_selection as one int; per-sample indices "
            "cannot follow the split of each batch across replicas."
        )
    model_inputs = analyzer._model.inputs
    if analyzer._analyze_fn is None:
        analyzer.create_analyzer_model()
    index = int(analyzer._selection.indices(neuron_selection, 1, analyzer._n_neurons(None))[0])
    dataset = data if input_checks.is_dataset(data) else _one_batch(analyzer._inputs.check(data))
    dataset = inputs_only(dataset, len(model_inputs), analyzer._inputs.names)

    def step(*xs: Any) -> Any:
        return analyzer._analyze_fn(*xs, tf.fill([tf.shape(xs[0])[0]], index))

    distributed = strategy.experimental_distribute_dataset(dataset)

    @tf.function(input_signature=[distributed.element_spec])
    def run(batch: Any) -> Any:
        return strategy.run(step, args=tuple(batch))

    parts: list[list[np.ndarray]] = []
    for batch in distributed:
        outputs = run(batch)
        analyses = [_gathered(strategy, o) for o in outputs]
        if analyzer._split is not None:  # token inputs: per token, padding zeroed
            analyses = analyzer._split.reduce(analyses, [_gathered(strategy, x) for x in batch], token_reduce)
        parts.append(analyses)
    if not parts:
        raise InvalidInputError("The dataset given to analyze() is empty: it yielded no batch.")
    merged = [np.concatenate(p, axis=0) for p in zip(*parts)]
    return analyzer._inputs.restore(data, merged)  # the structure of data: a dict in, a dict out


def _gathered(strategy: Any, value: Any) -> np.ndarray:
    """A per-replica value as one numpy array (replicas' shares concatenated in order)."""
    return np.concatenate([t.numpy() for t in strategy.experimental_local_results(value)], axis=0)


def inputs_only(dataset: Any, n_inputs: int, names: list[str] | None = None) -> Any:
    """The dataset mapped to tuples of model inputs in model order (labels dropped; dicts read
    by the input ``names``)."""
    return dataset.map(lambda *e: _model_inputs(e, n_inputs, names))


def _model_inputs(element: tuple, n_inputs: int, names: list[str] | None = None) -> tuple:
    """The model inputs of a dataset element, always as a tuple in model order."""
    x = input_checks.dataset_inputs(element if len(element) > 1 else element[0], n_inputs)
    if isinstance(x, dict):
        x = input_checks.by_name(x, names)
    return tuple(x) if isinstance(x, list | tuple) else (x,)


def _one_batch(Xs: list[Any]) -> Any:
    return tf.data.Dataset.from_tensor_slices(tuple(Xs)).batch(len(Xs[0]))
