"""One block of each keras-hub decoder family against a numpy oracle of AttnLRP and CP-LRP
(issue 25, point 4: the families LXT does not cover; ``tests/oracles_decoders.py``).

The cut: a functional model whose input is a float ``(batch, seq, hidden)`` tensor and a padding
mask, one opened decoder block (``backbone.transformer_layers[0]``, called with the mask as the
backbone calls it), and a read-out ``logit = sum(block(x) * w)`` (Flatten, then a bias-free
Dense). Everything in float64 (the blocks' own float32 softmax and norms aside), every weight
random and non-trivial (biases and norm scales too), one sample left-padded. First the oracle's
primitives are checked against finite differences of their forward (or the closed form of their
rule), then the block called alone against the same block inside the backbone and against the
oracle's forward, then innv's relevance against the oracle's, to 1e-4 relative (measured:
below 1e-6, ``docs/layer-families.md``).
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import oracles_decoders as od
import pytest
from hub_decoders import CONFIGS, HIDDEN, INTERMEDIATE, LAYERS, VARIANTS, V

pytest.importorskip("keras_hub")

#: The families whose blocks the LXT cross-checks do not cover (with Mistral's sliding window and
#: Gemma 2's soft caps, windows and post-norms).
FAMILIES = ("GPTNeoX", "OPT", "OPT-fused", "Bloom", "Falcon", "Mistral-sliding", "Mixtral", "Gemma", "Gemma2", "Phi3",
            "Qwen", "Qwen3Moe", "SmolLM3")
#: OPT's default dropout (0.1, inactive at inference) keeps keras' MultiHeadAttention on its
#: einsum path; without dropout it calls the fused ``ops.dot_product_attention`` (its own rule).
LOCAL_VARIANTS = {"OPT-fused": ("OPT", {"dropout": 0.0})}
SEQ, EPS = 6, 1e-9
MASK = np.array([[0, 0, 1, 1, 1, 1], [1] * SEQ], "int32")
ANALYZERS = {od.ATTNLRP: "lrp.attnlrp", od.CP: "lrp.cp_lrp"}


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# -- the primitives against finite differences -------------------------------------------------
def _vjp(fn, *xs, cotangent=None):
    t = od.Tape()
    vs = [od.Var(x) for x in xs]
    y = fn(t, *vs)
    c = np.random.default_rng(7).normal(size=y.shape) if cotangent is None else cotangent
    return y.value, c, t.gradient(y, c, vs)


def _directional(fn, xs, i, c, h=1e-6):
    """``<c, d f / d x_i . d>`` by central differences, with ``d`` a fixed random direction."""
    d = np.random.default_rng(11).normal(size=np.shape(xs[i]))

    def at(step):
        moved = [x + step * d if j == i else x for j, x in enumerate(xs)]
        return fn(od.Tape(), *[od.Var(m) for m in moved]).value

    return float(np.sum(c * (at(h) - at(-h))) / (2 * h)), d


rng0 = np.random.default_rng(0)
_A, _B = rng0.normal(size=(2, 3, 4)), rng0.normal(size=(4, 5))
_Q, _K, _VV = (rng0.normal(size=(2, 5, 2, 4)) for _ in range(3))
_COS, _SIN = od.rope_tables(5, od.keras_hub_inverse_frequencies(4, 10000.0))
_ALLOWED = od.allowed_positions(np.array([[0, 1, 1, 1, 1], [1] * 5]), window=3)

#: Primitives whose rule is the true gradient: name -> (function of Vars, inputs).
TRUE_GRADIENT = {
    "add with a broadcast constant": (lambda t, a: od.add(t, a, np.arange(4.0)), [_A]),
    "reshape": (lambda t, a: od.reshape(t, a, (6, 4)), [_A]),
    "transpose": (lambda t, a: od.transpose(t, a, (2, 0, 1)), [_A]),
    "getitem": (lambda t, a: od.getitem(t, a, (..., slice(1, 3))), [_A]),
    "concat": (lambda t, a: od.concat(t, [od.getitem(t, a, (..., slice(2, None))), a], axis=-1), [_A]),
    "repeat (GQA)": (lambda t, a: od.repeat(t, a, 2, axis=1), [_A]),
    "total": (lambda t, a: od.total(t, a, axis=0), [_A]),
    "softmax, masked": (lambda t, q: od.softmax(t, od.getitem(t, od.reshape(t, q, (2, 5, 8)), (..., slice(0, 5))),
                                                _ALLOWED), [_Q]),
    "softmax, masked, empty rows uniform": (
        lambda t, q: od.softmax(t, od.getitem(t, od.reshape(t, q, (2, 5, 8)), (..., slice(0, 5))), _ALLOWED, True),
        [_Q]),
    "top-k selection": (lambda t, a: od.top_k_select(t, a, 2), [_A]),
    "linear einsum": (lambda t, a: od.einsum(t, "bsi,ij->bsj", a, _B), [_A]),
    "Dense without epsilon": (lambda t, a: od.kernel_layer(t, a, "...i,ij->...j", _B, np.ones(5)), [_A]),
    "mul by a constant": (lambda t, a: od.mul(t, a, np.linspace(-1, 2, 4)), [_A]),
    "RoPE": (lambda t, q: od.rope(t, q, _COS, _SIN), [_Q]),
}


@pytest.mark.parametrize("name", TRUE_GRADIENT)
def test_primitive_is_its_forwards_gradient(name):
    fn, xs = TRUE_GRADIENT[name]
    _, c, grads = _vjp(fn, *xs)
    for i, g in enumerate(grads):
        fd, d = _directional(fn, xs, i, c)
        assert np.isclose(np.sum(g * d), fd, rtol=1e-6, atol=1e-9), name


def test_products_of_signals_share_by_the_uniform_rule():
    """Two signals: each operand gets half of its true gradient (the other held), so half of the
    product's relevance for a bilinear map; a constant factor keeps the whole gradient."""
    for fn, xs in ((lambda t, a, b: od.einsum(t, "bsi,ij->bsj", a, b), [_A, _B]),
                   (lambda t, a, b: od.mul(t, a, b), [_A, rng0.normal(size=(2, 3, 4))])):
        y, c, grads = _vjp(fn, *xs)
        for i, g in enumerate(grads):
            fd, d = _directional(fn, xs, i, c)
            assert np.isclose(np.sum(g * d), fd / 2, rtol=1e-6)
            assert np.isclose(np.sum(xs[i] * g), np.sum(c * y) / 2, rtol=1e-9)


