"""``innv analyze --report``: the perturbation curves of the run and its ``report.html``.

The analyses, heatmaps and grid are already written (:mod:`innv_core.app.cli`); this adds
``perturbation.png`` (:mod:`innv_core.tools.agreement`: does the model still predict the
explained class as the most relevant regions are removed?), the metrics of ``--metric`` (by
default pixel flipping, sparseness and complexity; :mod:`innv_core.app.evaluate`) in
``metrics/``, and one self-contained page
(:mod:`innv_core.app.report_page`) with every figure, the run's parameters and the versions.
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["write_analysis_report"]


def write_analysis_report(out: Path, args: argparse.Namespace, run: Any, analyses: Mapping[str, Any],
                          signed: Mapping[str, bool], options: Any = None) -> list[str]:
    """Write ``perturbation.<format>`` (where it can be computed; ``options`` is the command's
    :class:`~innv_core.app.heatmap_files.FigureOptions`) and ``report.html`` into ``out``; the
    lines describing them for the command's summary. The page embeds the PNG (or SVG) files."""
    from innv_core.app.heatmap_files import FigureOptions, embeddable, heatmap_path, is_image_batch
    from innv_core.app.report_page import ReportImage, ReportTable, write_report
    from innv_core.errors import InnvError, one_line

    options = options or FigureOptions()
    shown = embeddable(options.formats)
    classes = getattr(run, "class_names", None)
    notes, figures, written, galleries = [], [], [], {}
    rows = min(args.grid_rows, len(run.x))
    if not is_image_batch(run.x):
        notes.append(f"No heatmaps or perturbation curves: the inputs {run.x.shape[1:]} are not "
                     "images (H, W[, C]); the analyses are in the .npy files.")
    else:
        figures.append(ReportImage(
            "Heatmaps", out / f"grid.{shown}",
            f"Rows: the first {rows} of {len(run.x)} inputs (name, predicted class, explained "
            "class); columns: the input, then one method each; one colour bar per colour map."))
        paths = [out / f"perturbation.{fmt}" for fmt in options.formats]
        try:
            _write_curves(paths, run, analyses, args.batch_size, options.dpi)
        except (InnvError, ValueError) as error:
            notes.append(f"No perturbation curves: {one_line(error)}")
        else:
            figures.append(ReportImage(
                "Perturbation curves", out / f"perturbation.{shown}",
                f"The share of the {len(run.x)} inputs whose top class is still the explained class as "
                "the most relevant regions are set to zero; a faster fall (higher AOPC) means a more "
                "faithful explanation. Grey, dash-dotted: random relevance, the mean of 3 seeds and "
                "their min-max band; dashed: chance."))
            written.append(f"perturbation.{'/'.join(options.formats)}: agreement with the explained "
                           "class as the most relevant regions are removed, per method, with its AOPC")
        for method in analyses:
            galleries[f"{method} ({'signed' if signed[method] else 'magnitude'})"] = [
                ReportImage(label.name, heatmap_path(out, label.name, method, shown),
                            f"{label.name}: pred. {label.predicted_text(classes)}, explained "
                            f"{label.explained_text(classes)}")
                for label in run.labels[:rows]]
    tables = []
    try:
        results, specs = _score(run, analyses, args)
    except (InnvError, ValueError) as error:
        notes.append(f"No metrics: {one_line(error)}")
    else:
        from innv_core.app.evaluate import table_rows, write_tables

        methods = list(analyses)
        written += [f"metrics/{line}" for line in write_tables(out / "metrics", results, methods)]
        tables.append(ReportTable(
            "Metrics", ("metric", *methods), table_rows(results, methods),
            f"Mean ± standard error over the {len(run.x)} inputs, for the explained class; ↑/↓: the "
            "better direction. Names and defaults are Quantus 0.6's (docs/evaluating.md); "
            f"parameters: {'; '.join(spec.label for spec in specs)}."))
    path = write_report(out / "report.html", "innv analyze", _parameters(args, run, analyses),
                        figures, galleries, notes, tables=tables)
    written.append(f"report.html: one self-contained page ({path.stat().st_size / 1e6:.1f} MB, "
                   "images embedded), with the parameters and versions")
    return written


