"""Explaining what a keras-hub causal LM generates (``docs/llms.md``, design in ``docs/generation.md``).

- :func:`explain_generation` (:mod:`.explain`): each generated token's relevance over the tokens
  before it, or one explanation of a span or a contrast;
- the targets (:mod:`.targets`): :class:`Continuation`, :class:`Span`, :class:`Contrast`;
- the result (:mod:`.result`) and its figures (:mod:`.figures`).

Importing this package does not import TensorFlow; ``explain_generation`` loads it on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from innv_core.generation.targets import Continuation, Contrast, Span

_LAZY = {"explain_generation": "innv_core.generation.explain",
         "GenerationExplanation": "innv_core.generation.result"}

__all__ = ["Contrast", "Continuation", "Span", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'innv_core.generation' has no attribute {name!r}")
