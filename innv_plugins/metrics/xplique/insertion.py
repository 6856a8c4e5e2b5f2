"""Insertion (Petsiuk et al. 2018): the score as the most relevant features are put back (xplique 2.0)."""

from __future__ import annotations

from innv_plugins.metrics.xplique.causal_fidelity import CausalFidelity

__all__ = ["Insertion"]


class Insertion(CausalFidelity):
    """xplique's ``Insertion``: from ``baseline_mode`` (0 by default) to ``x``, the most relevant
    features first; higher is better (the score rises fast). See :class:`CausalFidelity`."""

    name = "insertion"
    causal_mode = "insertion"
    higher_is_better = True
