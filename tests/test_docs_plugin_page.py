"""docs/writing-a-plugin.md reads as a file: its code is inline, and is the example plugin's code.

A code block preceded by ``<!-- same as PATH -->`` must be PATH's text, and one preceded by
``<!-- same as PATH::NAME -->`` the source of PATH's top-level class or function NAME
(decorators included). When the example changes, copy its code into the page.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "writing-a-plugin.md"
MARKED = re.compile(r"<!-- same as (?P<path>[^\s:]+)(?:::(?P<name>\w+))? [^>]*-->\n```\w*\n(?P<code>.*?)\n```",
                    re.DOTALL)


def _source(path: Path, name: str | None) -> str:
    text = path.read_text()
    if name is None:
        return text.rstrip("\n")
    for node in ast.parse(text).body:
        if getattr(node, "name", None) == name:
            start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
            return "\n".join(text.splitlines()[start - 1 : node.end_lineno])
    raise AssertionError(f"{path} has no top-level {name}")


def _blocks() -> list[re.Match]:
    return list(MARKED.finditer(PAGE.read_text()))


def test_the_page_has_no_include_directives():
    text = PAGE.read_text()
    assert "{literalinclude}" not in text and "{include}" not in text
    assert len(_blocks()) == 5  # gamma.py, Occlusion, its hook, TopFractionDrop, pyproject.toml


@pytest.mark.parametrize("block", _blocks(), ids=lambda m: f"{m['path']}::{m['name'] or ''}")
def test_inline_code_is_the_example_code(block):
    expected = _source(ROOT / block["path"], block["name"])
    assert block["code"] == expected, (
        f"the code under '<!-- same as {block['path']} ...' in {PAGE.name} is not the example's: "
        "copy it from the example into the page"
    )
