"""LRP through attention: innv's gradient rules against a relevance-form numpy oracle.

The oracle below propagates relevance explicitly (float64, one sample at a time): the epsilon
rule at every linear map, the z-rule over the terms of each product of two signals followed by
the uniform split, AttnLRP's softmax rule ``R_s = s * (R_A - A * sum(R_A))`` (or nothing for
CP-LRP), LayerNorm with its standard deviation held. innv computes the same quantities as
input x modified gradient inside the opened layers (docs/opening-layers.md): a different
formulation, so agreement checks both.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import innv_core
from innv_core.errors import InvalidParameterError, NotAnalyzableModelError

L = keras.layers
T, D, HEADS, KEY_DIM = 5, 6, 2, 3


def stab(z, eps):
    return z + eps * np.where(z >= 0, 1.0, -1.0)


def eps_linear(x, W, z, R, eps):
    """x: (..., I), W: (I, O), z = x @ W + b: (..., O); epsilon rule."""
    return x * ((R / stab(z, eps)) @ W.T)


def bilinear(a, b, z, R, eq_terms):
    """Relevance of a product of two signals: z-rule over its terms, then half to each operand."""
    terms = eq_terms(a, b)  # the individual products, summed over the contracted axis give z
    share = terms / np.where(z == 0, 1.0, z)[..., None] * R[..., None]
    return share


def mha_oracle(x, layer, R_out, eps, convention, mask=None):
    """Relevance at the self-attention input ``x`` (T, D) of ``layer`` from ``R_out`` (T, D)."""
    Wq, bq = [w.numpy() for w in (layer._query_dense.kernel, layer._query_dense.bias)]
    Wk, bk = [w.numpy() for w in (layer._key_dense.kernel, layer._key_dense.bias)]
    Wv, bv = [w.numpy() for w in (layer._value_dense.kernel, layer._value_dense.bias)]
    Wo, bo = [w.numpy() for w in (layer._output_dense.kernel, layer._output_dense.bias)]
    dk = Wq.shape[2]
    q = np.einsum("td,dhk->thk", x, Wq) + bq
    k = np.einsum("td,dhk->thk", x, Wk) + bk
    v = np.einsum("td,dhk->thk", x, Wv) + bv
    qs = q / np.sqrt(dk)
    S = np.einsum("thk,shk->hts", qs, k)
    if mask is not None:
        S = np.where(mask[None], S, -1e9)
    A = np.exp(S - S.max(-1, keepdims=True))
    A = A / A.sum(-1, keepdims=True)
    ctx = np.einsum("hts,shk->thk", A, v)
    out = np.einsum("thk,hkd->td", ctx, Wo) + bo
    # output projection (epsilon rule)
    R_ctx = ctx * np.einsum("td,hkd->thk", R_out / stab(out, eps), Wo)
    # ctx[t,h,j] = sum_s A[h,t,s] v[s,h,j]: z-rule over s, then uniform (or all to v for CP)
    terms = np.einsum("hts,shj->thjs", A, v)
    share = terms / np.where(ctx == 0, 1.0, ctx)[..., None] * R_ctx[..., None]  # (t,h,j,s)
    if convention == "attnlrp":
        R_A = 0.5 * np.einsum("thjs->hts", share)
        R_v = 0.5 * np.einsum("thjs->shj", share)
        R_S = S * (R_A - A * R_A.sum(-1, keepdims=True))
        if mask is not None:
            R_S = np.where(mask[None], R_S, 0.0)
        # S[h,t,s] = sum_i qs[t,h,i] k[s,h,i]
        terms = np.einsum("thi,shi->htsi", qs, k)
        share = terms / np.where(S == 0, 1.0, S)[..., None] * R_S[..., None]
        R_qs = 0.5 * np.einsum("htsi->thi", share)
        R_k = 0.5 * np.einsum("htsi->shi", share)
    else:
        R_v = np.einsum("thjs->shj", share)
        R_qs = R_k = np.zeros_like(q)
    R_x = np.zeros_like(x)
    for R_p, p, W in ((R_qs, q, Wq), (R_k, k, Wk), (R_v, v, Wv)):  # q * 1/sqrt(dk) passes R_qs
        R_x += x * np.einsum("thk,dhk->td", R_p / stab(p, eps), W)
    return R_x


def layer_norm_oracle(x, layer, R, eps=1e-9):
    gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
    mu = x.mean(-1, keepdims=True)
    sigma = np.sqrt(x.var(-1, keepdims=True) + layer.epsilon)
    y = (x - mu) / sigma * gamma + beta
    s = R / stab(y, eps) * gamma / sigma
    return x * (s - s.mean(-1, keepdims=True))


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for w in model.weights:
        shape = tuple(w.shape)
        if "gamma" in w.path:
            w.assign(1.0 + 0.1 * rng.standard_normal(shape))
        elif len(shape) <= 2 and ("bias" in w.path or "beta" in w.path):
            w.assign(0.2 * rng.standard_normal(shape))
        else:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            w.assign(rng.standard_normal(shape) / np.sqrt(max(fan_in, 1)))


def build(mask_input=False, causal=False):
    x = keras.Input((T, D), dtype="float64")
    inputs = [x]
    kwargs = {"use_causal_mask": True} if causal else {}
    if mask_input:
        m = keras.Input((T, T), dtype="bool")
        inputs.append(m)
        kwargs["attention_mask"] = m
    mha = L.MultiHeadAttention(HEADS, KEY_DIM, dtype="float64", name="mha")
    a = mha(x, x, **kwargs)
    h = L.Add(dtype="float64")([x, a])
    h = L.LayerNormalization(dtype="float64", name="ln")(h)
    out = L.Dense(3, dtype="float64", name="head")(L.Flatten(dtype="float64")(h))
    model = keras.Model(inputs, out)
    randomize(model)
    return model


def oracle(model, X, neuron, eps, convention, mask=None):
    mha, ln, head = (model.get_layer(n) for n in ("mha", "ln", "head"))
    out = []
    for i, x in enumerate(X):
        a = mha(x[None], x[None], attention_mask=None if mask is None else mask[i][None]).numpy()[0]
        s = x + a
        mu = s.mean(-1, keepdims=True)
        y = (s - mu) / np.sqrt(s.var(-1, keepdims=True) + ln.epsilon) * ln.gamma.numpy() + ln.beta.numpy()
        W, b = head.kernel.numpy(), head.bias.numpy()
        logits = y.reshape(-1) @ W + b
        j = int(np.argmax(logits)) if neuron is None else neuron
        R = np.zeros_like(logits)
        R[j] = logits[j]
        R_y = eps_linear(y.reshape(-1), W, logits, R, eps).reshape(T, D)
        R_s = layer_norm_oracle(s, ln, R_y)
        R_x = x / s * R_s  # Add: proportional split
        R_a = a / s * R_s
        out.append(R_x + mha_oracle(x, mha, R_a, eps, convention, None if mask is None else mask[i]))
    return np.stack(out)


@pytest.fixture(scope="module")
def model():
    return build()


@pytest.mark.parametrize("convention", ["attnlrp", "cp"])
@pytest.mark.parametrize("eps", [1e-3, 1e-9])
def test_multi_head_attention_matches_oracle(model, convention, eps):
    X = np.random.default_rng(1).standard_normal((3, T, D))
    analyzer = innv_core.create_analyzer("lrp.epsilon", model, epsilon=eps, attention=convention,
                                         neuron_selection_mode="index")
    top = np.argmax(np.asarray(model(X)), axis=1)
    for neuron, selection in ((None, top), (1, 1)):  # each sample's max logit, a fixed neuron
        want = oracle(model, X, neuron, eps, convention)
        got = analyzer.analyze(X, neuron_selection=selection)
        assert np.abs(got - want).max() / np.abs(want).max() < 1e-6


def test_attention_mask_is_respected():
    model = build(mask_input=True)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((2, T, D))
    M = np.tril(np.ones((T, T), bool))[None].repeat(2, 0)
    analyzer = innv_core.create_analyzer("lrp.attnlrp", model)
    got = analyzer.analyze([X, M])
    want = oracle(model, X, None, 1e-9, "attnlrp", mask=M)
    assert got[1] is None or not np.any(got[1])  # the boolean mask input gets nothing
    assert np.abs(got[0] - want).max() / np.abs(want).max() < 1e-6


@pytest.mark.parametrize("convention", ["attnlrp", "cp"])
def test_causal_mask_is_respected(convention):
    model = build(causal=True)
    X = np.random.default_rng(6).standard_normal((2, T, D))
    causal = np.tril(np.ones((T, T), bool))[None].repeat(2, 0)
    got = innv_core.create_analyzer("lrp.epsilon", model, epsilon=1e-9, attention=convention).analyze(X)
    want = oracle(model, X, None, 1e-9, convention, mask=causal)
    assert np.abs(got - want).max() / np.abs(want).max() < 1e-6


def test_attnlrp_and_cp_analyzers_are_lrp_epsilon_with_their_convention(model):
    X = np.random.default_rng(3).standard_normal((2, T, D))
    for name, convention in (("lrp.attnlrp", "attnlrp"), ("lrp.cp_lrp", "cp")):
        got = innv_core.create_analyzer(name, model).analyze(X)
        want = innv_core.create_analyzer("lrp.epsilon", model, epsilon=1e-9, attention=convention).analyze(X)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    with pytest.raises(InvalidParameterError, match="attention='attnlrp'"):
        innv_core.create_analyzer("lrp.cp_lrp", model, attention="attnlrp")
    with pytest.raises(InvalidParameterError, match="'attnlrp'.*'cp'"):
        innv_core.create_analyzer("lrp.epsilon", model, attention="softmax")


def test_cp_lrp_conserves_without_biases():
    """CP-LRP is conservative: with every bias zero, relevance sums to the logit."""
    model = build()
    for w in model.weights:
        if "bias" in w.path or "beta" in w.path:
            w.assign(np.zeros(w.shape))
    X = np.random.default_rng(4).standard_normal((3, T, D))
    R = innv_core.create_analyzer("lrp.cp_lrp", model).analyze(X)
    logits = model(X).numpy().max(1)
    np.testing.assert_allclose(R.reshape(3, -1).sum(1), logits, rtol=1e-6)


class RawSquare(keras.layers.Layer):
    """A subclassed layer doing something no rule covers (a square through TF directly)."""

    def call(self, x):
        import tensorflow as tf

        return tf.square(x)


class Scaled(keras.layers.Layer):
    """A subclassed layer made of covered pieces: a Dense and a keras.ops activation."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = L.Dense(D)

    def call(self, x):
        return keras.ops.gelu(self.dense(x)) * 0.5


