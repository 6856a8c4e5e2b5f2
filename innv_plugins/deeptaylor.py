"""Plugin: DeepTaylor decomposition (Montavon et al., 2017) for ReLU networks."""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl
from innv_plugins.lrp.analyzer import LRP


class DeepTaylor(LRP):
    """DeepTaylor for ReLU networks with unbounded input: z+ inside, w-square at the input."""

    def __init__(self, model: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("rule", None)
        kwargs.setdefault("input_layer_rule", "WSquare")
        super().__init__(model, *args, rule="ZPlus", **kwargs)


class BoundedDeepTaylor(LRP):
    """DeepTaylor for inputs bounded to ``[low, high]``: z+ inside, z^B at the input."""

    def __init__(self, model: Any, low: Any = None, high: Any = None, **kwargs: Any) -> None:
        if low is None or high is None:
            raise ValueError("BoundedDeepTaylor needs the input range: low=... and high=....")
        kwargs.pop("rule", None)
        kwargs.pop("input_layer_rule", None)
        super().__init__(model, rule="ZPlus", input_layer_rule=(low, high), **kwargs)


@hookimpl
def innv_register_analyzers(registry):
    registry.add_analyzer("deep_taylor", DeepTaylor)
    registry.add_analyzer("deep_taylor.bounded", BoundedDeepTaylor)
