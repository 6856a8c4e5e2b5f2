"""The figures of a generation's explanation: the explained × context token matrix, and the
token heatmaps (:mod:`innv_core.utils.visualizations`' HTML and PNG heatmaps, one per row).

The matrix is laid out at its print size, as innv's other print figures
(:mod:`innv_core.utils.figure_text`): one journal column wide when its cells can be at least as
wide as a label's line (7 pt text), else a page wide; when even then a label per column does not
fit, every n-th column (and row) is labelled. Every text is measured before it is placed, so no
two overlap. One colour bar: signed relevance on a diverging map centred at 0, each row divided
by its own max |R| (``normalization="row"``) or all by the largest (``"global"``); the cells a row
cannot depend on (from the explained token's position on) are grey.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from innv_core.errors import invalid_parameter
from innv_core.utils.figure_files import FIGURE_DPI, save_figure
from innv_core.utils.figure_text import COLUMN_CM, MIN_FONT_PT, PAGE_CM, PT_PER_CM, TextMeasure, wrap
from innv_core.utils.relevance_maps import SIGNED_CMAP, UNSIGNED_CMAP

__all__ = ["NORMALIZATIONS", "display_token", "matrix_figure", "plot_matrix"]

#: How the matrix is scaled, and what its colour bar says.
NORMALIZATIONS = {"row": "R / max |R| of its row", "global": "R / max |R|"}

# Distances in points (1/72 inch).
_MARGIN, _GAP, _TICK_LENGTH, _TICK_PAD, _BAR_WIDTH = 3.0, 4.0, 2.0, 1.5, 6.0
_MAX_CELL = 0.6 * PT_PER_CM  # a cell is at most 6 mm
_MIN_BAR = 2.2 * PT_PER_CM  # the colour bar is at least 22 mm tall (its label runs along it)
_SLACK = 1.05  # text is measured at 72 dpi; rendered at other resolutions it may be a little wider
_LABEL_CHARS = 12


def display_token(piece: str) -> str:
    """A token as a readable label: control characters escaped, blank pieces quoted, long ones cut."""
    text = piece.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    if not text.strip():
        text = repr(piece)
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def _scaled(relevance: np.ndarray, normalization: str) -> np.ndarray:
    if normalization not in NORMALIZATIONS:
        raise invalid_parameter("normalization", normalization, f"one of {sorted(NORMALIZATIONS)}")
    R = np.asarray(relevance, np.float64)
    scale = np.abs(R).max(axis=1, keepdims=True) if normalization == "row" else np.abs(R).max()
    return np.divide(R, scale, out=np.zeros_like(R), where=np.asarray(scale) > 0)


def matrix_figure(
    relevance: Any,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    readable: Any,
    n_prompt: int,
    title: str | None = None,
    signed: bool = True,
    normalization: str = "row",
    width_cm: float | None = None,
    fontsize: float = MIN_FONT_PT,
    column_title: str = "context token (prompt | generated)",
) -> Any:
    """The matrix figure (a matplotlib ``Figure``, not saved).

    Args:
        relevance: ``(rows, columns)``; ``readable`` ``(rows, columns)`` bools: the cells a row's
            explained quantity can depend on (the others are drawn grey).
        row_labels, column_labels: the explained tokens and the context tokens (displayed with
            :func:`display_token`).
        n_prompt: columns before it are the prompt (a line separates the generated tokens).
        width_cm: the widest the figure may be; default a column, or a page if the cells need it.
        column_title: the columns' axis title (when the prompt and the continuation both show).
    """
    import matplotlib
    from matplotlib.figure import Figure

    R = _scaled(relevance, normalization)
    n_rows, n_cols = R.shape
    rows = [display_token(t) for t in row_labels]
    cols = [display_token(t) for t in column_labels]
    measure = TextMeasure()
    fs = fontsize
    line = measure.height("Ag", fs) * _SLACK
    min_cell = line + 1.0  # rotated labels of neighbouring columns, each one line wide, never touch
    bar_label = NORMALIZATIONS[normalization]
    ticks = max(measure.width(t, fs) for t in ("−1", "0", "1")) * _SLACK
    # the colour bar stands right of the map, or lies under it when the map is too flat for it
    upright_bar = _GAP + _BAR_WIDTH + _TICK_LENGTH + _TICK_PAD + ticks + _GAP + line
    lying_bar = _GAP + _BAR_WIDTH + _TICK_LENGTH + _TICK_PAD + line + _GAP + line
    bar_length = max(_MIN_BAR, measure.width(bar_label, fs) * _SLACK + 2 * _GAP)

    def layout(step: int, limit: float, upright: bool) -> tuple[float, float, float, float]:
        """left, bottom, right margins and the cell size (points)."""
        left = _MARGIN + line + _GAP + max(measure.width(t, fs) for t in rows[::step]) * _SLACK \
            + _TICK_PAD + _TICK_LENGTH
        bottom = _MARGIN + line + _GAP + max(measure.size(t, fs, 90)[1] for t in cols[::step]) * _SLACK \
            + _TICK_PAD + _TICK_LENGTH + (0.0 if upright else lying_bar)
        right = _MARGIN + (upright_bar if upright else 0.0)
        return left, bottom, right, min(_MAX_CELL, (limit - left - right) / n_cols)

    for limit_cm in [width_cm] if width_cm is not None else [COLUMN_CM, PAGE_CM]:
        limit = limit_cm * PT_PER_CM
        left, bottom, right, cell = layout(1, limit, True)
        if cell >= min_cell:
            break
    step = 1 if cell >= min_cell else math.ceil(min_cell / max(cell, 1e-9))
    upright = n_rows * max(cell, min_cell / step) >= bar_length
    for _ in range(3):  # labelling every step-th token frees room: the cells grow, the step may shrink
        left, bottom, right, cell = layout(step, limit, upright)
        step = max(1, math.ceil(min_cell / cell))
    left, bottom, right, cell = layout(step, limit, upright)
    map_width, map_height = n_cols * cell, n_rows * cell
    # texts centred under a narrow map (the axis title, a lying bar's label) get room on both sides
    under = [column_title if 0 < n_prompt < n_cols else "context token", *([] if upright else [bar_label])]
    half = max(measure.width(t, fs) for t in under) * _SLACK / 2 + _MARGIN - map_width / 2
    left, right = max(left, half), max(right, half)
    width = left + map_width + right
    lines = wrap(title, width - 2 * _MARGIN, fs, measure) if title else []
    top = _MARGIN + len(lines) * line * 1.15 + (_GAP if lines else 0.0)
    above = max(map_height, bar_length if upright else 0.0) - map_height  # free space over the map
    overhang = measure.width("explained", fs) * _SLACK / 2 - map_height / 2  # the upright y title's
    height = bottom + map_height + max(above, overhang + _GAP) + top

    fig = Figure(figsize=(width / 72, height / 72))
    ax = fig.add_axes((left / width, bottom / height, map_width / width, map_height / height))
    cmap = matplotlib.colormaps[SIGNED_CMAP if signed else UNSIGNED_CMAP].with_extremes(bad="0.88")
    shown = np.ma.masked_array(R, mask=~np.asarray(readable, bool))
    image = ax.imshow(shown, cmap=cmap, vmin=-1.0 if signed else 0.0, vmax=1.0, aspect="auto",
                      interpolation="none")
    ax.set_xticks(np.arange(0, n_cols, step), cols[::step], rotation=90, fontsize=fs)
    ax.set_yticks(np.arange(0, n_rows, step), rows[::step], fontsize=fs)
    ax.tick_params(length=_TICK_LENGTH, pad=_TICK_PAD, width=0.5)
    if 0 < n_prompt < n_cols:
        ax.axvline(n_prompt - 0.5, color="black", linewidth=0.8)
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
    ax.set_xlabel(column_title if 0 < n_prompt < n_cols else "context token", fontsize=fs, labelpad=_GAP)
    ax.set_ylabel("explained", fontsize=fs, labelpad=_GAP)
    if upright:
        box = (left + map_width + _GAP, bottom, _BAR_WIDTH, bar_length)
    else:
        length = min(map_width, bar_length)
        box = (left + (map_width - length) / 2, _MARGIN + line + _GAP + line + _TICK_PAD + _TICK_LENGTH,
               length, _BAR_WIDTH)
    cax = fig.add_axes((box[0] / width, box[1] / height, box[2] / width, box[3] / height))
    colorbar = fig.colorbar(image, cax=cax, ticks=[-1, 0, 1] if signed else [0, 1],
                            orientation="vertical" if upright else "horizontal")
    tick_labels = ["−1", "0", "1"] if signed else ["0", "1"]
    (colorbar.ax.set_yticklabels if upright else colorbar.ax.set_xticklabels)(tick_labels)
    colorbar.ax.tick_params(labelsize=fs, length=_TICK_LENGTH, pad=_TICK_PAD, width=0.5)
    colorbar.outline.set_linewidth(0.5)
    colorbar.set_label(bar_label, fontsize=fs, labelpad=_GAP if upright else _TICK_PAD)
    if lines:
        fig.text(0.5, 1 - _MARGIN / height, "\n".join(lines), fontsize=fs, ha="center", va="top",
                 linespacing=1.15)
    return fig


def plot_matrix(result: Any, path: str | os.PathLike[str], rows: Sequence[int] | None = None,
                dpi: int = FIGURE_DPI, **kwargs: Any) -> str | os.PathLike[str]:
    """Write ``result``'s matrix figure (a :class:`~innv_core.generation.result.GenerationExplanation`)
    to ``path`` (``.png``, ``.pdf`` or ``.svg``): the ``rows`` given (default all), the columns
    up to the last token one of them reads; ``kwargs`` go to :func:`matrix_figure`."""
    chosen = np.arange(len(result.relevance)) if rows is None else np.asarray(rows, dtype=int).reshape(-1)
    if chosen.size == 0 or chosen.min() < -len(result.relevance) or chosen.max() >= len(result.relevance):
        raise invalid_parameter("rows", rows, f"row numbers in 0..{len(result.relevance) - 1} (at least one)")
    readable = result.readable[chosen]
    n_cols = int(readable.any(axis=0).nonzero()[0].max()) + 1  # columns some row can read
    kwargs.setdefault("title", f"{result.method}: {result.quantity}")
    kwargs.setdefault("signed", result.signed)
    if result.target is not None:  # a given continuation, teacher-forced
        kwargs.setdefault("column_title", "context token (prompt | continuation)")
    fig = matrix_figure(result.relevance[chosen, :n_cols], [result.row_labels[i] for i in chosen],
                        result.token_labels[:n_cols], readable[:, :n_cols], result.n_prompt, **kwargs)
    return save_figure(fig, path, dpi)
