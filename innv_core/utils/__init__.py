"""Utilities around the analyzers: lists, batch sequences, image pre/postprocessing.

Importing this package does not import Keras or TensorFlow: the sequences (Keras
``PyDataset`` subclasses) and ``model_wo_softmax`` are loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from innv_core.utils.images import postprocess_images, preprocess_images
from innv_core.utils.lists import to_list

_LAZY = {
    "BatchSequence": "innv_core.utils.sequences",
    "TargetAugmentedSequence": "innv_core.utils.sequences",
    "model_wo_softmax": "innv_core.graph",
}

__all__ = ["to_list", "preprocess_images", "postprocess_images", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'innv_core.utils' has no attribute {name!r}")
