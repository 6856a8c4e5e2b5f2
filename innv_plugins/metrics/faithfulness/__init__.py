"""Faithfulness metrics (Quantus' category): does removing what the explanation marks change the output?"""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.faithfulness.pixel_flipping import PixelFlipping

__all__ = ["PixelFlipping"]


@hookimpl
def innv_register_metrics(registry):
    registry.add_metric(PixelFlipping.name, PixelFlipping)
