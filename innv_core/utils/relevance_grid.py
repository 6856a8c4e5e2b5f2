"""The relevance grid for papers: inputs in rows, the input then one column per method, shared
colour bars, and a caption that says how the maps were made.

The figure is laid out at its print size (the rule of :mod:`innv_core.utils.figure_text`): at
most ``width_cm`` wide (by default one journal column, 8.5 cm, or a page, 17.8 cm, for many
methods), every text ``fontsize`` (7 pt) at that size, and every text measured with matplotlib
before it is placed, so that no two texts overlap and none leaves the figure at any number of
columns. Column titles that do not fit a column's width are wrapped; if a word does not fit,
every title is turned upright. Rows are as tall as their label needs. One colour bar per colour
map present (all maps share the scale -1..+1 or 0..1), under the grid, then the caption,
wrapped to the figure's width.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from innv_core.errors import InvalidInputError, InvalidParameterError, check_number
from innv_core.utils.figure_files import FIGURE_DPI, save_figure
from innv_core.utils.figure_text import COLUMN_CM, MIN_FONT_PT, PAGE_CM, PT_PER_CM, TextMeasure, wrap
from innv_core.utils.relevance_maps import (
    NORMALIZATIONS,
    SIGNED_CMAP,
    UNSIGNED_CMAP,
    channel_reduction,
    colour_scale,
    normalized_maps,
    unit_image,
)

__all__ = ["plot_relevance_grid", "relevance_grid_figure", "map_subtitle"]

# Distances in points (1/72 inch).
_MARGIN, _GAP, _LABEL_GAP, _TITLE_GAP, _BAND_GAP, _CAPTION_GAP = 3.0, 3.0, 4.0, 2.5, 6.0, 6.0
_MAX_CELL = 3.0 * PT_PER_CM  # a map is at most 3 cm wide
#: The narrowest map of a grid laid out for one column; narrower, the grid takes a page's width.
MIN_MAP_CM = 0.8
_BAR_HEIGHT, _BAR_GAP, _MAX_BAR = 5.0, 16.0, 4.0 * PT_PER_CM
_TICK_LENGTH, _TICK_PAD = 2.0, 1.5
_SLACK = 1.03  # text is measured at 72 dpi; rendered at other resolutions it may be a little wider


def map_subtitle(processing: str | Sequence[str] | None, analysis_shape: tuple[int, ...]) -> str:
    """What was done to an analysis before it became its column's map: the method's own
    postprocessing (``"abs"``, ``"square"``), then the grid's channel reduction ("sum over RGB")."""
    steps = [processing] if isinstance(processing, str) else [s for s in processing or [] if s]
    reduction = channel_reduction(tuple(analysis_shape))
    return ", ".join([*steps, reduction] if reduction else steps)


def plot_relevance_grid(
    images: Any,
    analyses: Mapping[str, Any],
    path: str | os.PathLike[str],
    signed: Mapping[str, bool] | None = None,
    row_labels: Sequence[str] | None = None,
    normalization: str = "image",
    percentile: float = 99.5,
    overlay_alpha: float | None = None,
    processing: Mapping[str, str | Sequence[str] | None] | None = None,
    width_cm: float | None = None,
    fontsize: float = MIN_FONT_PT,
    dpi: int = FIGURE_DPI,
) -> str | os.PathLike[str]:
    """Write :func:`relevance_grid_figure` to ``path``: PNG (at ``dpi``), PDF or SVG by its
    suffix (:func:`~innv_core.utils.figure_files.save_figure`). Returns ``path``."""
    fig = relevance_grid_figure(images, analyses, signed, row_labels, normalization, percentile,
                                overlay_alpha, processing, width_cm, fontsize)
    return save_figure(fig, path, dpi)


