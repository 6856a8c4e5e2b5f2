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
) -> Any:
    """Plot ``{label: scores}`` on one axis, each labelled with its AOPC; returns the Axes.

    Args:
        curves: Label (e.g. the analyzer's name) to the scores of its perturbation analysis.
        path: If given, the figure is saved there (PNG, PDF, ... by extension).
        ax: A matplotlib Axes to draw into; by default a new figure (no screen, Agg).
        index: Which entry of a list score to plot, as in :func:`aopc`.
        regions_per_step: If given, the x axis counts perturbed regions per image, else steps.
        ylabel: Label of the y axis (e.g. "accuracy").
        title: Title of the axis, or None.
    """
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(6, 4), dpi=100).add_subplot()
    for label, scores in curves.items():
        curve = perturbation_curve(scores, index)
        steps = np.arange(len(curve)) * (regions_per_step or 1)
        ax.plot(steps, curve, marker="o", label=f"{label} (AOPC {aopc(scores, index):.3f})")
    ax.set_xlabel("perturbed regions per image" if regions_per_step else "perturbation step")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    if path is not None:
        ax.figure.savefig(path)
    return ax