@pytest.mark.parametrize("convention", [od.ATTNLRP, od.CP])
def test_attention_gives_query_key_value_their_conventions_share(convention):
    """AttnLRP: query and key 1/4, value 1/2 of the true gradient (LXT 2.1); CP-LRP: query and
    key nothing, the value all of it (the attention weights held)."""

    def fn(t, q, k, v):
        return od.attention(t, q, k, v, _ALLOWED, 0.5, convention)

    xs = [_Q, _K, _VV]
    _, c, grads = _vjp(fn, *xs)
    shares = (0.25, 0.25, 0.5) if convention == od.ATTNLRP else (0.0, 0.0, 1.0)

    def true_attention(t, q, k, v):
        return od.attention(t, q, k, v, _ALLOWED, 0.5, od.ATTNLRP)

    for i, (g, share) in enumerate(zip(grads, shares)):
        fd, d = _directional(true_attention, xs, i, c)
        assert np.isclose(np.sum(g * d), share * fd, rtol=1e-6, atol=1e-10)


def test_identity_and_epsilon_rules():
    """The identity rule passes relevance unchanged (``x g_x = y g_y`` up to its 1e-9
    stabilizer), the tanh of a soft cap included; the epsilon rule scales the gradient by
    ``z / (z + eps sign z)``."""
    x = rng0.normal(size=(3, 7))
    for fn in (od.silu, np.tanh, lambda z: od.gelu(z, True), lambda z: od.gelu(z, False), od.relu):
        y, c, (g,) = _vjp(lambda t, a, fn=fn: od.identity(t, a, fn), x)
        np.testing.assert_allclose(x * g, y * c, rtol=1e-6, atol=1e-12)
    _, c, (g,) = _vjp(lambda t, a: od.epsilon(t, a, 0.1), x)
    np.testing.assert_allclose(g, c * x / (x + 0.1 * np.where(x >= 0, 1, -1)), rtol=1e-12)


