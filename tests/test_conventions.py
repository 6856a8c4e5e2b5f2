"""Attention conventions are values: a third party's, registered by hand, changes LRP as predicted."""

from __future__ import annotations

import contextlib
import io
import types
import warnings

import keras
import numpy as np
import pytest

import innv_core
from innv_core import registry
from innv_core.errors import InvalidParameterError
from innv_core.hookspecs import hookimpl
from innv_core.modified_gradient import hold
from innv_plugins.lrp.conventions import ATTNLRP, CP, Convention

L = keras.layers
T, D = 4, 6


def _no_rule_product(operands, signals, activated):
    return operands, 1.0


#: True gradients everywhere: inside an opened layer LRP is then input x gradient.
GRADIENT = Convention(
    "gradient", "true gradient of softmax, attention and products",
    softmax=lambda x: x, attention=lambda q, k, v: (q, k, v), product=_no_rule_product,
)
#: The softmax and the values held: no relevance crosses the fused attention op. (Computed
#: unfused, the product of the held attention weights and the values has one signal, so it is
#: linear, no convention is asked, and the values get the relevance as under CP-LRP.)
HELD = Convention(
    "held", "softmax and values held",
    softmax=hold, attention=lambda q, k, v: (hold(q), hold(k), hold(v)),
    product=lambda operands, signals, activated: (tuple(hold(o) if s else o for o, s in zip(operands, signals)), 1.0),
)


@pytest.fixture(scope="module")
def conventions():
    plugin = types.SimpleNamespace(innv_register_conventions=hookimpl(
        lambda registry: (registry.add_convention("gradient", GRADIENT), registry.add_convention("held", HELD))
    ))
    registry.register_plugin(plugin, name="third_party_conventions")
    yield
    registry.unregister_plugin(plugin)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(3)
    inp = keras.Input((T, D))
    h = L.MultiHeadAttention(2, 3, name="mha")(inp, inp)
    out = L.Dense(1, use_bias=False, name="head")(L.Flatten()(h))
    return keras.Model(inp, out)


X = np.random.default_rng(0).standard_normal((2, T, D)).astype("float32")


def test_builtin_conventions_are_registered():
    entries = registry.get_registry().entries("conventions")
    assert entries["attnlrp"].obj is ATTNLRP and entries["cp"].obj is CP


def test_gradient_everywhere_convention_gives_input_times_gradient(conventions, model):
    # the head has no bias, epsilon is tiny: R at the attention output is out * w, and with true
    # gradients inside, R_x = x * J^T (out * w / out) = x * d(model)/dx
    got = innv_core.create_analyzer("lrp.epsilon", model, epsilon=1e-12, attention="gradient").analyze(X)
    want = innv_core.create_analyzer("input_t_gradient", model).analyze(X)
    attnlrp = innv_core.create_analyzer("lrp.epsilon", model, epsilon=1e-12).analyze(X)
    assert np.abs(got - want).max() / np.abs(want).max() < 1e-4
    assert np.abs(attnlrp - want).max() / np.abs(want).max() > 1e-2  # AttnLRP differs from it


def test_held_convention_lets_no_relevance_through(conventions, model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the all-zero analysis warns
        got = innv_core.create_analyzer("lrp.epsilon", model, attention="held").analyze(X)
    assert np.all(got == 0)
    as_value = innv_core.create_analyzer("lrp.epsilon", model, epsilon=1e-12, attention=GRADIENT).analyze(X)
    by_name = innv_core.create_analyzer("lrp.epsilon", model, epsilon=1e-12, attention="gradient").analyze(X)
    np.testing.assert_array_equal(as_value, by_name)


def test_unknown_convention_names_the_registered_ones(conventions, model):
    with pytest.raises(InvalidParameterError) as info:
        innv_core.create_analyzer("lrp.epsilon", model, attention="softmax")
    for name in ("'attnlrp'", "'cp'", "'gradient'", "'held'", "add_convention"):
        assert name in str(info.value)


def test_listing_shows_a_hand_registered_convention(conventions):
    listed = {(e.kind, e.name) for e in registry.list_registered(["conventions"])}
    assert {("conventions", "attnlrp"), ("conventions", "cp"), ("conventions", "held")} <= listed
    from innv_core.app.cli import cmd_list

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cmd_list(["conventions"])
    text = out.getvalue()
    assert "conventions:" in text and "gradient" in text and "third_party_conventions" in text


def test_softmax_over_several_axes_goes_through_the_op_rule():
    # attention_axes=(1, 2): Keras' Softmax layer over two axes (exp - logsumexp) is flattened into
    # one keras.ops.softmax, so the convention applies there too (and nothing is refused)
    keras.utils.set_random_seed(3)
    inp = keras.Input((3, 3, 4))
    h = L.MultiHeadAttention(2, 3, attention_axes=(1, 2), name="mha")(inp, inp)
    model = keras.Model(inp, L.Dense(3, name="head")(L.Flatten()(h)))
    X2 = np.random.default_rng(0).standard_normal((2, 3, 3, 4)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        R = {c: innv_core.create_analyzer("lrp.epsilon", model, epsilon=1e-9, attention=c).analyze(X2)
             for c in ("attnlrp", "cp", HELD)}
    assert np.abs(R["attnlrp"]).sum() > 0 and not np.allclose(R["attnlrp"], R["cp"])
    np.testing.assert_allclose(R[HELD], R["cp"], rtol=0, atol=1e-7 * np.abs(R["cp"]).max())
