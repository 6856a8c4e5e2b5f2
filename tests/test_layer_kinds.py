"""Open layer kinds: a plugin adds a kind, a handler of it and the crossings of LRP and DeepLIFT."""

from __future__ import annotations

import types

import keras
import numpy as np
import pytest

from innv_core import create_analyzer, hookimpl, registry
from innv_core.app.supported_layers import layer_rows, markdown
from innv_core.errors import PluginLoadWarning
from innv_core.layers import KERNEL, Crossing, LayerHandler, LayerKind

CUBE = "cube"
LRP_TEXT = "passes unchanged (the cube plugin's crossing)"
DEEPLIFT_TEXT = "Rescale (the cube plugin's crossing)"


@keras.saving.register_keras_serializable(package="innv_tests")
class Cube(keras.layers.Layer):
    """``x ** 3``, elementwise: a layer class of the test plugin's own kind."""

    def call(self, x):
        return x * x * x


def cube_pass(nt, Rs, state):
    """The plugin's LRP crossing: relevance passes the cube unchanged."""
    return [Rs[0]]


def cube_plugin(deeplift: bool = True) -> types.SimpleNamespace:
    def kinds(registry):
        registry.add_layer_kind(LayerKind(CUBE, "x ** 3, elementwise"))

    def crossings(registry):
        registry.add_crossing("lrp", CUBE, cube_pass, LRP_TEXT)
        if deeplift:
            registry.add_crossing("deeplift", CUBE, "activation", DEEPLIFT_TEXT)

    return types.SimpleNamespace(
        innv_register_layer_kinds=hookimpl(kinds),
        innv_register_crossings=hookimpl(crossings),
        innv_register_layers=hookimpl(lambda registry: registry.add_layer(Cube, LayerHandler(CUBE))),
    )


@pytest.fixture
def fresh_registry():
    registry.reset()
    yield
    registry.reset()


