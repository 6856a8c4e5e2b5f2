"""Benchmark every analyzer against a plain tf.GradientTape gradient of the same model.

Each (model, analyzer) runs in its own subprocess so that first-call time and peak memory are
its own; inside it, the plain gradient is timed in the same process for the ratio.

    python bench/analyzers.py [--models vgg16 resnet50 densenet121 efficientnetb0 convnexttiny ...]
                              [--batches 1 8] [--repeats 3]
                              [--analyzers gradient lrp.epsilon ...] [--markdown out.md]

Columns: steady-state seconds (median of repeats after the first call), ratio to the plain
gradient, first-call seconds (compilation + first batch), build seconds (the first call minus a
steady call: tracing and compilation alone), peak RSS of the process in MiB, and iNNvestigate
2.1.2's ratio on the same kind of machine where it was measured (VGG16; docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

DEFAULT_ANALYZERS = [
    "gradient", "input_t_gradient", "guided_backprop", "deconvnet", "smoothgrad", "integrated_gradients",
    "lrp.z", "lrp.epsilon", "lrp.alpha_2_beta_1", "lrp.alpha_1_beta_0", "lrp.z_plus",
    "lrp.sequential_preset_a", "deep_taylor",
    "pattern.net", "pattern.attribution", "deep_lift.wrapper",
    "lrp.epsilon_plus", "lrp.epsilon_plus_flat", "lrp.epsilon_alpha_2_beta_1", "lrp.epsilon_gamma_box",
]
# iNNvestigate 2.1.2 (TensorFlow 2.14, graph mode), VGG16 weights=None, ratio to a gradient at
# batch 1 and 8, measured for this project on the same machine kind (docs/performance.md).
INNVESTIGATE_VGG16 = {
    "lrp.epsilon": (1.23, 1.38), "lrp.alpha_2_beta_1": (4.17, 4.23),
    "lrp.sequential_preset_a": (1.93, 2.19), "deep_taylor": (2.73, 2.62),
    "integrated_gradients": (11.8, 17.0),
}
# Sample-augmenting analyzers are benchmarked with 16 points, as in the iNNvestigate table.
KWARGS = {"smoothgrad": {"augment_by_n": 16}, "integrated_gradients": {"steps": 16},
          "lrp.epsilon_gamma_box": {"low": -3.0, "high": 3.0}}

CHILD = r"""
import json, os, resource, statistics, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras, numpy as np, tensorflow as tf
from innv_core import create_analyzer
model_name, analyzer_name = sys.argv[1], sys.argv[2]
batch, repeats, kwargs = int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
ctor = {"vgg16": keras.applications.VGG16, "resnet50": keras.applications.ResNet50,
        "efficientnetb0": keras.applications.EfficientNetB0,
        "densenet121": keras.applications.DenseNet121,
        "mobilenetv3small": keras.applications.MobileNetV3Small,
        "convnexttiny": keras.applications.ConvNeXtTiny}[model_name]
model = ctor(weights=None, classifier_activation=None)
x = np.random.default_rng(0).normal(size=(batch, 224, 224, 3)).astype(np.float32)

@tf.function(input_signature=[tf.TensorSpec((None, 224, 224, 3), tf.float32)])
def plain(x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        target = tf.reduce_max(model(x, training=False), axis=1)
    return tape.gradient(target, x)

def timed(fn):
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return statistics.median(times)

plain(x).numpy()
plain_s = timed(lambda: plain(x).numpy())
analyzer = create_analyzer(analyzer_name, model, **kwargs)
if hasattr(analyzer, "fit") and analyzer_name.startswith("pattern"):
    analyzer.fit(x, batch_size=batch, disable_no_training_warning=True)
t = time.perf_counter(); analyzer.analyze(x); first = time.perf_counter() - t
steady = timed(lambda: analyzer.analyze(x))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"plain": plain_s, "steady": steady, "first": first, "peak_mib": peak}))
"""


def run_one(model: str, analyzer: str, batch: int, repeats: int) -> dict | str:
    kwargs = json.dumps(KWARGS.get(analyzer, {}))
    args = [sys.executable, "-c", CHILD, model, analyzer, str(batch), str(repeats), kwargs]
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        return out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["vgg16", "resnet50", "densenet121", "efficientnetb0"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--analyzers", nargs="+", default=DEFAULT_ANALYZERS)
    parser.add_argument("--markdown", help="also write the table as markdown to this file")
    args = parser.parse_args()
    header = ("| model | batch | analyzer | steady s | ratio | first call s | build s | peak MiB "
              "| iNNvestigate ratio |")
    rows = [header, "|---|---|---|---|---|---|---|---|---|"]
    print(header)
    for model in args.models:
        for batch in args.batches:
            for name in args.analyzers:
                r = run_one(model, name, batch, args.repeats)
                theirs = INNVESTIGATE_VGG16.get(name) if model == "vgg16" else None
                theirs = f"{theirs[0 if batch == 1 else 1]:.2f}" if theirs and batch in (1, 8) else ""
                if isinstance(r, str):
                    row = f"| {model} | {batch} | {name} | failed: {r[:80]} | | | | | |"
                else:
                    ratio = r["steady"] / r["plain"]
                    build = max(0.0, r["first"] - r["steady"])
                    row = (f"| {model} | {batch} | {name} | {r['steady']:.3f} | {ratio:.2f} "
                           f"| {r['first']:.1f} | {build:.1f} | {r['peak_mib']:.0f} | {theirs} |")
                print(row, flush=True)
                rows.append(row)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
