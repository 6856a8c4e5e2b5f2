"""``innv demo``: train the shapes CNN, explain it with every analyzer family, judge the explanations.

Writes into one folder:

- ``grid.png``: rows are test images (two per class), columns the input and one analyzer each;
- ``perturbation.png``: the perturbation curves (accuracy while the most relevant 4x4 regions are
  set to zero, most relevant first) with each analyzer's AOPC, random included as the baseline;
- ``object_relevance.csv`` / ``.md``: per analyzer, the share of its positive relevance that lies
  on the object (the mask is known), its AOPC (for the analyzers in the plot, "-" for the others)
  and the seconds its analysis took;
- ``model.keras`` and ``inputs.npz`` (``x``, ``y``, ``mask`` of the grid's images), so that
  ``innv analyze model.keras inputs.npz --method ...`` works on them.

The analyzers come from the registry at run time: a curated configuration for the built-in
families (:data:`CURATED`), and every other registered family (a plugin's) with its defaults.
"""

from __future__ import annotations

import csv
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from innv_core.app.demo.data import CLASSES, ShapeImages, make_shapes
from innv_core.app.demo.determinism import SPREAD, Conditions
from innv_core.utils.figure_files import FIGURE_DPI

__all__ = [
    "CURATED", "DemoConfig", "DemoResult", "MethodResult", "MethodSpec",
    "format_table", "object_share", "run_demo", "select_methods",
]


@attrs.frozen
class DemoConfig:
    """Sizes of the demo. The defaults take well under a minute on 2 cores; :meth:`quick` less.

    Args:
        n_train: Training images.
        epochs: Training epochs.
        n_eval: Test images analysed for the table and the perturbation curves.
        grid_per_class: Rows of the grid per class.
        region: Side of the square regions the perturbation analysis removes.
        aopc_steps: Perturbation steps (one region per image each).
        perturbation: Registered perturbation function name.
        ig_steps: Integrated Gradients path points.
        smoothgrad_n: SmoothGrad noisy copies.
        n_fit: Training images given to analyzers that learn (PatternNet's patterns).
        seed: Seed of the data, the weights and the noise.
        methods: Registry names to run (``None``: every family, see :func:`select_methods`).
    """

    n_train: int = 3000
    epochs: int = 6
    n_eval: int = 128
    grid_per_class: int = 2
    region: int = 4
    aopc_steps: int = 10
    perturbation: str = "zeros"
    ig_steps: int = 32
    smoothgrad_n: int = 32
    n_fit: int = 1000
    seed: int = 0
    methods: tuple[str, ...] | None = None

    @classmethod
    def quick(cls, **overrides: Any) -> DemoConfig:
        """A smaller run (less data, fewer steps) for tests and a first look."""
        sizes = dict(n_train=2000, epochs=6, n_eval=64, grid_per_class=1, aopc_steps=8,
                     ig_steps=16, smoothgrad_n=16, n_fit=500)
        return cls(**{**sizes, **overrides})


@attrs.frozen
class MethodSpec:
    """How the demo runs and shows one analyzer.

    How a method is coloured is the analyzer's own ``signed`` (a diverging map for signed
    relevance, a sequential one for magnitudes).
    ``perturb`` computes the perturbation curve and AOPC (the slowest part, about 1 s per
    analyzer: each step is a ``model.evaluate``); the others get none, to keep the demo short.
    """

    name: str
    title: str
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    perturb: bool = True


