"""The area over the perturbation curve (AOPC), and a plot of several curves on one axis.

The input is what :meth:`PerturbationAnalysis.compute_perturbation_analysis` returns: one score
per step, step 0 unperturbed, each score a float or a list ``[loss, *metrics]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from innv_core.errors import InvalidInputError

__all__ = ["aopc", "perturbation_curve", "plot_perturbation_curves"]


def perturbation_curve(scores: Sequence[Any], index: int = 1) -> np.ndarray:
    """The score per step as a 1-d array; from list scores take entry ``index``.

    ``index=1`` is the first compiled metric (e.g. accuracy); ``index=0`` the loss.
    """
    if len(scores) == 0:
        raise InvalidInputError("No scores given: expected one score per perturbation step.")
    curve = []
    for step, score in enumerate(scores):
        if np.ndim(score) == 0:
            curve.append(float(score))
            continue
        if not -len(score) <= index < len(score):
            raise IndexError(
                f"Score of step {step} has {len(score)} entries ([loss, *metrics]); index "
                f"{index} does not exist. Compile the model with a metric, or pass index=0 to "
                "use the loss (which rises as information is removed)."
            )
        curve.append(float(score[index]))
    return np.asarray(curve)


def aopc(scores: Sequence[Any], index: int = 1) -> float:
    """Area over the perturbation curve (Samek et al. 2017), higher = better explanation.

    With ``s_k`` the score after step ``k`` (``s_0`` unperturbed) and ``L`` steps::

        AOPC = 1 / (L + 1) * sum_{k=0}^{L} (s_0 - s_k)

    i.e. the mean over all steps, step 0 included, of the drop from the unperturbed score.
    Use a score that falls when information is removed (accuracy, the true class's
    probability); with the loss (``index=0``) the sign flips.

    Args:
        scores: One score per step; each a float or a list from which ``index`` is taken.
        index: Which entry of a list score to use (default 1: the first compiled metric).
    """
    curve = perturbation_curve(scores, index)
    return float(np.mean(curve[0] - curve))


#: Method curves: tab10 without its grey (the random baseline's colour), and markers, so that
#: no two of up to 63 methods and none of them and the baseline look alike.
METHOD_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                  "#bcbd22", "#17becf")
METHOD_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
#: The random baseline: grey, dash-dotted, no markers, its min-max band lighter grey.
BASELINE_STYLE = {"color": "0.45", "linestyle": "-.", "linewidth": 1.4, "marker": "None"}
#: Up to this many inputs, a share-of-inputs curve's steps of 1/N are said on the figure,
FEW_INPUTS = 50
#: and up to this many the y axis has a tick at each multiple of 1/N.
FEW_TICKS = 12


def method_style(k: int) -> dict[str, Any]:
    """The colour, marker and line of the ``k``-th method's curve (distinct from the baseline's)."""
    return {"color": METHOD_COLOURS[k % len(METHOD_COLOURS)],
            "marker": METHOD_MARKERS[k % len(METHOD_MARKERS)],
            "linestyle": "-", "linewidth": 1.2, "markersize": 3.5}


def plot_perturbation_curves(
    curves: Mapping[str, Sequence[Any]],
    path: str | os.PathLike[str] | None = None,
    ax: Any = None,
    index: int = 1,
    regions_per_step: int | None = None,
    ylabel: str = "score",
    title: str | None = "Perturbation curves (most relevant first)",
    chance: float | None = None,
    baseline: Sequence[Sequence[Any]] | None = None,
    baseline_label: str = "random relevance",
    footnote: str | None = None,
    n_inputs: int | None = None,
    share_of_inputs: bool = False,
    dpi: int | None = None,
) -> Any:
    """Plot ``{label: scores}`` on one axis, each labelled with its AOPC; returns the Axes.

    The figure explains itself: it says that a higher AOPC (a faster fall) means a more
    faithful explanation and how many inputs the curves average (``n_inputs``), draws the
    ``chance`` level if given, the band (min to max over the seeds, said in the legend) and
    mean of a ``baseline`` computed several times (e.g. random relevance with several seeds),
    and a ``footnote`` (e.g. why a method is missing). Each method has its own colour and
    marker (:func:`method_style`); the baseline is grey and dash-dotted, chance black and dashed.
    The x axis counts regions or steps, with integer ticks.

    Without ``ax`` the figure is laid out for print (one column, 8.5 cm wide, 7-pt text, the
    legend under the axis; :mod:`innv_core.utils.figure_text`).

    Args:
        curves: Label (e.g. the analyzer's name) to the scores of its perturbation analysis.
        path: If given, the figure is saved there: PNG (at ``dpi``), PDF or SVG by its suffix.
        ax: A matplotlib Axes to draw into; by default a new figure (no screen, Agg).
        index: Which entry of a list score to plot, as in :func:`aopc`.
        regions_per_step: If given, the x axis counts perturbed regions per image, else steps.
        ylabel: Label of the y axis (e.g. "accuracy").
        title: Title of the axis, or None.
        chance: The score of guessing (e.g. ``1 / n_classes`` for accuracy), drawn dashed.
        baseline: Several score lists of one baseline (same steps); drawn as a grey band.
        baseline_label: Its name in the legend.
        footnote: Text under the axis.
        n_inputs: How many inputs each score averages (N, said on the figure).
        share_of_inputs: The score is a share of the inputs (accuracy, agreement): with at most
            :data:`FEW_INPUTS` inputs the figure says that it moves in steps of 1/N (and with at
            most :data:`FEW_TICKS` has a y tick at each step).
        dpi: A PNG's resolution (default :data:`~innv_core.utils.figure_files.FIGURE_DPI`).
    """
    from innv_core.utils.figure_files import FIGURE_DPI, save_figure

    own = ax is None
    if own:
        ax = _print_axes()
    fs = 7.0 if own else None
    scale = regions_per_step or 1
    if baseline:
        runs = np.stack([perturbation_curve(b, index) for b in baseline])
        steps = np.arange(runs.shape[1]) * scale
        values = [aopc(b, index) for b in baseline]
        ax.fill_between(steps, runs.min(axis=0), runs.max(axis=0), color="0.75", alpha=0.5, lw=0)
        ax.plot(steps, runs.mean(axis=0), **BASELINE_STYLE,
                label=f"{baseline_label}: mean of {len(runs)} seeds,\nband min\u2013max "
                      f"(AOPC {min(values):.3f}\u2013{max(values):.3f})")
    for k, (label, scores) in enumerate(curves.items()):
        curve = perturbation_curve(scores, index)
        steps = np.arange(len(curve)) * scale
        ax.plot(steps, curve, **method_style(k), label=f"{label} (AOPC {aopc(scores, index):.3f})")
    if chance is not None:
        ax.axhline(chance, color="k", ls="--", lw=0.9, label=f"chance ({chance:.3g})")
    _integer_ticks(ax, scale)
    if n_inputs and share_of_inputs and n_inputs <= FEW_TICKS:
        from matplotlib.ticker import FormatStrFormatter, MultipleLocator

        ax.yaxis.set_major_locator(MultipleLocator(1 / n_inputs))  # a tick at each possible share
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
    ax.set_xlabel("perturbed regions per image" if regions_per_step else "perturbation step", fontsize=fs)
    ax.set_ylabel(ylabel, fontsize=fs)
    ax.set_title("\n".join(_heading(title, n_inputs, share_of_inputs, ax)), fontsize=fs)
    ax.grid(True, alpha=0.3)
    if own:
        _print_legend(ax, footnote)
    else:
        ax.legend()
        if footnote:
            ax.figure.text(0.01, 0.005, footnote, fontsize=7, ha="left", va="bottom", wrap=True)
    if path is not None:
        save_figure(ax.figure, path, dpi or FIGURE_DPI)
    return ax


def _integer_ticks(ax: Any, per_step: int) -> None:
    """x ticks at whole steps (multiples of the regions per step), at most about 8 of them."""
    from matplotlib.ticker import MultipleLocator

    last = max((line.get_xdata()[-1] for line in ax.get_lines() if len(line.get_xdata()) > 1), default=1)
    every = per_step * max(1, int(np.ceil(last / per_step / 8)))
    ax.xaxis.set_major_locator(MultipleLocator(every))
    ax.set_xlim(-0.03 * last, 1.03 * last)


def _heading(title: str | None, n_inputs: int | None, share_of_inputs: bool, ax: Any) -> list[str]:
    """The title's lines: the title, the sample and the reading aid, and the steps of 1/N."""
    from innv_core.utils.figure_text import COLUMN_CM, PT_PER_CM, TextMeasure, wrap

    lines = [title] if title else []
    sample = f"N = {n_inputs} input{'s' if n_inputs != 1 else ''}; " if n_inputs else ""
    lines.append(f"{sample}higher AOPC (faster fall) = more faithful")
    if n_inputs and share_of_inputs and n_inputs <= FEW_INPUTS:
        lines.append(f"with {n_inputs} inputs the share moves in steps of 1/{n_inputs} = {1 / n_inputs:.2g}")
    width = ax.figure.get_figwidth() * 72 if ax.figure else COLUMN_CM * PT_PER_CM
    measure = TextMeasure()
    return [wrapped for line in lines for wrapped in wrap(line, 0.95 * width, 7.0, measure)]


def _print_axes() -> Any:
    """The axes of a new figure one column wide with 7-pt text (constrained layout)."""
    from matplotlib.figure import Figure

    from innv_core.utils.figure_text import COLUMN_CM

    fig = Figure(figsize=(COLUMN_CM / 2.54, 3.0), layout="constrained")
    ax = fig.add_subplot()
    ax.tick_params(labelsize=7)
    return ax


def _print_legend(ax: Any, footnote: str | None) -> None:
    """The legend under the axis, the footnote (wrapped) as its heading; the figure grows to hold
    them, so that the axis keeps its size."""
    from innv_core.utils.figure_text import TextMeasure, wrap

    fig = ax.figure
    handles, labels = ax.get_legend_handles_labels()
    width = fig.get_figwidth() * 72
    measure = TextMeasure()
    widest = max((measure.width(line, 7.0) for label in labels for line in label.split("\n")), default=0)
    columns = 2 if 2 * (widest + 30) <= width else 1  # + the handle and the gaps
    title = "\n".join(wrap(footnote, 0.95 * width, 7.0, measure)) if footnote else None
    legend = fig.legend(handles, labels, loc="outside lower center", ncols=columns, fontsize=7,
                        frameon=False, title=title, title_fontsize=7)
    legend.get_title().set_multialignment("left")
    lines = sum(label.count("\n") + 1 for label in labels) / columns + (title.count("\n") + 1 if title else 0)
    fig.set_figheight(3.0 + (lines + 1) * 7.0 * 1.35 / 72)
