"""Localisation metrics (Quantus' category): does the explanation fall on the object (mask ``s``)?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.localisation.attribution_localisation import AttributionLocalisation
from innv_plugins.metrics.localisation.auc import AUC
from innv_plugins.metrics.localisation.focus import Focus
from innv_plugins.metrics.localisation.pointing_game import PointingGame
from innv_plugins.metrics.localisation.relevance_mass_accuracy import RelevanceMassAccuracy
from innv_plugins.metrics.localisation.relevance_rank_accuracy import RelevanceRankAccuracy
from innv_plugins.metrics.localisation.top_k_intersection import TopKIntersection

__all__ = ["AUC", "AttributionLocalisation", "Focus", "PointingGame", "RelevanceMassAccuracy",
           "RelevanceRankAccuracy", "TopKIntersection"]


@hookimpl
def innv_register_metrics(registry):
    for cls in (PointingGame, AttributionLocalisation, TopKIntersection, RelevanceRankAccuracy,
                RelevanceMassAccuracy, AUC, Focus):
        registry.add_metric(cls.name, cls)
