"""The demo's small CNN and its training on :mod:`innv_core.app.demo.data` (seeded, a few seconds).

Building and training run inside :func:`~innv_core.app.demo.determinism.seeded`: the same seed
gives the same weights, and the caller's random state and op-determinism setting are as before
afterwards. Training runs in float64 and the trained weights are then rounded into the float32
model that is explained and saved: in float32 the few rounding differences between CPUs
(oneDNN's AVX-512, AVX2 or SSE4.1 kernels add in different orders) or thread counts grow over
the ~300 training steps into another model (test accuracy 0.97-1.00, object shares up to 0.13
apart); in float64 they stay below 1e-11 (`bench/demo_spread.py`, `docs/demo.md`).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from innv_core.app.demo.data import CLASSES, ShapeImages
from innv_core.app.demo.determinism import seeded

__all__ = ["build_cnn", "train_cnn"]

L = keras.layers


def build_cnn(input_shape: tuple[int, int, int] = (32, 32, 3), n_classes: int = len(CLASSES),
              seed: int = 0) -> keras.Model:
    """Conv-Pool x3, Dense, Dense: ~30k weights, ReLUs, logits out (no softmax: ready to explain).

    The initial weights depend on ``seed`` only; the caller's random state is left as it was.
    """
    with seeded(seed):
        return _cnn(input_shape, n_classes)


def _cnn(input_shape: tuple[int, int, int], n_classes: int, dtype: str = "float32") -> keras.Model:
    kw = {"dtype": dtype}
    return keras.Sequential(
        [
            keras.Input(input_shape, dtype=dtype),
            L.Conv2D(16, 3, padding="same", activation="relu", name="conv1", **kw),
            L.MaxPooling2D(2, name="pool1", **kw),
            L.Conv2D(32, 3, padding="same", activation="relu", name="conv2", **kw),
            L.MaxPooling2D(2, name="pool2", **kw),
            L.Conv2D(32, 3, padding="same", activation="relu", name="conv3", **kw),
            L.MaxPooling2D(2, name="pool3", **kw),
            L.Flatten(name="flatten", **kw),
            L.Dense(32, activation="relu", name="dense1", **kw),
            L.Dense(n_classes, name="logits", **kw),
        ],
        name="shapes_cnn",
    )


def compile_cnn(model: keras.Model, learning_rate: float = 3e-3) -> keras.Model:
    """Adam on the cross-entropy of the logits, with accuracy as metric (``evaluate`` gives both)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def train_cnn(data: ShapeImages, epochs: int = 6, batch_size: int = 64, seed: int = 0,
              verbose: Any = 0, dtype: str = "float64") -> keras.Model:
    """Build, compile and train the CNN on ``data`` with fixed seeds; returns it in float32, compiled.

    Deterministic (seeds and op determinism, :func:`~innv_core.app.demo.determinism.seeded`):
    two calls with the same arguments give the same weights in one process or two. ``dtype``
    is the precision of the training (float64: the same weights to float32 precision on other
    CPUs and thread counts, see the module's docstring); "float32" trains as most code does.
    """
    shape = data.x.shape[1:]
    with seeded(seed):  # building a layer draws a seed too: everything inside
        trained = compile_cnn(_cnn(shape, len(CLASSES), dtype))
        trained.fit(data.x.astype(dtype), data.y, epochs=epochs, batch_size=batch_size, shuffle=True,
                    verbose=verbose)
        if dtype == "float32":
            return trained
        model = compile_cnn(_cnn(shape, len(CLASSES)))
    model.set_weights([w.astype(np.float32) for w in trained.get_weights()])
    return model


def accuracy(model: keras.Model, data: ShapeImages) -> float:
    """The fraction of ``data`` the model classifies correctly."""
    logits = model.predict(data.x, verbose=0, batch_size=256)
    return float(np.mean(np.argmax(logits, axis=-1) == data.y))
