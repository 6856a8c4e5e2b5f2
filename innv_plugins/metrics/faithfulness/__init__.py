"""Faithfulness metrics (Quantus' category): does removing what the explanation marks change the output?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.faithfulness.faithfulness_correlation import FaithfulnessCorrelation
from innv_plugins.metrics.faithfulness.faithfulness_estimate import FaithfulnessEstimate
from innv_plugins.metrics.faithfulness.infidelity import Infidelity
from innv_plugins.metrics.faithfulness.irof import IROF
from innv_plugins.metrics.faithfulness.monotonicity import Monotonicity
from innv_plugins.metrics.faithfulness.monotonicity_correlation import MonotonicityCorrelation
from innv_plugins.metrics.faithfulness.pixel_flipping import PixelFlipping
from innv_plugins.metrics.faithfulness.region_perturbation import RegionPerturbation
from innv_plugins.metrics.faithfulness.road import ROAD
from innv_plugins.metrics.faithfulness.selectivity import Selectivity
from innv_plugins.metrics.faithfulness.sensitivity_n import SensitivityN
from innv_plugins.metrics.faithfulness.sufficiency import Sufficiency

__all__ = ["IROF", "ROAD", "FaithfulnessCorrelation", "FaithfulnessEstimate", "Infidelity", "Monotonicity",
           "MonotonicityCorrelation", "PixelFlipping", "RegionPerturbation", "Selectivity", "SensitivityN",
           "Sufficiency"]

METRICS = (FaithfulnessCorrelation, FaithfulnessEstimate, Monotonicity, MonotonicityCorrelation,
           PixelFlipping, RegionPerturbation, Selectivity, SensitivityN, IROF, Infidelity, ROAD, Sufficiency)


@hookimpl
def innv_register_metrics(registry):
    for cls in METRICS:
        registry.add_metric(cls.name, cls)
