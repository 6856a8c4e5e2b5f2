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
from innv_core.inputs.files import (
    array_header,
    check_input_source,
    image_files,
    load_images,
    load_inputs,
    read_array,
)

__all__ = [
    "InputChecker",
    "InputSpec",
    "array_header",
    "as_input_list",
    "check_array",
    "check_input_source",
    "dataset_inputs",
    "image_files",
    "inferred_specs",
    "is_dataset",
    "load_images",
    "load_inputs",
    "read_array",
    "specs_of_model",
    "specs_of_tensors",
]
