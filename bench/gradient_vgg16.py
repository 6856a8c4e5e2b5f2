"""Benchmark: innv's `gradient` analyzer vs a plain tf.GradientTape gradient of the same model.

VGG16 (weights=None, 224x224x3), batch 1 and 8, median of 5 timed runs after warm-up, in one
process. Prints the ratio innv / plain (target <= 1.1).

    python bench/gradient_vgg16.py [--repeats 5] [--batches 1 8]
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


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up (compilation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--analyzers", nargs="+", default=["gradient"])
    args = parser.parse_args()
    model = keras.applications.VGG16(weights=None, classifier_activation=None)

    @tf.function(input_signature=[tf.TensorSpec((None, 224, 224, 3), tf.float32)])
    def plain_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x, training=False)
            target = tf.reduce_max(y, axis=1)
        return tape.gradient(target, x)

    print(f"{'analyzer':<22}{'batch':>6}{'plain s':>10}{'innv s':>10}{'ratio':>8}")
    for batch in args.batches:
        x = np.random.default_rng(0).normal(size=(batch, 224, 224, 3)).astype(np.float32)
        plain = median_time(lambda x=x: plain_gradient(x).numpy(), args.repeats)
        for name in args.analyzers:
            analyzer = create_analyzer(name, model)
            t = median_time(lambda a=analyzer, x=x: a.analyze(x), args.repeats)
            print(f"{name:<22}{batch:>6}{plain:>10.3f}{t:>10.3f}{t / plain:>8.2f}")


if __name__ == "__main__":
    main()
