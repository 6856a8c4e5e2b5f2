"""``innv evaluate``: score several analyzers with several metrics, as a table and curves.

The command (argument checks, loading) is in :mod:`innv_core.app.cli`; this module parses the
``--metric NAME[:key=value,...]`` specs, runs every metric on every method's attributions and
writes ``metrics.csv``, ``metrics.md`` (metric x method, mean ± standard error) and
``scores/`` and ``curves/`` (one ``.npy`` per metric and method).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from innv_core.app.heatmap_files import safe_name

__all__ = ["MetricSpec", "default_specs", "evaluate_methods", "explain_methods", "fit_trainers",
           "index_mode", "markdown_table", "parse_metric", "score_methods", "table_rows",
           "write_tables"]


@attrs.frozen
class MetricSpec:
    """One ``--metric``: a registered metric name and its parameters."""

    name: str
    params: dict[str, Any] = attrs.field(factory=dict)

    @property
    def label(self) -> str:
        """The spec as written: ``name`` or ``name:key=value,...``."""
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={json.dumps(v)}" for k, v in self.params.items())


def parse_metric(text: str) -> MetricSpec:
    """``"pixel_flipping:features_in_step=16,perturb_baseline=mean"`` as a :class:`MetricSpec`.

    Values are read as JSON (numbers, ``true``, ``null``, lists) and otherwise kept as text;
    nothing is evaluated as code.
    """
    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--metric {text!r}: write parameters as key=value, e.g. "
                             "pixel_flipping:features_in_step=16")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    if not name.strip():
        raise ValueError(f"--metric {text!r} has no metric name")
    return MetricSpec(name.strip(), params)


def default_specs(input_shape: Sequence[int], masks: bool = False, steps: int = 32) -> list[MetricSpec]:
    """The metrics of a report when none are asked for: pixel flipping in at most ``steps``
    steps (``features_in_step`` the smallest divisor of the pixels per channel that needs no
    more), sparseness and complexity, and relevance rank accuracy when there are masks."""
    shape = tuple(int(d) for d in input_shape)
    pixels = int(np.prod(shape[:-1])) if len(shape) > 1 else shape[0]
    values = int(np.prod(shape))
    per_step = next(d for d in range(1, pixels + 1) if pixels % d == 0 and values <= steps * d)
    specs = [MetricSpec("pixel_flipping", {"features_in_step": per_step}),
             MetricSpec("sparseness"), MetricSpec("complexity")]
    return specs + [MetricSpec("relevance_rank_accuracy")] if masks else specs


def index_mode(analyzer: Any) -> Any:
    """``analyzer`` if it explains the neurons given to ``analyze``, else the same analyzer
    (fitted state kept) in ``neuron_selection_mode="index"``: metrics choose the classes."""
    if getattr(analyzer, "_neuron_selection_mode", "index") == "index":
        return analyzer
    return analyzer.with_params(neuron_selection_mode="index")


def fit_trainers(analyzers: Mapping[str, Any], x: Any, batch_size: int) -> list[str]:
    """Fit the analyzers that learn from data (PatternNet, PatternAttribution, ...) on ``x``;
    their names."""
    from innv_core.analyzer import TrainerMixin

    fitted = [name for name, analyzer in analyzers.items() if isinstance(analyzer, TrainerMixin)]
    for name in fitted:
        analyzers[name].fit(x, batch_size=batch_size)
    return fitted


def explain_methods(analyzers: Mapping[str, Any], x: Any, y: Any, batch_size: int) -> dict[str, Any]:
    """``method -> attributions`` of class ``y`` for every analyzer, in batches."""
    attributions = {}
    for method, analyzer in analyzers.items():
        parts = [np.asarray(analyzer.analyze(x[i:i + batch_size], neuron_selection=y[i:i + batch_size]))
                 for i in range(0, len(x), batch_size)]
        attributions[method] = np.concatenate(parts)
    return attributions


def score_methods(metrics: Mapping[str, Any], x: Any, y: Any, s: Any, attributions: Mapping[str, Any],
                  analyzers: Mapping[str, Any], batch_size: int) -> dict[tuple[str, str], Any]:
    """``(metric label, method) -> MetricResult``: every metric on every method's attributions
    (the analyzer is passed along for metrics that explain other inputs or classes)."""
    return {(label, method): metric.evaluate(x, y, a=attributions[method], s=s,
                                             analyzer=analyzers.get(method), batch_size=batch_size)
            for label, metric in metrics.items() for method in attributions}


def evaluate_methods(model: Any, x: Any, y: Any, s: Any, analyzers: Mapping[str, Any],
                     metrics: Mapping[str, Any], batch_size: int) -> dict[tuple[str, str], Any]:
    """``(metric label, method) -> MetricResult`` for every metric on every analyzer's
    attributions (computed once per method and reused by every metric)."""
    attributions = explain_methods(analyzers, x, y, batch_size)
    return score_methods(metrics, x, y, s, attributions, analyzers, batch_size)


def table_rows(results: Mapping[tuple[str, str], Any], methods: Sequence[str]) -> list[list[str]]:
    """One row per metric: its label with ↑/↓ (the better direction), then ``mean ± sem`` per method."""
    labels = list(dict.fromkeys(label for label, _ in results))
    rows = []
    for label in labels:
        arrow = "↑" if results[label, methods[0]].higher_is_better else "↓"
        rows.append([f"{label} {arrow}", *(f"{results[label, m].mean:.4g} ± {results[label, m].sem:.2g}"
                                          for m in methods)])
    return rows


def markdown_table(results: Mapping[tuple[str, str], Any], methods: Sequence[str]) -> str:
    """The metric x method table as GitHub Markdown (mean ± standard error)."""
    lines = ["| metric | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results, methods)]
    return "\n".join(lines)


def write_tables(out: Path, results: Mapping[tuple[str, str], Any], methods: Sequence[str]) -> list[str]:
    """Write ``metrics.csv``, ``metrics.md``, ``scores/`` and ``curves/``; the lines describing them."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "scores").mkdir(exist_ok=True)
    with open(out / "metrics.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["metric", "method", "mean", "sem", "n", "higher_is_better"])
        for (label, method), result in results.items():
            finite = int(np.isfinite(result.scores).sum())
            writer.writerow([label, method, f"{result.mean:.6g}", f"{result.sem:.6g}", finite,
                             result.higher_is_better])
    labels = list(dict.fromkeys(label for label, _ in results))
    (out / "metrics.md").write_text(markdown_table(results, methods) + "\n", encoding="utf-8")
    curves = 0
    for (label, method), result in results.items():
        stem = f"{safe_name(label)}__{safe_name(method)}"
        np.save(out / "scores" / f"{stem}.npy", result.scores, allow_pickle=False)
        if result.curves is not None:
            (out / "curves").mkdir(exist_ok=True)
            np.save(out / "curves" / f"{stem}.npy", result.curves, allow_pickle=False)
            curves += 1
    written = [f"metrics.csv and metrics.md: {len(labels)} metric(s) x {len(methods)} method(s), "
               "mean ± standard error", f"scores/: {len(results)} arrays (one score per input)"]
    if curves:
        written.append(f"curves/: {curves} arrays (inputs x steps)")
    return written
