"""Benchmark innv's metrics against the forward passes they need, and against Quantus 0.6.

For each model (the demo CNN, 32x32x3; ResNet50 ``weights=None`` at 64x64x3, 10 classes) and
64 inputs, every metric runs with the same parameters (``CASES``: Quantus' defaults would take
hours on ResNet50 through Quantus, so the step counts are set to a few dozen) on fixed random
attributions without a channel axis (the ``gradient`` analysis, with channels, for the metrics
that compare it with explanations of other inputs or classes).

    python bench/metrics.py [--models demo resnet50] [--metrics pixel_flipping ...]
                            [--repeats 3] [--quantus ~/venv-torch/bin/python] [--markdown out.md]

Columns, per model and metric:
- ``innv s``: steady seconds (median of ``--repeats`` after a first call, which compiles);
- ``forwards``: the model rows the metric sends through its compiled forward function, and the
  analyses it asks of the analyzer (``+ N expl.``), counted in the same run;
- ``those alone s``: the same number of rows through the same compiled forward function (and
  analyses through the analyzer) in chunks of 64, timed in the same process;
- ``ratio``: ``innv s`` over ``those alone s`` (the overhead of the metric itself; target <= 1.5);
- ``Quantus s``: Quantus 0.6 on a torch model of the same architecture (random weights, the
  same parameters and attributions, ``explain_func`` a torch gradient), in the torch venv
  (``tests/references/README_torch.md``), on the same machine in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

N = 64
SHAPES = {"demo": (32, 32, 3), "resnet50": (64, 64, 3)}


def cases(shape: tuple[int, int, int]) -> dict[str, tuple[dict, bool]]:
    """``metric -> (parameters, needs an analyzer)``: the same for innv and Quantus."""
    pixels = shape[0] * shape[1]
    return {
        "pixel_flipping": ({"features_in_step": pixels // 32}, False),
        "region_perturbation": ({"patch_size": 8, "regions_evaluation": 16}, False),
        "selectivity": ({"patch_size": 8}, False),
        "faithfulness_estimate": ({"features_in_step": pixels // 32}, False),
        "faithfulness_correlation": ({"nr_runs": 32, "subset_size": 64, "return_aggregate": False}, False),
        "monotonicity": ({"features_in_step": pixels // 32}, False),
        "monotonicity_correlation": ({"features_in_step": pixels // 16, "nr_samples": 4}, False),
        "completeness": ({}, False),
        "max_sensitivity": ({"nr_samples": 8}, True),
        "avg_sensitivity": ({"nr_samples": 8}, True),
        "local_lipschitz_estimate": ({"nr_samples": 8}, True),
        "relative_input_stability": ({"nr_samples": 8}, True),
        "relative_output_stability": ({"nr_samples": 8}, True),
        "random_logit": ({"num_classes": 10 if shape[0] == 64 else 3}, True),
        "sensitivity_n": ({"features_in_step": pixels // 16, "n_max_percentage": 0.5, "nr_runs": 10}, False),
        "irof": ({}, False),
        "infidelity": ({"perturb_patch_sizes": [8], "n_perturb_samples": 2}, False),
        "road": ({"percentages": [10, 30, 50, 70, 90]}, False),
        "sufficiency": ({}, False),
        "continuity": ({"nr_steps": 8}, True),
        "consistency": ({}, False),
        "relative_representation_stability": ({"nr_samples": 8}, True),
        "mprt": ({}, True),
        "smooth_mprt": ({"nr_samples": 4}, True),
        "efficient_mprt": ({}, True),
        "deletion": ({}, False),
        "insertion": ({}, False),
        "mu_fidelity": ({"nb_samples": 32}, False),
        "sparseness": ({}, False),
        "complexity": ({}, False),
    }


#: Metrics Quantus 0.6 is not timed on, and why.
QUANTUS_SKIP = {
    "sensitivity_n": "computes another quantity",
    "irof": "fails on RGB",
    "road": "fails on RGB",
    "relative_representation_stability": "selects layers otherwise",
    "smooth_mprt": "ignores explain_func (needs Captum or Zennit)",
    "deletion": "xplique's (not in Quantus)",
    "insertion": "xplique's (not in Quantus)",
    "mu_fidelity": "xplique's (not in Quantus)",
}
#: Metrics timed on the demo CNN only (ResNet50's 107 weighted layers: minutes per call in both).
DEMO_ONLY = ("mprt", "smooth_mprt", "efficient_mprt")


#: Metrics timed on smooth images (uniform noise upsampled 8 times): SLIC finds a single
#: superpixel in 64-px uniform noise, which IROF refuses.
SMOOTH = ("irof",)


def data(shape):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(N, *shape)).astype(np.float32)
    a = rng.normal(size=(N, *shape[:2])).astype(np.float32)
    return x, a


def smooth(x):
    """Coarse noise upsampled bilinearly: images whose superpixels SLIC can find."""
    from scipy.ndimage import zoom

    coarse = x[:, ::8, ::8, :]
    return zoom(coarse, (1, 8, 8, 1), order=1).astype(x.dtype)


# -- innv --------------------------------------------------------------------------------------
def keras_model(name: str):
    import keras

    if name == "demo":
        from innv_core.app.demo.model import build_cnn

        return build_cnn(SHAPES["demo"])
    return keras.applications.ResNet50(weights=None, input_shape=SHAPES[name], classes=10,
                                       classifier_activation=None)


class Counter:
    """Counts the rows a metric sends through ``ClassScores`` and the analyses it asks for."""

    def __init__(self):
        from innv_core.metrics.forward import ClassScores

        self.rows = self.analyses = 0
        counter, call, outputs = self, ClassScores.__call__, ClassScores.outputs

        def counted_call(self, x, y, batch_size):
            counter.rows += len(x)
            return call(self, x, y, batch_size)

        def counted_outputs(self, x, batch_size):
            counter.rows += len(x)
            return outputs(self, x, batch_size)

        ClassScores.__call__, ClassScores.outputs = counted_call, counted_outputs
        self._count_representation()

    def _count_representation(self):
        """Relative representation stability's passes through the model's layers count as forward rows."""
        from innv_plugins.metrics.robustness.stability import Representation

        counter, outputs, change = self, Representation.outputs, Representation.relative_change

        def counted_outputs(self, x, batch_size):
            counter.rows += len(x)
            return outputs(self, x, batch_size)

        def counted_change(self, reference, x, batch_size, eps):
            counter.rows += len(x)
            return change(self, reference, x, batch_size, eps)

        Representation.outputs, Representation.relative_change = counted_outputs, counted_change

    def analyzer(self, analyzer):
        """Count the analyses of ``analyzer``'s class (MPRT remakes it for each randomised model)."""
        cls, counter = type(analyzer), self
        analyze = cls.analyze

        def counted(self, x, *args, **kwargs):
            counter.analyses += len(x)
            return analyze(self, x, *args, **kwargs)

        cls.analyze = counted
        return analyzer