def _curated(config: DemoConfig) -> list[MethodSpec]:
    """The built-in families, configured as in iNNvestigate's example notebooks."""
    return [
        MethodSpec("gradient", "Gradient", {"postprocess": "abs"}),
        MethodSpec("smoothgrad", "SmoothGrad",
                   {"augment_by_n": config.smoothgrad_n, "noise_scale": 0.1, "postprocess": "square",
                    "seed": config.seed}, perturb=False),
        MethodSpec("deconvnet", "Deconvnet", perturb=False),
        MethodSpec("guided_backprop", "Guided Backprop"),
        MethodSpec("input_t_gradient", "Input x Gradient"),
        MethodSpec("integrated_gradients", "Integrated Gradients", {"steps": config.ig_steps}),
        MethodSpec("deep_taylor", "DeepTaylor", perturb=False),
        MethodSpec("deep_taylor.bounded", "DeepTaylor [0,1]", {"low": 0.0, "high": 1.0}),
        MethodSpec("lrp.epsilon", "LRP-epsilon", {"epsilon": 0.1}),
        MethodSpec("lrp.alpha_2_beta_1", "LRP-a2b1", perturb=False),
        MethodSpec("lrp.sequential_preset_a", "LRP preset A"),
        MethodSpec("pattern.net", "PatternNet", perturb=False),
        MethodSpec("pattern.attribution", "PatternAttribution"),
        MethodSpec("deep_lift", "DeepLIFT"),
        MethodSpec("random", "Random", {"seed": config.seed}),
    ]


#: Names configured by the demo (others run with their defaults).
CURATED = tuple(spec.name for spec in _curated(DemoConfig()))


def select_methods(config: DemoConfig, registered: Sequence[str]) -> list[MethodSpec]:
    """The analyzers to run: ``config.methods`` if given, else one or more per registered family.

    A family is the part of the name before the first dot (``lrp``, ``deep_taylor``, ...).
    Curated names that are registered come first, in :data:`CURATED` order; then, for each
    family with no curated name registered (a third party's), the name equal to the family or
    else its first name, with default parameters. ``input`` is left out: the grid shows
    the input anyway. ``random`` is always last.
    """
    curated = {spec.name: spec for spec in _curated(config)}
    registered = sorted(registered)
    if config.methods is not None:
        return [curated.get(name, MethodSpec(name, name)) for name in config.methods]
    chosen = [spec for name, spec in curated.items() if name in registered and name != "random"]
    covered = {_family(spec.name) for spec in chosen} | {"input", "random"}
    for family in sorted({_family(name) for name in registered} - covered):
        members = [name for name in registered if _family(name) == family]
        name = family if family in members else members[0]
        chosen.append(MethodSpec(name, name))
    if "random" in registered:
        chosen.append(curated["random"])
    return chosen


def _family(name: str) -> str:
    return name.split(".", 1)[0]


@attrs.define
class MethodResult:
    """What one analyzer gave: its analysis of the test images and the scores derived from it."""

    spec: MethodSpec
    analysis: np.ndarray
    seconds: float
    object_share: float = float("nan")
    aopc: float = float("nan")
    curve: list[list[float]] = attrs.field(factory=list)
    signed: bool = True  # the analyzer's ``signed``: how the figures colour it


@attrs.define
class DemoResult:
    """The outcome of :func:`run_demo`."""

    out_dir: Path
    files: dict[str, Path]
    results: list[MethodResult]
    skipped: dict[str, str]
    test_accuracy: float
    object_area: float
    timings: dict[str, float]
    conditions: Conditions | None = None  # what the numbers depend on (seed, threads, CPU, versions)

    def share(self, name: str) -> float:
        """The object share of the analyzer ``name`` (KeyError if it did not run)."""
        return self._by_name(name).object_share

    def aopc(self, name: str) -> float:
        """The AOPC of the analyzer ``name`` (KeyError if it did not run)."""
        return self._by_name(name).aopc

    def _by_name(self, name: str) -> MethodResult:
        for result in self.results:
            if result.spec.name == name:
                return result
        raise KeyError(f"{name!r} did not run in the demo; ran: {[r.spec.name for r in self.results]}.")


