"""Robustness metrics (Quantus' category): does the explanation stay put when the input barely changes?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.robustness.consistency import Consistency
from innv_plugins.metrics.robustness.continuity import Continuity
from innv_plugins.metrics.robustness.lipschitz import LocalLipschitzEstimate
from innv_plugins.metrics.robustness.sensitivity import AvgSensitivity, MaxSensitivity
from innv_plugins.metrics.robustness.stability import (
    RelativeInputStability,
    RelativeOutputStability,
    RelativeRepresentationStability,
)

__all__ = ["AvgSensitivity", "Consistency", "Continuity", "LocalLipschitzEstimate", "MaxSensitivity",
           "RelativeInputStability", "RelativeOutputStability", "RelativeRepresentationStability"]

METRICS = (MaxSensitivity, AvgSensitivity, LocalLipschitzEstimate, RelativeInputStability,
           RelativeOutputStability, RelativeRepresentationStability, Continuity, Consistency)


@hookimpl
def innv_register_metrics(registry):
    for cls in METRICS:
        registry.add_metric(cls.name, cls)
