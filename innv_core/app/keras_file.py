"""What a saved ``.keras`` file declares about its inputs, read without loading the model.

A ``.keras`` file is a zip archive whose ``config.json`` holds the model's configuration; its
``InputLayer`` entries give each input's ``batch_shape``. The CLI reads them to refuse inputs of
the wrong shape at once, before TensorFlow is imported. Anything unexpected gives None: the
model's own check then answers after loading.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any


def declared_input_shapes(path: str | os.PathLike[str]) -> list[tuple[int | None, ...]] | None:
    """The ``batch_shape`` of each input of a Sequential or functional model saved in ``path``."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        layers = config["config"]["layers"]
        shapes = {
            layer["config"]["name"]: tuple(layer["config"]["batch_shape"])
            for layer in layers if layer.get("class_name") == "InputLayer"
        }
        if config.get("class_name") == "Sequential":
            return list(shapes.values())[:1] or None
        order = [_layer_name(entry) for entry in _as_list(config["config"]["input_layers"])]
        return [shapes[name] for name in order]
    except (OSError, KeyError, TypeError, ValueError, IndexError, zipfile.BadZipFile):
        return None


def _as_list(input_layers: Any) -> list[Any]:
    """``input_layers`` is ``[name, 0, 0]`` for one input, a list of those for several."""
    if input_layers and isinstance(input_layers[0], str):
        return [input_layers]
    return list(input_layers)


def _layer_name(entry: Any) -> str:
    return entry[0] if isinstance(entry, list | tuple) else entry


def shape_problem(array_shape: tuple[int, ...], declared: tuple[int | None, ...]) -> str | None:
    """Why an array of ``array_shape`` cannot be a batch for an input of ``declared`` batch
    shape (with the fix; worded as the analyzers' own input check), or None if it can."""
    expected = "(batch, " + ", ".join("?" if d is None else str(d) for d in declared[1:]) + ")"
    wrong = f"Wrong shape for the input: expected {expected}, got {tuple(array_shape)}."
    if len(array_shape) == len(declared) - 1 and _fits(array_shape, declared[1:]):
        return f"{wrong} Add a batch axis (x[None], or np.expand_dims(x, 0)) for a single sample."
    if len(array_shape) != len(declared) or not _fits(array_shape[1:], declared[1:]):
        return wrong
    return None


def _fits(shape: tuple[int, ...], declared: tuple[int | None, ...]) -> bool:
    return len(shape) == len(declared) and all(d is None or d == s for s, d in zip(shape, declared))
