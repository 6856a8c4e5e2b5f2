"""The sanity-check figures of docs/evaluating.md: MPRT and random logit on the demo's model.

Trains the demo's shapes CNN (innv_core.app.demo: synthetic images, seeded, no downloads; about
half a minute on 2 cores) and writes

- ``docs/images/mprt_demo.png``: gradient, LRP-epsilon, guided backprop and LRP-alpha1beta0 on
  three test images (one per class), layers randomised top-down and cascading, with the
  Spearman similarity to the original explanation below each method;
- ``docs/images/random_logit_demo.png``: the explanation of the true class next to that of a
  random other class, with their SSIM.

    python docs/examples/mprt_figure.py [output folder]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from innv_core.app.demo.data import CLASSES, make_shapes
from innv_core.app.demo.model import accuracy, train_cnn
from innv_core.metrics.figures import plot_mprt, plot_random_logit

METHODS = {"gradient": "gradient", "LRP-ε": "lrp.epsilon", "guided backprop": "guided_backprop",
           "LRP-α1β0": "lrp.alpha_1_beta_0"}


def _shrink(path: Path) -> None:
    """A palette of 128 colours: the committed PNGs stay small."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128)
    small.save(path, optimize=True)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model = train_cnn(make_shapes(3000, seed=0), epochs=6, seed=0)
    test = make_shapes(60, seed=1)
    print(f"test accuracy {accuracy(model, test):.3f}")
    index = [int(np.flatnonzero(test.y == c)[0]) for c in range(len(CLASSES))]
    x, y = test.x[index], test.y[index]
    fig = plot_mprt(model, x, METHODS, y, path=out / "mprt_demo.png", dpi=72)
    _shrink(out / "mprt_demo.png")
    for label, result in fig.mprt_results.items():
        curve = "  ".join(f"{s}: {v:+.2f}" for s, v in zip(result.steps, result.curves.mean(axis=0)))
        print(f"mprt {label:16s} {curve}")
    fig = plot_random_logit(model, x, {"gradient": "gradient", "LRP-ε": "lrp.epsilon"}, y,
                            class_names=CLASSES, path=out / "random_logit_demo.png", dpi=72)
    _shrink(out / "random_logit_demo.png")
    for label, result in fig.random_logit_results.items():
        print(f"random_logit {label:10s} SSIM mean {result.mean:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "images")
