"""Complexity metrics (Quantus' category): how concentrated is an explanation?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.complexity.complexity import Complexity
from innv_plugins.metrics.complexity.effective_complexity import EffectiveComplexity
from innv_plugins.metrics.complexity.sparseness import Sparseness

__all__ = ["Complexity", "EffectiveComplexity", "Sparseness"]


@hookimpl
def innv_register_metrics(registry):
    for cls in (Sparseness, Complexity, EffectiveComplexity):
        registry.add_metric(cls.name, cls)
