"""Plugin: how PatternNet and PatternAttribution cross the built-in layer kinds (family ``pattern``).

They go backward like the gradient except at kernel layers, which use their pattern; layers
other than ReLU networks' are refused. Only descriptions (``how`` is None): the analyzers
choose their mappings themselves (:mod:`innv_plugins.pattern.analyzer`).
"""

from __future__ import annotations

from innv_core import layers as k
from innv_core.hookspecs import hookimpl

FAMILY = "pattern"


@hookimpl
def innv_register_crossings(registry):
    registry.add_family(FAMILY, "PatternNet", analyzer="pattern.net", order=30)
    for kind, description in (
        (k.KERNEL, "the kernel's pattern (PatternComputer)"),
        (k.COMPOSITE, "refused (not a ReLU network)"),
        (k.RECURRENT, "refused (not a ReLU network)"),
        (k.LAMBDA, "gradient, with `allow_lambda_layers=True`"),
    ):
        registry.add_crossing(FAMILY, kind, None, description)
