"""Inputs: user data as checked, model-ordered batches (:mod:`.batches`) and read from files
(:mod:`.files`, for the command line). Neither imports TensorFlow."""

from innv_core.inputs.batches import (
    InputChecker,
    InputSpec,
    as_input_list,
    check_array,
    dataset_inputs,
    inferred_specs,
    is_dataset,
    specs_of_model,
    specs_of_tensors,
)

__all__ = [
    "InputChecker",
    "InputSpec",
    "as_input_list",
    "check_array",
    "dataset_inputs",
    "inferred_specs",
    "is_dataset",
    "specs_of_model",
    "specs_of_tensors",
]
