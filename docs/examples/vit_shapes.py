"""A tiny Vision Transformer trained for about a minute on the demo's shapes task, explained with AttnLRP.

    python docs/examples/vit_shapes.py [out_dir] [--epochs N]

The network is keras-hub's ``ViTBackbone`` (4x4 patches embedded by a strided convolution, a
class token, learned position embeddings, pre-LayerNorm encoder blocks of multi-head attention
and a GELU MLP) under ``ViTImageClassifier`` (the class token's output, one Dense layer), with
random weights: nothing is downloaded.

Writes ``vit_heatmaps.png`` (the input and each method of :data:`METHODS` for two test images
of each class) and prints the test accuracy and, per method, the sum of the relevance over the
logit and the share of positive relevance on the object, per pixel and with the relevance summed
per 4x4 patch (the ViT's tokens), with the share a uniform map gets (the object's area fraction)
as the baseline.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from innv_core import create_analyzer
from innv_core.app.demo.data import CLASSES, ShapeImages, make_shapes
from innv_core.app.demo.run import object_share
from innv_core.utils.visualizations import heatmap, plot_image_grid

#: column label -> (analyzer name, parameters), LRP first. ``lrp.epsilon`` opens the transformer
#: blocks with AttnLRP's rules too (and uses its epsilon inside them). Integrated Gradients runs
#: from two references: its default, input 0 (a grey image once the pixels are scaled), and -1
#: (black, pixel value 0).
METHODS = {
    "attnlrp": ("lrp.attnlrp", {}),
    "cp_lrp": ("lrp.cp_lrp", {}),
    "epsilon 0.1": ("lrp.epsilon", {"epsilon": 0.1}),
    "IG (ref. grey)": ("integrated_gradients", {}),
    "IG (ref. black)": ("integrated_gradients", {"reference_inputs": -1.0}),
    "gradient": ("gradient", {}),
}


def tiny_vit(size: int = 32) -> keras.Model:
    """ViT with 4x4 patches (8x8 of them and a class token), 2 blocks, 4 heads, width 32, MLP 64."""
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(size, size, 3),
        patch_size=4,
        num_layers=2,
        num_heads=4,
        hidden_dim=32,
        mlp_dim=64,
    )
    return keras_hub.models.ViTImageClassifier(
        backbone, num_classes=len(CLASSES), preprocessor=None, activation=None
    )


def scaled(pixels: np.ndarray) -> np.ndarray:
    """Pixels in [0, 1] to [-1, 1] (mean 0.5, std 0.5, the original ViT checkpoints' input range).

    Centred inputs matter here: on [0, 1] the same model needs about twice the epochs.
    """
    return pixels * 2.0 - 1.0


def train(epochs: int) -> tuple[keras.Model, ShapeImages]:
    """Train on 6000 shapes (pixels scaled to [-1, 1]) with AdamW, warm-up and cosine decay."""
    keras.utils.set_random_seed(0)
    train_set, test = make_shapes(6000, seed=0), make_shapes(150, seed=1)
    model = tiny_vit()
    batch = 16
    steps = epochs * len(train_set) // batch
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=2e-3, warmup_steps=steps // 10
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    # keras-hub's Task.fit turns arrays into an unshuffled tf.data pipeline (shuffle= is ignored),
    # so the shuffling is done here.
    data = tf.data.Dataset.from_tensor_slices((scaled(train_set.x), train_set.y))
    model.fit(data.shuffle(len(train_set), seed=0).batch(batch), epochs=epochs, shuffle=False, verbose=0)
    return model, test


def patch_share(analysis: np.ndarray, mask: np.ndarray, patch: int = 4) -> np.ndarray:
    """:func:`object_share` of the relevance summed per patch (per token), each patch weighted by
    the fraction of its pixels on the object."""
    n, h, w = mask.shape
    tokens = analysis.sum(-1).reshape(n, h // patch, patch, w // patch, patch).sum((2, 4))
    covered = mask.reshape(n, h // patch, patch, w // patch, patch).mean((2, 4))
    positive = np.maximum(tokens, 0.0)
    return (positive * covered).sum((1, 2)) / positive.sum((1, 2))


def main(out: Path, epochs: int = 6) -> dict[str, np.ndarray]:
    """Train, explain, print the numbers, write the figure; returns the analyses by method."""
    start = time.time()
    model, test = train(epochs)
    x = scaled(test.x)
    logits = model.predict(x, verbose=0)
    print(
        f"trained {epochs} epochs in {time.time() - start:.0f} s; "
        f"test accuracy {np.mean(logits.argmax(1) == test.y):.3f}"
    )
    ones = np.ones_like(x)
    print(
        f"{'uniform map':24s} {'':31s}object share {np.mean(object_share(ones, test.mask)):.3f}   "
        f"per patch {np.mean(patch_share(ones, test.mask)):.3f}"
    )
    analyses = {}
    for label, (name, kwargs) in METHODS.items():
        start = time.time()
        analyses[label] = a = create_analyzer(name, model, **kwargs).analyze(x)
        sums = a.reshape(len(a), -1).sum(1) / logits.max(1)
        share = np.nanmean(object_share(a, test.mask))
        per_patch = np.nanmean(patch_share(a, test.mask))
        print(
            f"{label:24s} sum R / logit: median {np.median(sums):7.4f}   "
            f"object share {share:.3f}   per patch {per_patch:.3f}   {time.time() - start:.1f} s"
        )
    rows = np.concatenate([np.flatnonzero(test.y == c)[:2] for c in range(len(CLASSES))])
    grid = [[test.x[i]] + [heatmap(a[i : i + 1])[0] for a in analyses.values()] for i in rows]
    labels = [f"{CLASSES[test.y[i]]}\n(pred. {CLASSES[logits[i].argmax()]})" for i in rows]
    out.mkdir(parents=True, exist_ok=True)
    path = out / "vit_heatmaps.png"
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