def relevance_grid_figure(
    images: Any,
    analyses: Mapping[str, Any],
    signed: Mapping[str, bool] | None = None,
    row_labels: Sequence[str] | None = None,
    normalization: str = "image",
    percentile: float = 99.5,
    overlay_alpha: float | None = None,
    processing: Mapping[str, str | Sequence[str] | None] | None = None,
    width_cm: float | None = None,
    fontsize: float = MIN_FONT_PT,
) -> Any:
    """The grid as a matplotlib ``Figure`` (no window).

    Args:
        images: ``(N, H, W[, C])`` inputs, shown as they are (scaled to [0, 1] each).
        analyses: method title -> ``(N, H, W[, C])`` analysis (channels are summed).
        signed: method title -> whether its values have a sign (an analyzer's ``signed``):
            diverging ``RdBu_r`` centred on 0, else sequential ``magma_r``. Default: signed.
        row_labels: one per input, e.g. ``"cat.png\\npred. tabby (p=0.93)"``; wrapped to fit.
        normalization: ``"image"`` (default), ``"column"`` or ``"percentile"``
            (:data:`~innv_core.utils.relevance_maps.NORMALIZATIONS`).
        percentile: the percentile of ``"percentile"``.
        overlay_alpha: draw each map over the (grey) input with this opacity instead of alone.
        processing: method title -> what the method did to its analysis (its ``postprocess``:
            ``"abs"``, ``"square"``), shown under the title with the channel reduction.
        width_cm: the widest the figure may be, e.g. 8.5 (cm: one journal column) or 17.8 (a
            page). Default: 8.5 if every map gets at least :data:`MIN_MAP_CM` there (up to about
            8 methods), else 17.8.
        fontsize: the size of every text at that width, in points.
    """
    from matplotlib.figure import Figure

    content = _Content.build(images, analyses, signed, row_labels, normalization, percentile,
                             overlay_alpha, processing)
    if width_cm is not None:
        check_number("width_cm", width_cm, minimum=0, strict=True)
    check_number("fontsize", fontsize, minimum=0, strict=True)
    layout = _Layout.compute(content, width_cm, fontsize, TextMeasure())
    fig = Figure(figsize=(layout.width / 72, layout.height / 72))
    _draw(fig, content, layout, fontsize)
    return fig


@attrs.frozen
class _Content:
    """What the grid shows: the inputs, the maps, the texts (before any layout)."""

    shown: list[np.ndarray]
    maps: dict[str, np.ndarray]
    signed: dict[str, bool]
    titles: list[tuple[str, str]]  # (name, subtitle) per column, the input first
    row_labels: list[str] | None
    caption: str
    overlay_alpha: float | None

    @classmethod
    def build(cls, images: Any, analyses: Mapping[str, Any], signed: Mapping[str, bool] | None,
              row_labels: Sequence[str] | None, normalization: str, percentile: float,
              overlay_alpha: float | None, processing: Mapping[str, Any] | None) -> _Content:
        shown = [unit_image(np.asarray(image)) for image in images]
        names = list(analyses)
        if not shown or not names:
            raise InvalidInputError("plot_relevance_grid needs at least one input and one analysis.")
        if row_labels is not None and len(row_labels) != len(shown):
            raise InvalidParameterError(f"row_labels has {len(row_labels)} entries but the grid has "
                                        f"{len(shown)} rows.")
        signs = {t: True for t in names} | dict(signed or {})
        maps = {t: normalized_maps(analyses[t], normalization, percentile) for t in names}
        for name, m in maps.items():
            if len(m) != len(shown):
                raise InvalidInputError(f"analysis {name!r} has {len(m)} maps for {len(shown)} inputs.")
        processing = dict(processing or {})
        titles = [("input", "")] + [(t, map_subtitle(processing.get(t), np.shape(analyses[t])))
                                    for t in names]
        caption = _caption(normalization, percentile, set(signs[t] for t in names),
                           any(sub for _, sub in titles), overlay_alpha)
        return cls(shown, maps, signs, titles, None if row_labels is None else list(row_labels), caption,
                   overlay_alpha)


def _caption(normalization: str, percentile: float, signs: set[bool], subtitles: bool,
             overlay_alpha: float | None) -> str:
    """The caption: how the maps are scaled and which colours mean what, for the maps present."""
    parts = [f"Maps: R / scale, {NORMALIZATIONS[normalization].format(p=percentile)}"]
    if subtitles:
        parts[0] += "; under each method, what was done to its analysis first"
    if overlay_alpha is not None:
        parts.append(f"drawn over the grey input at opacity {overlay_alpha:g}")
    colours = []
    if True in signs:
        colours.append(f"{SIGNED_CMAP} (signed maps): red is relevance for the explained output, "
                       "blue against it, white none")
    if False in signs:
        colours.append(f"{UNSIGNED_CMAP} (magnitudes only): darker is larger")
    return "; ".join(parts) + ". Colours: " + "; ".join(colours) + "."


