"""Text in print figures: the size rule, and wrapping text to a width measured by matplotlib.

The rule innv's figures follow (``docs/demo.md``): a figure is laid out at the size it is printed
at, and every text is at least :data:`MIN_FONT_PT` points at that size. That size is one
journal column, :data:`COLUMN_CM` wide (or narrower), whenever the content fits there: the
figure then prints at 100 % in a column, and scaled to 8.5 cm its text is >= 7 pt. Content that
does not fit one column (a grid of many methods) is laid out a page wide, :data:`PAGE_CM`, with
7-pt text at that width: print it across the page. :func:`print_font_sizes` gives the sizes a
figure's texts print at, for tests.

Widths and heights are in points (1/72 inch) and come from matplotlib's own text extents, so the
wrapped lines fit whatever font is configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["COLUMN_CM", "MIN_FONT_PT", "PAGE_CM", "PT_PER_CM", "TextMeasure", "print_font_sizes",
           "text_artists", "wrap"]

#: A journal's column width, the width the figures are laid out for.
COLUMN_CM = 8.5
#: A page's text width (two columns), for figures that do not fit one.
PAGE_CM = 17.8
#: The smallest text size at the width a figure is laid out for.
MIN_FONT_PT = 7.0
PT_PER_CM = 72 / 2.54


class TextMeasure:
    """Measures text as matplotlib draws it: ``size(text, fontsize, rotation) -> (width, height)``
    in points (a scratch figure at 72 dpi, so pixels are points)."""

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self._figure = Figure(dpi=72)
        self._renderer = FigureCanvasAgg(self._figure).get_renderer()
        self._cache: dict[tuple[str, float, float], tuple[float, float]] = {}

    def size(self, text: str, fontsize: float, rotation: float = 0.0) -> tuple[float, float]:
        key = (text, fontsize, rotation)
        if key not in self._cache:
            if not text:
                self._cache[key] = (0.0, 0.0)
            else:
                artist = self._figure.text(0, 0, text, fontsize=fontsize, rotation=rotation)
                box = artist.get_window_extent(self._renderer)
                artist.remove()
                self._cache[key] = (box.width, box.height)
        return self._cache[key]

    def width(self, text: str, fontsize: float) -> float:
        return self.size(text, fontsize)[0]

    def height(self, text: str, fontsize: float) -> float:
        return self.size(text, fontsize)[1]


def _tokens(paragraph: str) -> list[tuple[str, bool]]:
    """Words of one paragraph, split after hyphens too: ``(token, preceded by a space)``."""
    tokens = []
    for word in paragraph.split():
        for k, part in enumerate(re.findall(r"[^-]+-+(?=[^-])|.+", word)):
            tokens.append((part, k == 0))
    return tokens


def _break_word(word: str, width: float, fits: Callable[[str], bool]) -> list[str]:
    """A word too long for one line, cut into pieces that fit (at least one character each)."""
    pieces, piece = [], ""
    for char in word:
        if piece and not fits(piece + char):
            pieces.append(piece)
            piece = ""
        piece += char
    return [*pieces, piece] if piece else pieces


def wrap(text: str, width: float, fontsize: float, measure: TextMeasure,
         break_words: bool = True) -> list[str] | None:
    """``text`` in lines no wider than ``width`` points (greedy, at spaces and after hyphens; the
    text's own newlines kept). A word wider than the line is cut (``break_words``) or, if not,
    the answer is None: the text does not fit that width."""

    def fits(line: str) -> bool:
        return measure.width(line, fontsize) <= width + 1e-6

    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token, spaced in _tokens(paragraph):
            candidate = f"{line}{' ' if spaced and line else ''}{token}"
            if fits(candidate):
                line = candidate
                continue
            if line:
                lines.append(line)
            if fits(token):
                line = token
            elif not break_words:
                return None
            else:
                *full, line = _break_word(token, width, fits)
                lines += full
        lines.append(line)
    return lines


def print_font_sizes(fig: Any, width_cm: float = COLUMN_CM) -> list[tuple[str, float]]:
    """``(text, points)`` of every visible text of ``fig`` when the figure is printed ``width_cm``
    wide (its font size times ``width_cm`` over the figure's width)."""
    scale = width_cm * PT_PER_CM / (fig.get_figwidth() * 72)
    return [(t.get_text(), t.get_fontsize() * scale) for t in text_artists(fig)]


def text_artists(fig: Any) -> list[Any]:
    """The texts ``fig`` draws (call after drawing it): titles, labels, legend entries, free text
    and the tick labels of ticks inside the axis' view (matplotlib keeps others undrawn)."""
    from matplotlib.text import Text

    tick_labels: set[int] = set()
    drawn = []
    for ax in fig.axes:
        hidden = {id(ax.xaxis.label), id(ax.yaxis.label)} if not ax.axison else set()
        tick_labels |= hidden
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = min(limits), max(limits)
            slack = 1e-9 * max(1.0, abs(high - low))
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_labels |= {id(tick.label1), id(tick.label2)}
                if ax.axison and axis.get_visible() and low - slack <= tick.get_loc() <= high + slack:
                    drawn += [label for label in (tick.label1, tick.label2) if _shown(label)]
    return [t for t in fig.findobj(Text) if id(t) not in tick_labels and _shown(t)] + drawn


def _shown(text: Any) -> bool:
    return bool(text.get_visible() and text.get_text().strip())
