"""Every activation the sign analysis lists as non-negative is >= 0 everywhere (innv_core.signs).

A signed activation listed by mistake makes alpha-beta, z+ and DeepTaylor drop the ``x-`` terms
of the next layer: a wrong rule with no error. Each listed function is evaluated by Keras itself,
in float64, on a dense grid over [-50, 50]; the negative controls (``silu``, ``gelu``, ``elu``,
``tanh``) must not be listed, and do go negative on the same grid.
"""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from innv_core import layers as kinds
from innv_core.graph import trace
from innv_core.layers import LayerHandler
from innv_core.signs import (
    NONNEGATIVE_ACTIVATIONS,
    activation_is_nonnegative,
    nonnegative_tensors,
    output_is_nonnegative,
)

GRID = np.linspace(-50.0, 50.0, 100001)
SIGNED = ("silu", "gelu", "elu", "tanh")


def _values(name: str) -> np.ndarray:
    """``keras.activations.get(name)`` on the grid, in float64 (float32 if it refuses float64)."""
    fn = keras.activations.get(name)
    for dtype in ("float64", "float32"):
        try:
            return keras.ops.convert_to_numpy(fn(keras.ops.convert_to_tensor(GRID, dtype)))
        except (TypeError, ValueError):
            continue
    raise AssertionError(f"keras cannot evaluate activation {name!r} on a 1-D grid")


@pytest.mark.parametrize("name", sorted(NONNEGATIVE_ACTIVATIONS))
def test_a_listed_activation_is_never_negative(name):
    values = _values(name)
    assert values.dtype == np.float64
    assert np.all(np.isfinite(values))
    assert values.min() >= 0.0, f"{name} reaches {values.min()} at x = {GRID[values.argmin()]}"


@pytest.mark.parametrize("name", sorted(NONNEGATIVE_ACTIVATIONS))
def test_a_listed_name_is_the_name_keras_gives_its_function(name):
    """The list is matched against ``activation.__name__``: a name Keras does not use is dead."""
    assert keras.activations.get(name).__name__ == name


@pytest.mark.parametrize("name", [*SIGNED, "swish", "leaky_relu", "selu", "mish", "linear"])
def test_a_signed_activation_is_not_listed(name):
    assert _values(name).min() < 0.0  # the control is signed on the same grid
    function_name = keras.activations.get(name).__name__  # "swish" is keras' silu
    assert name not in NONNEGATIVE_ACTIVATIONS and function_name not in NONNEGATIVE_ACTIVATIONS
    assert not activation_is_nonnegative(keras.layers.Dense(2, activation=name))
    assert not activation_is_nonnegative(keras.layers.Activation(name))


@pytest.mark.parametrize("name", sorted(NONNEGATIVE_ACTIVATIONS))
def test_a_listed_activation_makes_a_layer_output_non_negative(name):
    assert activation_is_nonnegative(keras.layers.Dense(2, activation=name))
    assert activation_is_nonnegative(keras.layers.Activation(name))


@pytest.mark.parametrize("name", SIGNED)
def test_the_next_layer_sees_a_signed_input_after_a_signed_activation(name):
    keras.utils.set_random_seed(0)
    x = keras.Input((4,))
    h = keras.layers.Dense(3, activation=name, name="first")(x)
    h = keras.layers.Activation(name, name="act")(keras.layers.Dense(3, activation="relu")(h))
    model = keras.Model(x, keras.layers.Dense(2, name="last")(h))
    graph = trace(model)
    known = nonnegative_tensors(graph, graph.input_ids)
    by_name = {node.layer.name: node for node in graph.nodes}
    assert by_name["first"].output_ids[0] not in known
    assert by_name["last"].input_ids[0] not in known


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [({}, True), ({"max_value": 6.0}, True), ({"threshold": 0.5}, True),
     ({"negative_slope": 0.1}, False)],  # keras refuses a negative threshold
)
def test_a_relu_layer_is_non_negative_exactly_when_its_output_is(kwargs, expected):
    layer = keras.layers.ReLU(**kwargs)
    values = keras.ops.convert_to_numpy(layer(keras.ops.convert_to_tensor(GRID[None], "float32")))
    assert (values.min() >= 0.0) == expected
    assert activation_is_nonnegative(layer) == expected


def test_a_softmax_layer_is_non_negative():
    assert activation_is_nonnegative(keras.layers.Softmax())


def test_a_relu_whose_threshold_was_set_below_zero_afterwards_is_signed():
    """Keras refuses ``threshold < 0`` in the constructor, not on the attribute."""
    layer = keras.layers.ReLU()
    layer.threshold = -0.5
    values = keras.ops.convert_to_numpy(layer(keras.ops.convert_to_tensor(GRID[None], "float32")))
    assert values.min() < 0.0
    assert not activation_is_nonnegative(layer)


def test_a_layer_without_handler_is_signed():
    node = SimpleNamespace(handler=None, layer=keras.layers.Dense(2, activation="relu"))
    assert not output_is_nonnegative(node, [True])


@pytest.mark.parametrize("answer", [True, False])
def test_a_handler_sign_function_decides_from_the_layer_and_the_input_signs(answer):
    """``LayerHandler(sign=...)`` is called as ``sign(layer, [bool, ...])`` and has the last word."""
    layer = keras.layers.Dense(2, activation="tanh")  # its activation alone would say: signed
    calls = []

    def sign(got_layer, inputs_nonnegative):
        calls.append((got_layer, inputs_nonnegative))
        return 1 if answer else 0

    node = SimpleNamespace(handler=LayerHandler(kinds.KERNEL, sign=sign), layer=layer)
    result = output_is_nonnegative(node, (True, False))
    assert result is answer
    assert len(calls) == 1 and calls[0][0] is layer and calls[0][1] == [True, False]
    assert isinstance(calls[0][1], list)
