"""Sanity checks you can see: MPRT's heatmaps as the layers are randomised, and random logit's.

:func:`plot_mprt` draws, per method, one row per input with the explanation of the original
model and after each randomisation step (one column each), and below them the similarity
curve; :func:`plot_random_logit` draws each input with the explanation of its class and of a
random other class. Both run the registered metrics (``mprt``, ``random_logit``), so the
pictures show exactly what the scores measure. matplotlib is imported when a figure is drawn
(``matplotlib.figure.Figure``: no window, no pyplot state).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError
from innv_core.utils.figure_files import FIGURE_DPI

__all__ = ["plot_mprt", "plot_random_logit"]


def _methods(analyzers: Any) -> list[tuple[str, Any]]:
    """``[(label, analyzer name or instance)]`` of one analyzer, a list, or a ``{label: analyzer}`` dict."""
    if isinstance(analyzers, dict):
        items = list(analyzers.items())
    elif isinstance(analyzers, (str,)) or not isinstance(analyzers, Sequence):
        items = [(_label(analyzers), analyzers)]
    else:
        items = [(_label(a), a) for a in analyzers]
    if not items:
        raise InvalidParameterError("Give at least one analyzer (a registered name or an instance).")
    return items


def _label(analyzer: Any) -> str:
    return analyzer if isinstance(analyzer, str) else type(analyzer).__name__


def _map(a: np.ndarray) -> tuple[np.ndarray, str, float, float]:
    """A 2-d picture of one explanation (channels summed), its colour map and range (own scale)."""
    a = np.asarray(a, np.float64)
    picture = a.sum(axis=-1) if a.ndim == 3 else (a if a.ndim == 2 else a.reshape(1, -1))
    top = float(np.abs(picture).max()) or 1.0
    if picture.min() >= 0:
        return picture, "magma_r", 0.0, top
    return picture, "RdBu_r", -top, top


def _image(x: np.ndarray) -> tuple[np.ndarray, str | None]:
    x = np.asarray(x, np.float64)
    x = (x - x.min()) / ((x.max() - x.min()) or 1.0)
    if x.ndim == 3 and x.shape[-1] == 3:
        return x, None
    return (x.mean(axis=-1) if x.ndim == 3 else x.reshape(1, -1) if x.ndim == 1 else x), "gray"


def _draw(ax: Any, picture: np.ndarray, cmap: str | None, vmin: float | None = None,
          vmax: float | None = None) -> None:
    ax.imshow(picture, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest", aspect="auto"
              if picture.shape[0] == 1 else "equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _save(fig: Any, path: str | os.PathLike[str] | None, dpi: int) -> None:
    """PNG, PDF or SVG by the suffix, text kept as text (figure_files.save_figure)."""
    if path is not None:
        from innv_core.utils.figure_files import save_figure

        save_figure(fig, path, dpi)


def plot_mprt(model: Any, x: Any, analyzers: Any, y: Any = None, *,
              path: str | os.PathLike[str] | None = None, cell: float = 1.1, dpi: int = FIGURE_DPI,
              batch_size: int = 64, **mprt_params: Any) -> Any:
    """The MPRT figure: for each method (``analyzers``: a registered name, an analyzer, a list
    of them or a ``{label: analyzer}`` dict), one row per input of ``x``: the explanation of the
    original model, then after each randomisation step (``layer_order`` top-down and cascading
    by default: every column randomises one more layer, from the output), each map on its own
    colour scale; below, the similarity to the original per input (thin) and their mean (bold).

    ``mprt_params`` go to the ``mprt`` metric (``layer_order``, ``seed``, ``similarity_func``,
    ``abs``, ``randomise_func``, ...). Returns the matplotlib ``Figure`` (written to ``path`` when
    given); its ``mprt_results`` attribute holds each method's :class:`MetricResult`.
    """
    from matplotlib.figure import Figure

    from innv_core.create import create_metric

    x = np.asarray(x)
    methods = _methods(analyzers)
    metric = create_metric("mprt", model, return_explanations=True, **mprt_params)
    results = [(label, metric.evaluate(x, y, analyzer=analyzer, batch_size=batch_size))
               for label, analyzer in methods]
    n, columns = len(x), 1 + len(results[0][1].steps)
    block = [0.35] + [1.0] * n + [1.5, 0.45]  # column titles, the inputs, the curve, its tick labels
    heights = block * len(methods)
    fig = Figure(figsize=(cell * (columns + 1), cell * sum(heights)), dpi=dpi)
    grid = fig.add_gridspec(len(heights), columns + 1, height_ratios=heights, hspace=0.1, wspace=0.08,
                            left=0.03, right=0.99, top=0.995, bottom=0.0)
    titles = ["original", *results[0][1].steps]
    for m, (label, result) in enumerate(results):
        top = m * len(block) + 1
        for i in range(n):
            ax = fig.add_subplot(grid[top + i, 0])
            _draw(ax, *_image(x[i]))
            ax.set_ylabel(f"#{i}", fontsize=7)
            if i == 0:
                ax.set_title(label, fontsize=8, fontweight="bold", loc="left")
            for c in range(columns):
                ax = fig.add_subplot(grid[top + i, c + 1])
                _draw(ax, *_map(result.explanations[i, c]))
                if i == 0:
                    ax.set_title(titles[c], fontsize=7)
        ax = fig.add_subplot(grid[top + n, 1:])
        steps = np.arange(1, columns)  # under the columns of the randomised models
        for row in result.curves:
            ax.plot(steps, row, color="0.65", linewidth=0.8)
        ax.plot(steps, np.nanmean(result.curves, axis=0), color="C3", linewidth=2, marker="o")
        ax.set_xlim(-0.5, columns - 0.5)
        ax.set_ylim(min(0.0, float(np.nanmin(result.curves)) - 0.05), 1.05)
        ax.set_xticks(steps, list(result.steps), fontsize=6)
        ax.grid(axis="x", color="0.9", linewidth=0.6)
        ax.axhline(0, color="0.8", linewidth=0.6, zorder=0)
        ax.tick_params(labelsize=6)
        ax.text(0, 0.5, "similarity to\nthe original\n(mean bold)", fontsize=6, ha="center", va="center",
                transform=ax.transData)
    fig.mprt_results = dict(results)
    _save(fig, path, dpi)
    return fig


def plot_random_logit(model: Any, x: Any, analyzers: Any, y: Any = None, *,
                      path: str | os.PathLike[str] | None = None, class_names: Sequence[str] | None = None,
                      cell: float = 1.3, dpi: int = FIGURE_DPI, batch_size: int = 64,
                      **random_logit_params: Any) -> Any:
    """The random-logit figure: for each input of ``x`` (rows) the input, then per method
    (``analyzers`` as for :func:`plot_mprt`) the explanation of its class ``y`` (default: the
    prediction) next to that of the random other class the ``random_logit`` metric draws, with
    the metric's similarity (SSIM by default) in the title. ``random_logit_params`` go to the
    metric (``num_classes`` defaults to the model's outputs, ``seed``, ...). Returns the
    ``Figure``; its ``random_logit_results`` attribute holds each method's :class:`MetricResult`.
    """
    from matplotlib.figure import Figure

    from innv_core.create import create_analyzer, create_metric
    from innv_core.metrics.forward import ClassScores  # imports TensorFlow: only when drawing

    x = np.asarray(x)
    methods = _methods(analyzers)
    random_logit_params.setdefault("num_classes", ClassScores(model, False).classes)
    metric = create_metric("random_logit", model, **random_logit_params)
    if y is None:
        y = np.asarray(model.predict(x, batch_size=batch_size, verbose=0)).reshape(len(x), -1).argmax(axis=1)
    y = np.asarray(y)
    other = metric.other_classes(y)
    similarity = "SSIM" if random_logit_params.get("similarity_func") is None else "similarity"

    def name(c: int) -> str:
        return class_names[c] if class_names is not None else str(c)

    n = len(x)
    fig = Figure(figsize=(cell * (1 + 2 * len(methods)), cell * n + 0.5), dpi=dpi)
    grid = fig.add_gridspec(n, 1 + 2 * len(methods), hspace=0.35, wspace=0.08, left=0.02, right=0.98,
                            top=1 - 0.45 / (cell * n + 0.5), bottom=0.02)
    results = {}
    for m, (label, analyzer) in enumerate(methods):
        if isinstance(analyzer, str):
            analyzer = create_analyzer(analyzer, model, neuron_selection_mode="index")
        result = metric.evaluate(x, y, analyzer=analyzer, batch_size=batch_size)
        results[label] = result
        own = metric.preprocess(np.asarray(analyzer.analyze(x, neuron_selection=y), np.float64))
        theirs = metric.preprocess(np.asarray(analyzer.analyze(x, neuron_selection=other), np.float64))
        for i in range(n):
            for k, (maps, c) in enumerate(((own, y[i]), (theirs, other[i]))):
                ax = fig.add_subplot(grid[i, 1 + 2 * m + k])
                _draw(ax, *_map(maps[i]))
                head = f"{label}\n" if i == 0 and k == 0 else ("\n" if i == 0 else "")
                tail = f" ({similarity} {result.scores[i]:.2f})" if k == 1 else " (true)"
                ax.set_title(f"{head}class {name(c)}{tail}", fontsize=6)
    for i in range(n):
        ax = fig.add_subplot(grid[i, 0])
        _draw(ax, *_image(x[i]))
        ax.set_title(f"input #{i}", fontsize=6)
    fig.random_logit_results = results
    _save(fig, path, dpi)
    return fig
