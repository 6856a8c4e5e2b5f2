"""The one place that reads Keras 3 internals (node structure of functional graphs).

Keras' public API (``model.operations``, ``op.input``) cannot tell the calls of a shared
layer apart and does not open nested models, so graph tracing reads the node structure.
A Keras upgrade that changes these internals should only touch this file.
"""

from __future__ import annotations

from typing import Any

import keras


def functional_of(model: Any) -> Any | None:
    """The functional graph behind ``model`` (a Functional, or a built Sequential's graph)."""
    if isinstance(model, keras.Sequential):
        return getattr(model, "_functional", None)
    if hasattr(model, "_nodes_by_depth") and hasattr(model, "_inputs_struct"):
        return model
    return None


def is_nested_model(operation: Any) -> bool:
    """True for a model called inside another model (it gets flattened)."""
    return isinstance(operation, keras.Model) and functional_of(operation) is not None


def nodes_in_order(functional: Any) -> list[Any]:
    """The call nodes of a functional graph in execution order (input nodes skipped)."""
    nodes = []
    by_depth = functional._nodes_by_depth
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if node.operation is None or node.is_input:
                continue
            nodes.append(node)
    return nodes


def node_input_tensors(node: Any) -> list[Any]:
    """The Keras tensors a node consumes, flattened, in argument order."""
    return list(node.arguments.keras_tensors)


def node_output_tensors(node: Any) -> list[Any]:
    return list(node.outputs)


def fill_in(node: Any, values_by_kt_id: dict[int, Any]) -> tuple[tuple, dict]:
    """The node's call arguments with every Keras tensor replaced by its computed value."""
    return node.arguments.fill_in(values_by_kt_id)


def call_kwargs(node: Any) -> dict[str, Any]:
    """The keyword arguments of a node's recorded call (tensors among them as Keras tensors)."""
    return dict(node.arguments.kwargs)


def keras_mask(x: Any) -> Any:
    """The Keras mask a tensor carries (``_keras_mask``), or None."""
    from keras.src.backend.common.masking import get_keras_mask

    return get_keras_mask(x)


def with_keras_mask(x: Any, mask: Any) -> Any:
    """``x`` carrying ``mask`` as its Keras mask (layers such as keras-hub's read it from there)."""
    from keras.src.backend.common.masking import set_keras_mask

    if mask is not None:
        set_keras_mask(x, mask)
    return x


def is_keras_layer(layer: Any) -> bool:
    """True for a layer class defined by Keras itself (not keras-hub's, not a user's)."""
    module = type(layer).__module__ or ""
    return module == "keras" or module.startswith("keras.")


def call_model(model: Any, inputs: list[Any], **kwargs: Any) -> Any:
    """``model`` called on ``inputs`` (in ``model.inputs`` order), packed as the model expects
    them: one tensor, a list, or a dict by input name (keras-hub backbones)."""
    import keras

    struct = getattr(model, "_inputs_struct", None)
    if isinstance(struct, dict):
        return model(keras.tree.pack_sequence_as(struct, list(inputs)), **kwargs)
    return model(inputs if len(inputs) > 1 else inputs[0], **kwargs)


def model_inputs(functional: Any) -> list[Any]:
    return list(functional.inputs)


def model_outputs(functional: Any) -> list[Any]:
    return list(functional.outputs)


def application_layer_class(module: str, name: str) -> type | None:
    """A layer class defined inside a ``keras.applications`` module (e.g. ConvNeXt's ``LayerScale``).

    These classes are not exported by Keras' public API; None if this Keras has no such class.
    """
    import importlib

    try:
        return getattr(importlib.import_module(f"keras.src.applications.{module}"), name)
    except (ImportError, AttributeError):
        return None


def all_layers(model: Any) -> list[Any]:
    """Every layer of ``model``, nested models opened (each nested model listed too)."""
    out, stack = [], list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        out.append(layer)
        if isinstance(layer, keras.Model):
            stack.extend(layer.layers)
    return out


def output_names(model: Any) -> list[set[str]] | None:
    """Per position of ``model.outputs``: the names it answers to (dict key, producing layer).

    None for a model without declared outputs (subclassed).
    """
    outputs = getattr(model, "outputs", None)
    if not outputs:
        return None
    names: list[set[str]] = []
    for kt in outputs:
        history = getattr(kt, "_keras_history", None)
        layer = getattr(history, "operation", None) if history is not None else None
        names.append({layer.name} if layer is not None else set())
    struct = getattr(model, "_outputs_struct", None)
    if isinstance(struct, dict):
        by_id = {id(kt): key for key, kt in struct.items()}
        for aliases, kt in zip(names, outputs):
            if id(kt) in by_id:
                aliases.add(str(by_id[id(kt)]))
    return names


def flatten_outputs(outputs: Any) -> list[Any]:
    """A model call's outputs as a list in the order of ``model.outputs`` (dicts sorted by key)."""
    return list(keras.tree.flatten(outputs))


def call_layer(operation: Any, args: tuple, kwargs: dict) -> Any:
    """Call a layer (or op) in inference mode."""
    if isinstance(operation, keras.layers.Layer) and "training" not in kwargs:
        kwargs = {**kwargs, "training": False}
    return operation(*args, **kwargs)


def build_like(new_layer: Any, layer: Any) -> None:
    """Build ``new_layer`` with the shapes ``layer`` was built with."""
    shapes = getattr(layer, "_build_shapes_dict", None)
    if shapes:
        new_layer.build(**shapes)
    else:
        new_layer.build(layer.input.shape)
