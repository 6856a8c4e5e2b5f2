"""``to_list``: the one-or-many convention of the API (a tensor or a list of tensors)."""

from __future__ import annotations

from typing import Any


def to_list(l: Any) -> list[Any]:
    """``l`` if it is a list, else ``[l]`` (a tuple is one item, as in iNNvestigate)."""
    return l if isinstance(l, list) else [l]
