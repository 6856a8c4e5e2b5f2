"""Plugin: PatternNet and PatternAttribution (Kindermans et al., ICLR 2018)."""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl


@hookimpl
def innv_register_analyzers(registry: Any) -> None:
    from innv_plugins.pattern.analyzer import PatternAttribution, PatternNet

    registry.add_analyzer("pattern.net", PatternNet)
    registry.add_analyzer("pattern.attribution", PatternAttribution)