def cube_model():
    """x (4) -> Dense(3, no bias) -> Cube -> Dense(2, no bias), float64."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((4,), dtype="float64")
    h = keras.layers.Dense(3, use_bias=False, dtype="float64", name="d1")(inp)
    c = Cube(dtype="float64", name="cube")(h)
    out = keras.layers.Dense(2, use_bias=False, dtype="float64", name="d2")(c)
    return keras.Model(inp, out)


def _by_hand(model, x):
    W, v = model.get_layer("d1").get_weights()[0], model.get_layer("d2").get_weights()[0][:, 0]
    h = x @ W
    return W, v, h, (h ** 3) @ v  # the output of neuron 0


def test_plugin_kind_and_crossings_are_used_by_lrp_and_deeplift(fresh_registry):
    registry.register_plugin(cube_plugin(), name="cube_plugin")
    reg = registry.get_registry()
    assert reg.layer_kind(CUBE) == LayerKind(CUBE, "x ** 3, elementwise")
    assert reg.crossing("lrp", CUBE) == Crossing("lrp", CUBE, cube_pass, LRP_TEXT)
    assert reg.crossing("deep_taylor", CUBE).family == "lrp"  # DeepTaylor falls back to LRP
    model = cube_model()
    x = np.random.default_rng(0).normal(size=(5, 4))
    W, v, h, out = _by_hand(model, x)

    # LRP-z: the z-rule at both Dense layers, relevance passing the cube (the plugin's crossing)
    lrp = create_analyzer("lrp.z", model, neuron_selection_mode="index").analyze(x, neuron_selection=0)
    r_h = (h ** 3) * v  # relevance at the cube's output = at its input
    expected = np.einsum("ni,ij,nj->ni", x, W, r_h / h)
    np.testing.assert_allclose(lrp, expected, rtol=1e-9)
    np.testing.assert_allclose(lrp.sum(1), out, rtol=1e-9)  # conserved
    # (crossed like the gradient, the cube would multiply the relevance by 3 h^2 / h^2 = 3)

    # DeepLIFT (reference 0): Rescale at the cube, m_h = m_c * h^3 / h = h^2 (the gradient: 3 h^2)
    for mode in ("rescale", "reveal_cancel"):
        dl = create_analyzer("deep_lift.wrapper", model, nonlinear_mode=mode, reference_inputs=0,
                             neuron_selection_mode="index").analyze(x, neuron_selection=0)
        np.testing.assert_allclose(dl.sum(1), out, rtol=1e-8, err_msg=mode)  # summation-to-delta
        if mode == "rescale":
            np.testing.assert_allclose(dl, x * ((h ** 2 * v) @ W.T), rtol=1e-9)

    # the table lists the layer with the plugin's descriptions
    (row,) = [r for r in layer_rows() if r.kind == CUBE]
    assert row.layer.endswith("Cube") and row.plugin == "cube_plugin"
    assert row.handling == (LRP_TEXT, LRP_TEXT, "gradient", DEEPLIFT_TEXT)
    page = markdown(layer_rows())
    assert f"| {CUBE} | {LRP_TEXT} | {LRP_TEXT} | gradient | {DEEPLIFT_TEXT} | cube_plugin |" in page


def test_without_a_deeplift_crossing_deeplift_uses_the_gradient(fresh_registry):
    registry.register_plugin(cube_plugin(deeplift=False), name="cube_plugin")
    model = cube_model()
    x = np.random.default_rng(0).normal(size=(5, 4))
    _W, _v, _h, out = _by_hand(model, x)
    dl = create_analyzer("deep_lift.wrapper", model, reference_inputs=0,
                         neuron_selection_mode="index").analyze(x, neuron_selection=0)
    np.testing.assert_allclose(dl.sum(1), 3 * out, rtol=1e-8)  # the gradient 3 h^2: not Δy
    (row,) = [r for r in layer_rows() if r.kind == CUBE]
    assert row.handling[-1] == "gradient (summation-to-delta approximate)"


def test_handler_of_an_unregistered_kind_is_refused(fresh_registry):
    class Mine(keras.layers.Layer):
        pass

    class MyDense(keras.layers.Dense):
        pass

    def layers(registry):
        registry.add_layer(MyDense, LayerHandler(KERNEL))
        registry.add_layer(Mine, LayerHandler("no_such_kind"))

    registry.register_plugin(types.SimpleNamespace(innv_register_layers=hookimpl(layers)), name="bad_kinds")
    with pytest.warns(PluginLoadWarning) as caught:
        reg = registry.get_registry()
    (message,) = [str(w.message) for w in caught if "bad_kinds" in str(w.message)]
    for part in ("'no_such_kind'", "Mine", "known kinds: activation, affine, average_pooling", "innv_register_layer_kinds",
                 "registry.add_layer_kind(LayerKind('no_such_kind'"):
        assert part in message, part
    # the plugin's layer handlers are undone, the built-in ones work
    assert reg.layer_handler(Mine) is None
    assert reg.layer_handler(MyDense) is reg.layer_handler(keras.layers.Dense)
    assert reg.layer_handler(keras.layers.Dense).kind == KERNEL
    assert [b.name for b in registry.broken_plugins()] == ["bad_kinds"]


def test_handler_defaults_follow_the_kind():
    assert LayerHandler(KERNEL).kernels == ("kernel",) and LayerHandler(KERNEL).bias == "bias"
    for kind in ("activation", "batchnorm", CUBE):
        assert LayerHandler(kind).kernels == () and LayerHandler(kind).bias is None
    assert LayerHandler(KERNEL, kernels=("w",), bias=None).weight_names() == ("w",)
    with pytest.raises(ValueError, match="non-empty"):
        LayerHandler("")


def test_builtin_kinds_are_registered_by_the_kinds_plugin():
    from innv_core.layers import BUILTIN_KINDS

    reg = registry.get_registry()
    assert [k.name for k in reg.layer_kinds()] == list(BUILTIN_KINDS)
    assert {e.plugin for e in registry.list_registered(["layer_kinds"])} == {"layers_kinds"}
    used = {e.obj.kind for e in reg.entries("layers").values()}
    assert used <= set(BUILTIN_KINDS)
    assert [f.name for f in reg.families()] == ["lrp", "deep_taylor", "pattern", "deeplift"]
