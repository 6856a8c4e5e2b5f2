"""Randomisation metrics (Quantus' category): does the explanation change when it should?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.randomisation.random_logit import RandomLogit

__all__ = ["RandomLogit"]


@hookimpl
def innv_register_metrics(registry):
    registry.add_metric(RandomLogit.name, RandomLogit)
