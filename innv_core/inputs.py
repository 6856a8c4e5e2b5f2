"""Checking and converting what ``analyze`` receives: arrays, tensors, lists, datasets."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_input_list(X: Any, model_inputs: list[Any]) -> list[np.ndarray]:
    """``X`` as one numpy array per model input, checked against the model's shapes and dtypes.

    Raises:
        ValueError: wrong number of inputs, wrong shape or dtype, NaN/inf values.
    """
    n = len(model_inputs)
    Xs = list(X) if isinstance(X, list | tuple) else [X]
    if len(Xs) != n:
        raise ValueError(
            f"The model has {n} input(s) but analyze() received {len(Xs)}; pass "
            + ("one array." if n == 1 else f"a list of {n} arrays, one per model input.")
        )
    out = [_check_one(np.asarray(x), spec, i, n) for i, (x, spec) in enumerate(zip(Xs, model_inputs))]
    batch = {x.shape[0] for x in out}
    if len(batch) > 1:
        raise ValueError(f"All inputs must have the same batch size, got {sorted(batch)}.")
    return out


def _check_one(x: np.ndarray, spec: Any, i: int, n: int) -> np.ndarray:
    expected = tuple(spec.shape)
    where = f"input {i} ({spec.name!r})" if n > 1 else "the input"
    shape_text = "(batch, " + ", ".join("any" if d is None else str(d) for d in expected[1:]) + ")"
    if x.ndim != len(expected) or any(
        e is not None and e != a for e, a in zip(expected[1:], x.shape[1:])
    ):
        raise ValueError(
            f"Wrong shape for {where}: expected {shape_text}, got {x.shape}. "
            + ("Add a batch axis (x[None]) for a single sample." if x.ndim == len(expected) - 1 else "")
        )
    want = np.dtype(spec.dtype)
    if np.issubdtype(want, np.floating):
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise ValueError(f"Wrong dtype for {where}: expected real numbers ({want}), got {x.dtype}.")
        x = x.astype(want, copy=False)
        if not np.isfinite(x).all():
            raise ValueError(f"{where.capitalize()} contains NaN or infinite values; clean the data first.")
        return x
    if np.issubdtype(want, np.integer) and not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"Wrong dtype for {where}: expected integers ({want}), got {x.dtype}.")
    return x.astype(want, copy=False)


def is_dataset(X: Any) -> bool:
    """True for a ``tf.data.Dataset`` (checked without importing TensorFlow eagerly)."""
    return type(X).__module__.startswith("tensorflow") and hasattr(X, "element_spec")


def dataset_inputs(element: Any, n_inputs: int) -> Any:
    """The model inputs of one dataset element: ``x``, ``(x, y)``, ``((x1, x2), y)`` or ``(x1, x2)``."""
    if not isinstance(element, tuple | list):
        return element
    if n_inputs == 1 or isinstance(element[0], tuple | list):
        return element[0]
    return list(element)
