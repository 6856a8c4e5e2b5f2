"""A small EfficientNet trained for about a minute on the demo's shapes task, explained with LRP.

    python docs/examples/efficientnet_shapes.py [out_dir] [--epochs N]

The network is Keras' own EfficientNet (the builder behind ``keras.applications.EfficientNetB0``:
Rescaling and Normalization up front, MBConv blocks with depthwise convolutions, swish,
squeeze-excitation gates, BatchNormalization, residual adds), with half the width and depth and
the first four stages, so that it learns the task on 2 CPU cores without downloading weights.

Writes ``efficientnet_heatmaps.png`` (the input and each method of :data:`METHODS` for two test
images of each class) and prints the test accuracy and, per method, the sum of the
relevance over the logit and the share of positive relevance on the object (the object covers
about 15% of the image, so 0.15 is what a map blind to the object would get).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras
import numpy as np

# keras.applications exposes only B0..B7; the builder they share takes the block list.
from keras.src.applications.efficientnet import DEFAULT_BLOCKS_ARGS, EfficientNet

from innv_core import create_analyzer
from innv_core.app.demo.data import CLASSES, ShapeImages, make_shapes
from innv_core.app.demo.run import object_share
from innv_core.utils.visualizations import heatmap, plot_image_grid

#: column label -> (analyzer name, parameters), LRP first; the box bounds are pixel values, innv maps them
#: through the Rescaling and Normalization layers to the first convolution's input.
METHODS = {
    "epsilon_plus_flat": ("lrp.epsilon_plus_flat", {}),
    "epsilon_gamma_box": ("lrp.epsilon_gamma_box", {"low": 0.0, "high": 255.0}),
    "epsilon 0.1": ("lrp.epsilon", {"epsilon": 0.1}),
    "epsilon 0.001": ("lrp.epsilon", {"epsilon": 1e-3}),
    "gradient": ("gradient", {}),
}


def small_efficientnet(size: int = 32) -> keras.Model:
    """EfficientNet with width and depth coefficients 0.5 and the first four of its seven stages."""
    return EfficientNet(
        0.5,
        0.5,
        size,
        dropout_rate=0.0,
        drop_connect_rate=0.0,
        blocks_args=DEFAULT_BLOCKS_ARGS[:4],
        name="efficientnet_small",
        weights=None,
        input_shape=(size, size, 3),
        classes=len(CLASSES),
        classifier_activation=None,
    )


def train(epochs: int) -> tuple[keras.Model, ShapeImages]:
    """Train on 6000 shapes (pixels scaled to [0, 255], EfficientNet's input range)."""
    keras.utils.set_random_seed(0)
    train_set, test = make_shapes(6000, seed=0), make_shapes(150, seed=1)
    model = small_efficientnet()
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(train_set.x * 255.0, train_set.y, batch_size=32, epochs=epochs, verbose=0)
    return model, test


def main(out: Path, epochs: int = 6) -> dict[str, np.ndarray]:
    """Train, explain, print the numbers, write the figure; returns the analyses by method."""
    start = time.time()
    model, test = train(epochs)
    x = test.x * 255.0
    logits = model.predict(x, verbose=0)
    print(
        f"trained {epochs} epochs in {time.time() - start:.0f} s; "
        f"test accuracy {np.mean(logits.argmax(1) == test.y):.3f}"
    )
    analyses = {}
    for label, (name, kwargs) in METHODS.items():
        start = time.time()
        analyses[label] = a = create_analyzer(name, model, **kwargs).analyze(x)
        sums = a.reshape(len(a), -1).sum(1) / logits.max(1)
        share = np.nanmean(object_share(a, test.mask))
        print(
            f"{label:24s} sum R / logit: median {np.median(sums):7.4f}   "
            f"object share {share:.3f}   {time.time() - start:.1f} s"
        )
    rows = np.concatenate([np.flatnonzero(test.y == c)[:2] for c in range(len(CLASSES))])
    grid = [[test.x[i]] + [heatmap(a[i : i + 1])[0] for a in analyses.values()] for i in rows]
    labels = [f"{CLASSES[test.y[i]]}\n(pred. {CLASSES[logits[i].argmax()]})" for i in rows]
    out.mkdir(parents=True, exist_ok=True)
    path = out / "efficientnet_heatmaps.png"
    plot_image_grid(
        grid,
        path,
        row_labels=labels,
        col_labels=["input", *METHODS],
        cell_px=110,
        title_px=28,
        row_label_px=90,
        fontsize=7,
    )
    print(f"wrote {path}")
    return analyses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path(__file__).parent.parent / "images")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    main(args.out, args.epochs)
