"""Randomisation metrics (Quantus' category): does the explanation change when it should?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.randomisation.mprt import MPRT
from innv_plugins.metrics.randomisation.random_logit import RandomLogit

__all__ = ["MPRT", "RandomLogit"]


@hookimpl
def innv_register_metrics(registry):
    for cls in (MPRT, RandomLogit):
        registry.add_metric(cls.name, cls)
