"""Benchmark: PatternComputer, PatternNet and PatternAttribution on VGG16 (weights=None).

In one process, on the same random images:

* PatternComputer per pattern type: the streaming pass over the data relative to plain compiled
  forward passes over the same batches (target <= 3), and the whole warm ``compute()`` call,
  which adds a one-off cost proportional to the number of weights (reading the float64 sums and
  the pattern formula, seconds for VGG16's 138M weights) and so matters only for small data;
* PatternNet / PatternAttribution ``analyze`` relative to a plain ``tf.GradientTape`` gradient of
  the same model and batch (target <= 1.5).

Each ratio is the median over ``--repeats`` interleaved runs after a warm-up, in wall-clock time
and in process CPU time (the latter is steadier when other processes share the CPU).

    python bench/pattern_vgg16.py [--images 64] [--batch-size 16] [--repeats 3] [--analyze-batches 1 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from innv_core import create_analyzer  # noqa: E402
from innv_core.tools.pattern import PatternComputer  # noqa: E402


def measure(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def ratios(fn: Callable[[], object], reference: Callable[[], object], repeats: int) -> tuple:
    """Median wall and CPU ratios fn / reference over interleaved runs, and fn's median wall time."""
    fn(), reference()  # warm-up (compilation)
    runs = [(measure(fn), measure(reference)) for _ in range(repeats)]
    wall = statistics.median(f[0] / r[0] for f, r in runs)
    cpu = statistics.median(f[1] / r[1] for f, r in runs)
    return wall, cpu, statistics.median(f[0] for f, _ in runs)


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

    print(f"{args.images} images, batch {args.batch_size}; ratios to plain forward passes (wall / cpu)")
    print(f"{'pattern type':<14}{'1st call s':>11}{'pass s':>9}{'pass ratio':>16}{'compute() ratio':>20}")
    patterns = None
    for pattern_type in args.types:
        computer = PatternComputer(model, pattern_type=pattern_type)
        first, _ = measure(lambda c=computer: c.compute(X, batch_size=args.batch_size))

        def streaming_pass(c=computer) -> None:  # internal: the pass alone, no finalization
            c._prepare()
            c._run(batches, None, 0)

        p_wall, p_cpu, p_time = ratios(streaming_pass, forward_pass, args.repeats)
        c_wall, c_cpu, _ = ratios(
            lambda c=computer: c.compute(X, batch_size=args.batch_size), forward_pass, args.repeats
        )
        print(f"{pattern_type:<14}{first:>11.1f}{p_time:>9.1f}{p_wall:>8.2f} / {p_cpu:<5.2f}"
              f"{c_wall:>12.2f} / {c_cpu:<5.2f}")
        if patterns is None:
            patterns = computer.compute(batches[0])
        del computer

    @tf.function(input_signature=[tf.TensorSpec((None, 224, 224, 3), tf.float32)])
    def plain_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x, training=False)
            target = tf.reduce_max(y, axis=1)
        return tape.gradient(target, x)

    print("analyze; ratios to a plain tf.GradientTape gradient (wall / cpu)")
    print(f"{'analyzer':<22}{'batch':>6}{'innv s':>9}{'ratio':>16}")
    for batch in args.analyze_batches:
        x = X[:batch]
        for name in ("pattern.net", "pattern.attribution"):
            analyzer = create_analyzer(name, model, patterns=patterns)
            wall, cpu, t = ratios(lambda a=analyzer, x=x: a.analyze(x),
                                  lambda x=x: plain_gradient(x).numpy(), args.repeats)
            print(f"{name:<22}{batch:>6}{t:>9.3f}{wall:>8.2f} / {cpu:<5.2f}")


if __name__ == "__main__":
    main()
