"""The supported-layers page is generated from the registry and must match it."""

from __future__ import annotations

from pathlib import Path

from innv_core.app.supported_layers import layer_rows, markdown
from innv_core.registry import get_registry

PAGE = Path(__file__).resolve().parents[1] / "docs" / "supported-layers.md"


def test_every_registered_layer_has_a_row_with_every_family():
    rows = layer_rows(builtin_only=True)
    assert len(rows) == sum(e.builtin for e in get_registry().entries("layers").values())
    by_name = {r.layer: r for r in rows}
    assert by_name["keras.layers.LayerNormalization"].handling[0].startswith("LayerNorm rule")
    assert by_name["keras.layers.Multiply"].handling[0] == "gates held constant, signals share equally"
    assert by_name["keras.layers.Dense"].handling[1].startswith("z+ rule")


def test_the_docs_page_is_not_stale():
    expected = markdown(layer_rows(builtin_only=True))
    assert PAGE.read_text(encoding="utf-8") == expected, (
        "docs/supported-layers.md is stale: run `python -m innv_core.app.supported_layers "
        "docs/supported-layers.md`"
    )