def test_subclassed_layers_are_opened_and_uncovered_ops_refused():
    x = keras.Input((D,))
    ok = keras.Model(x, L.Dense(2)(Scaled()(x)))
    X = np.random.default_rng(5).standard_normal((2, D)).astype("float32")
    R = innv_core.create_analyzer("lrp.epsilon", ok, epsilon=1e-9).analyze(X)
    # Dense -> gelu (identity rule) -> * 0.5 -> Dense: LRP-z of a chain with biases zero at init
    assert np.isfinite(R).all() and np.abs(R).max() > 0
    bad = keras.Model(x, L.Dense(2)(RawSquare()(x)))
    with pytest.raises(NotAnalyzableModelError, match="raw_square.*Square.*innv_register_ops"):
        innv_core.create_analyzer("lrp.epsilon", bad)  # refused before any analysis
    lenient = innv_core.create_analyzer("lrp.epsilon", bad, disable_model_checks=True)
    assert np.isfinite(lenient.analyze(X)).all()


class GatedMLP(keras.layers.Layer):
    """``down(silu(gate(x)) * up(x))`` written with keras.ops (Llama-style blocks) or with the
    Python operator (``operator=True``: keras-hub's Gemma and SmolLM3 write ``gelu(x1) * x2``)."""

    def __init__(self, width, hidden, operator=False, **kwargs):
        super().__init__(**kwargs)
        self.operator = operator
        self.gate = L.Dense(hidden, use_bias=False, dtype=self.dtype_policy)
        self.up = L.Dense(hidden, use_bias=False, dtype=self.dtype_policy)
        self.down = L.Dense(width, use_bias=False, dtype=self.dtype_policy)

    def call(self, x):
        gate, up = keras.ops.silu(self.gate(x)), self.up(x)
        return self.down(gate * up if self.operator else keras.ops.multiply(gate, up))


