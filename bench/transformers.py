"""Benchmark AttnLRP / CP-LRP on keras-hub transformers against a plain tf.GradientTape gradient.

Each (model, analyzer) runs in its own subprocess (first-call time is its own); the plain
gradient of the max logit is timed in the same process. For token models the plain gradient is
taken with respect to the token embedding matrix: the same backward pass through every block,
which is what LXT's "one backward pass" claim is measured against.

    python bench/transformers.py [--models vit_tiny bert_base] [--batch 8] [--repeats 3]
                                 [--analyzers gradient lrp.attnlrp lrp.cp_lrp] [--markdown out.md]

Models (random weights, nothing downloaded): ``vit_tiny`` (16 px, patch 4, 2 blocks, width 16),
``vit_small`` (224 px, patch 16, 12 blocks, width 384), ``bert_base`` (12 layers, width 768,
12 heads, 128 tokens), ``bert_tiny`` (2 layers, width 64, 128 tokens).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

DEFAULT_ANALYZERS = ["gradient", "lrp.attnlrp", "lrp.cp_lrp", "lrp.epsilon", "integrated_gradients"]
KWARGS = {"integrated_gradients": {"steps": 16}}

CHILD = r"""
import json, os, resource, statistics, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras, keras_hub, numpy as np, tensorflow as tf
from innv_core import create_analyzer
model_name, analyzer_name = sys.argv[1], sys.argv[2]
batch, repeats, kwargs = int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
rng = np.random.default_rng(0)
if model_name.startswith("vit"):
    size, patch, layers, width, mlp, heads = {"vit_tiny": (16, 4, 2, 16, 32, 2),
                                              "vit_small": (224, 16, 12, 384, 1536, 6)}[model_name]
    backbone = keras_hub.models.ViTBackbone(image_shape=(size, size, 3), patch_size=patch, num_layers=layers,
                                            num_heads=heads, hidden_dim=width, mlp_dim=mlp)
    model = keras_hub.models.ViTImageClassifier(backbone, num_classes=10, preprocessor=None, activation=None)
    X = [rng.random((batch, size, size, 3)).astype("float32")]
    wrt = lambda: [X_t[0]]
else:
    layers, width, heads = {"bert_base": (12, 768, 12), "bert_tiny": (2, 64, 2)}[model_name]
    backbone = keras_hub.models.BertBackbone(vocabulary_size=30522, num_layers=layers, num_heads=heads,
                                             hidden_dim=width, intermediate_dim=4 * width,
                                             max_sequence_length=128)
    model = keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=None, activation=None)
    ids = rng.integers(1, 30522, (batch, 128)).astype("int32")
    pool = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    X = [pool[k.name] for k in model.inputs]
    embedding = backbone.get_layer("token_embedding").embeddings
    wrt = lambda: [embedding]
X_t = [tf.constant(x) for x in X]
specs = [tf.TensorSpec((None, *x.shape[1:]), x.dtype) for x in X]
struct = model._inputs_struct

@tf.function(input_signature=specs)
def plain(*xs):
    with tf.GradientTape() as tape:
        for x in xs:
            if x.dtype.is_floating:
                tape.watch(x)
        packed = keras.tree.pack_sequence_as(struct, list(xs)) if isinstance(struct, dict) else xs[0]
        target = tf.reduce_max(model(packed, training=False), axis=1)
    sources = [x for x in xs if x.dtype.is_floating] or wrt()
    grads = tape.gradient(target, sources)  # an embedding matrix: its rows looked up (IndexedSlices)
    return [g.values if isinstance(g, tf.IndexedSlices) else g for g in grads]

def timed(fn):
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return statistics.median(times)

[g.numpy() for g in plain(*X_t)]
plain_s = timed(lambda: [g.numpy() for g in plain(*X_t)])
t = time.perf_counter()
analyzer = create_analyzer(analyzer_name, model, **kwargs)
analyzer.analyze(X)
first = time.perf_counter() - t
steady = timed(lambda: analyzer.analyze(X))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"plain": plain_s, "steady": steady, "first": first, "rss": rss}))
"""


def run_one(model: str, analyzer: str, batch: int, repeats: int) -> dict | str:
    args = [sys.executable, "-c", CHILD, model, analyzer, str(batch), str(repeats),
            json.dumps(KWARGS.get(analyzer, {}))]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vit_tiny", "bert_base"])
    parser.add_argument("--analyzers", nargs="+", default=DEFAULT_ANALYZERS)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args()
    rows = ["| model | analyzer | plain gradient s | steady s | ratio | first call s | peak MiB |",
            "|---|---|---|---|---|---|---|"]
    print("\n".join(rows), flush=True)
    for model in args.models:
        for analyzer in args.analyzers:
            r = run_one(model, analyzer, args.batch, args.repeats)
            if isinstance(r, str):
                row = f"| {model} | {analyzer} | failed: {r} | | | | |"
            else:
                row = (f"| {model} | {analyzer} | {r['plain']:.3f} | {r['steady']:.3f} | "
                       f"{r['steady'] / r['plain']:.2f} | {r['first']:.1f} | {r['rss']:.0f} |")
            rows.append(row)
            print(row, flush=True)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