def test_held_denominators_are_the_gradient_of_the_frozen_map():
    """RMSNorm, LayerNorm (the mean keeps its gradient) and a division by a signal: the gradient
    of the map with the denominator frozen at the input's value."""
    x, w, b = rng0.normal(size=(2, 3, 4)), rng0.normal(size=4), rng0.normal(size=4)
    rms0 = np.sqrt(np.mean(x ** 2, axis=-1, keepdims=True) + 1e-6)
    std0 = np.sqrt(np.var(x, axis=-1, keepdims=True) + 1e-5)
    den0 = x.sum(axis=-1, keepdims=True)
    cases = (
        (lambda t, a: od.rms_norm(t, a, w, 1e-6), lambda t, a: od.mul(t, a, w / rms0)),
        (lambda t, a: od.layer_norm(t, a, w, b, 1e-5),
         lambda t, a: od.add(t, od.mul(t, od.add(t, a, od.mul(t, od.einsum(t, "bsi,ij->bsj", a, np.full((4, 4), 0.25)),
                                                            -1.0)), w / std0), b)),
        (lambda t, a: od.divide_held(t, a, a.value.sum(axis=-1, keepdims=True)),
         lambda t, a: od.mul(t, a, 1.0 / den0)),
    )
    for rule, frozen in cases:
        y, c, (g,) = _vjp(rule, x)
        np.testing.assert_allclose(y, frozen(od.Tape(), od.Var(x)).value, rtol=1e-10)
        fd, d = _directional(frozen, [x], 0, c)
        assert np.isclose(np.sum(g * d), fd, rtol=1e-6)


# -- the families -----------------------------------------------------------------------------
def _randomize(backbone, rng):
    """Every trainable weight random: kernels N(0, 0.25^2), biases N(0, 0.1^2), norm scales
    1 + N(0, 0.1^2) (SmolLM3's stored RoPE frequencies, not trainable, stay)."""
    for w in backbone.trainable_weights:
        name = w.path.split("/")[-1]
        if name in ("gamma", "scale"):
            w.assign(1.0 + 0.1 * rng.normal(size=w.shape))
        elif name in ("beta", "bias"):
            w.assign(0.1 * rng.normal(size=w.shape))
        else:
            w.assign(0.25 * rng.normal(size=w.shape))


@functools.cache
def family_block(family: str):
    """``(backbone, block, mask keyword, model, readout, X)`` for one family, in float64."""
    import keras_hub

    base, extra = {**VARIANTS, **LOCAL_VARIANTS}.get(family, (family, {}))
    cls = getattr(keras_hub.models, base + "Backbone")
    floatx = keras.config.floatx()
    keras.config.set_floatx("float64")  # SmolLM3's layers take the default, not the backbone's dtype
    try:
        backbone = cls(vocabulary_size=V, num_layers=LAYERS, hidden_dim=HIDDEN, intermediate_dim=INTERMEDIATE,
                       dtype="float64", **CONFIGS[base], **extra)
    finally:
        keras.config.set_floatx(floatx)
    rng = np.random.default_rng(0)
    _randomize(backbone, rng)
    block = backbone.transformer_layers[0]
    node = block._inbound_nodes[0]  # how the backbone calls it
    keyword = next(k for k in node.arguments.kwargs if "mask" in k)
    inside = keras.Model(backbone.input, [node.arguments.args[0] if node.arguments.args else
                                           node.arguments.kwargs["inputs"], node.outputs[0]])
    hidden = keras.Input((SEQ, HIDDEN), dtype="float64", name="hidden")
    mask = keras.Input((SEQ,), dtype="int32", name="padding_mask")
    flat = keras.layers.Flatten(dtype="float64")(block(hidden, **{keyword: mask}))
    logit = keras.layers.Dense(1, use_bias=False, dtype="float64", name="readout")(flat)
    model = keras.Model({"hidden": hidden, "padding_mask": mask}, logit)
    readout = rng.normal(size=(SEQ * HIDDEN, 1))
    model.get_layer("readout").kernel.assign(readout)
    X = rng.normal(size=(2, SEQ, HIDDEN))
    return backbone, block, keyword, inside, model, readout.reshape(1, SEQ, HIDDEN), X


@pytest.mark.parametrize("family", FAMILIES)
def test_the_block_alone_is_the_block_in_the_backbone_and_the_oracles_forward(family):
    _, block, keyword, inside, model, readout, X = family_block(family)
    ids = np.array([[0, 0, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6]], "int32")
    block_in, block_out = (np.asarray(a) for a in inside({"token_ids": ids, "padding_mask": MASK}))
    np.testing.assert_allclose(np.asarray(block(block_in, **{keyword: MASK})), block_out, rtol=1e-12, atol=1e-12)
    Y = np.asarray(block(X, **{keyword: MASK}))
    assert relative(od.block_output(block, X, MASK)[2].value, Y) < 1e-6  # float32 softmax and norms inside
    logit = np.asarray(model({"hidden": X, "padding_mask": MASK}))[:, 0]
    np.testing.assert_allclose(logit, np.sum(Y * readout, axis=(1, 2)), rtol=1e-10)


