"""The parameter tables of the API pages, generated from the registry (so they cannot go stale).

The pages in ``docs/api/`` keep their ``automodule`` directives for the Sphinx build, which a
reader on GitHub does not see; the tables make the pages read there too. A page asks for a table
with a marker line, and the generator writes the table below it, up to the end marker::

    <!-- generated: analyzers gradient -->
    ...
    <!-- end generated -->

``analyzers PLUGIN``: every analyzer innv's plugin ``PLUGIN`` registers (``innv list`` shows the
plugins): its registry name, its class, its parameters with their defaults and the first sentence
of its docstring. ``metrics CATEGORY``: the same for the metrics of one category
(``Metric.category``). ``analyzer-bases`` / ``metric-bases``: the base classes whose parameters the
others pass on ("+ `Base`" in a row). Everything comes from the registry and the signatures, so
the module names no plugin. ``python -m innv_core.app.api_tables docs/api`` rewrites the pages;
a test fails when one is stale.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from innv_core.registry import get_registry

__all__ = ["BEGIN", "END", "Row", "accepted_parameters", "analyzer_rows", "base_rows", "block", "blocks",
           "main", "markdown_table", "metric_rows", "pages", "parameters", "rewrite", "summary"]

#: The marker lines: ``<!-- generated: KIND KEY -->`` before a table, ``END`` after it.
BEGIN = re.compile(r"^<!-- generated: (?P<kind>[a-z-]+)(?: (?P<key>\S+))? -->$")
END = "<!-- end generated -->"

#: The longest description, in characters (a longer first sentence is cut at a word, with "…").
SUMMARY_LENGTH = 160

#: Classes at which the chains of "+ `Base`" end (they take ``model`` and nothing else of note).
_ROOTS = ("object",)


@attrs.frozen
class Row:
    """One line of a table: a registry name (or a base class) and its parameters."""

    name: str
    cls: str
    parameters: str
    description: str


def analyzer_rows(plugin: str) -> list[Row]:
    """The analyzers the built-in plugin ``plugin`` registers, by registry name."""
    entries = get_registry().entries("analyzers")
    return [_row(name, entry.obj) for name, entry in sorted(entries.items())
            if entry.builtin and entry.plugin == plugin]


def metric_rows(category: str) -> list[Row]:
    """The built-in metrics of ``category``, by registry name."""
    entries = get_registry().entries("metrics")
    return [_row(name, entry.obj) for name, entry in sorted(entries.items())
            if entry.builtin and entry.obj.category == category]


def _row(name: str, cls: type) -> Row:
    return Row(f"`{name}`", f"`{cls.__module__}.{cls.__qualname__}`", parameters(cls), summary(cls))


def base_rows(kind: str) -> list[Row]:
    """The unregistered classes the ``kind``'s classes pass other keywords on to, base last."""
    registered = {entry.obj for entry in get_registry().entries(kind).values() if entry.builtin}
    seen: dict[type, None] = {}
    for cls in sorted(registered, key=lambda c: c.__qualname__):
        base = _next_init(cls, _init_owner(cls))
        while base is not None:
            if base not in registered:
                seen.setdefault(base, None)
            base = _next_init(base, base)
    ordered = sorted(seen, key=lambda c: (-len(c.__mro__), c.__qualname__))
    return [Row(f"`{c.__name__}`", f"`{c.__module__}.{c.__qualname__}`", parameters(c, defaults_only=True),
                summary(c)) for c in ordered]


def parameters(cls: type, defaults_only: bool = False) -> str:
    """``name=default, ...`` of ``cls``'s own ``__init__``, then "+ `Base`" where it passes others on.

    ``model`` and ``*args`` are left out. ``defaults_only`` leaves out parameters without a
    default too (a base class's: the subclass sets them).
    """
    owner = _init_owner(cls)
    signature = inspect.signature(owner.__init__) if owner is not None else inspect.Signature()
    shown, passes_on = [], False
    for p in list(signature.parameters.values())[1:]:  # not self
        if p.name == "model" or p.kind is p.VAR_POSITIONAL:
            continue
        if p.kind is p.VAR_KEYWORD:
            passes_on = True
        elif p.default is p.empty:
            if not defaults_only:
                shown.append(f"`{p.name}`")
        else:
            shown.append(f"`{p.name}={_default(p.default)}`")
    base = _next_init(cls, owner) if passes_on else None
    if base is not None:
        shown.append(f"+ `{base.__name__}`{_registered_as(base)}")
    return ", ".join(shown) or "-"


def accepted_parameters(cls: type) -> dict[str, Any]:
    """The parameters with a default that ``cls``'s row and its bases' rows show, by name.

    A table shows what a user may pass; the test passes all of them at once to check it.
    """
    found: dict[str, Any] = {}
    owner = _init_owner(cls)
    while owner is not None:
        params = list(inspect.signature(owner.__init__).parameters.values())[1:]
        for p in params:
            named = p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            if named and p.name != "model" and p.default is not p.empty:
                found.setdefault(p.name, p.default)
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
        owner = _next_init(cls, owner)
    return found