@pytest.mark.parametrize("operator", [False, True], ids=["ops.multiply", "operator"])
@pytest.mark.parametrize("convention", ["attnlrp", "cp"])
def test_gated_mlp_uniform_or_gate_held(convention, operator):
    """AttnLRP: half of the product's relevance to each branch (the gate through the identity
    rule); CP-LRP: the gate (an activation's output) is held and the up branch takes it all.
    The same with ``*``: before, innv refused it ("a product of two signals outside keras.ops")."""
    x = keras.Input((D,), dtype="float64")
    mlp = GatedMLP(D, 5, operator=operator, dtype="float64")
    model = keras.Model(x, L.Dense(2, use_bias=False, dtype="float64")(mlp(x)))
    randomize(model, seed=7)
    X = np.random.default_rng(8).standard_normal((3, D))
    got = innv_core.create_analyzer("lrp.epsilon", model, epsilon=1e-12, attention=convention,
                                    neuron_selection_mode="index").analyze(X, neuron_selection=0)
    Wg, Wu, Wd = (v.kernel.numpy() for v in (mlp.gate, mlp.up, mlp.down))
    Wh = model.layers[-1].kernel.numpy()
    gp, u = X @ Wg, X @ Wu
    g = gp / (1 + np.exp(-gp))
    h = g * u
    y = h @ Wd
    R_y = y * Wh[:, 0]  # z-rule of the bias-free head for logit 0: y * W^T (R / z), R = z
    R_h = h * ((R_y / y) @ Wd.T)
    share = 0.5 if convention == "attnlrp" else 1.0
    want = X * ((share * R_h / u) @ Wu.T)
    if convention == "attnlrp":
        want += X * ((0.5 * R_h / gp) @ Wg.T)  # identity rule at silu, then the gate projection
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-10)


