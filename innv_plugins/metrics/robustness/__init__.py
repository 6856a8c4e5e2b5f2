"""Robustness metrics (Quantus' category): does the explanation stay put when the input barely changes?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.robustness.lipschitz import LocalLipschitzEstimate
from innv_plugins.metrics.robustness.sensitivity import AvgSensitivity, MaxSensitivity
from innv_plugins.metrics.robustness.stability import RelativeInputStability, RelativeOutputStability

__all__ = ["AvgSensitivity", "LocalLipschitzEstimate", "MaxSensitivity", "RelativeInputStability",
           "RelativeOutputStability"]

METRICS = (MaxSensitivity, AvgSensitivity, LocalLipschitzEstimate, RelativeInputStability,
           RelativeOutputStability)


@hookimpl
def innv_register_metrics(registry):
    for cls in METRICS:
        registry.add_metric(cls.name, cls)
