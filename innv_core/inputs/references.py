"""Reference inputs (IG's baseline, DeepLIFT's reference): given once, checked at construction.

A reference is a number (for every value of every input), an array, or for multi-input models a
list with one per input in the order of ``model.inputs`` or a dict by input name (as the inputs
themselves). :func:`per_input` splits what the user gave; :func:`checked_sample`
(DeepLIFT: one sample, or a batch of 1 or N) and :func:`check_broadcastable` (IG: anything that
broadcasts to the input batch) check the arrays. Numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError
from innv_core.inputs.batches import InputSpec
from innv_core.inputs.structure import by_name


def per_input(reference_inputs: Any, n_inputs: int, names: Sequence[str] | None = None) -> list[Any]:
    """One reference per model input, in model order (a single number applies to all; a dict
    is read by the input ``names``)."""
    if isinstance(reference_inputs, dict):
        return by_name(reference_inputs, names, "A dict of reference_inputs", InvalidParameterError)
    if isinstance(reference_inputs, list | tuple):
        if len(reference_inputs) == n_inputs:
            return list(reference_inputs)
        if n_inputs > 1:
            raise InvalidParameterError(
                f"reference_inputs is a list of {len(reference_inputs)} but the model has "
                f"{n_inputs} inputs; give one reference per input (a list in model order or a "
                "dict by input name), or one number for all."
            )
        return [reference_inputs]
    if n_inputs > 1 and np.ndim(reference_inputs) > 0:
        raise InvalidParameterError(
            f"The model has {n_inputs} inputs: give reference_inputs as a list with one "
            "reference per input (model order) or a dict by input name, or one number for all."
        )
    return [reference_inputs] * n_inputs


def _numbers(value: Any, where: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - ragged lists and other objects
        raise InvalidParameterError(f"{where} cannot be read as an array: {exc}.") from exc
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InvalidParameterError(f"{where} must be numbers, got {array.dtype} ({value!r:.60}).")
    if not np.isfinite(array.astype(np.float64)).all():
        raise InvalidParameterError(f"{where} contains NaN or infinite values.")
    return array


def _where(i: int, n: int) -> str:
    return f"reference_inputs[{i}]" if n > 1 else "reference_inputs"


def checked_sample(value: Any, spec: InputSpec, i: int = 0, n: int = 1) -> np.ndarray:
    """A number, or an array of one sample / a batch ``(1 or N, *sample shape)`` (batch axis added)."""
    where = _where(i, n)
    array = _numbers(value, where)
    if array.ndim == 0:
        return array
    sample = spec.shape
    if array.ndim == len(sample):
        array = array[None]
    shape_ok = array.ndim == len(sample) + 1 and all(
        e is None or e == a for e, a in zip(sample, array.shape[1:])
    )
    if not shape_ok:
        text = "(" + ", ".join("any" if d is None else str(d) for d in sample) + ")"
        raise InvalidParameterError(
            f"{where} has shape {np.shape(value)}; expected a number, one sample of shape "
            f"{text}, or a batch (1 or N, *{text})."
        )
    return array


def check_broadcastable(reference_inputs: Any, specs: Sequence[InputSpec] | None) -> None:
    """Refuse references that cannot broadcast to a batch of the inputs (IG's rule).

    Aligned from the last axis (numpy's rule), each axis of the reference must be 1 or the
    input's size (any size where the input's is free); a leading batch axis may have any size
    (it must equal the batch, checked when the batch is known).
    """
    if specs is None:
        return
    values = per_input(reference_inputs, len(specs), [s.name for s in specs])
    for i, (value, spec) in enumerate(zip(values, specs)):
        array = _numbers(value, _where(i, len(specs)))
        full = (None, *spec.shape)  # None: any size
        ok = array.ndim <= len(full) and all(
            size == 1 or want is None or size == want
            for size, want in zip(array.shape[::-1], full[::-1])
        )
        if not ok:
            raise InvalidParameterError(
                f"{_where(i, len(specs))} has shape {array.shape}, which does not broadcast to the "
                f"input {spec.shape_text()}; give a number, one sample of shape {spec.shape}, a batch "
                "of them, or any shape numpy broadcasts to it (e.g. one value per channel)."
            )