#: Same oracle as Mistral's but for names and q/k/v biases: run with ``-m slow`` (the default run
#: stays under a minute).
_SLOW = ("Qwen", "Phi3")


@pytest.mark.parametrize("convention", [od.ATTNLRP, od.CP])
@pytest.mark.parametrize("family", [pytest.param(f, marks=pytest.mark.slow) if f in _SLOW else f for f in FAMILIES])
def test_innv_matches_the_oracle(family, convention):
    """innv's relevance at the block's input equals the oracle's (1e-4 relative), and differs
    from the oracle of the other convention (the comparison can tell the rules apart)."""
    import innv_core

    _, block, _, _, model, readout, X = family_block(family)
    R = innv_core.create_analyzer(ANALYZERS[convention], model).analyze({"hidden": X, "padding_mask": MASK})
    R = R["hidden"]
    want = od.block_relevance(block, X, MASK, readout, convention, EPS)
    assert relative(R, want) < 1e-4
    other = od.block_relevance(block, X, MASK, readout, od.CP if convention == od.ATTNLRP else od.ATTNLRP, EPS)
    assert relative(R, other) > 1e-2
    assert np.isfinite(R).all()


# -- the fixes these comparisons led to --------------------------------------------------------
class CastGate(keras.layers.Layer):
    """keras-hub's SwiGLU: the SiLU computed in float32, the gate cast back to the compute dtype."""

    def build(self, shape):
        self.gate = keras.layers.Dense(6, use_bias=False, dtype=self.dtype_policy)
        self.up = keras.layers.Dense(6, use_bias=False, dtype=self.dtype_policy)
        self.gate.build(shape)
        self.up.build(shape)

    def call(self, x):
        from keras import ops

        g = ops.cast(ops.silu(ops.cast(self.gate(x), "float32")), self.compute_dtype)
        return ops.multiply(self.up(x), g)


def test_cp_lrp_holds_a_gate_cast_to_the_compute_dtype():
    """In a float64 (or bfloat16) model the cast back is a new tensor; CP-LRP still holds the
    gate, so the up projection gets all of the product's relevance: LRP-z through the layer is
    ``x * d(up(x) * gate(x0)) / dx``. Before, the cast hid the gate and the product was shared."""
    import innv_core

    keras.utils.set_random_seed(3)
    x_in = keras.Input((4,), dtype="float64")
    layer = CastGate(dtype="float64")
    model = keras.Model(x_in, keras.layers.Dense(1, use_bias=False, dtype="float64")(layer(x_in)))
    X = np.random.default_rng(1).normal(size=(3, 4))
    R = innv_core.create_analyzer("lrp.cp_lrp", model, epsilon=1e-12).analyze(X)
    up, gate, w = (np.asarray(k, np.float64) for k in (layer.up.kernel, layer.gate.kernel, model.layers[-1].kernel))
    held = od.silu(X @ gate)
    np.testing.assert_allclose(R, X * ((held * w[:, 0]) @ up.T), rtol=1e-6)


@pytest.mark.parametrize("qualified", ["keras_hub.src.models.gemma.rms_normalization.RMSNormalization",
                                       "keras_hub.src.models.mistral.mistral_layer_norm.MistralLayerNormalization"])
def test_decoder_rms_norm_handlers_work_in_float64(qualified):
    """The handlers compute in float32 and return the layer's compute dtype, as the layers do;
    before, Gemma's ``(1 + scale)`` in float64 met the float32 normalisation and failed."""
    import importlib

    from innv_core.registry import get_registry

    module, name = qualified.rsplit(".", 1)
    norm = getattr(importlib.import_module(module), name)(epsilon=1e-6, dtype="float64")
    x = np.random.default_rng(0).normal(size=(2, 5))
    norm.build(x.shape)
    norm.scale.assign(np.random.default_rng(1).normal(size=5))
    y = get_registry().layer_handler(type(norm)).linearized(norm, keras.ops.convert_to_tensor(x))
    assert keras.backend.standardize_dtype(y.dtype) == "float64"
    np.testing.assert_allclose(np.asarray(y), np.asarray(norm(x)), rtol=1e-6)
