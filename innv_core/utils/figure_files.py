"""Writing figures for print: the format from the file's suffix, the resolution, fonts kept as text.

PNG is written at :data:`FIGURE_DPI` unless told otherwise (300: print resolution; 100 dpi is a
screen's). PDF and SVG are vector files for papers: their text stays text (TrueType fonts in PDF,
``<text>`` elements in SVG, so it can be searched, edited and is not blurred), their images are
embedded at the data's own resolution, and they carry no creation date, so that the same figure
gives the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from innv_core.errors import invalid_parameter

__all__ = ["FIGURE_DPI", "FORMATS", "figure_format", "figure_paths", "save_figure"]

#: The formats innv writes figures in (the command line's ``--format``).
FORMATS = ("png", "pdf", "svg")
#: Pixels per inch of PNG figures unless told otherwise (print resolution).
FIGURE_DPI = 300

_RC = {"svg.fonttype": "none", "pdf.fonttype": 42, "ps.fonttype": 42}  # text as text, not paths
_METADATA = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}


def figure_format(path: str | os.PathLike[str]) -> str:
    """The format a figure file is written in: its suffix, one of :data:`FORMATS`."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise invalid_parameter("the figure file's suffix", Path(path).suffix or "(none)",
                                f"one of {', '.join('.' + f for f in FORMATS)}",
                                f"Name the file e.g. {Path(path).stem or 'figure'}.pdf for a vector figure.")
    return suffix


def figure_paths(stem: str | os.PathLike[str], formats: Sequence[str]) -> list[Path]:
    """``stem`` with each of ``formats`` as its suffix (``grid`` -> ``grid.png``, ``grid.pdf``)."""
    paths = [Path(f"{os.fspath(stem)}.{fmt}") for fmt in dict.fromkeys(formats)]
    for path in paths:
        figure_format(path)
    return paths


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: int = FIGURE_DPI) -> str | os.PathLike[str]:
    """Write ``fig`` (a matplotlib ``Figure``) to ``path`` in the format of its suffix; ``dpi``
    sets a PNG's resolution (and that of rasterised parts of a vector file). Returns ``path``."""
    import matplotlib

    from innv_core.errors import check_positive_int

    fmt = figure_format(path)
    check_positive_int("dpi", dpi)
    with matplotlib.rc_context(_RC):
        fig.savefig(path, dpi=dpi, format=fmt, metadata=_METADATA.get(fmt))
    return path