def summary(obj: Any) -> str:
    """The first sentence of ``obj``'s docstring, in Markdown."""
    doc = inspect.getdoc(obj) or ""
    paragraph = " ".join(doc.strip().split("\n\n", 1)[0].split())
    sentence = re.split(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<=\.)\s+(?=[A-Z`(])", paragraph, maxsplit=1)[0]
    sentence = re.sub(r":[a-z]+:`~?(?:[\w.]+\.)?([\w]+)`", r"`\1`", sentence)  # :class:`~a.b.C` -> `C`
    sentence = sentence.replace("``", "`")
    if len(sentence) > SUMMARY_LENGTH:  # the docstring has the rest: the page's autodoc shows it
        cut = sentence[: SUMMARY_LENGTH].rsplit(" ", 1)[0].rstrip(",;:(")
        sentence = cut + (" …" if cut.count("`") % 2 == 0 else "` …")
    return sentence.replace("|", "\\|") or "-"


def markdown_table(rows: Sequence[Row], first: str = "name") -> str:
    """The rows as a GitHub Markdown table."""
    lines = [f"| {first} | class | parameters (defaults) | what |", "|---|---|---|---|"]
    lines += [f"| {r.name} | {r.cls} | {r.parameters} | {r.description} |" for r in rows]
    return "\n".join(lines)


def block(kind: str, key: str | None) -> str:
    """The generated text for the marker ``kind key``."""
    if kind == "analyzers" and key:
        rows, note = analyzer_rows(key), f"plugin `{key}`"
    elif kind == "metrics" and key:
        rows, note = metric_rows(key), f"category `{key}`"
    elif kind in ("analyzer-bases", "metric-bases") and key is None:
        rows = base_rows("analyzers" if kind == "analyzer-bases" else "metrics")
        return markdown_table(rows, first="base")
    else:
        raise ValueError(f"Unknown table {kind!r} {key!r}: use analyzers PLUGIN, metrics CATEGORY, "
                         "analyzer-bases or metric-bases.")
    if not rows:
        raise ValueError(f"No built-in {kind} for {note}: a marker names a plugin or category that "
                         f"registers none (see `innv list`).")
    return markdown_table(rows)


def rewrite(text: str) -> str:
    """``text`` with every generated block made anew (the rest unchanged)."""
    out: list[str] = []
    lines = iter(text.split("\n"))
    for line in lines:
        out.append(line)
        match = BEGIN.match(line)
        if not match:
            continue
        for rest in lines:  # drop the old table
            if rest == END:
                break
        else:
            raise ValueError(f"{line} has no {END} after it.")
        out += ["", _notice(), "", block(match["kind"], match["key"]), "", END]
    return "\n".join(out)


def blocks(text: str) -> list[tuple[str, str | None]]:
    """The ``(kind, key)`` of every marker in ``text``."""
    return [(m["kind"], m["key"]) for m in map(BEGIN.match, text.split("\n")) if m]


def _notice() -> str:
    return ("*Generated from the registry and the signatures by `python -m innv_core.app.api_tables "
            "docs/api`; a test fails when it is stale.*")


# -- signatures ------------------------------------------------------------------------------------
def _init_owner(cls: type) -> type | None:
    """The class in ``cls``'s MRO whose ``__init__`` ``cls`` runs."""
    return next((c for c in cls.__mro__ if "__init__" in c.__dict__ and c.__name__ not in _ROOTS), None)


def _next_init(cls: type, owner: type | None) -> type | None:
    """The class after ``owner`` in ``cls``'s MRO that defines ``__init__``: where ``**kwargs`` go."""
    if owner is None:
        return None
    mro = cls.__mro__
    after = mro[mro.index(owner) + 1:]
    return next((c for c in after if "__init__" in c.__dict__ and c.__name__ not in _ROOTS), None)


def _registered_as(cls: type) -> str:
    for kind in ("analyzers", "metrics"):
        names = [name for name, entry in get_registry().entries(kind).items()
                 if entry.obj is cls and entry.builtin]
        if names:
            return f" (`{sorted(names)[0]}`)"
    return ""


def _default(value: Any) -> str:
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    return repr(value).replace("|", "\\|")


# -- the command -----------------------------------------------------------------------------------
def pages(folder: Path) -> list[Path]:
    """The Markdown pages of ``folder`` that ask for a table."""
    return [p for p in sorted(folder.glob("*.md")) if blocks(p.read_text(encoding="utf-8"))]


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m innv_core.app.api_tables [FOLDER]``: rewrite the tables (default ``docs/api``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0] if args else "docs/api")
    for page in pages(folder):
        text = page.read_text(encoding="utf-8")
        new = rewrite(text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            print(f"rewrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
