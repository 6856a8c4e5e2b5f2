"""Inputs: user data as checked, model-ordered batches (:mod:`.batches`), the structure the
results are given back in (:mod:`.structure`: a dict in, a dict out) and the references an
analyzer compares against (:mod:`.references`). Neither imports TensorFlow. Reading inputs from
files is the command line's job (:mod:`innv_core.app.files`)."""

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
from innv_core.inputs.structure import InputStructure, by_name

__all__ = [
    "InputChecker",
    "InputSpec",
    "InputStructure",
    "as_input_list",
    "by_name",
    "check_array",
    "dataset_inputs",
    "inferred_specs",
    "is_dataset",
    "specs_of_model",
    "specs_of_tensors",
]