def test_time_distributed_is_opened():
    """TimeDistributed(Dense(relu), no bias): LRP-epsilon (tiny epsilon) equals input x gradient."""
    x = keras.Input((T, D))
    h = L.TimeDistributed(L.Dense(3, activation="relu", use_bias=False))(x)
    model = keras.Model(x, L.Dense(2, use_bias=False)(L.Flatten()(h)))
    X = np.random.default_rng(9).random((2, T, D)).astype("float32")
    R = innv_core.create_analyzer("lrp.epsilon", model, epsilon=1e-9).analyze(X)
    G = innv_core.create_analyzer("input_t_gradient", model).analyze(X)
    np.testing.assert_allclose(R, G, rtol=1e-5, atol=1e-7)


class HeldActivation(keras.layers.Layer):
    """A Dense then an activation, the activation either held as an attribute (``self.act =
    keras.ops.silu``, as keras-hub's decoders keep it) or looked up at call time."""

    def __init__(self, held: bool, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(6)
        self.held = held
        self.act = keras.ops.silu if held else None

    def call(self, x):
        h = self.dense(x)
        return self.act(h) if self.held else keras.ops.silu(h)


def test_an_op_held_as_a_layer_attribute_gets_its_handler():
    """Both spellings get the identity rule for SiLU: the same relevance; before, the held
    function escaped the module patches and the layer was refused (Sigmoid uncovered)."""
    results = []
    for held in (True, False):
        keras.utils.set_random_seed(3)
        x_in = keras.Input((4,))
        model = keras.Model(x_in, keras.layers.Dense(2)(HeldActivation(held)(x_in)))
        x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
        results.append(innv_core.create_analyzer("lrp.attnlrp", model).analyze(x))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
    assert np.abs(results[0]).max() > 0


class Operators(keras.layers.Layer):
    """Products and a normalisation written with Python operators: ``2 * a * b`` (reflected
    ``__rmul__`` with a number), ``a @ b`` (two signals) and ``p / sum(p)`` (a signal denominator,
    as a mixture-of-experts router renormalises its top-k weights)."""

    def __init__(self, which, **kwargs):
        super().__init__(**kwargs)
        self.which = which
        self.a = L.Dense(D, use_bias=False, dtype=self.dtype_policy)
        self.b = L.Dense(D, use_bias=False, dtype=self.dtype_policy)

    def call(self, x):
        a, b = self.a(x), self.b(x)
        if self.which == "mul":
            return 2.0 * a * b
        if self.which == "matmul":
            return a[:, :, None] @ b[:, None, :]
        return x / keras.ops.sum(x, axis=-1, keepdims=True)


@pytest.mark.parametrize("which", ["mul", "matmul"])
def test_products_written_with_operators_get_the_uniform_rule(which):
    """A product of two linear maps of x is homogeneous of degree 2 (x . grad y = 2y): the
    uniform rule gives each operand half, so LRP-z conserves it exactly: sum R = y."""
    x = keras.Input((D,), dtype="float64")
    layer = Operators(which, dtype="float64")
    y = L.Flatten(dtype="float64")(layer(x)) if which == "matmul" else layer(x)
    model = keras.Model(x, y)
    randomize(model, seed=11)
    X = np.random.default_rng(12).standard_normal((3, D))
    R = innv_core.create_analyzer("lrp.attnlrp", model, neuron_selection_mode="index").analyze(
        X, neuron_selection=1)
    np.testing.assert_allclose(R.sum(axis=1), model(X).numpy()[:, 1], rtol=1e-6)  # inner eps 1e-9


def test_a_signal_denominator_is_held():
    """``p / sum(p)``, then a bias-free Dense: with the denominator held the quotient is a
    diagonal scaling, so LRP-z gives input i the relevance ``(x_i / s) w_i`` (closed form)."""
    x = keras.Input((D,), dtype="float64")
    head = L.Dense(2, use_bias=False, dtype="float64")
    model = keras.Model(x, head(Operators("div", dtype="float64")(x)))
    randomize(model, seed=13)
    X = np.random.default_rng(14).random((3, D)) + 0.1
    R = innv_core.create_analyzer("lrp.attnlrp", model, neuron_selection_mode="index").analyze(
        X, neuron_selection=0)
    want = X / X.sum(axis=1, keepdims=True) * head.kernel.numpy()[:, 0]
    np.testing.assert_allclose(R, want, rtol=1e-6)


def test_operator_patches_are_removed_after_the_analysis():
    import tensorflow as tf

    before = {name: vars(tf.Tensor)[name] for name in ("__mul__", "__rmul__", "__truediv__", "__matmul__")}
    x = keras.Input((D,))
    model = keras.Model(x, Operators("mul")(x))
    innv_core.create_analyzer("lrp.attnlrp", model).analyze(np.ones((1, D), "float32"))
    assert {name: vars(tf.Tensor)[name] for name in before} == before
