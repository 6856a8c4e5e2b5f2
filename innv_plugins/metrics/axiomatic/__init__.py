"""Axiomatic metrics (Quantus' category): does the explanation satisfy a property it should?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.axiomatic.completeness import Completeness
from innv_plugins.metrics.axiomatic.input_invariance import InputInvariance
from innv_plugins.metrics.axiomatic.non_sensitivity import NonSensitivity

__all__ = ["Completeness", "InputInvariance", "NonSensitivity"]

METRICS = (Completeness, NonSensitivity, InputInvariance)


@hookimpl
def innv_register_metrics(registry):
    for cls in METRICS:
        registry.add_metric(cls.name, cls)
