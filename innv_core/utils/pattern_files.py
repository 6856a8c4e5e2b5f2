"""The pattern file format: an ``.npz`` with ``pattern_000``, ``pattern_001``, ... (no pickle).

One array per layer with a kernel, in the model's layer order, each of that kernel's shape
(as PatternNet/PatternAttribution use them). Written with :func:`save_patterns`, read with
:func:`load_patterns`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np

from innv_core.errors import AnalyzerFileError

_KEY = re.compile(r"^pattern_(\d{3,})$")


def pattern_key(i: int) -> str:
    """The name of the ``i``-th pattern in the file."""
    return f"pattern_{i:03d}"


def save_patterns(path: str | os.PathLike[str], patterns: Sequence[np.ndarray]) -> None:
    """Write ``patterns`` (kernel-layer order) to an ``.npz`` file at ``path``."""
    arrays = {pattern_key(i): np.asarray(p) for i, p in enumerate(patterns)}
    for key, array in arrays.items():
        if array.dtype == object:
            raise TypeError(f"{key} is an object array; patterns must be numeric arrays.")
    np.savez(path, **arrays)


def load_patterns(path: str | os.PathLike[str]) -> list[np.ndarray]:
    """Read the patterns of an ``.npz`` file written by :func:`save_patterns`, in order."""
    with np.load(path, allow_pickle=False) as data:
        keys = list(data.keys())
        indices = sorted(int(m.group(1)) for k in keys if (m := _KEY.match(k)))
        if not indices or indices != list(range(len(indices))) or len(indices) != len(keys):
            raise AnalyzerFileError(
                f"{os.fspath(path)!r} is not a pattern file: expected arrays pattern_000, "
                f"pattern_001, ... without gaps, found {sorted(keys)[:8]}. Write it with "
                "innv_core.utils.pattern_files.save_patterns."
            )
        return [data[pattern_key(i)] for i in indices]