def run_innv(model_name: str, names: list[str], repeats: int) -> dict[str, dict]:
    import numpy as np

    from innv_core import create_analyzer, create_metric
    from innv_core.metrics.forward import ClassScores

    shape = SHAPES[model_name]
    model = keras_model(model_name)
    x, a = data(shape)
    y = np.asarray(model.predict(x, verbose=0)).argmax(axis=1)
    counter = Counter()
    analyzer = counter.analyzer(create_analyzer("gradient", model, neuron_selection_mode="index"))
    forward = ClassScores(model, True)
    forward(x, y, N)
    analyzer.analyze(x, neuron_selection=y)
    per_row = median_seconds(lambda: forward(x, y, N), repeats) / N
    per_analysis = median_seconds(lambda: analyzer.analyze(x, neuron_selection=y), repeats) / N
    explained = np.asarray(analyzer.analyze(x, neuron_selection=y))  # compared with other explanations
    out = {}
    for name in names:
        params, explains = cases(shape)[name]
        metric = create_metric(name, model, **params)
        kwargs = {"analyzer": analyzer, "a": explained} if explains else {"a": a}
        images = smooth(x) if name in SMOOTH else x
        try:
            start = time.perf_counter()
            metric.evaluate(images, y, batch_size=N, **kwargs)
            first = time.perf_counter() - start
            counter.rows = counter.analyses = 0
            steady = median_seconds(lambda m=metric, i=images, k=kwargs: m.evaluate(i, y, batch_size=N, **k),
                                    repeats)
        except Exception as error:  # a bench reports a failure and goes on
            out[name] = {"error": f"{type(error).__name__}: {error}"[:100]}
            continue
        rows, analyses = counter.rows // repeats, counter.analyses // repeats
        alone = rows * per_row + analyses * per_analysis
        out[name] = {"first": first, "steady": steady, "rows": rows, "analyses": analyses, "alone": alone}
    return out


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- Quantus (run in the torch venv) -----------------------------------------------------------
QUANTUS = r'''
import json, statistics, sys, time
import numpy as np, quantus, torch
np.NaN = np.nan  # Quantus 0.6 uses the name NumPy 2 removed
torch.set_num_threads(2)
model_name, names, repeats = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
cases = json.loads(sys.argv[4])
shape = {"demo": (32, 32, 3), "resnet50": (64, 64, 3)}[model_name]
nn = torch.nn

def demo_cnn():
    layers, c = [], 3
    for out in (16, 32, 32):
        layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        c = out
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(32 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 3))

class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = 4 * width
        self.body = nn.Sequential(
            nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else nn.Identity())
    def forward(self, x):
        return torch.relu(self.body(x) + self.skip(x))

def resnet50(classes=10):
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            layers.append(Bottleneck(cin, width, stride if i == 0 else 1))
            cin = 4 * width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))

def gradient(model, inputs, targets, **kwargs):
    x = torch.tensor(np.asarray(inputs), requires_grad=True)
    model(x)[torch.arange(len(x)), torch.as_tensor(np.asarray(targets))].sum().backward()
    return x.grad.numpy()

names_to_classes = {n.lower(): getattr(quantus, n) for n in dir(quantus.metrics) if n[0].isupper()}
def quantus_class(name):
    return names_to_classes[name.replace("_", "")]

torch.manual_seed(0)
model = (demo_cnn() if model_name == "demo" else resnet50()).eval()
rng = np.random.default_rng(0)
x = np.moveaxis(rng.uniform(0, 1, size=(64, *shape)).astype(np.float32), -1, 1).copy()
a = rng.normal(size=(64, 1, *shape[:2])).astype(np.float32)
with torch.no_grad():
    y = model(torch.from_numpy(x)).numpy().argmax(1)
out = {}
for name in names:
    params, explains = cases[name]
    try:
        metric = quantus_class(name)(disable_warnings=True, display_progressbar=False, **params)
        a_batch = gradient(model, x, y) if explains else a  # compared with other explanations
        def call():
            return metric(model=model, x_batch=x, y_batch=y, a_batch=a_batch, channel_first=True,
                          explain_func=gradient, device="cpu", batch_size=64)
        start = time.perf_counter(); call(); first = time.perf_counter() - start
        times = []
        for _ in range(repeats):
            start = time.perf_counter(); call(); times.append(time.perf_counter() - start)
        out[name] = {"first": first, "steady": statistics.median(times)}
    except Exception as error:
        out[name] = {"error": f"{type(error).__name__}: {error}"[:100]}
print(json.dumps(out))
'''


