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
) -> Any:
    """Plot ``{label: scores}`` on one axis, each labelled with its AOPC; returns the Axes.

    The figure explains itself: it says that a higher AOPC (a faster fall) means a more
    faithful explanation, draws the ``chance`` level if given, the band (min to max) and mean
    of a ``baseline`` computed several times (e.g. random relevance with several seeds), and
    a ``footnote`` (e.g. why a method is missing).

    Args:
        curves: Label (e.g. the analyzer's name) to the scores of its perturbation analysis.
        path: If given, the figure is saved there (PNG, PDF, ... by extension).
        ax: A matplotlib Axes to draw into; by default a new figure (no screen, Agg).
        index: Which entry of a list score to plot, as in :func:`aopc`.
        regions_per_step: If given, the x axis counts perturbed regions per image, else steps.
        ylabel: Label of the y axis (e.g. "accuracy").
        title: Title of the axis, or None.
        chance: The score of guessing (e.g. ``1 / n_classes`` for accuracy), drawn dashed.
        baseline: Several score lists of one baseline (same steps); drawn as a grey band.
        baseline_label: Its name in the legend.
        footnote: Text under the axis.
    """
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(6, 4), dpi=100).add_subplot()
    scale = regions_per_step or 1
    if baseline:
        runs = np.stack([perturbation_curve(b, index) for b in baseline])
        steps = np.arange(runs.shape[1]) * scale
        values = [aopc(b, index) for b in baseline]
        ax.fill_between(steps, runs.min(axis=0), runs.max(axis=0), color="0.6", alpha=0.35, lw=0)
        ax.plot(steps, runs.mean(axis=0), color="0.4", lw=1.5,
                label=f"{baseline_label}, {len(runs)} seeds (AOPC {min(values):.3f}-{max(values):.3f})")
    for label, scores in curves.items():
        curve = perturbation_curve(scores, index)
        steps = np.arange(len(curve)) * scale
        ax.plot(steps, curve, marker="o", label=f"{label} (AOPC {aopc(scores, index):.3f})")
    if chance is not None:
        ax.axhline(chance, color="k", ls="--", lw=1, label=f"chance ({chance:.3g})")
    ax.set_xlabel("perturbed regions per image" if regions_per_step else "perturbation step")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, pad=16)  # room for the reading aid under it, clear of every curve
    ax.text(0.5, 1.01, "higher AOPC (faster fall) = more faithful", transform=ax.transAxes,
            ha="center", va="bottom", fontsize=8, style="italic")
    if footnote:
        ax.figure.text(0.01, 0.005, footnote, fontsize=7, ha="left", va="bottom", wrap=True)
    ax.grid(True, alpha=0.3)
    ax.legend()
    if path is not None:
        ax.figure.savefig(path)
    return ax
