"""Benchmark: PatternComputer, PatternNet and PatternAttribution on VGG16 (weights=None).

In one process, on the same random images:
* PatternComputer (``linear`` and ``relu``): time of one pass over the data, relative to plain
  compiled forward passes over the same batches (target <= 3);
* PatternNet / PatternAttribution ``analyze``: relative to a plain ``tf.GradientTape`` gradient of
  the same model and batch (target <= 1.5).
Warm timings (median of ``--repeats`` after a warm-up that compiles); the one-off compile time of
the pattern pass is printed too.

    python bench/pattern_vgg16.py [--images 64] [--batch-size 16] [--repeats 3] [--analyze-batches 1 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from innv_core import create_analyzer  # noqa: E402
from innv_core.tools.pattern import PatternComputer  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up (compilation)
    return statistics.median(timed(fn) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--types", nargs="+", default=["linear", "relu"])
    parser.add_argument("--analyze-batches", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    model = keras.applications.VGG16(weights=None, classifier_activation=None)
    X = np.random.default_rng(0).normal(size=(args.images, 224, 224, 3)).astype(np.float32)
    batches = [X[i:i + args.batch_size] for i in range(0, len(X), args.batch_size)]

    @tf.function(input_signature=[tf.TensorSpec((None, 224, 224, 3), tf.float32)])
    def forward(x):
        return model(x, training=False)

    def forward_pass() -> None:
        for x in batches:
            forward(x).numpy()

    plain = median_time(forward_pass, args.repeats)
    print(f"{args.images} images, batch {args.batch_size}: plain forward pass {plain:.2f} s")
    print(f"{'pattern type':<16}{'compile+1st s':>14}{'pass s':>10}{'ratio':>8}")
    patterns = None
    for pattern_type in args.types:
        computer = PatternComputer(model, pattern_type=pattern_type)
        first = timed(lambda c=computer: c.compute(X, batch_size=args.batch_size))
        t = statistics.median(
            timed(lambda c=computer: c.compute(X, batch_size=args.batch_size)) for _ in range(args.repeats)
        )
        print(f"{pattern_type:<16}{first:>14.2f}{t:>10.2f}{t / plain:>8.2f}")
        if patterns is None:
            patterns = computer.compute(X[: args.batch_size], batch_size=args.batch_size)
        del computer

    @tf.function(input_signature=[tf.TensorSpec((None, 224, 224, 3), tf.float32)])
    def plain_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x, training=False)
            target = tf.reduce_max(y, axis=1)
        return tape.gradient(target, x)

    print(f"{'analyzer':<22}{'batch':>6}{'plain s':>10}{'innv s':>10}{'ratio':>8}")
    for batch in args.analyze_batches:
        x = X[:batch]
        grad = median_time(lambda x=x: plain_gradient(x).numpy(), args.repeats)
        for name in ("pattern.net", "pattern.attribution"):
            analyzer = create_analyzer(name, model, patterns=patterns)
            t = median_time(lambda a=analyzer, x=x: a.analyze(x), args.repeats)
            print(f"{name:<22}{batch:>6}{grad:>10.3f}{t:>10.3f}{t / grad:>8.2f}")


if __name__ == "__main__":
    main()
