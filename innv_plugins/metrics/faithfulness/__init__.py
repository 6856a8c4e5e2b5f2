"""Faithfulness metrics (Quantus' category): does removing what the explanation marks change the output?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.faithfulness.pixel_flipping import PixelFlipping
from innv_plugins.metrics.faithfulness.region_perturbation import RegionPerturbation
from innv_plugins.metrics.faithfulness.selectivity import Selectivity

__all__ = ["PixelFlipping", "RegionPerturbation", "Selectivity"]

METRICS = (PixelFlipping, RegionPerturbation, Selectivity)


@hookimpl
def innv_register_metrics(registry):
    for cls in METRICS:
        registry.add_metric(cls.name, cls)
