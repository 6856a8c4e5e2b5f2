"""Deletion (Petsiuk et al. 2018): the score as the most relevant features are removed (xplique 2.0)."""

from __future__ import annotations

from innv_plugins.metrics.xplique.causal_fidelity import CausalFidelity

__all__ = ["Deletion"]


class Deletion(CausalFidelity):
    """xplique's ``Deletion``: from ``x`` to ``baseline_mode`` (0 by default), the most relevant
    features first; lower is better (the score falls fast). See :class:`CausalFidelity`."""

    name = "deletion"
    causal_mode = "deletion"
    higher_is_better = False
