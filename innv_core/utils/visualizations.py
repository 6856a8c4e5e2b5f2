"""Turn analyses into pictures: projection to a value range, colour maps, gamma, clipping, grids.

Semantics follow iNNvestigate's ``utils.visualizations`` with three fixes: no function modifies
its input, ``heatmap``'s ``reduce_op="absmax"`` keeps the entry of largest magnitude (with its
sign; iNNvestigate's always took the maximum), and ``reduce_axis`` other than the last works.
matplotlib is imported only when a colour map or a figure is needed, and never opens a window.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from innv_core.errors import InvalidInputError, InvalidParameterError, invalid_parameter
from innv_core.utils.figure_files import FIGURE_DPI, save_figure
from innv_core.utils.figure_text import MIN_FONT_PT, TextMeasure, wrap
from innv_core.utils.relevance_grid import plot_relevance_grid, relevance_grid_figure
from innv_core.utils.relevance_maps import (
    NORMALIZATIONS,
    SIGNED_CMAP,
    UNSIGNED_CMAP,
    colour_scale,
    normalized_maps,
)

__all__ = [
    "project",
    "heatmap",
    "graymap",
    "gamma",
    "clip_quantile",
    "plot_image_grid",
    "plot_relevance_grid",
    "relevance_grid_figure",
    "normalized_maps",
    "NORMALIZATIONS",
    "SIGNED_CMAP",
    "UNSIGNED_CMAP",
    "save_relevance_map",
    "token_colors",
    "token_heatmap_html",
    "plot_token_heatmap",
]

#: Token heatmaps: red positive, white zero, blue negative (LXT's convention).
TOKEN_CMAP = "RdBu_r"

# SIGNED_CMAP, UNSIGNED_CMAP, NORMALIZATIONS, normalized_maps live in innv_core.utils.relevance_maps
# and plot_relevance_grid in innv_core.utils.relevance_grid; they are imported here, their old home.


def project(
    X: Any,
    output_range: tuple[float, float] = (0, 1),
    absmax: Any = None,
    input_is_positive_only: bool = False,
) -> np.ndarray:
    """Project values into ``output_range``, per sample.

    Each sample is divided by ``absmax`` (default: its largest absolute value; samples that are
    all zero are left as they are), mapped from [-1, 1] (or [0, 1] if
    ``input_is_positive_only``) to [0, 1], clipped, then scaled to ``output_range``.

    Args:
        X: Array whose first axis is the batch axis.
        output_range: ``(low, high)`` of the result.
        absmax: Scalar, or one value per sample (shape ``(N,)``), or any array broadcastable
            to ``X``.
        input_is_positive_only: Whether the input is non-negative: 0 then maps to ``low``.
    """
    X = np.asarray(X, dtype=np.float64)
    if absmax is None:
        absmax = np.max(np.abs(X), axis=tuple(range(1, X.ndim)), keepdims=True)
    absmax = np.asarray(absmax, dtype=np.float64)
    if absmax.ndim == 1 and X.ndim > 1 and absmax.shape[0] == X.shape[0]:
        absmax = absmax.reshape((-1,) + (1,) * (X.ndim - 1))
    X = X / np.where(absmax == 0, 1.0, absmax)
    if not input_is_positive_only:
        X = (X + 1) / 2
    X = np.clip(X, 0, 1)
    low, high = output_range
    return low + X * (high - low)


def heatmap(
    X: Any,
    cmap_type: Any = "seismic",
    reduce_op: str = "sum",
    reduce_axis: int = -1,
    alpha_cmap: bool = False,
    **kwargs: Any,
) -> np.ndarray:
    """Colour an analysis: reduce the colour axis, project, look up a matplotlib colour map.

    Args:
        X: An image batch with 4 axes (any array whose ``reduce_axis`` is the colour axis).
        cmap_type: Name of a matplotlib colour map (or a ``Colormap``). Default "seismic".
        reduce_op: "sum" or "absmax" (the entry of largest magnitude, sign kept).
        reduce_axis: The axis to reduce; the colours take its place.
        alpha_cmap: Whether to keep the colour map's alpha channel (4 instead of 3 channels).
        **kwargs: Passed on to :func:`project` (``absmax``, ``input_is_positive_only``).

    Returns:
        float32 array of ``X``'s shape with ``reduce_axis`` of size 3 (or 4), values in [0, 1].
    """
    X = np.asarray(X)
    if "output_range" in kwargs:
        raise TypeError("heatmap projects to the colour map's range itself; drop output_range.")
    reduced = _reduce(X, reduce_op, reduce_axis)
    index = project(reduced, output_range=(0, 255), **kwargs).astype(np.int64)
    colors = _colormap(cmap_type)(index)
    if not alpha_cmap:
        colors = colors[..., :3]
    return np.moveaxis(colors, -1, reduce_axis).astype(np.float32)


def graymap(X: Any, **kwargs: Any) -> np.ndarray:
    """:func:`heatmap` with the "gray" colour map."""
    return heatmap(X, cmap_type="gray", **kwargs)


def gamma(X: Any, gamma: float = 0.5, minamp: float = 0, maxamp: float | None = None) -> np.ndarray:
    """Gamma-correct ``X`` symmetrically around ``minamp``, keeping the order of all entries.

    Values are shifted by ``minamp``, divided by the largest amplitude ``maxamp`` (default: the
    largest absolute shifted value), raised to ``gamma`` by magnitude with the sign kept, then
    scaled and shifted back: ``minamp ± maxamp * (|X - minamp| / maxamp) ** gamma``.

    Args:
        gamma: The exponent; < 1 brightens weak values.
        minamp: The neutral value (0 for relevance); values above and below it are treated
            separately.
        maxamp: The largest amplitude relative to ``minamp``; default from the data.
    """
    X = np.asarray(X, dtype=np.result_type(np.asarray(X).dtype, np.float32))
    shifted = X - minamp
    if maxamp is None:
        maxamp = np.abs(shifted).max() if shifted.size else 0
    if maxamp == 0:
        return X.copy()
    scaled = shifted / maxamp
    Y = np.sign(scaled) * np.abs(scaled) ** gamma
    return (Y * maxamp + minamp).astype(X.dtype, copy=False)


def clip_quantile(X: Any, quantile: float | tuple[float, float] = 1) -> np.ndarray:
    """Clip ``X`` to its percentiles: ``(q, 100 - q)`` for a number, ``(low, high)`` for a pair.

    Percentiles are in [0, 100] and taken over all of ``X``. Returns a new array.
    """
    X = np.asarray(X)
    if not isinstance(quantile, (list, tuple)):
        quantile = (quantile, 100 - quantile)
    low, high = np.percentile(X, quantile)
    return np.clip(X, low, high)


def plot_image_grid(
    grid: Sequence[Sequence[Any]],
    path: str | os.PathLike[str],
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    cell_px: int = 128,
    title_px: int = 24,
    row_label_px: int | None = None,
    gap_px: int = 2,
    dpi: int = 100,
    fontsize: float = 9,
) -> str | os.PathLike[str]:
    """Render a grid of images (rows: inputs, columns: analyzers) with titles to a file.

    Each cell is an RGB(A) image ``(h, w, 3|4)`` with values in [0, 1] (floats, e.g. from
    :func:`heatmap`) or 0..255 (uint8), or a gray image ``(h, w)``/``(h, w, 1)`` (scaled to its
    own range), or None for an empty cell. Images keep their aspect ratio inside the cell, with
    ``gap_px`` of white around them.

    The file is ``left + n_cols * cell_px`` pixels wide and ``top + n_rows * cell_px`` high,
    where ``top = title_px`` if ``col_labels`` else 0 and ``left = row_label_px`` (default
    ``cell_px``) if ``row_labels`` else 0.

    Returns:
        ``path``.
    """
    rows = [list(row) for row in grid]
    n_rows, n_cols = len(rows), max((len(r) for r in rows), default=0)
    if n_rows == 0 or n_cols == 0:
        raise InvalidInputError("plot_image_grid needs at least one row with one image.")
    _check_labels("row_labels", row_labels, n_rows)
    _check_labels("col_labels", col_labels, n_cols)
    top = title_px if col_labels is not None else 0
    left = (cell_px if row_label_px is None else row_label_px) if row_labels is not None else 0
    width, height = left + n_cols * cell_px, top + n_rows * cell_px

    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            box = _cell_box(left + c * cell_px, top + r * cell_px, cell_px, gap_px, width, height)
            ax = fig.add_axes(box)
            ax.set_axis_off()
            if image is not None:
                _show(ax, image)
    for c, label in enumerate(col_labels or []):
        x = (left + (c + 0.5) * cell_px) / width
        fig.text(x, 1 - top / 2 / height, label, ha="center", va="center", fontsize=fontsize)
    for r, label in enumerate(row_labels or []):
        y = 1 - (top + (r + 0.5) * cell_px) / height
        fig.text(left / 2 / width, y, label, ha="center", va="center", fontsize=fontsize, wrap=True)
    fig.savefig(path, dpi=dpi)
    return path


def save_relevance_map(path: str | os.PathLike[str], analysis: Any, signed: bool = True,
                       title: str | None = None, min_px: int = 256, dpi: int = FIGURE_DPI,
                       min_cm: float = 4.0) -> str | os.PathLike[str]:
    """One map at a readable size, with a colour bar (scaled by its ``max |R|``, as
    :func:`plot_relevance_grid`): at least ``min_cm`` wide in print and ``min_px`` pixels on its
    short side at ``dpi`` (nearest-neighbour upscaling), the title wrapped to the figure's width.
    PNG, PDF or SVG by ``path``'s suffix."""
    from matplotlib.figure import Figure

    m = normalized_maps(np.asarray(analysis)[None])[0]
    cmap, low = colour_scale(signed)
    side_in = max(min_px / dpi, min_cm / 2.54) / min(m.shape)  # inches per map pixel
    h, w = m.shape[0] * side_in, m.shape[1] * side_in
    width = w + 1.0  # inches: the map and its colour bar
    fs = max(MIN_FONT_PT, 8.0)
    lines = wrap(title, (width - 0.1) * 72 / 1.03, fs, TextMeasure()) if title else []
    top = 0.1 + fs * 1.25 / 72 * len(lines)  # inches above the map for the title's lines
    fig = Figure(figsize=(width, h + top + 0.05))
    ax = fig.add_axes((0.02, 0.05 / fig.get_figheight(), w / width, h / fig.get_figheight()))
    image = ax.imshow(m, cmap=cmap, vmin=low, vmax=1.0, interpolation="none")
    ax.set_axis_off()
    if lines:
        fig.text(0.5, 1 - 0.05 / fig.get_figheight(), "\n".join(lines), fontsize=fs, ha="center", va="top")
    bar = fig.colorbar(image, ax=ax, fraction=0.08, pad=0.03)
    bar.set_label("R / max |R|", fontsize=fs)
    bar.ax.tick_params(labelsize=fs)
    return save_figure(fig, path, dpi)


