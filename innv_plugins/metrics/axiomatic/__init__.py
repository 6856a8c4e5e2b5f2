"""Axiomatic metrics (Quantus' category): does the explanation satisfy a property it should?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.axiomatic.completeness import Completeness
from innv_plugins.metrics.axiomatic.non_sensitivity import NonSensitivity

__all__ = ["Completeness", "NonSensitivity"]


@hookimpl
def innv_register_metrics(registry):
    for cls in (Completeness, NonSensitivity):
        registry.add_metric(cls.name, cls)