@attrs.frozen
class _Layout:
    """Where everything goes, in points from the figure's top left corner."""

    width: float
    height: float
    cell_w: float
    cell_h: float
    col_x: list[float]  # left edge of each column's cells
    row_y: list[float]  # top edge of each row's cells
    label_x: float
    row_labels: list[str]  # wrapped
    row_centres: list[float]
    titles: list[str]  # wrapped
    upright: bool  # the titles are rotated by 90 degrees
    title_base: float  # the titles' bottom
    bars: list[tuple[bool, float, float, str]]  # (signed, left, width, wrapped label)
    bar_label_base: float  # bottom of the bar labels
    bar_top: float
    caption: str
    caption_top: float

    @classmethod
    def compute(cls, content: _Content, width_cm: float | None, fs: float, measure: TextMeasure) -> _Layout:
        """The layout at ``width_cm``, or if None at one column's width when every map gets at
        least :data:`MIN_MAP_CM` there, else at a page's width."""
        if width_cm is not None:
            return cls._at(content, width_cm * PT_PER_CM, fs, measure, 0.0)
        try:
            return cls._at(content, COLUMN_CM * PT_PER_CM, fs, measure, MIN_MAP_CM * PT_PER_CM)
        except InvalidParameterError:
            return cls._at(content, PAGE_CM * PT_PER_CM, fs, measure, 0.0)

    @classmethod
    def _at(cls, content: _Content, max_width: float, fs: float, measure: TextMeasure,
            min_cell: float) -> _Layout:
        n_cols = len(content.titles)
        labels, label_w = _wrap_row_labels(content.row_labels, max_width, fs, measure)
        left = _MARGIN + (label_w + _LABEL_GAP if labels else 0.0)
        available = (max_width - left - _MARGIN - (n_cols - 1) * _GAP) / n_cols
        height, width = content.shown[0].shape[:2]
        aspect = height / width
        cell_w = min(available, _MAX_CELL, _MAX_CELL / aspect)
        line = measure.height("Ag", fs) * _SLACK
        if cell_w < max(line, min_cell):
            raise InvalidParameterError(
                f"{n_cols} columns do not fit {max_width / PT_PER_CM:.3g} cm with {fs:g}-pt text "
                f"(each would be {cell_w / PT_PER_CM:.2g} cm wide); pass a larger width_cm, shorter "
                "row labels, or show fewer methods.")
        cell_h = cell_w * aspect
        fig_w = left + n_cols * cell_w + (n_cols - 1) * _GAP + _MARGIN
        titles, upright, title_h = _wrap_titles(content.titles, cell_w, fs, measure)
        col_x = [left + c * (cell_w + _GAP) for c in range(n_cols)]
        y = _MARGIN + title_h + _TITLE_GAP
        title_base = y - _TITLE_GAP
        row_y, centres = [], []
        for r in range(len(content.shown)):
            label_h = measure.height(labels[r], fs) * _SLACK if labels else 0.0
            pitch = max(cell_h, label_h)
            row_y.append(y + (pitch - cell_h) / 2)
            centres.append(y + pitch / 2)
            y += pitch + _GAP
        y += _BAND_GAP - _GAP
        bars, label_base, bar_top, y = _place_bars(content, col_x[1], fig_w, fs, measure, y)
        caption_lines = wrap(content.caption, (fig_w - 2 * _MARGIN) / _SLACK, fs, measure)
        caption = "\n".join(caption_lines)
        caption_top = y + _CAPTION_GAP
        fig_h = caption_top + measure.height(caption, fs) * _SLACK + _MARGIN
        return cls(fig_w, fig_h, cell_w, cell_h, col_x, row_y, _MARGIN, labels or [], centres, titles,
                   upright, title_base, bars, label_base, bar_top, caption, caption_top)


def _wrap_row_labels(row_labels: list[str] | None, max_width: float, fs: float,
                     measure: TextMeasure) -> tuple[list[str] | None, float]:
    """The row labels wrapped to at most 30 % of the width (and 3.2 cm), and the width they take."""
    if row_labels is None:
        return None, 0.0
    natural = max(measure.width(line, fs) for label in row_labels for line in label.split("\n"))
    width = min(natural * _SLACK, 0.3 * max_width, 3.2 * PT_PER_CM)
    wrapped = ["\n".join(wrap(label, width / _SLACK, fs, measure)) for label in row_labels]
    return wrapped, max(measure.width(w, fs) for w in wrapped) * _SLACK


def _wrap_titles(titles: list[tuple[str, str]], cell_w: float, fs: float,
                 measure: TextMeasure) -> tuple[list[str], bool, float]:
    """The column titles wrapped to the column's width; if a word does not fit, upright titles
    whose lines are as short as the column's width allows. The texts, whether upright, and the
    height they take."""
    fit = cell_w / _SLACK
    across = []
    for name, subtitle in titles:
        parts = [wrap(text, fit, fs, measure, break_words=False) for text in (name, subtitle) if text]
        if any(p is None for p in parts):
            break
        across.append("\n".join(line for p in parts for line in p))
    else:
        return across, False, max(measure.height(t, fs) for t in across) * _SLACK
    texts = [f"{name}\n{subtitle}" if subtitle else name for name, subtitle in titles]
    longest = max(measure.width(line, fs) for text in texts for line in text.split("\n"))
    word = max(measure.width(token, fs) for text in texts for token in text.split())
    length = word
    while True:  # lengthen the lines until every upright title is no wider than its column
        upright = ["\n".join(wrap(text, length, fs, measure)) for text in texts]
        if max(measure.height(t, fs) for t in upright) * _SLACK <= cell_w or length >= longest:
            break
        length = min(longest, length * 1.25)
    if max(measure.height(t, fs) for t in upright) * _SLACK > cell_w:  # one line per title
        upright = [text.replace("\n", ", ") for text in texts]
    return upright, True, max(measure.width(t, fs) for t in upright) * _SLACK


