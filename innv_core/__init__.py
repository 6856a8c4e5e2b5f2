"""innv: explain the predictions of Keras 3 / TensorFlow models.

The core (graph tracing, reverse engine, neuron selection, serialization) is small; every
analyzer, LRP rule, pattern type and perturbation function comes from a plugin registered
through the ``innv`` entry-point group. Importing this package does not import TensorFlow;
the names that need it are loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from innv_core.hookspecs import hookimpl, hookspec
from innv_core.registry import get_registry, list_registered, register_plugin

__version__ = "0.1.0"

_LAZY = {
    "create_analyzer": "innv_core.create",
    "create_metric": "innv_core.create",
    "NotAnalyzableModelError": "innv_core.errors",
    "AnalyzerBase": "innv_core.analyzer",
    "TrainerMixin": "innv_core.analyzer",
    "OneEpochTrainerMixin": "innv_core.analyzer",
    "AnalyzerNetworkBase": "innv_core.analyzer",
    "ReverseAnalyzerBase": "innv_core.analyzer",
    "model_wo_softmax": "innv_core.graph",
    "get_model_execution_graph": "innv_core.graph",
    "copy_layer": "innv_core.graph",
    "trace": "innv_core.graph",
    "reverse_model": "innv_core.reverse",
    "explain_generation": "innv_core.generation.explain",
    "Span": "innv_core.generation.targets",
    "Contrast": "innv_core.generation.targets",
    "Continuation": "innv_core.generation.targets",
}

__all__ = ["hookimpl", "hookspec", "get_registry", "list_registered", "register_plugin", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'innv_core' has no attribute {name!r}")
