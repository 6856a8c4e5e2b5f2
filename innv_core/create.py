"""``create_analyzer``: an analyzer by its registered name."""

from __future__ import annotations

from typing import Any

from innv_core.registry import get_registry


def create_analyzer(name: str, model: Any, **kwargs: Any) -> Any:
    """Instantiate the analyzer registered as ``name`` for ``model``.

    Analyzers can also be created directly from their classes.

    Raises:
        KeyError: no analyzer has this name; the message lists the available names and the
            closest matches.
    """
    cls = get_registry().get("analyzers", name)
    return cls(model, **kwargs)
