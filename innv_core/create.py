"""``create_analyzer`` and ``create_metric``: an analyzer or a metric by its registered name."""

from __future__ import annotations

from typing import Any

from innv_core.registry import get_registry


def create_analyzer(name: str, model: Any, **kwargs: Any) -> Any:
    """Instantiate the analyzer registered as ``name`` for ``model``.

    ``name`` is a registered name (``"lrp.epsilon"``, see ``innv list``) or a qualified one,
    ``"distribution:name"`` (or ``"plugin:name"``), which picks one of several installed
    plugins that give the same name. Analyzers can also be created directly from their classes.

    Raises:
        UnknownNameError: (a ``KeyError``) no analyzer has this name; the message names the
            closest matches and ``innv list`` (``innv_core.list_registered``) for all of them.
        AmbiguousNameError: (an ``UnknownNameError``) several third-party plugins give this
            name; the message lists the qualified names to choose from.
    """
    cls = get_registry().get("analyzers", name)
    return cls(model, **kwargs)


def create_metric(name: str, model: Any = None, **kwargs: Any) -> Any:
    """Instantiate the metric registered as ``name`` (``"pixel_flipping"``, see ``innv list
    --kind metrics``) for ``model`` (None for metrics that never call it), with Quantus 0.6's
    parameter names and defaults (``docs/evaluating.md``).

    Raises:
        UnknownNameError: no metric has this name (the message lists the closest matches).
        InvalidParameterError: a parameter out of range, or a model-based metric without a model.
    """
    cls = get_registry().get("metrics", name)
    return cls(model, **kwargs)
