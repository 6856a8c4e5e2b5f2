"""Robustness metrics (Quantus' category): does the explanation stay put when the input barely changes?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.robustness.sensitivity import AvgSensitivity, MaxSensitivity

__all__ = ["AvgSensitivity", "MaxSensitivity"]


@hookimpl
def innv_register_metrics(registry):
    for cls in (MaxSensitivity, AvgSensitivity):
        registry.add_metric(cls.name, cls)