# -- token heatmaps --------------------------------------------------------------------------
def token_colors(relevance: Any, cmap_type: Any = TOKEN_CMAP) -> np.ndarray:
    """RGB colours ``(T, 3)`` in [0, 1] for one sequence's per-token relevance ``(T,)``.

    The colour scale is centred on 0 and spans ``[-max|R|, max|R|]`` of the sequence, so white
    is "no relevance" and the strongest token has the full colour.
    """
    r = _token_relevance(relevance)
    scale = np.abs(r).max()
    values = 0.5 + 0.5 * (r / scale if scale > 0 else r)
    return _colormap(cmap_type)(values)[:, :3]


def token_heatmap_html(
    tokens: Sequence[str], relevance: Any, cmap_type: Any = TOKEN_CMAP, title: str | None = None
) -> str:
    """The tokens as HTML text, each on a background of its relevance's colour (escaped, no script).

    Hovering a token shows its value. Scaled as :func:`token_colors`.
    """
    import html

    r = _token_relevance(relevance, len(tokens))
    spans = []
    for token, value, rgb in zip(tokens, r, token_colors(r, cmap_type)):
        spans.append(
            f'<span title="{value:.4g}" style="background-color:{_hex(rgb)};color:{_text_colour(rgb)};'
            f'padding:1px 2px;border-radius:2px">{html.escape(str(token))}</span>'
        )
    heading = f"<h3>{html.escape(title)}</h3>\n" if title else ""
    scale = np.abs(r).max()
    legend = (f'<p style="font-size:smaller">red: positive, blue: negative; full colour at '
              f"|R| = {scale:.4g} (the largest in this sequence)</p>")
    return f'{heading}<p style="line-height:1.8">{" ".join(spans)}</p>\n{legend}\n'