def _place_bars(content: _Content, start: float, fig_w: float, fs: float, measure: TextMeasure,
                y: float) -> tuple[list[tuple[bool, float, float, str]], float, float, float]:
    """One colour bar per colour map present, side by side under the map columns (from the
    left margin if they do not fit there); the bars, the bar labels' bottom, the bars' top and
    the band's bottom."""
    kinds = [s for s in (True, False) if s in set(content.signed.values())]
    half_tick = max(measure.width(t, fs) for t in ("\u22121", "+1", "0", "1")) / 2 * _SLACK
    room = fig_w - start - _MARGIN - 2 * half_tick - (len(kinds) - 1) * _BAR_GAP
    if room / len(kinds) < 0.5 * _MAX_BAR:
        start = _MARGIN
        room = fig_w - 2 * _MARGIN - 2 * half_tick - (len(kinds) - 1) * _BAR_GAP
    bar_w = min(_MAX_BAR, room / len(kinds))
    texts = {True: "signed", False: "magnitude"}
    bars, x = [], start + half_tick
    for kind in kinds:
        label = "\n".join(wrap(texts[kind], bar_w / _SLACK, fs, measure))
        bars.append((kind, x, bar_w, label))
        x += bar_w + _BAR_GAP
    label_h = max(measure.height(label, fs) for *_, label in bars) * _SLACK
    bar_top = y + label_h + 1.5
    tick_h = measure.height("\u22121+0", fs) * _SLACK
    return bars, y + label_h, bar_top, bar_top + _BAR_HEIGHT + _TICK_LENGTH + _TICK_PAD + tick_h


def _draw(fig: Any, content: _Content, layout: _Layout, fs: float) -> None:
    """Put the cells, texts and colour bars of ``layout`` on ``fig``."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    W, H = layout.width, layout.height

    def box(x: float, top: float, w: float, h: float) -> list[float]:
        return [x / W, 1 - (top + h) / H, w / W, h / H]

    def at(x: float, y: float) -> tuple[float, float]:
        return x / W, 1 - y / H

    methods = list(content.maps)
    for r, image in enumerate(content.shown):
        for c, x in enumerate(layout.col_x):
            ax = fig.add_axes(box(x, layout.row_y[r], layout.cell_w, layout.cell_h))
            _frame(ax)
            if c == 0:
                ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1,
                          interpolation="none")
                continue
            method = methods[c - 1]
            cmap, low = colour_scale(content.signed[method])
            if content.overlay_alpha is not None:
                ax.imshow(image.mean(axis=-1) if image.ndim == 3 else image, cmap="gray", vmin=0, vmax=1,
                          interpolation="none")
            ax.imshow(content.maps[method][r], cmap=cmap, vmin=low, vmax=1.0, interpolation="none",
                      alpha=content.overlay_alpha)
    for r, label in enumerate(layout.row_labels):
        fig.text(*at(layout.label_x, layout.row_centres[r]), label, fontsize=fs, ha="left", va="center",
                 ma="left")
    for c, title in enumerate(layout.titles):
        fig.text(*at(layout.col_x[c] + layout.cell_w / 2, layout.title_base), title, fontsize=fs,
                 ha="center", va="bottom", ma="left" if layout.upright else "center",
                 rotation=90 if layout.upright else 0)
    for kind, x, w, label in layout.bars:
        fig.text(*at(x, layout.bar_label_base), label, fontsize=fs, ha="left", va="bottom")
        cmap, low = colour_scale(kind)
        cax = fig.add_axes(box(x, layout.bar_top, w, _BAR_HEIGHT))
        bar = fig.colorbar(ScalarMappable(Normalize(low, 1.0), cmap), cax=cax, orientation="horizontal")
        ticks = ([-1.0, 0.0, 1.0], ["\u22121", "0", "+1"]) if low < 0 else ([0.0, 1.0], ["0", "1"])
        bar.set_ticks(ticks[0], labels=ticks[1])
        bar.ax.tick_params(labelsize=fs, length=_TICK_LENGTH, pad=_TICK_PAD, width=0.5)
        bar.outline.set_linewidth(0.5)
    fig.text(*at(_MARGIN, layout.caption_top), layout.caption, fontsize=fs, ha="left", va="top")


def _frame(ax: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.4)
        spine.set_edgecolor("0.6")
