"""Silencing TF's "frequent retracing" warning for innv's own per-object compiled functions.

Every analyzer (and pattern computer) compiles its own function from the same code, which TF's
detector counts as retracing; real retracing is prevented by batch-free signatures (and tested).
"""

from __future__ import annotations

import logging

import tensorflow as tf


class OwnRetracingFilter(logging.Filter):
    """Drop the retracing warning when it names one of ``markers`` (qualified function names)."""

    def __init__(self, *markers: str) -> None:
        super().__init__()
        self.markers = markers

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(marker in message for marker in self.markers)


def ignore_own_retracing(*markers: str) -> None:
    """Install the filter for functions whose qualified names contain ``markers``."""
    tf.get_logger().addFilter(OwnRetracingFilter(*markers))
