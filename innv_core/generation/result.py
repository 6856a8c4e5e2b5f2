"""The explanation of a generation: the tokens, the relevance matrix, and its figures."""

from __future__ import annotations

import html as html_lib
import os
from pathlib import Path
from typing import Any

import attrs
import numpy as np

__all__ = ["GenerationExplanation"]


@attrs.frozen(eq=False)
class GenerationExplanation:
    """What :func:`~innv_core.generation.explain.explain_generation` returns.

    Attributes:
        tokens: prompt + continuation token ids ``(n_total,)``.
        n_prompt: how many of them are the prompt.
        relevance: ``(rows, n_total)``: row ``r`` explains ``row_labels[r]`` (a generated token,
            the span, the contrast) over every token; 0 where the explained quantity cannot
            depend on the token (``readable`` False: from the explained token's position on).
        readable: ``(rows, n_total)`` bools: the tokens each row's quantity is computed from.
        scores: ``(rows,)`` the explained quantity's value (LRP-0 rows sum to it, up to biases).
        token_labels: each token as text (its id without a tokenizer).
        row_labels: what each row explains.
        target: the target (None: the greedy continuation, or a ``Continuation``, ``Span``,
            ``Contrast``); method: the analyzer's name; quantity: what its rows explain.
        signed: whether the relevance has a meaningful sign (figures centre it at 0).
    """

    tokens: np.ndarray
    n_prompt: int
    relevance: np.ndarray
    readable: np.ndarray
    scores: np.ndarray
    token_labels: tuple[str, ...]
    row_labels: tuple[str, ...]
    target: Any
    method: str
    quantity: str
    signed: bool = True
    has_tokenizer: bool = False

    @property
    def generated(self) -> np.ndarray:
        """The continuation's token ids (empty for a contrast)."""
        return self.tokens[self.n_prompt:]

    @property
    def text(self) -> str | None:
        """Prompt and continuation as text (None without a tokenizer)."""
        return "".join(self.token_labels) if self.has_tokenizer else None

    def context(self, row: int) -> tuple[list[str], np.ndarray]:
        """Row ``row``'s readable tokens and their relevance (for a token heatmap)."""
        n = int(self.readable[row].sum())
        return list(self.token_labels[:n]), self.relevance[row, :n]

    # -- figures ---------------------------------------------------------------------------
    def html(self, rows: Any = None) -> str:
        """Token heatmaps of ``rows`` (default all) as one HTML page (escaped, no script)."""
        from innv_core.utils.visualizations import token_heatmap_html

        chosen = range(len(self.relevance)) if rows is None else np.atleast_1d(rows).tolist()
        parts = []
        for r in chosen:
            words, values = self.context(r)
            parts.append(token_heatmap_html(words, values, title=f"{self.row_labels[r]!r}"))
        heading = html_lib.escape(f"{self.method}: {self.quantity}")
        return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{heading}</title></head>"
                f"<body>\n<h2>{heading}</h2>\n" + "\n".join(parts) + "</body></html>\n")

    def save_html(self, path: str | os.PathLike[str], rows: Any = None) -> str | os.PathLike[str]:
        """Write :meth:`html` to ``path``."""
        Path(path).write_text(self.html(rows), encoding="utf-8")
        return path

    def plot_tokens(self, path: str | os.PathLike[str], row: int = -1,
                    **kwargs: Any) -> str | os.PathLike[str]:
        """The token heatmap (PNG) of one row, by default the last; ``kwargs`` go to
        :func:`~innv_core.utils.visualizations.plot_token_heatmap`."""
        from innv_core.utils.visualizations import plot_token_heatmap

        words, values = self.context(row)
        kwargs.setdefault("title", f"{self.method}: why {self.row_labels[row]!r}")
        return plot_token_heatmap(words, values, path, **kwargs)

    def plot_matrix(self, path: str | os.PathLike[str], rows: Any = None,
                    **kwargs: Any) -> str | os.PathLike[str]:
        """The explained × context token matrix (PNG, PDF or SVG by the suffix) of ``rows``
        (default all); ``kwargs`` go to :func:`~innv_core.generation.figures.matrix_figure`
        (``normalization``, ``width_cm``, ``title``)."""
        from innv_core.generation.figures import plot_matrix

        return plot_matrix(self, path, rows, **kwargs)