def object_share(analysis: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per image: the positive relevance (summed over channels) on the mask over all of it.

    Images without positive relevance give NaN.
    """
    positive = np.maximum(np.asarray(analysis, np.float64).sum(axis=-1), 0.0)
    total = positive.sum(axis=(1, 2))
    inside = (positive * mask).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / np.where(total > 0, total, 1.0), np.nan)


def run_demo(
    out_dir: str | Path = "innv_demo",
    config: DemoConfig | None = None,
    log: Callable[[str], None] = print,
    progress: bool = True,
    figure_format: str = "png",
    dpi: int = FIGURE_DPI,
    threads: int | None = None,
) -> DemoResult:
    """Run the whole demo and write its files into ``out_dir`` (created if needed); the two
    figures in ``figure_format`` (png, pdf or svg; PNG at ``dpi``).

    Everything runs seeded with op determinism (:func:`~innv_core.app.demo.determinism.seeded`;
    the caller's random state is given back afterwards), so a second run prints the same numbers;
    the CNN is trained in float64, so that other CPUs and thread counts print them too, but for
    what the demo prints as the tolerance (:data:`~innv_core.app.demo.determinism.SPREAD`).
    ``threads`` pins TensorFlow's intra-op thread count for the rest of the process (``innv demo``
    pins 2, the count of ``docs/demo.md``); it takes effect only before TensorFlow has run
    anything, else the demo says so and runs with the count TensorFlow has.
    """
    from innv_core.app.demo.determinism import pin_threads, seeded

    config = config or DemoConfig()
    if threads is not None and not pin_threads(threads):
        log(f"TensorFlow already runs in this process, so its thread count cannot be set to {threads}: "
            "the numbers below repeat in runs with the same count as now (printed at the end).")
    with seeded(config.seed):
        return _run(Path(out_dir), config, log, progress, figure_format, dpi)


def _run(out: Path, config: DemoConfig, log: Callable[[str], None], progress: bool,
         figure_format: str = "png", dpi: int = FIGURE_DPI) -> DemoResult:
    from innv_core.analyzer import TrainerMixin
    from innv_core.app.demo.determinism import conditions
    from innv_core.app.demo.model import train_cnn
    from innv_core.app.progress import Progress
    from innv_core.create import create_analyzer
    from innv_core.registry import get_registry
    from innv_core.tools.perturbate import Perturbation, PerturbationAnalysis

    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    train = make_shapes(config.n_train, seed=config.seed)
    test = make_shapes(config.n_eval, seed=config.seed + 1)
    log(f"Data: {len(train)} training and {len(test)} test images {train.x.shape[1:]} "
        f"of {', '.join(CLASSES)} (object masks known).")
    start = time.perf_counter()
    model = train_cnn(train, epochs=config.epochs, seed=config.seed)
    timings["training"] = time.perf_counter() - start
    _, accuracy = model.evaluate(test.x, test.y, verbose=0, batch_size=256)
    log(f"Trained the CNN ({model.count_params()} weights, {config.epochs} epochs) in "
        f"{timings['training']:.1f} s: test accuracy {accuracy:.3f}.")

    specs = select_methods(config, get_registry().names("analyzers"))
    perturbation = Perturbation(config.perturbation, region_shape=(config.region, config.region))
    results: list[MethodResult] = []
    skipped: dict[str, str] = {}
    bar = Progress(len(specs), "analyzers") if progress else None
    start = time.perf_counter()
    for spec in specs:
        t0 = time.perf_counter()
        try:
            analyzer = create_analyzer(spec.name, model, **spec.kwargs)
            if isinstance(analyzer, TrainerMixin):
                analyzer.fit(train.x[: config.n_fit], batch_size=128)
            analysis = np.asarray(analyzer.analyze(test.x))
        except Exception as error:  # a plugin's analyzer that cannot run here must not end the demo
            skipped[spec.name] = f"{type(error).__name__}: {' '.join(str(error).split())}"
            if bar is not None:
                bar.step(f"{spec.name}: skipped")
            continue
        result = MethodResult(spec, analysis, time.perf_counter() - t0, signed=analyzer.signed)
        result.object_share = float(np.nanmean(object_share(analysis, test.mask)))
        if spec.perturb:
            pa = PerturbationAnalysis(None, model, [(test.x, test.y, analysis)], perturbation,
                                      steps=config.aopc_steps, regions_per_step=1)
            result.curve = pa.compute_perturbation_analysis()
            result.aopc = _aopc(result.curve)
        results.append(result)
        if bar is not None:
            bar.step(spec.name)
    if bar is not None:
        bar.close()
    if not results:
        raise RuntimeError(f"No analyzer could run: {skipped}")
    has_random = "random" in get_registry().names("analyzers")
    baseline = _random_baseline(model, test, perturbation, config) if has_random else []
    timings["analyzers"] = time.perf_counter() - start

    start = time.perf_counter()
    metrics_table, metric_files = _score_methods(out / "metrics", model, test, results)
    timings["metrics"] = time.perf_counter() - start

    start = time.perf_counter()
    rows = _grid_rows(test, config.grid_per_class)
    files = {
        "grid": _write_grid(out / f"grid.{figure_format}", model, test, rows, results, dpi),
        "perturbation": _write_curves(out / f"perturbation.{figure_format}", results, config, baseline, dpi),
        **_write_table(out, results, float(test.mask.mean())),
        **metric_files,
        "model": out / "model.keras",
        "inputs": out / "inputs.npz",
    }
    model.save(files["model"])
    np.savez(files["inputs"], x=test.x[rows], y=test.y[rows], mask=test.mask[rows])
    timings["figures"] = time.perf_counter() - start
    timings["total"] = time.perf_counter() - clock

    result = DemoResult(out, files, results, skipped, float(accuracy), float(test.mask.mean()), timings,
                        conditions(config.seed))
    log("")
    log(format_table(result.results, result.object_area))
    log("")
    log(metrics_table)
    for name, reason in skipped.items():
        log(f"skipped {name}: {reason}")
    log("")
    log(reproducibility(result.conditions, config))
    log("")
    log(f"Wrote into {out}/ in {timings['total']:.1f} s (training {timings['training']:.1f} s, "
        f"analyzers and perturbation {timings['analyzers']:.1f} s, metrics {timings['metrics']:.1f} s, "
        f"figures {timings['figures']:.1f} s):")
    for key, path in files.items():
        log(f"  {key:<13} {path}")
    return result


def reproducibility(found: Conditions | None, config: DemoConfig) -> str:
    """What the printed numbers repeat under, and how far they moved on other machines."""
    same = f"Reproducible: every number above repeats exactly in runs with {found.describe()}." \
        if found is not None else "Reproducible: every number above repeats exactly in the same conditions."
    measured_for = "" if config == DemoConfig() else " (measured for the default demo, seed 0)"
    elsewhere = (f"Other CPUs and thread counts add in another order; the CNN is trained in float64 so "
                 f"that this stays invisible: {SPREAD.describe()}{measured_for}. Other TensorFlow and "
                 "Keras versions may train another model (not measured).")
    return "\n".join(textwrap.fill(text, 100) for text in (same, elsewhere))


def _score_methods(out: Path, model: Any, test: ShapeImages,
                   results: list[MethodResult]) -> tuple[str, dict[str, Path]]:
    """Score the perturbed methods' analyses (of the predicted class) with the report's default
    metrics (pixel flipping, sparseness, complexity, relevance rank accuracy on the object
    masks): the Markdown table and the files written (``metrics/``)."""
    from innv_core.app.evaluate import default_specs, markdown_table, score_methods, write_tables
    from innv_core.create import create_metric

    scored = [r for r in results if r.spec.perturb]
    metrics = {spec.label: create_metric(spec.name, model, **spec.params)
               for spec in default_specs(test.x.shape[1:], masks=True)}
    attributions = {r.spec.name: r.analysis for r in scored}
    predicted = np.asarray(model.predict(test.x, batch_size=256, verbose=0)).argmax(axis=1)
    scores = score_methods(metrics, test.x, predicted, test.mask, attributions, {}, batch_size=256)
    methods = list(attributions)
    write_tables(out, scores, methods)
    title = f"Metrics (Quantus 0.6's names and defaults, mean ± standard error over {len(test)} images):"
    return (f"{title}\n{markdown_table(scores, methods)}",
            {"metrics_csv": out / "metrics.csv", "metrics_md": out / "metrics.md"})


def _aopc(curve: list[list[float]]) -> float:
    from innv_core.tools.aopc import aopc

    return aopc(curve, index=1)


def _grid_rows(test: ShapeImages, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` test images of each class, class by class."""
    rows = [np.flatnonzero(test.y == c)[:per_class] for c in range(len(CLASSES))]
    return np.concatenate(rows)


def _write_grid(path: Path, model: Any, test: ShapeImages, rows: np.ndarray,
                results: list[MethodResult], dpi: int) -> Path:
    from innv_core.utils.visualizations import plot_relevance_grid

    predicted = np.argmax(model.predict(test.x[rows], verbose=0), axis=-1)
    row_labels = [f"true {CLASSES[test.y[i]]}\npred. {CLASSES[p]}\n(explained)"
                  for i, p in zip(rows, predicted)]
    analyses = {r.spec.title: r.analysis[rows] for r in results}
    processing = {r.spec.title: r.spec.kwargs.get("postprocess") for r in results}
    plot_relevance_grid(test.x[rows], analyses, path, signed={r.spec.title: r.signed for r in results},
                        row_labels=row_labels, processing=processing, dpi=dpi)
    return path


def _write_curves(path: Path, results: list[MethodResult], config: DemoConfig,
                  baseline: list[list[Any]], dpi: int) -> Path:
    from innv_core.tools.aopc import plot_perturbation_curves

    curves = {r.spec.title: r.curve for r in results if r.curve and r.spec.name != "random"}
    left_out = [r.spec.title for r in results if not r.curve]
    footnote = (f"Not perturbed, to keep the demo short (each curve is {config.aopc_steps} "
                f"evaluations): {', '.join(left_out)}." if left_out else None)
    plot_perturbation_curves(
        curves, path, regions_per_step=1, ylabel="test accuracy",
        title=f"Removing the most relevant {config.region}x{config.region} regions ({config.perturbation})",
        chance=1.0 / len(CLASSES), baseline=baseline or None, footnote=footnote,
        n_inputs=config.n_eval, share_of_inputs=True, dpi=dpi,
    )
    return path


def _random_baseline(model: Any, test: ShapeImages, perturbation: Any, config: DemoConfig) -> list:
    """The perturbation curves of random relevance for :data:`BASELINE_SEEDS` seeds."""
    from innv_core.create import create_analyzer
    from innv_core.tools.perturbate import PerturbationAnalysis

    curves = []
    for k in range(BASELINE_SEEDS):
        analysis = create_analyzer("random", model, seed=config.seed + k).analyze(test.x)
        pa = PerturbationAnalysis(None, model, [(test.x, test.y, np.asarray(analysis))], perturbation,
                                  steps=config.aopc_steps, regions_per_step=1)
        curves.append(pa.compute_perturbation_analysis())
    return curves


#: Seeds of the random baseline's band in ``perturbation.png``.
BASELINE_SEEDS = 3


_HEADER = ("method", "title", "positive relevance on object", "AOPC (accuracy)", "seconds (incl. compile)")


def _table_rows(results: list[MethodResult]) -> list[tuple[str, str, str, str, str]]:
    return [(r.spec.name, r.spec.title, f"{r.object_share:.3f}", f"{r.aopc:.3f}" if r.curve else "-",
             f"{r.seconds:.2f}") for r in results]


def format_table(results: list[MethodResult], object_area: float) -> str:
    """The table as GitHub markdown, with the object's share of the image as the chance level."""
    rows = [_HEADER, *_table_rows(results)]
    widths = [max(len(row[k]) for row in rows) for k in range(len(_HEADER))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines.append("")
    lines.append(f"The object covers {object_area:.3f} of the image on average: the share a relevance "
                 "spread without regard to the object would put on it.")
    return "\n".join(lines)


def _write_table(out: Path, results: list[MethodResult], object_area: float) -> dict[str, Path]:
    csv_path, md_path = out / "object_relevance.csv", out / "object_relevance.md"
    with csv_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(_HEADER)
        writer.writerows(_table_rows(results))
    md_path.write_text(format_table(results, object_area) + "\n")
    return {"table_csv": csv_path, "table_md": md_path}