def _score(run: Any, analyses: Mapping[str, Any], args: argparse.Namespace) -> tuple[dict, list]:
    """``(metric label, method) -> MetricResult`` for the report's metrics, and their specs."""
    import numpy as np

    from innv_core.app.evaluate import default_specs, index_mode, parse_metric, score_methods
    from innv_core.app.files import read_array
    from innv_core.create import create_metric
    from innv_core.errors import InvalidInputError

    explained = [label.explained for label in run.labels]
    if any(isinstance(e, str) for e in explained):
        raise InvalidInputError("--neuron all explains the sum of all outputs, not one class to score.")
    if len(run.model.outputs) > 1:
        raise InvalidInputError("metrics score one output: this model has "
                                f"{len(run.model.outputs)}; use innv evaluate on a one-output model.")
    masks = read_array(args.masks) if getattr(args, "masks", None) else None
    if masks is not None and len(masks) != len(run.x):
        raise InvalidInputError(f"--masks has {len(masks)} masks for {len(run.x)} inputs: "
                                "give one per input.")
    specs = ([parse_metric(t) for t in args.metric] if args.metric
             else default_specs(run.x.shape[1:], masks=masks is not None))
    metrics = {spec.label: create_metric(spec.name, run.model, **spec.params) for spec in specs}
    # metrics that explain other inputs or classes use the run's analyzers (fitted ones keep
    # their patterns), in "index" mode to explain the classes they choose
    analyzers = {method: index_mode(run.analyzers[method]) for method in analyses}
    results = score_methods(metrics, run.x, np.asarray(explained), masks, analyses, analyzers,
                            args.batch_size)
    return results, specs


def _write_curves(paths: list[Path], run: Any, analyses: Mapping[str, Any], batch_size: int,
                  dpi: int) -> list[Path]:
    """The perturbation curves in each of ``paths`` (one per format)."""
    import numpy as np

    from innv_core.errors import InvalidInputError
    from innv_core.tools.agreement import agreement_curves
    from innv_core.tools.aopc import plot_perturbation_curves
    from innv_core.utils.figure_files import save_figure

    explained = [label.explained for label in run.labels]
    if any(isinstance(e, str) for e in explained):
        raise InvalidInputError("--neuron all explains the sum of all outputs, not one class to "
                                "check the prediction against; use --neuron max or an index.")
    result = agreement_curves(run.model, run.x, np.asarray(explained), analyses,
                              output_index=run.output_index, batch_size=batch_size)
    ax = plot_perturbation_curves(
        result.curves, regions_per_step=result.regions_per_step,
        ylabel="share still predicted as the explained class",
        title=f"Removing the most relevant {result.region}x{result.region} regions ({result.perturbation})",
        chance=result.chance, baseline=result.baseline or None, n_inputs=len(run.x), share_of_inputs=True,
    )
    for path in paths:
        save_figure(ax.figure, path, dpi)
    return paths


def _parameters(args: argparse.Namespace, run: Any, analyses: Mapping[str, Any]) -> dict[str, str]:
    model = Path(args.model)
    return {
        "command": shlex.join(["innv", *sys.argv[1:]]) if sys.argv[1:] else "innv analyze",
        "date (UTC)": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "model": f"{model} ({model.stat().st_size / 1e6:.2f} MB, sha256 {_sha256(model)[:16]})",
        "inputs": f"{args.inputs}: {len(run.x)} of shape {tuple(run.x.shape[1:])}",
        "methods": ", ".join(analyses),
        "neuron": str(args.neuron),
        "output": str(run.output_index),
        "batch size": str(args.batch_size),
        "grid": f"normalised per image (max |R|){', overlay ' + str(args.overlay) if args.overlay else ''}",
        "figures": f"{getattr(args, 'format', 'png')}, PNG at {getattr(args, 'dpi', None) or 'default'} dpi",
        "classes": getattr(run, "classes_source", None) or "indices (no --classes)",
        **({"masks": str(args.masks)} if getattr(args, "masks", None) else {}),
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