def run_quantus(python: str, model_name: str, names: list[str], repeats: int) -> dict[str, dict]:
    if not os.path.exists(os.path.expanduser(python)):
        return {name: {"error": f"no torch venv at {python}"} for name in names}
    skipped = {name: {"error": QUANTUS_SKIP[name]} for name in names if name in QUANTUS_SKIP}
    names = [name for name in names if name not in QUANTUS_SKIP]
    table = {name: cases(SHAPES[model_name])[name] for name in names}
    proc = subprocess.run([os.path.expanduser(python), "-c", QUANTUS, model_name, json.dumps(names),
                           str(repeats), json.dumps(table)], capture_output=True, text=True)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        return {name: {"error": last[:100]} for name in names} | skipped
    return json.loads(proc.stdout.strip().splitlines()[-1]) | skipped


def row(model: str, name: str, ours: dict, theirs: dict) -> str:
    quantus = f"{theirs['steady']:.2f}" if "steady" in theirs else theirs.get("error", "")[:60]
    if "error" in ours:
        return f"| {model} | {name} | failed: {ours['error'][:60]} | | | | {quantus} |"
    if ours["rows"] or ours["analyses"]:
        forwards = f"{ours['rows']}" + (f" + {ours['analyses']} expl." if ours["analyses"] else "")
        ratio = f"{ours['steady'] / ours['alone']:.2f}"
        alone = f"{ours['alone']:.2f}"
    else:
        forwards, ratio, alone = "0", "-", "-"
    speedup = f" ({theirs['steady'] / ours['steady']:.1f}x)" if "steady" in theirs else ""
    cells = [model, name, f"{ours['steady']:.3f}", forwards, alone, ratio, quantus + speedup]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--metrics", nargs="+", default=list(cases((32, 32, 3))))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quantus", default="~/venv-torch/bin/python",
                        help="the torch venv's python with quantus 0.6 ('' to skip Quantus)")
    parser.add_argument("--markdown", help="also write the table as markdown to this file")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    header = ["| model | metric | innv s | forwards | those alone s | ratio | Quantus s (innv faster) |",
              "|---|---|---|---|---|---|---|"]
    print("\n".join(header), flush=True)
    rows = list(header)
    for model in args.models:
        names = [n for n in args.metrics if model == "demo" or n not in DEMO_ONLY]
        ours = run_innv(model, names, args.repeats)
        theirs = run_quantus(args.quantus, model, names, args.repeats) if args.quantus else {}
        for name in names:
            rows.append(row(model, name, ours[name], theirs.get(name, {})))
            print(rows[-1], flush=True)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    sys.exit(main())
