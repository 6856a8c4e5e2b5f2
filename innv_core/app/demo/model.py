"""The demo's small CNN and its training on :mod:`innv_core.app.demo.data` (seeded, a few seconds)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from innv_core.app.demo.data import CLASSES, ShapeImages

__all__ = ["build_cnn", "train_cnn"]

L = keras.layers


def build_cnn(input_shape: tuple[int, int, int] = (32, 32, 3), n_classes: int = len(CLASSES),
              seed: int = 0) -> keras.Model:
    """Conv-Pool x3, Dense, Dense: ~30k weights, ReLUs, logits out (no softmax: ready to explain)."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(input_shape),
            L.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
            L.MaxPooling2D(2, name="pool1"),
            L.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
            L.MaxPooling2D(2, name="pool2"),
            L.Conv2D(32, 3, padding="same", activation="relu", name="conv3"),
            L.MaxPooling2D(2, name="pool3"),
            L.Flatten(name="flatten"),
            L.Dense(32, activation="relu", name="dense1"),
            L.Dense(n_classes, name="logits"),
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
              verbose: Any = 0) -> keras.Model:
    """Build, compile and train :func:`build_cnn` on ``data`` with fixed seeds; returns the model."""
    model = compile_cnn(build_cnn(data.x.shape[1:], seed=seed))
    keras.utils.set_random_seed(seed)
    model.fit(data.x, data.y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    return model


def accuracy(model: keras.Model, data: ShapeImages) -> float:
    """The fraction of ``data`` the model classifies correctly."""
    logits = model.predict(data.x, verbose=0, batch_size=256)
    return float(np.mean(np.argmax(logits, axis=-1) == data.y))
