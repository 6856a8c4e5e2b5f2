"""The floors quoted in docs/performance.md, measured on this machine with plain TensorFlow ops.

Three questions, each timed against its own reference in the same process (median of 20 calls):

* ``dense``: VGG16's three dense layers at batch 1. A gradient against the least z+ can do
  there: one forward product with ``W``, ``W+ = relu(W)`` built, and a forward and a transposed
  product with ``W+``. The weights, not the arithmetic, bound it.
* ``vjp``: the two kernel VJPs per layer of the ``relu`` pattern (``Conv2DBackpropFilter`` of
  ``mask`` and of ``y * mask``), separately and merged into one with twice the output channels,
  against the layer's forward ``Conv2D``, on VGG16's layer shapes at batch 16.
* ``warmup``: alpha-beta on VGG16. The first call at batch 8, then the first call at batch 8
  of a second analyzer built after a batch-1 call. It shows what "first call" costs at batch
  8: tracing, or the process's first contact with batch-8 buffers and oneDNN kernels.

    python bench/floors.py [dense vjp warmup]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402


def median_ms(fn: Callable[[], object], calls: int = 20) -> float:
    fn(), fn()  # warm-up (tracing, first allocation)
    runs = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return 1000 * statistics.median(runs)


def dense() -> None:
    kernels = [tf.Variable(tf.random.normal(s)) for s in ((25088, 4096), (4096, 4096), (4096, 1000))]
    x = tf.random.uniform((1, 25088))

    @tf.function
    def gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            h = x
            for w in kernels:
                h = tf.nn.relu(h @ w)
            top = tf.reduce_max(h)
        return tape.gradient(top, x)

    @tf.function
    def z_plus(x):
        inputs, h = [], x
        for w in kernels:
            inputs.append(h)
            h = tf.nn.relu(h @ w)
        R = h
        for w, a in zip(reversed(kernels), reversed(inputs)):
            w_plus = tf.nn.relu(w)
            s = tf.math.divide_no_nan(R, a @ w_plus)
            R = a * tf.matmul(s, w_plus, transpose_b=True)
        return R

    g = median_ms(lambda: gradient(x).numpy())
    z = median_ms(lambda: z_plus(x).numpy())
    print(f"dense: VGG16's dense layers, batch 1: gradient {g:.1f} ms, least z+ {z:.1f} ms, "
          f"ratio {z / g:.2f}")


def vjp() -> None:
    for size, c_in, c_out in ((112, 64, 128), (56, 128, 256), (28, 256, 512), (14, 512, 512)):
        print(_vjp_layer(size, c_in, c_out))


def _vjp_layer(size: int, c_in: int, c_out: int) -> str:
    x = tf.random.uniform((16, size, size, c_in))
    w = tf.random.normal((3, 3, c_in, c_out))
    g1, g2 = tf.random.uniform((16, size, size, c_out)), tf.random.uniform((16, size, size, c_out))
    conv2d_filter = tf.compat.v1.nn.conv2d_backprop_filter
    forward = tf.function(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"))
    two = tf.function(lambda x, a, b: (conv2d_filter(x, [3, 3, c_in, c_out], a, [1] * 4, "SAME"),
                                       conv2d_filter(x, [3, 3, c_in, c_out], b, [1] * 4, "SAME")))
    merged = tf.function(lambda x, a, b: conv2d_filter(x, [3, 3, c_in, 2 * c_out], tf.concat([a, b], -1),
                                                       [1] * 4, "SAME"))
    f = median_ms(lambda: forward(x, w).numpy(), calls=5)
    t = median_ms(lambda: [v.numpy() for v in two(x, g1, g2)], calls=5)
    m = median_ms(lambda: merged(x, g1, g2).numpy(), calls=5)
    return (f"vjp: {size}x{size}x{c_in}->{c_out}, batch 16: Conv2D {f:.1f} ms; two filter VJPs "
            f"{t / f:.2f}x; merged into one {m / f:.2f}x")


def warmup() -> None:
    import keras
    import numpy as np

    import innv_core

    model = keras.applications.VGG16(weights=None, classifier_activation=None)
    x = np.random.default_rng(0).normal(size=(8, 224, 224, 3)).astype("float32")

    def seconds(fn: Callable[[], object]) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    first = innv_core.create_analyzer("lrp.alpha_2_beta_1", model)
    cold, steady = seconds(lambda: first.analyze(x)), seconds(lambda: first.analyze(x))
    second = innv_core.create_analyzer("lrp.alpha_2_beta_1", model)
    traced = seconds(lambda: second.analyze(x[:1]))
    warm = seconds(lambda: second.analyze(x))
    print(f"warmup: alpha-beta VGG16 batch 8: first call in the process {cold:.1f} s, steady "
          f"{steady:.1f} s; a second analyzer: first call at batch 1 {traced:.1f} s, then its first "
          f"batch-8 call {warm:.1f} s")


if __name__ == "__main__":
    chosen = sys.argv[1:] or ["dense", "vjp", "warmup"]
    for name in chosen:
        {"dense": dense, "vjp": vjp, "warmup": warmup}[name]()
