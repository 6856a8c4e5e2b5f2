"""One self-contained HTML file to share a run: figures embedded, parameters, versions.

Every image is a ``data:`` URI inside the file, the style is inline, and nothing is fetched (no
CDN, no server): the file can be mailed, attached to a ticket or opened offline. A small inline
script records on ``<body data-images="loaded/total">`` how many images the browser decoded and
shows a banner if one failed, so a broken report says so instead of showing empty frames.
"""

from __future__ import annotations

import base64
import html
import os
import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path

import attrs

__all__ = ["ReportImage", "ReportTable", "library_versions", "write_report"]

#: The distributions whose versions a report lists.
VERSIONED = ("innv", "tensorflow", "keras", "numpy", "matplotlib")


@attrs.frozen
class ReportImage:
    """A PNG (or SVG) file to embed, with its heading and the sentence that explains it."""

    title: str
    path: Path = attrs.field(converter=Path)
    caption: str = ""


@attrs.frozen
class ReportTable:
    """A table to show, with its heading and the sentence that explains it."""

    title: str
    header: tuple[str, ...] = attrs.field(converter=tuple)
    rows: tuple[tuple[str, ...], ...] = attrs.field(converter=lambda rows: tuple(map(tuple, rows)))
    caption: str = ""


def library_versions() -> dict[str, str]:
    """Python's and :data:`VERSIONED`'s versions ("not installed" where absent)."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_report(
    path: str | os.PathLike[str],
    title: str,
    parameters: Mapping[str, str],
    figures: Sequence[ReportImage] = (),
    galleries: Mapping[str, Sequence[ReportImage]] | None = None,
    notes: Sequence[str] = (),
    versions: Mapping[str, str] | None = None,
    tables: Sequence[ReportTable] = (),
) -> Path:
    """Write the report and return its path.

    Args:
        path: the ``.html`` file to write.
        title: the page's heading.
        parameters: what was run (shown as a table, in order).
        figures: full-width figures (e.g. the grid, the perturbation curves).
        galleries: heading -> small images shown side by side (e.g. each heatmap of a method).
        notes: sentences shown under the parameters (what was left out and why).
        versions: library versions (default :func:`library_versions`).
        tables: tables shown after the figures (e.g. the metrics, metric x method).
    """
    versions = library_versions() if versions is None else versions
    body = [f"<h1>{_e(title)}</h1>", "<h2>Run</h2>", _table(parameters)]
    body += [f'<p class="note">{_e(note)}</p>' for note in notes]
    for figure in figures:
        body.append(f"<h2>{_e(figure.title)}</h2>")
        body.append(f"<figure>{_img(figure)}<figcaption>{_e(figure.caption)}</figcaption></figure>")
    for table in tables:
        body.append(f"<h2>{_e(table.title)}</h2>")
        body.append(_grid(table.header, table.rows))
        body.append(f'<p class="caption">{_e(table.caption)}</p>')
    for heading, images in (galleries or {}).items():
        body.append(f"<h2>{_e(heading)}</h2>")
        body.append('<div class="gallery">' + "".join(
            f"<figure>{_img(image)}<figcaption>{_e(image.caption or image.title)}</figcaption></figure>"
            for image in images) + "</div>")
    body += ["<h2>Versions</h2>", _table(versions)]
    page = _PAGE.format(title=_e(title), style=_STYLE, body="\n".join(body), script=_SCRIPT)
    out = Path(path)
    out.write_text(page, encoding="utf-8")
    return out


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(rows: Mapping[str, str]) -> str:
    cells = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows.items())
    return f"<table>{cells}</table>"


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    cells = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="grid"><tr>{head}</tr>{cells}</table>'


def _img(image: ReportImage) -> str:
    data = base64.b64encode(image.path.read_bytes()).decode("ascii")
    mime = "image/svg+xml" if image.path.suffix.lower() == ".svg" else "image/png"
    return f'<img src="data:{mime};base64,{data}" alt="{_e(image.title)}">'


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body data-images="pending">
<div id="image-warning" hidden>Some images of this report could not be shown.</div>
{body}
<script>{script}</script>
</body>
</html>
"""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 0.2em 1em 0.2em 0; vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
td { font-family: ui-monospace, monospace; word-break: break-all; }
figure { margin: 0.5em 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #555; }
.gallery { display: flex; flex-wrap: wrap; gap: 1em; } .gallery figure { max-width: 22em; }
.note { color: #7a4b00; } .caption { font-size: 0.9em; color: #555; }
table.grid td { font-family: inherit; word-break: normal; }
table.grid th, table.grid td { border-bottom: 1px solid #eee; }
#image-warning { background: #fdd; padding: 0.5em; font-weight: 600; }
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.dataset.images = loaded + "/" + images.length;
  if (loaded < images.length) { document.getElementById("image-warning").hidden = false; }
});
"""
