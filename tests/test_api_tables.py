"""The parameter tables of docs/api are generated from the registry and must match it."""

from __future__ import annotations

from pathlib import Path

import pytest

from innv_core.app.api_tables import (
    BEGIN,
    END,
    accepted_parameters,
    analyzer_rows,
    blocks,
    metric_rows,
    pages,
    parameters,
    rewrite,
    summary,
)
from innv_core.registry import get_registry

API = Path(__file__).resolve().parents[1] / "docs" / "api"


def test_the_api_pages_are_not_stale():
    assert {p.name for p in pages(API)} >= {"analyzers.md", "lrp.md", "metrics.md"}
    for page in pages(API):
        text = page.read_text(encoding="utf-8")
        assert rewrite(text) == text, (
            f"docs/api/{page.name} is stale: run `python -m innv_core.app.api_tables docs/api`")


def test_every_builtin_analyzer_and_metric_has_a_row_on_a_page():
    wanted = [b for page in pages(API) for b in blocks(page.read_text(encoding="utf-8"))]
    registry = get_registry()
    plugins = {e.plugin for e in registry.entries("analyzers").values() if e.builtin}
    categories = {e.obj.category for e in registry.entries("metrics").values() if e.builtin}
    assert sorted(key for kind, key in wanted if kind == "analyzers") == sorted(plugins)
    assert sorted(key for kind, key in wanted if kind == "metrics") == sorted(categories)
    assert ("analyzer-bases", None) in wanted and ("metric-bases", None) in wanted
    shown = {row.name.strip("`") for plugin in plugins for row in analyzer_rows(plugin)}
    assert shown == {n for n, e in registry.entries("analyzers").items() if e.builtin}
    shown = {row.name.strip("`") for c in categories for row in metric_rows(c)}
    assert shown == {n for n, e in registry.entries("metrics").items() if e.builtin}


def test_a_row_reads_the_signature_and_the_docstring():
    rows = {r.name: r for r in analyzer_rows("gradient")}
    ig = rows["`integrated_gradients`"]
    assert ig.cls == "`innv_plugins.gradient.integrated.IntegratedGradients`"
    assert ig.parameters.startswith("`steps=64`, `reference_inputs=0`")
    assert ig.parameters.endswith("+ `AnalyzerNetworkBase`")
    assert rows["`deconvnet`"].parameters == "+ `Gradient` (`gradient`)"
    rows = {r.name: r for r in metric_rows("complexity")}
    assert rows["`sparseness`"].parameters == "`abs=True`, `normalise=True`, + `Metric`"


class _Base:
    def __init__(self, model, *, alpha=1, beta, **kwargs):
        """Unused."""


class _Leaf(_Base):
    """Does ``this`` (e.g. That) with :class:`~innv_core.registry.Registry`. And more.

    Not this paragraph.
    """

    def __init__(self, model, *args, gamma=0.5, name="x|y", fn=len, **kwargs):
        super().__init__(model, beta=2, **kwargs)


def test_parameters_and_summary_of_a_class():
    assert parameters(_Leaf) == "`gamma=0.5`, `name='x\\|y'`, `fn=len`, + `_Base`"
    assert parameters(_Base) == "`alpha=1`, `beta`"
    assert parameters(_Base, defaults_only=True) == "`alpha=1`"
    assert summary(_Leaf) == "Does `this` (e.g. That) with `Registry`."
    assert accepted_parameters(_Leaf) == {"gamma": 0.5, "name": "x|y", "fn": len, "alpha": 1}
    long = type("Long", (), {"__doc__": "word " * 60 + "end."})
    assert summary(long).endswith(" …") and len(summary(long)) <= 162


def test_rewrite_replaces_only_the_generated_part():
    text = "# Page\n\nbefore\n<!-- generated: analyzers misc -->\nold table\n" + END + "\nafter\n"
    new = rewrite(text)
    assert new.startswith("# Page\n\nbefore\n<!-- generated: analyzers misc -->\n")
    assert new.endswith(END + "\nafter\n") and "old table" not in new and "| `random` |" in new
    assert rewrite(new) == new
    with pytest.raises(ValueError, match="end generated"):
        rewrite("<!-- generated: analyzers misc -->\nno end\n")
    with pytest.raises(ValueError, match="registers none"):
        rewrite("<!-- generated: analyzers no_such_plugin -->\n" + END)
    assert BEGIN.match("<!-- generated: analyzer-bases -->")


def test_the_metric_tables_show_parameters_the_metrics_accept():
    """Every parameter a metric's row and its bases' rows show, passed at its default, is accepted."""
    import keras

    import innv_core

    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    for name, entry in get_registry().entries("metrics").items():
        if entry.builtin:
            innv_core.create_metric(name, model, **accepted_parameters(entry.obj))
