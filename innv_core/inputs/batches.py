"""What ``analyze`` receives, turned into checked, model-ordered batches of numpy arrays.

Whatever the user passes — an array, a tensor, a list or tuple (one per model input), a dict by
input name, or a ``tf.data.Dataset`` of any of these (with or without labels) — goes through
:meth:`InputChecker.batches` once, which yields one list of arrays per batch, in the order of
``model.inputs``, each checked against the model's :class:`InputSpec` (shape, dtype, finite
values, token ids in range, non-empty). Analyzers consume those batches and nothing else, so a
new analyzer family gets every check for free; :meth:`InputChecker.restore` gives the results
back in the structure of what the user passed (a dict in, a dict out; :mod:`.structure`). Numpy
only: no TensorFlow import.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import numpy as np

from innv_core.errors import InvalidInputError
from innv_core.inputs.structure import InputStructure, by_name


@attrs.frozen
class InputSpec:
    """One model input as the checks see it.

    Attributes:
        name: the input's name (dict inputs are matched by it).
        shape: the shape without the batch axis, ``None`` for a free size.
        dtype: the dtype the model expects.
        token_limit: for integer inputs feeding an ``Embedding``: ids must lie in
            ``[0, token_limit)``.
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: np.dtype = attrs.field(converter=np.dtype)
    token_limit: int | None = None

    @property
    def is_integer(self) -> bool:
        return bool(np.issubdtype(self.dtype, np.integer))

    def shape_text(self) -> str:
        return "(batch, " + ", ".join("any" if d is None else str(d) for d in self.shape) + ")"


def specs_of_model(model: Any, token_limits: dict[int, int] | None = None) -> list[InputSpec] | None:
    """The specs of ``model.inputs``, or None for a model without declared inputs (subclassed)."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return None
    return specs_of_tensors(inputs, _input_names(model, inputs), token_limits)


def specs_of_tensors(inputs: Sequence[Any], names: Sequence[str] | None = None,
                     token_limits: dict[int, int] | None = None) -> list[InputSpec]:
    """Specs of symbolic input tensors (``model.inputs``); ``token_limits`` by input position."""
    names = names or [_tensor_name(kt, i) for i, kt in enumerate(inputs)]
    limits = token_limits or {}
    return [
        InputSpec(name, tuple(kt.shape[1:]), np.dtype(kt.dtype), limits.get(i))
        for i, (name, kt) in enumerate(zip(names, inputs))
    ]


def _input_names(model: Any, inputs: Sequence[Any]) -> list[str]:
    struct = getattr(model, "_inputs_struct", None)
    if isinstance(struct, dict) and len(struct) == len(inputs):
        by_id = {id(kt): key for key, kt in struct.items()}
        return [str(by_id.get(id(kt), kt.name)) for kt in inputs]
    return [_tensor_name(kt, i) for i, kt in enumerate(inputs)]


def _tensor_name(kt: Any, i: int) -> str:
    """The name of the ``InputLayer`` behind a model input (Keras' own tensor names are opaque)."""
    history = getattr(kt, "_keras_history", None)
    layer = getattr(history, "operation", None)
    return str(getattr(layer, "name", None) or getattr(kt, "name", f"input_{i}"))


def inferred_specs(Xs: Sequence[np.ndarray]) -> list[InputSpec]:
    """Specs for a model without declared inputs, from the first batch it was given.

    Real-valued inputs are analyzed in float32; integer inputs keep their dtype.
    """
    specs = []
    for i, x in enumerate(Xs):
        dtype = x.dtype if np.issubdtype(x.dtype, np.integer) else np.dtype(np.float32)
        specs.append(InputSpec(f"input_{i}", tuple(x.shape[1:]), dtype))
    return specs


class InputChecker:
    """Turns user data into checked batches for one model (see the module docstring).

    ``specs`` None (a subclassed model) means: take them from the first batch, then hold every
    later batch to them.
    """

    def __init__(self, specs: list[InputSpec] | None, n_inputs: int | None = None) -> None:
        self._specs = specs
        self._n_inputs = len(specs) if specs is not None else n_inputs
        self._inferred = specs is None

    @property
    def specs(self) -> list[InputSpec] | None:
        return self._specs

    @property
    def n_inputs(self) -> int | None:
        return self._n_inputs

    @property
    def names(self) -> list[str] | None:
        """The model's input names in ``model.inputs`` order (None before specs are known)."""
        return None if self._specs is None else [s.name for s in self._specs]

    def structure(self, X: Any) -> InputStructure:
        """How ``X`` (a batch, or a dataset: its elements' inputs) holds the inputs."""
        if is_dataset(X):
            X = dataset_inputs(X.element_spec, self._n_inputs or 1)
        return InputStructure.of(X)

    def restore(self, X: Any, values: Sequence[Any]) -> Any:
        """``values`` (one per model input, model order) in the structure of ``X``: a dict in
        gives a dict with its keys, a list a list, a single array an array
        (:mod:`innv_core.inputs.structure`)."""
        return self.structure(X).restore(values, self.names or [f"input_{i}" for i in range(len(values))])

    def forget_inferred(self) -> None:
        """Drop specs taken from a batch the model then refused (the next batch sets them anew)."""
        if self._inferred:
            self._specs = None

    def batches(self, X: Any) -> Iterator[list[np.ndarray]]:
        """One checked list of arrays (model order) per batch of ``X``."""
        if is_dataset(X):
            empty = True
            for element in X:
                empty = False
                yield self.check(dataset_inputs(element, self._n_inputs or 1))
            if empty:
                raise InvalidInputError("The dataset given to analyze() is empty: it yielded no batch.")
            return
        yield self.check(X)

    def check(self, X: Any) -> list[np.ndarray]:
        """``X`` (one batch) as one checked numpy array per model input."""
        Xs = self._split(X)
        if self._specs is None:
            raw = [_as_array(x, f"input {i}") for i, x in enumerate(Xs)]
            self._specs = inferred_specs(raw)
            self._n_inputs = len(raw)
        out = [check_array(x, spec, i, len(self._specs)) for i, (x, spec) in enumerate(zip(Xs, self._specs))]
        sizes = sorted({x.shape[0] for x in out})
        if len(sizes) > 1:
            raise InvalidInputError(
                f"All inputs of one call must have the same batch size; got {sizes} "
                f"({', '.join(f'{s.name}: {x.shape[0]}' for s, x in zip(self._specs, out))})."
            )
        return out

    def _split(self, X: Any) -> list[Any]:
        n = self._n_inputs
        if isinstance(X, dict):
            return self._from_dict(X)
        Xs = list(X) if isinstance(X, list | tuple) else [X]
        if n is not None and len(Xs) != n:
            raise InvalidInputError(
                f"The model has {n} input(s) but analyze() received {len(Xs)} array(s); pass "
                + ("one array." if n == 1 else f"a list of {n} arrays in the order of model.inputs "
                   f"({', '.join(s.name for s in self._specs or [])}), or a dict by input name.")
            )
        return Xs

    def _from_dict(self, X: dict) -> list[Any]:
        return by_name(X, self.names)


def _as_array(x: Any, where: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - any object numpy cannot read
        raise InvalidInputError(f"{where} cannot be read as an array ({type(x).__name__}: {exc}).") from exc
    if arr.dtype == object:
        raise InvalidInputError(
            f"{where} is not a numeric array (numpy made an object array from {type(x).__name__}: "
            "ragged lists or mixed types); pass a rectangular array of numbers."
        )
    return arr


def check_array(x: Any, spec: InputSpec, i: int = 0, n: int = 1) -> np.ndarray:
    """One input checked against its spec and cast to its dtype.

    Raises:
        InvalidInputError: wrong rank or shape, non-numeric dtype, floats for an integer input,
            NaN/inf, an empty batch, token ids outside ``[0, token_limit)``.
    """
    where = f"input {i} ({spec.name!r})" if n > 1 else "the input"
    x = _as_array(x, where.capitalize())
    expected = (None, *spec.shape)
    if x.ndim != len(expected) or any(e is not None and e != a for e, a in zip(spec.shape, x.shape[1:])):
        hint = ""
        if x.ndim == len(expected) - 1 and all(e is None or e == a for e, a in zip(spec.shape, x.shape)):
            hint = " Add a batch axis (x[None], or np.expand_dims(x, 0)) for a single sample."
        raise InvalidInputError(
            f"Wrong shape for {where}: expected {spec.shape_text()}, got {x.shape}.{hint}"
        )
    if x.shape[0] == 0:
        raise InvalidInputError(f"Empty batch for {where} (shape {x.shape}): give at least one sample.")
    if spec.is_integer:
        return _check_ids(x, spec, where)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)
            or x.dtype == np.bool_):
        raise InvalidInputError(
            f"Wrong dtype for {where}: expected real numbers ({spec.dtype}), got {x.dtype}."
        )
    with np.errstate(over="ignore", invalid="ignore"):  # too large for the dtype: inf, refused below
        x = x.astype(spec.dtype, copy=False)
    if not np.isfinite(x).all():
        bad = ~np.isfinite(x)
        first = tuple(int(k) for k in np.argwhere(bad)[0])
        raise InvalidInputError(
            f"{where.capitalize()} contains {int(bad.sum())} NaN or infinite value(s) (first at "
            f"index {first}); clean the data first."
        )
    return x


