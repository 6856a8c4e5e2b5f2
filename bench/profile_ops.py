"""Where an analyzer's time goes: milliseconds per call by TensorFlow op type, next to a gradient.

Runs TensorFlow's profiler (``tf.profiler.experimental``) over a few steady ``analyze`` calls and
over the same number of plain ``tf.GradientTape`` gradients of the same model, reads the trace
(the ``.xplane.pb`` it writes; no TensorBoard needed) and sums the executed ops' durations by
type::

    python bench/profile_ops.py --model vgg16 --analyzers lrp.alpha_2_beta_1 lrp.z_plus --top 8

Each row: op type, ms per call for the gradient, then for each analyzer. The durations are
summed over TensorFlow's threads: ops that run side by side on the 2 cores both count, so a
column's total exceeds its wall time; compare columns, not totals with wall clocks.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


#: Trace events that span other events (the whole function), not op executions.
_NOT_OPS = frozenset({"Process"})


def op_times(logdir: str, calls: int) -> collections.Counter:
    """Milliseconds per call by op type, from the profiler's XSpace under ``logdir``."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    totals: collections.Counter = collections.Counter()
    for path in glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True):
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
        for plane in space.planes:
            names = {k: m.name for k, m in plane.event_metadata.items()}
            for line in plane.lines:
                if line.name != "tf_Compute" and not line.name.startswith("tf_"):
                    continue
                for event in line.events:
                    name = names.get(event.metadata_id, "")
                    if ":" not in name:
                        continue
                    op_type = name.rsplit(":", 1)[1]
                    if op_type in _NOT_OPS:
                        continue
                    totals[op_type] += event.duration_ps / 1e9 / calls
    return totals


def profile(fn, calls: int) -> collections.Counter:
    import tensorflow as tf

    fn()  # compile and warm up outside the trace
    fn()
    logdir = tempfile.mkdtemp(prefix="innv_profile_")
    tf.profiler.experimental.start(logdir)
    for _ in range(calls):
        fn()
    tf.profiler.experimental.stop()
    return op_times(logdir, calls)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="vgg16")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--analyzers", nargs="+", default=["lrp.epsilon", "lrp.alpha_2_beta_1"])
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    from innv_core import create_analyzer

    ctor = {"vgg16": keras.applications.VGG16, "resnet50": keras.applications.ResNet50,
            "densenet121": keras.applications.DenseNet121,
            "efficientnetb0": keras.applications.EfficientNetB0}[args.model]
    shape = (args.size, args.size, 3)
    model = ctor(weights=None, classifier_activation=None, input_shape=shape)
    x = np.random.default_rng(0).normal(size=(args.batch, *shape)).astype(np.float32)

    @tf.function(input_signature=[tf.TensorSpec((None, *shape), tf.float32)])
    def plain(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            target = tf.reduce_max(model(x, training=False), axis=1)
        return tape.gradient(target, x)

    columns = {"gradient": profile(lambda: plain(x).numpy(), args.calls)}
    for name in args.analyzers:
        analyzer = create_analyzer(name, model)
        columns[name] = profile(lambda a=analyzer: a.analyze(x), args.calls)
    ops: collections.Counter = collections.Counter()
    for c in columns.values():
        ops.update(c)
    top = [op for op, _ in ops.most_common(args.top)]
    print("| op (ms per call) | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for op in top:
        print(f"| {op} | " + " | ".join(f"{c.get(op, 0.0):.1f}" for c in columns.values()) + " |")
    print("| **all ops** | " + " | ".join(f"{sum(c.values()):.1f}" for c in columns.values()) + " |")


if __name__ == "__main__":
    main()
