"""Plugin: the ``dummy`` pattern type: the layer's own kernel, without looking at any data.

PatternNet with these patterns is the gradient times the output (and PatternAttribution with
them uses ``w * w``); useful to test the pattern machinery against known results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.hookspecs import hookimpl
from innv_core.tools.pattern import Moments, PatternType


class DummyPattern(PatternType):
    """The pattern is a copy of the kernel; no data needed."""

    needs_data = False

    def pattern(self, moments: Moments | None, kernel: np.ndarray) -> np.ndarray:
        return np.array(kernel, copy=True)


@hookimpl
def innv_register_pattern_types(registry: Any) -> None:
    registry.add_pattern_type("dummy", DummyPattern)
