"""Class names from a file, for figures and reports: one per output class, in output order.

Three formats, told apart by the file's content (JSON if it parses as JSON):

- text: one name per line (``classes.txt``); trailing empty lines are ignored;
- ImageNet's ``imagenet_class_index.json``: ``{"0": ["n01440764", "tench"], ...}`` (index ->
  [WordNet id, name]), as ``keras.applications`` uses it;
- a plain JSON ``{"0": "cat", "1": "dog"}`` (index -> name), or a JSON list of names.

Nothing is downloaded; nothing but text and JSON is read (no pickle).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from innv_core.errors import InvalidInputError

__all__ = ["check_class_count", "class_name", "read_class_names"]

_FORMATS = ("one name per line, an {index: name} JSON, or ImageNet's imagenet_class_index.json "
            "({index: [wnid, name]})")


def read_class_names(path: str | os.PathLike[str]) -> list[str]:
    """The class names in ``path``, index 0 first (formats: the module's docstring)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InvalidInputError(f"cannot read the class names file {str(source)!r}: {reason}; give a "
                                f"UTF-8 text file with {_FORMATS}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return _lines(text, source)
    return _from_json(data, source)


def check_class_count(names: Sequence[str], n_classes: int, source: str) -> list[str]:
    """``names`` if there is one per output class, else an error naming both counts and the fix."""
    if len(names) != n_classes:
        raise InvalidInputError(
            f"{source} has {len(names)} class names but the model's explained output has {n_classes} "
            f"classes; give one name per class in the order of the model's outputs ({_FORMATS}).")
    return list(names)


def class_name(index: int, names: Sequence[str] | None) -> str:
    """The name of class ``index``, or the index itself without names."""
    return names[index] if names is not None and 0 <= index < len(names) else str(index)


def _lines(text: str, source: Path) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise InvalidInputError(f"the class names file {str(source)!r} is empty; give {_FORMATS}.")
    empty = [k + 1 for k, line in enumerate(lines) if not line]
    if empty:
        raise InvalidInputError(f"the class names file {str(source)!r} has empty lines ({_numbers(empty)}); "
                                "give one name per line, a line for every class.")
    return lines


def _from_json(data: Any, source: Path) -> list[str]:
    where = f"the class names file {str(source)!r}"
    if isinstance(data, list):
        entries = dict(enumerate(data))
    elif isinstance(data, dict):
        try:
            entries = {int(key): value for key, value in data.items()}
        except ValueError:
            raise InvalidInputError(f"{where} has keys that are not class indices (0, 1, ...); give "
                                    f"{_FORMATS}.") from None
    else:  # a single line that happens to be JSON (a number, a quoted word): a name per line
        return _lines(json.dumps(data) if not isinstance(data, str) else data, source)
    missing = sorted(set(range(len(entries))) - set(entries))
    if not entries or missing:
        raise InvalidInputError(f"{where} lacks the classes {_numbers(missing) or '0'}: the indices must "
                                "run 0, 1, ... without gaps.")
    names = []
    for index in range(len(entries)):
        value = entries[index]
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
            value = value[1]  # ImageNet's [wnid, name]
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(f"{where}: class {index} is {value!r}, not a name; give {_FORMATS}.")
        names.append(value.strip())
    return names


def _numbers(values: Sequence[int]) -> str:
    shown = ", ".join(str(v) for v in values[:5])
    return shown + (f" and {len(values) - 5} more" if len(values) > 5 else "")
