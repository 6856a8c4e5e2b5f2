"""The ``postprocess`` option of gradient analyzers: None, "abs" or "square"."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core.errors import invalid_parameter

CHOICES = (None, "abs", "square")


def check(postprocess: str | None) -> str | None:
    if postprocess not in CHOICES:
        raise invalid_parameter("postprocess", postprocess, f"one of {CHOICES}")
    return postprocess


def is_signed(postprocess: str | None) -> bool:
    """False when the postprocessing leaves magnitudes only (an analyzer's ``signed``)."""
    return postprocess is None


def apply(postprocess: str | None, tensors: list[Any]) -> list[Any]:
    if postprocess == "abs":
        return [tf.abs(t) for t in tensors]
    if postprocess == "square":
        return [tf.square(t) for t in tensors]
    return tensors
