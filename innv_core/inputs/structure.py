"""The structure the user gave the inputs in, so that results come back in it (Keras' convention).

A dict of inputs by name gives a dict with the same keys, a list (or tuple) gives a list (or
tuple) in the same order, a single array gives an array. Inside, everything runs on one array
per model input in the order of ``model.inputs``; :class:`InputStructure` records what the user
passed (:meth:`InputStructure.of`) and puts per-input results back into that form
(:meth:`InputStructure.restore`). It is the one place that does so: ``analyze``, the
distributed ``analyze`` and the command line's ``.npz`` inputs all go through it, and
:func:`by_name` is the one place that reads a dict by input name (inputs and references alike).
Numpy only: no TensorFlow import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import attrs

from innv_core.errors import InvalidInputError

Kind = Literal["single", "list", "tuple", "dict"]


@attrs.frozen
class InputStructure:
    """How one call's inputs were given.

    Attributes:
        kind: ``"single"`` (one array or tensor), ``"list"``, ``"tuple"`` or ``"dict"``.
        keys: for a dict, its keys in the user's order (the result has them in that order).
    """

    kind: Kind
    keys: tuple[str, ...] = ()

    @classmethod
    def of(cls, X: Any) -> InputStructure:
        """The structure of ``X`` (one batch, or a dataset element's inputs)."""
        if isinstance(X, dict):
            return cls("dict", tuple(X))
        if isinstance(X, list):
            return cls("list")
        if isinstance(X, tuple):
            return cls("tuple")
        return cls("single")

    def restore(self, values: Sequence[Any], names: Sequence[str]) -> Any:
        """``values`` (one per model input, in ``model.inputs`` order, named ``names``) in this
        structure: a dict keyed as given, a list or tuple, or the one array."""
        values = list(values)
        if self.kind == "dict":
            by_input = dict(zip(names, values, strict=True))
            return {key: by_input[key] for key in self.keys}
        if self.kind == "tuple":
            return tuple(values)
        if self.kind == "list" or len(values) != 1:
            return values
        return values[0]


def by_name(X: dict, names: Sequence[str] | None, what: str = "The dict of inputs",
            error: type[Exception] = InvalidInputError) -> list[Any]:
    """The values of ``X`` in the order of ``names`` (the model's input names).

    Raises:
        error: the model has no named inputs, or the keys are not exactly ``names``.
    """
    if names is None:
        raise error(
            f"{what} needs a model with named inputs; this model declares none (subclassed?). "
            "Pass a list in the order the model's call expects."
        )
    names = list(names)
    missing = [n for n in names if n not in X]
    extra = [k for k in X if k not in names]
    if missing or extra:
        raise error(
            f"{what} must have exactly the model's input names {names}; "
            + (f"missing {missing}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unknown {extra}" if extra else "") + "."
        )
    return [X[n] for n in names]
