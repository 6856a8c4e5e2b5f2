"""The supported-layers table, generated from the registry (so it cannot go stale).

One row per registered layer class: its kind, the plugin (and distribution) that registered it,
and how each analyzer family crosses it, as the family itself describes it
(``AnalyzerNetworkBase.describe_layer_kind``). ``docs/supported-layers.md`` is this table;
``python -m innv_core.app.supported_layers docs/supported-layers.md`` rewrites it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import attrs

from innv_core.registry import get_registry

#: The analyzer families shown as columns: (heading, registry name).
COLUMNS = (("LRP", "lrp"), ("DeepTaylor", "deep_taylor"), ("PatternNet", "pattern.net"),
           ("DeepLIFT", "deep_lift.wrapper"))


@attrs.frozen
class LayerRow:
    """One registered layer class and how each analyzer family treats it."""

    layer: str
    kind: str
    plugin: str
    handling: tuple[str, ...]


def layer_rows(columns: Sequence[tuple[str, str]] = COLUMNS, builtin_only: bool = False) -> list[LayerRow]:
    """Every registered layer class (first provider of each), sorted by kind and class name.

    ``builtin_only`` keeps the classes innv's own plugins register (the documentation's table).
    """
    registry = get_registry()
    analyzers = [registry.get("analyzers", name) for _, name in columns]
    rows = []
    for cls, entry in registry.entries("layers").items():
        if builtin_only and not entry.builtin:
            continue
        handler = entry.obj
        plugin = entry.plugin
        if entry.distribution not in (None, "innv"):
            plugin = f"{plugin} ({entry.distribution})"
        rows.append(LayerRow(
            layer=public_name(cls) if isinstance(cls, type) else str(cls),
            kind=handler.kind,
            plugin=plugin,
            handling=tuple(a.describe_layer_kind(handler.kind) for a in analyzers),
        ))
    return sorted(rows, key=lambda r: (r.kind, r.layer))


def public_name(cls: type) -> str:
    """``keras.layers.Dense`` rather than ``keras.src.layers.core.dense.Dense``."""
    module, name = cls.__module__, cls.__qualname__
    if module.startswith("keras.src.layers."):
        return f"keras.layers.{name}"
    if module.startswith("keras.src.ops."):
        return f"keras.ops.{module.rsplit('.', 1)[-1]}.{name} (op)"
    if module.startswith("keras.src.applications."):
        return f"keras.applications.{module.rsplit('.', 1)[-1]}.{name}"
    return f"{module}.{name}"


def markdown(rows: Sequence[LayerRow], columns: Sequence[tuple[str, str]] = COLUMNS) -> str:
    """The table as a Markdown page."""
    head = ["layer class", "kind", *(c for c, _ in columns), "plugin"]
    lines = [
        "# Supported layers",
        "",
        "*Generated from the plugin registry by `python -m innv_core.app.supported_layers "
        "docs/supported-layers.md`; a test fails when it is stale.* Every layer class innv's "
        "built-in plugins register, and how each analyzer family crosses it (see {doc}`layer-families`). The "
        "gradient family (gradient, Integrated Gradients, SmoothGrad, ...) uses every layer's "
        "gradient. A layer that no plugin registered is refused by LRP, DeepTaylor and "
        "PatternNet with its name and the hook that teaches it.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        lines.append("| " + " | ".join([f"`{r.layer}`", r.kind, *r.handling, r.plugin]) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    text = markdown(layer_rows(builtin_only=True))
    if argv:
        with open(argv[0], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
