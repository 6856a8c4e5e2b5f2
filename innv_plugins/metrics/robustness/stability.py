"""Relative input, output and representation stability (Agarwal et al. 2022): explanation change per
input / output / internal representation change."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, NotAnalyzableModelError, check_number
from innv_core.metrics.normalise import normalise_by_average_second_moment_estimate
from innv_plugins.metrics.robustness.noisy import NoisyInputs


def _relative_norm(change: np.ndarray, reference: np.ndarray, eps: float) -> np.ndarray:
    """``|| change / reference ||`` per sample, a zero reference replaced by ``eps``."""
    n = len(change)
    return np.linalg.norm((change / (reference + (reference == 0) * eps)).reshape(n, -1), axis=1)


class RelativeInputStability(NoisyInputs):
    """The largest ``||(e_x - e_x') / e_x|| / ||(x - x') / x||`` over ``nr_samples`` uniform
    noises in ``[0.02, 0.2)`` (Quantus 0.6; zeros replaced by ``eps_min``; lower is better). NaN
    where a noise changes the predicted class (``return_nan_when_prediction_changes``, True by
    default; then one changed prediction makes the sample NaN, as Quantus' ``np.max``).
    ``evaluate`` needs ``analyzer=``. Quantus' ``normalise_func`` here defaults to
    ``normalise_by_average_second_moment_estimate`` (used only with ``normalise=True``).
    """

    name = "relative_input_stability"
    reduce = staticmethod(np.max)

    def __init__(self, model: Any = None, *, nr_samples: int = 200, abs: bool = False,  # noqa: A002
                 normalise: bool = False, normalise_func: Any = None, eps_min: float = 1e-6,
                 return_nan_when_prediction_changes: bool = True, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, nr_samples=nr_samples, seed=seed, abs=abs, normalise=normalise,
                         normalise_func=normalise_func or normalise_by_average_second_moment_estimate,
                         return_nan_when_prediction_changes=return_nan_when_prediction_changes, **common)
        self.eps_min = check_number("eps_min", eps_min, minimum=0.0)

    def noise(self, rng, shape):
        return rng.uniform(0.02, 0.2, size=shape)

    def objective(self, x, noisy, a, noisy_a, batch_size):
        explanation = _relative_norm(a - noisy_a, a, self.eps_min)
        change = _relative_norm(x.astype(np.float64) - noisy, x.astype(np.float64), self.eps_min)
        return explanation / (change + (change == 0) * self.eps_min)


class RelativeOutputStability(RelativeInputStability):
    """As :class:`RelativeInputStability`, relative to the change of the model's logits
    ``||h(x) - h(x')||`` instead of the input's (Quantus 0.6)."""

    name = "relative_output_stability"

    def objective(self, x, noisy, a, noisy_a, batch_size):
        forward = self.class_scores(False)
        explanation = _relative_norm(a - noisy_a, a, self.eps_min)
        change = np.linalg.norm(forward.outputs(x, batch_size) - forward.outputs(noisy, batch_size), axis=1)
        return explanation / (change + (change == 0) * self.eps_min)


class Representation:
    """The outputs of some of a model's layers (Quantus' ``layer_names`` / ``layer_indices``:
    indices into ``model.layers``, negative from the end; neither: every layer), and the
    relative change ``||(l_x - l_x') / l_x||`` of all of them together, per sample: each through
    one compiled function with a batch-free signature, the layers' outputs kept as tensors in
    their own dtype (the change is computed in float64 inside the function; nothing is
    concatenated or copied to numpy)."""

    def __init__(self, model: Any, layer_names: list[str] | None, layer_indices: list[int] | None) -> None:
        import keras
        import tensorflow as tf

        if len(model.inputs) != 1:
            raise NotAnalyzableModelError(
                f"Metrics need a model with one input; this one has {len(model.inputs)}.")
        layers = list(model.layers)
        names = list(layer_names or [])
        indices = [i if i >= 0 else len(layers) + i for i in layer_indices or []]
        unknown = sorted(set(names) - {layer.name for layer in layers})
        if unknown or any(not 0 <= i < len(layers) for i in indices):
            raise InvalidParameterError(
                f"layer_names {unknown} / layer_indices {layer_indices} name no layer of the model "
                f"(its layers: {[layer.name for layer in layers]}, indices 0..{len(layers) - 1}).")
        chosen = [layer for i, layer in enumerate(layers)
                  if (not names and not indices) or i in indices or layer.name in names]
        self.layers = tuple(layer.name for layer in chosen)
        hidden = keras.Model(model.inputs, [layer.output for layer in chosen])
        spec = model.inputs[0]
        x_spec = tf.TensorSpec((None, *spec.shape[1:]), spec.dtype)
        out_specs = [tf.TensorSpec((None, *layer.output.shape[1:]), layer.output.dtype) for layer in chosen]

        def run(x: tf.Tensor) -> list[tf.Tensor]:
            outs = hidden(x, training=False)
            return list(outs) if isinstance(outs, (list, tuple)) else [outs]

        @tf.function(input_signature=[x_spec, out_specs, tf.TensorSpec((), tf.float64)])
        def relative_change(x: tf.Tensor, reference: list[tf.Tensor], eps: tf.Tensor) -> tf.Tensor:
            total = tf.zeros(tf.shape(x)[:1], tf.float64)
            for ref, out in zip(reference, run(x)):
                ref, out = tf.cast(ref, tf.float64), tf.cast(out, tf.float64)
                ratio = (ref - out) / (ref + tf.cast(ref == 0, tf.float64) * eps)
                total += tf.reduce_sum(tf.reshape(tf.square(ratio), (tf.shape(x)[0], -1)), axis=1)
            return tf.sqrt(total)

        self._outputs = tf.function(run, input_signature=[x_spec])
        self._relative_change = relative_change
        self._dtype = spec.dtype

    def outputs(self, x: np.ndarray, batch_size: int) -> list[list[Any]]:
        """The chosen layers' outputs of ``x``, one list of tensors per chunk of ``batch_size``."""
        x = np.asarray(x, dtype=self._dtype)
        return [self._outputs(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]

    def relative_change(self, reference: list[list[Any]], x: np.ndarray, batch_size: int,
                        eps: float) -> np.ndarray:
        """``||(l_ref - l_x) / l_ref||`` per sample over every chosen layer (zeros of ``l_ref``
        replaced by ``eps``); ``reference`` from :meth:`outputs` with the same ``batch_size``."""
        x = np.asarray(x, dtype=self._dtype)
        parts = [self._relative_change(x[i:i + batch_size], chunk, eps).numpy()
                 for i, chunk in zip(range(0, len(x), batch_size), reference)]
        return np.concatenate(parts)


class RelativeRepresentationStability(RelativeInputStability):
    """As :class:`RelativeInputStability`, relative to the change of an internal representation
    ``||(l_x - l_x') / l_x||`` instead of the input's (Quantus 0.6): the outputs of the layers
    ``layer_names`` or ``layer_indices`` (indices into ``model.layers``), flattened and
    concatenated; neither given, every layer's (Quantus' default, slow for large models).
    """

    name = "relative_representation_stability"

    def __init__(self, model: Any = None, *, nr_samples: int = 200, abs: bool = False,  # noqa: A002
                 normalise: bool = False, normalise_func: Any = None, eps_min: float = 1e-6,
                 layer_names: list[str] | None = None, layer_indices: list[int] | None = None,
                 return_nan_when_prediction_changes: bool = True, seed: int | None = None,
                 **common: Any) -> None:
        super().__init__(model, nr_samples=nr_samples, abs=abs, normalise=normalise,
                         normalise_func=normalise_func, eps_min=eps_min,
                         return_nan_when_prediction_changes=return_nan_when_prediction_changes,
                         seed=seed, **common)
        if layer_names is not None and layer_indices is not None:
            raise InvalidParameterError("Give layer_names or layer_indices, not both.")
        if isinstance(layer_names, str) or isinstance(layer_indices, int):
            raise InvalidParameterError("layer_names and layer_indices are lists, e.g. "
                                        "layer_names=['dense_1'].")
        self.layer_names = None if layer_names is None else list(layer_names)
        self.layer_indices = None if layer_indices is None else [int(i) for i in layer_indices]
        self.representation = Representation(model, self.layer_names, self.layer_indices)
        self._l_x: list[list[Any]] | None = None

    def score(self, x, y, a, s, *, batch_size, softmax):
        self._l_x = self.representation.outputs(x, batch_size)
        try:
            return super().score(x, y, a, s, batch_size=batch_size, softmax=softmax)
        finally:
            self._l_x = None

    def objective(self, x, noisy, a, noisy_a, batch_size):
        explanation = _relative_norm(a - noisy_a, a, self.eps_min)
        change = self.representation.relative_change(self._l_x, noisy, batch_size, self.eps_min)
        return explanation / (change + (change == 0) * self.eps_min)