def _check_ids(x: np.ndarray, spec: InputSpec, where: str) -> np.ndarray:
    if np.issubdtype(x.dtype, np.floating):
        if not np.isfinite(x).all() or not np.array_equal(x, np.round(x)):
            raise InvalidInputError(
                f"Wrong dtype for {where}: the model expects integer ids ({spec.dtype}), got {x.dtype} "
                "values that are not whole numbers."
            )
    elif not (np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_):  # bool: a padding mask
        raise InvalidInputError(f"Wrong dtype for {where}: expected integers ({spec.dtype}), got {x.dtype}.")
    if spec.token_limit is not None and x.size:
        low, high = x.min(), x.max()
        if low < 0 or high >= spec.token_limit:
            raise InvalidInputError(
                f"Token ids of {where} must lie in [0, {spec.token_limit}) (the Embedding's input_dim); "
                f"got values from {low} to {high}. Keras would silently wrap negative ids and "
                "mis-read large ones."
            )
    return x.astype(spec.dtype, copy=False)


def is_dataset(X: Any) -> bool:
    """True for a ``tf.data.Dataset`` (checked without importing TensorFlow)."""
    return type(X).__module__.startswith("tensorflow") and hasattr(X, "element_spec")


def dataset_inputs(element: Any, n_inputs: int) -> Any:
    """The model inputs of one dataset element: ``x``, ``(x, y)``, ``((x1, x2), y)``, ``(x1, x2)``
    or a dict by input name (optionally with labels: ``(dict, y)``)."""
    if isinstance(element, dict):
        return element
    if not isinstance(element, tuple | list):
        return element
    if isinstance(element[0], dict):
        return element[0]
    if n_inputs == 1 or isinstance(element[0], tuple | list):
        return element[0]
    return list(element)


def as_input_list(X: Any, model_inputs: list[Any]) -> list[np.ndarray]:
    """``X`` (one batch) as checked arrays for a model with these ``model.inputs`` (tools' shortcut)."""
    return InputChecker(specs_of_tensors(model_inputs)).check(X)