def plot_token_heatmap(
    tokens: Sequence[str],
    relevance: Any,
    path: str | os.PathLike[str],
    cmap_type: Any = TOKEN_CMAP,
    width_px: int = 800,
    fontsize: float = 14,
    dpi: int = 100,
    title: str | None = None,
) -> str | os.PathLike[str]:
    """The tokens as coloured text in a PNG (lines wrapped at ``width_px``), with a colour bar.

    Returns:
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    r = _token_relevance(relevance, len(tokens))
    colours = token_colors(r, cmap_type)
    line_px, margin, bar_px = fontsize * 2.0, 10.0, 80.0
    fig = Figure(dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    placed, x, line = [], margin, 0
    for token, rgb in zip(tokens, colours):
        text = fig.text(0, 0, str(token), fontsize=fontsize, color=_text_colour(rgb),
                        bbox={"facecolor": rgb, "edgecolor": "none", "pad": 2})
        width = text.get_window_extent(renderer).width + fontsize * 0.6
        if x + width > width_px - margin and x > margin:
            x, line = margin, line + 1
        placed.append((text, x, line))
        x += width
    top = line_px if title else 0.0
    height = top + margin + (line + 1) * line_px + bar_px
    fig.set_size_inches(width_px / dpi, height / dpi)
    for text, x0, n in placed:
        text.set_position((x0 / width_px, 1 - (top + margin + (n + 0.7) * line_px) / height))
    if title:
        fig.text(0.5, 1 - 0.6 * line_px / height, title, ha="center", fontsize=fontsize)
    scale = float(np.abs(r).max()) or 1.0
    bar = fig.add_axes([0.2, 0.55 * bar_px / height, 0.6, 0.15 * bar_px / height])
    mappable = ScalarMappable(Normalize(-scale, scale), _colormap(cmap_type))
    fig.colorbar(mappable, cax=bar, orientation="horizontal").set_label(
        "relevance (red positive, blue negative)", fontsize=fontsize * 0.7)
    fig.savefig(path, dpi=dpi)
    return path


def _token_relevance(relevance: Any, n_tokens: int | None = None) -> np.ndarray:
    r = np.asarray(relevance, dtype=np.float64)
    if r.ndim != 1:
        raise InvalidInputError(
            f"Token relevance must be one value per token, shape (T,); got shape {r.shape}. For an "
            "analysis of shape (N, T) pass one row; for (N, T, D) analyze with token_reduce='sum'."
        )
    if n_tokens is not None and len(r) != n_tokens:
        raise InvalidInputError(f"{n_tokens} tokens but {len(r)} relevance values.")
    if not np.all(np.isfinite(r)):
        raise InvalidInputError("Token relevance contains NaN or inf.")
    return r


def _hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{round(255 * float(c)):02x}" for c in rgb[:3])


def _text_colour(rgb: Sequence[float]) -> str:
    """Black on light backgrounds, white on dark ones (relative luminance)."""
    luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    return "black" if luminance > 0.45 else "white"


def _reduce(X: np.ndarray, reduce_op: str, axis: int) -> np.ndarray:
    if reduce_op == "sum":
        return X.sum(axis=axis)
    if reduce_op == "absmax":
        pos, neg = X.max(axis=axis), X.min(axis=axis)
        return np.where(pos >= -neg, pos, neg)
    raise invalid_parameter("reduce_op", reduce_op, "'sum' or 'absmax'")


def _colormap(cmap_type: Any) -> Any:
    import matplotlib

    if not isinstance(cmap_type, str):
        return cmap_type
    try:
        return matplotlib.colormaps[cmap_type]
    except KeyError:
        raise InvalidParameterError(
            f"Unknown colour map {cmap_type!r}; use a matplotlib colour map name such as "
            "'seismic', 'gray', 'bwr', 'hot', 'viridis'."
        ) from None


def _cell_box(x_px: float, y_px: float, size: float, gap: float, width: float, height: float) -> list[float]:
    """A cell (less ``gap`` on each side) in figure coordinates: [left, bottom, w, h], from pixels."""
    x_px, y_px, size = x_px + gap, y_px + gap, max(size - 2 * gap, 1)
    return [x_px / width, 1 - (y_px + size) / height, size / width, size / height]


def _show(ax: Any, image: Any) -> None:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", interpolation="nearest")
    elif image.ndim == 3 and image.shape[-1] in (3, 4):
        if np.issubdtype(image.dtype, np.floating):
            image = np.clip(image, 0, 1)
        ax.imshow(image, interpolation="nearest")
    else:
        raise InvalidInputError(
            f"A grid cell must be an image (h, w), (h, w, 1), (h, w, 3) or (h, w, 4); got shape "
            f"{image.shape}. Use heatmap() or graymap() to turn an analysis into colours."
        )


def _check_labels(name: str, labels: Sequence[str] | None, expected: int) -> None:
    if labels is not None and len(labels) != expected:
        raise InvalidParameterError(f"{name} has {len(labels)} entries but the grid has {expected}.")
