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
) -> Any:
    """The matrix figure (a matplotlib ``Figure``, not saved).

    Args:
        relevance: ``(rows, columns)``; ``readable`` ``(rows, columns)`` bools: the cells a row's
            explained quantity can depend on (the others are drawn grey).
        row_labels, column_labels: the explained tokens and the context tokens (displayed with
            :func:`display_token`).
        n_prompt: columns before it are the prompt (a line separates the generated tokens).
        width_cm: the widest the figure may be; default a column, or a page if the cells need it.
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

    def margins(row_step: int, col_step: int) -> tuple[float, float, float]:
        left = _MARGIN + line + _GAP + max(measure.width(t, fs) for t in rows[::row_step]) * _SLACK \
            + _TICK_PAD + _TICK_LENGTH
        bottom = _MARGIN + line + _GAP + max(measure.size(t, fs, 90)[1] for t in cols[::col_step]) * _SLACK \
            + _TICK_PAD + _TICK_LENGTH
        ticks = max(measure.width(t, fs) for t in ("−1", "0", "1")) * _SLACK
        right = _GAP + _BAR_WIDTH + _TICK_LENGTH + _TICK_PAD + ticks + _GAP + line + _MARGIN
        return left, bottom, right

    widths = [width_cm] if width_cm is not None else [COLUMN_CM, PAGE_CM]
    for limit_cm in widths:
        limit = limit_cm * PT_PER_CM
        left, bottom, right = margins(1, 1)
        cell = min(_MAX_CELL, (limit - left - right) / n_cols)
        if cell >= min_cell:
            break
    step = max(1, math.ceil(min_cell / cell)) if cell > 0 else n_cols
    if step > 1:
        left, bottom, right = margins(step, step)
        cell = min(_MAX_CELL, (limit - left - right) / n_cols)
        step = max(1, math.ceil(min_cell / cell))
    width = left + n_cols * cell + right
    height_map = n_rows * cell
    bar = max(height_map, _MIN_BAR, measure.width(NORMALIZATIONS[normalization], fs) * _SLACK + 2 * _GAP)
    lines = wrap(title, width - 2 * _MARGIN, fs, measure) if title else []
    top = _MARGIN + len(lines) * line * 1.15 + (_GAP if lines else 0.0)
    height = bottom + max(height_map, bar) + top

    fig = Figure(figsize=(width / 72, height / 72))
    ax = fig.add_axes((left / width, bottom / height, n_cols * cell / width, height_map / height))
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
    ax.set_xlabel("context token (prompt | generated)" if 0 < n_prompt < n_cols else "context token",
                  fontsize=fs, labelpad=_GAP)
    ax.set_ylabel("explained", fontsize=fs, labelpad=_GAP)
    cax = fig.add_axes(((left + n_cols * cell + _GAP) / width, bottom / height,
                        _BAR_WIDTH / width, bar / height))
    colorbar = fig.colorbar(image, cax=cax, ticks=[-1, 0, 1] if signed else [0, 1])
    colorbar.ax.set_yticklabels(["−1", "0", "1"] if signed else ["0", "1"])
    colorbar.ax.tick_params(labelsize=fs, length=_TICK_LENGTH, pad=_TICK_PAD, width=0.5)
    colorbar.outline.set_linewidth(0.5)
    colorbar.set_label(NORMALIZATIONS[normalization], fontsize=fs, labelpad=_GAP)
    if lines:
        fig.text(0.5, 1 - _MARGIN / height, "\n".join(lines), fontsize=fs, ha="center", va="top",
                 linespacing=1.15)
    return fig


def plot_matrix(result: Any, path: str | os.PathLike[str], dpi: int = FIGURE_DPI,
                **kwargs: Any) -> str | os.PathLike[str]:
    """Write ``result``'s matrix figure (a :class:`~innv_core.generation.result.GenerationExplanation`)
    to ``path`` (``.png``, ``.pdf`` or ``.svg``); ``kwargs`` go to :func:`matrix_figure`."""
    n_cols = result.readable.any(axis=0).nonzero()[0].max() + 1  # columns some row can read
    kwargs.setdefault("title", f"{result.method}: {result.quantity}")
    kwargs.setdefault("signed", result.signed)
    fig = matrix_figure(result.relevance[:, :n_cols], result.row_labels, result.token_labels[:n_cols],
                        result.readable[:, :n_cols], result.n_prompt, **kwargs)
    return save_figure(fig, path, dpi)
