"""Randomisation metrics (Quantus' category): does the explanation change when it should?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.randomisation.efficient_mprt import EfficientMPRT
from innv_plugins.metrics.randomisation.mprt import MPRT
from innv_plugins.metrics.randomisation.random_logit import RandomLogit
from innv_plugins.metrics.randomisation.smooth_mprt import SmoothMPRT

__all__ = ["METRICS", "MPRT", "EfficientMPRT", "RandomLogit", "SmoothMPRT"]

METRICS = (MPRT, SmoothMPRT, EfficientMPRT, RandomLogit)


@hookimpl
def innv_register_metrics(registry):
    for cls in METRICS:
        registry.add_metric(cls.name, cls)
