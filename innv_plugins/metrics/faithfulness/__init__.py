"""Faithfulness metrics (Quantus' category): does removing what the explanation marks change the output?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.faithfulness.faithfulness_correlation import FaithfulnessCorrelation
from innv_plugins.metrics.faithfulness.faithfulness_estimate import FaithfulnessEstimate
from innv_plugins.metrics.faithfulness.monotonicity import Monotonicity
from innv_plugins.metrics.faithfulness.monotonicity_correlation import MonotonicityCorrelation
from innv_plugins.metrics.faithfulness.pixel_flipping import PixelFlipping
from innv_plugins.metrics.faithfulness.region_perturbation import RegionPerturbation
from innv_plugins.metrics.faithfulness.selectivity import Selectivity

__all__ = ["FaithfulnessCorrelation", "FaithfulnessEstimate", "Monotonicity", "MonotonicityCorrelation",
           "PixelFlipping", "RegionPerturbation", "Selectivity"]

METRICS = (FaithfulnessCorrelation, FaithfulnessEstimate, Monotonicity, MonotonicityCorrelation,
           PixelFlipping, RegionPerturbation, Selectivity)


@hookimpl
def innv_register_metrics(registry):
    for cls in METRICS:
        registry.add_metric(cls.name, cls)
