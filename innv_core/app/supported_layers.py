"""The supported-layers table, generated from the registry (so it cannot go stale).

One row per registered layer class: its kind, the plugin (and distribution) that registered it,
and how each registered analyzer family (``registry.add_family``) crosses it, as the family's
crossings say (``registry.add_crossing``, ``registry.crossing_description``). The columns come
from the registry, so a plugin's family or kind shows up without a change here.
``docs/supported-layers.md`` is this table; ``python -m innv_core.app.supported_layers
docs/supported-layers.md`` rewrites it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import attrs

from innv_core.registry import get_registry


@attrs.frozen
class LayerRow:
    """One registered layer class and how each analyzer family treats it."""

    layer: str
    kind: str
    plugin: str
    handling: tuple[str, ...]


def family_columns() -> list[tuple[str, str]]:
    """The registered analyzer families as columns: ``(title, family name)``, in their order."""
    return [(f.title, f.name) for f in get_registry().families()]


def layer_rows(columns: Sequence[tuple[str, str]] | None = None,
               builtin_only: bool = False) -> list[LayerRow]:
    """Every registered layer class (first provider of each), sorted by kind and class name.

    ``columns``: ``(heading, family name)`` pairs, by default every registered family
    (:func:`family_columns`). ``builtin_only`` keeps the classes innv's own plugins register (the
    documentation's table).
    """
    registry = get_registry()
    families = [name for _, name in (family_columns() if columns is None else columns)]
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
            handling=tuple(registry.crossing_description(f, handler.kind) for f in families),
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


def markdown(rows: Sequence[LayerRow], columns: Sequence[tuple[str, str]] | None = None) -> str:
    """The table as a Markdown page (``columns`` as for :func:`layer_rows`)."""
    if columns is None:
        columns = family_columns()
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
        "The kinds and the columns come from the registry too: a plugin adds a kind with "
        "`registry.add_layer_kind(LayerKind(name, description))` (hook "
        "`innv_register_layer_kinds`), says how a family crosses it with "
        "`registry.add_crossing(family, kind, how, description)` and names a column with "
        "`registry.add_family(name, title)` (hook `innv_register_crossings`); see "
        "{doc}`writing-a-plugin`. A family without a crossing for a kind crosses it by its gradient.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        lines.append("| " + " | ".join([f"`{r.layer}`", r.kind, *r.handling, r.plugin]) + " |")
    used = {r.kind for r in rows}
    kinds = [k for k in get_registry().layer_kinds() if k.name in used]
    if kinds:
        lines += ["", "## Layer kinds", "", "| kind | layers |", "|---|---|"]
        lines += [f"| {k.name} | {k.description or '-'} |" for k in kinds]
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
