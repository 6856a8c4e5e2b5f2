"""Benchmark LRP-epsilon through recurrent layers against a plain tf.GradientTape gradient.

A 2-layer LSTM (width 64, the first returning sequences) over 200 steps of 32 features, then a
Dense head; batch 8. Both run in this process, each compiled once (batch-free signature).

    python bench/recurrent.py [--steps 200] [--units 64] [--batch 8] [--repeats 5]
                              [--cell lstm|gru|simple_rnn] [--analyzer lrp.epsilon]

Prints steady-state seconds (median of repeats after the first call), the ratio to the plain
gradient, the first-call seconds (tracing + compilation + first batch), and checks that a
second batch size does not retrace.
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

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cell", choices=sorted(CELLS), default="lstm")
    parser.add_argument("--analyzer", default="lrp.epsilon")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    rnn = CELLS[args.cell]
    inp = keras.Input((args.steps, args.features))
    h = rnn(args.units, return_sequences=True)(inp)
    h = rnn(args.units)(h)
    model = keras.Model(inp, keras.layers.Dense(10)(h))
    x = np.random.default_rng(0).normal(size=(args.batch, args.steps, args.features)).astype(np.float32)

    @tf.function(input_signature=[tf.TensorSpec((None, args.steps, args.features), tf.float32)])
    def plain(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            target = tf.reduce_max(model(x, training=False), axis=1)
        return tape.gradient(target, x)

    t = time.perf_counter()
    plain(x).numpy()
    plain_first = time.perf_counter() - t
    plain_s = timed(lambda: plain(x).numpy(), args.repeats)

    analyzer = create_analyzer(args.analyzer, model)
    t = time.perf_counter()
    analyzer.analyze(x)
    first = time.perf_counter() - t
    steady = timed(lambda: analyzer.analyze(x), args.repeats)
    traces = analyzer._trace_count
    analyzer.analyze(x[:3])
    retraced = analyzer._trace_count != traces

    print(f"{args.steps}-step {args.cell} x2 (width {args.units}), batch {args.batch}, {args.analyzer}")
    print("| | steady s | ratio | first call s |")
    print("|---|---|---|---|")
    print(f"| plain gradient | {plain_s:.3f} | 1.00 | {plain_first:.1f} |")
    print(f"| {args.analyzer} | {steady:.3f} | {steady / plain_s:.2f} | {first:.1f} |")
    print(f"retraced for another batch size: {retraced}")


if __name__ == "__main__":
    main()
