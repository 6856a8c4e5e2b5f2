"""Numpy oracles of one keras-hub decoder block under AttnLRP and CP-LRP (float64, by hand).

Relevance is input x modified gradient (LXT 2.1's efficient AttnLRP, Achtibat et al. 2024): a
small reverse-mode :class:`Tape` whose primitives each carry the backward pass of their LRP rule,
written out here. Nothing in this module calls TensorFlow, Keras or innv; the family functions
only read a Keras block's weights and settings (``np.asarray(layer.kernel)``).

The rules, as LXT 2.1 defines them (and ``docs/layer-families.md`` claims for innv):

* a product with constants (a weight, cos/sin, a scale, a mask), sums and moving values: the true
  gradient (the z-rule); the output of a Keras kernel layer (Dense, EinsumDense) also gets the
  epsilon rule, its gradient scaled by ``z / (z + eps * sign(z))`` (:func:`epsilon`);
* elementwise activations and the tanh of a soft cap: the identity rule, gradient ``f(x) / x``
  (:func:`identity`);
* a product of ``k`` signals (``q . k``, ``A . v``, ``gate * up``, ``expert * weight``): the
  uniform rule, each signal ``1/k`` of its true gradient (:func:`einsum`, :func:`mul`); attention's
  query and key thus get 1/4 and the value 1/2;
* RMSNorm and LayerNorm: the denominator held (:func:`rms_norm`, :func:`layer_norm`; LayerNorm's
  mean keeps its gradient); a division by a signal holds the divisor (:func:`divide_held`);
* the softmax: its true gradient (:func:`softmax`); ALiBi: a constant added.

CP-LRP (Ali et al. 2022, LXT's ``cp`` patches) is the same tape with operands held: :func:`hold`
turns a value into a plain array, a constant to every primitive (the attention weights, the
activated gate of a gated MLP, and with them the router's weights of a mixture of experts).

Each family function mirrors the keras-hub 0.32 ``call`` of the block (TensorFlow on CPU, so the
unfused attention path) and returns the block's output :class:`Var`; :func:`block_relevance`
runs the backward pass from a fixed read-out. ``tests/test_decoder_oracles.py`` checks every
primitive against finite differences (or, where the rule is not the gradient, against the rule's
closed form) and every family against innv.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: innv's stabilizer of the identity rule (``f(x) / (x + 1e-9 * sign(x))``), LXT's ``1e-10``-like.
IDENTITY_EPSILON = 1e-9
ATTNLRP, CP = "attnlrp", "cp"


# -- the tape --------------------------------------------------------------------------------
class Var:
    """A value computed on the tape (a signal)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = np.asarray(value, np.float64)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape


class Tape:
    """Records ``(output, parents, vjp)``; :meth:`gradient` runs them backwards."""

    def __init__(self) -> None:
        self._ops: list[tuple[Var, tuple[Any, ...], Callable[[np.ndarray], Sequence[Any]]]] = []

    def record(self, value: Any, parents: Sequence[Any], vjp: Callable[[np.ndarray], Sequence[Any]]) -> Var:
        out = Var(value)
        self._ops.append((out, tuple(parents), vjp))
        return out

    def gradient(self, out: Var, g_out: np.ndarray, wrt: Sequence[Var]) -> list[np.ndarray]:
        grads: dict[int, np.ndarray] = {id(out): np.asarray(g_out, np.float64)}
        for node, parents, vjp in reversed(self._ops):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            for parent, gp in zip(parents, vjp(g)):
                if isinstance(parent, Var) and gp is not None:
                    grads[id(parent)] = grads[id(parent)] + gp if id(parent) in grads else gp
        return [grads.get(id(w), np.zeros_like(w.value)) for w in wrt]


def value(x: Any) -> np.ndarray:
    return x.value if isinstance(x, Var) else np.asarray(x, np.float64)


def hold(x: Any) -> np.ndarray:
    """``x`` as a constant: no gradient, so no relevance, reaches it."""
    return value(x)


def sign0(z: np.ndarray) -> np.ndarray:
    """``sign(z)`` with ``sign(0) = +1``."""
    return np.where(z >= 0, 1.0, -1.0)


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over the axes broadcasting added to an operand of ``shape``."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


# -- primitives: the true gradient -----------------------------------------------------------
def add(t: Tape, *terms: Any) -> Var:
    """A sum (constants such as a bias or ALiBi keep their share): the true gradient."""
    shapes = [value(a).shape for a in terms]
    return t.record(sum(value(a) for a in terms), terms, lambda g: [_unbroadcast(g, s) for s in shapes])


def reshape(t: Tape, x: Var, shape: Sequence[int]) -> Var:
    return t.record(x.value.reshape(shape), (x,), lambda g: [g.reshape(x.shape)])


def transpose(t: Tape, x: Var, axes: Sequence[int]) -> Var:
    inverse = np.argsort(axes)
    return t.record(np.transpose(x.value, axes), (x,), lambda g: [np.transpose(g, inverse)])


def getitem(t: Tape, x: Var, index: Any) -> Var:
    """Basic slicing (``x[..., :d]``): the gradient lands where the values came from."""

    def vjp(g: np.ndarray) -> list[np.ndarray]:
        out = np.zeros_like(x.value)
        out[index] = g
        return [out]

    return t.record(x.value[index], (x,), vjp)


def concat(t: Tape, xs: Sequence[Var], axis: int = -1) -> Var:
    sizes = np.cumsum([value(x).shape[axis] for x in xs])[:-1]
    return t.record(np.concatenate([value(x) for x in xs], axis=axis), xs,
                    lambda g: np.split(g, sizes, axis=axis))


def repeat(t: Tape, x: Var, n: int, axis: int) -> Var:
    """Grouped-query attention's copies of the key/value heads (``[h0, h0, h1, h1]``): the
    copies' gradients summed back."""

    def vjp(g: np.ndarray) -> list[np.ndarray]:
        shape = list(x.shape)
        shape[axis: axis + 1] = [shape[axis], n]
        return [g.reshape(shape).sum(axis=axis + 1)]

    return t.record(np.repeat(x.value, n, axis=axis), (x,), vjp)


def total(t: Tape, x: Var, axis: int) -> Var:
    """A sum over ``axis``: the true gradient (copied back along it)."""
    return t.record(x.value.sum(axis=axis), (x,), lambda g: [np.broadcast_to(np.expand_dims(g, axis), x.shape)])


def softmax(t: Tape, s: Var, allowed: np.ndarray | None = None, empty_rows_uniform: bool = False) -> Var:
    """Softmax over the last axis of ``where(allowed, s, -large)``, masked entries then 0 (Keras'
    ``Softmax(mask=)``); a row with nothing allowed is 0, or uniform over all entries as in the
    fused ``dot_product_attention`` (``empty_rows_uniform``). The true gradient,
    ``A * (g - sum(g * A))``, none to the masked entries."""
    if allowed is None:
        allowed = np.ones(s.shape, bool)
    x = np.where(allowed, s.value, -1e30)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    a = e / e.sum(axis=-1, keepdims=True)
    keep = allowed | (empty_rows_uniform & ~allowed.any(axis=-1, keepdims=True))
    a = np.where(keep, a, 0.0)
    return t.record(a, (s,), lambda g: [np.where(allowed, a * (g - (g * a).sum(axis=-1, keepdims=True)), 0.0)])


def top_k_select(t: Tape, p: Var, k: int) -> Var:
    """The ``k`` largest entries of the last axis kept, the others 0 (a gather: the gradient
    reaches the chosen entries; which ones is discrete and gets nothing)."""
    order = np.argsort(-p.value, axis=-1, kind="stable")[..., :k]
    chosen = np.zeros(p.shape, bool)
    np.put_along_axis(chosen, order, True, axis=-1)
    return t.record(np.where(chosen, p.value, 0.0), (p,), lambda g: [np.where(chosen, g, 0.0)])


# -- primitives: the rules -------------------------------------------------------------------
def einsum(t: Tape, equation: str, *operands: Any) -> Var:
    """``np.einsum`` of signals and constants. With one signal it is linear: the true gradient.
    With ``k`` signals, each gets ``1/k`` of its true gradient (the uniform rule)."""
    inputs, output = equation.split("->")
    subscripts = inputs.split(",")
    values = [value(o) for o in operands]
    k = sum(isinstance(o, Var) for o in operands)

    def vjp(g: np.ndarray) -> list[np.ndarray | None]:
        grads = []
        for i, o in enumerate(operands):
            if not isinstance(o, Var):
                grads.append(None)
                continue
            others = [s for j, s in enumerate(subscripts) if j != i]
            spec = ",".join([output, *others]) + "->" + subscripts[i]
            grads.append(np.einsum(spec, g, *[v for j, v in enumerate(values) if j != i]) / k)
        return grads

    return t.record(np.einsum(equation, *values), operands, vjp)


def mul(t: Tape, a: Any, b: Any) -> Var:
    """Elementwise ``a * b`` (broadcasting): a constant factor keeps the true gradient; two
    signals share by the uniform rule (1/2 each)."""
    va, vb = value(a), value(b)
    k = isinstance(a, Var) + isinstance(b, Var)
    return t.record(va * vb, (a, b), lambda g: [_unbroadcast(g * vb, va.shape) / k,
                                               _unbroadcast(g * va, vb.shape) / k])


def epsilon(t: Tape, z: Var, eps: float) -> Var:
    """A Keras kernel layer's output ``z`` (bias included) with the epsilon rule."""
    factor = z.value / (z.value + eps * sign0(z.value))
    return t.record(z.value, (z,), lambda g: [g * factor])


def identity(t: Tape, x: Var, fn: Callable[[np.ndarray], np.ndarray]) -> Var:
    """``fn(x)`` elementwise with the identity rule: the gradient ``f(x) / x`` (stabilized)."""
    y = fn(x.value)
    factor = y / (x.value + IDENTITY_EPSILON * sign0(x.value))
    return t.record(y, (x,), lambda g: [g * factor])


def divide_held(t: Tape, a: Var, b: Any) -> Var:
    """``a / b`` with the divisor held (the normalisations' rule)."""
    vb = value(b)
    return t.record(a.value / vb, (a,), lambda g: [_unbroadcast(g / vb, a.shape)])


def rms_norm(t: Tape, x: Var, scale: np.ndarray, eps: float) -> Var:
    """``x / sqrt(mean(x^2) + eps) * scale`` (last axis) with the root mean square held."""
    rms = np.sqrt(np.mean(x.value ** 2, axis=-1, keepdims=True) + eps)
    return t.record(x.value / rms * scale, (x,), lambda g: [g * scale / rms])


def layer_norm(t: Tape, x: Var, gamma: np.ndarray, beta: np.ndarray, eps: float) -> Var:
    """``(x - mean) / sqrt(var + eps) * gamma + beta`` with the standard deviation held (the mean
    keeps its gradient; LXT's ``layer_norm_forward``)."""
    centred = x.value - x.value.mean(axis=-1, keepdims=True)
    std = np.sqrt(np.mean(centred ** 2, axis=-1, keepdims=True) + eps)

    def vjp(g: np.ndarray) -> list[np.ndarray]:
        h = g * gamma / std
        return [h - h.mean(axis=-1, keepdims=True)]

    return t.record(centred / std * gamma + beta, (x,), vjp)


# -- building blocks made of primitives ------------------------------------------------------
def gelu(x: np.ndarray, approximate: bool) -> np.ndarray:
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def kernel_layer(t: Tape, x: Var, equation: str, kernel: Any, bias: Any = None, eps: float = 0.0,
                 activation: Callable[[np.ndarray], np.ndarray] | None = None) -> Var:
    """A Keras Dense/EinsumDense layer: ``einsum + bias`` with the epsilon rule, then its
    activation by the identity rule."""
    z = einsum(t, equation, x, np.asarray(kernel, np.float64))
    if bias is not None:
        z = add(t, z, np.asarray(bias, np.float64))
    z = epsilon(t, z, eps) if eps else z
    return z if activation is None else identity(t, z, activation)


def dense(t: Tape, x: Var, layer: Any, eps: float, activation: Any = None) -> Var:
    bias = layer.bias if getattr(layer, "use_bias", False) else None
    return kernel_layer(t, x, "...i,ij->...j", layer.kernel, bias, eps, activation)


def einsum_dense(t: Tape, x: Var, layer: Any, eps: float) -> Var:
    return kernel_layer(t, x, layer.equation, layer.kernel, getattr(layer, "bias", None), eps)


def rotate_half(t: Tape, x: Var) -> Var:
    """``concat(-x2, x1)`` of the two halves of the last axis."""
    d = x.shape[-1] // 2
    return concat(t, [mul(t, getitem(t, x, (..., slice(d, None))), -1.0), getitem(t, x, (..., slice(None, d)))])


def rope_tables(length: int, inverse_frequencies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin, ``(length, dim)``, with the frequencies repeated: ``[f, f]``."""
    angles = np.arange(length, dtype=np.float64)[:, None] * inverse_frequencies[None, :]
    angles = np.concatenate([angles, angles], axis=-1)
    return np.cos(angles), np.sin(angles)


def keras_hub_inverse_frequencies(dim: int, max_wavelength: float, scaling_factor: float = 1.0) -> np.ndarray:
    """keras-hub's ``RotaryEmbedding``: ``max_wavelength ** (-2i / dim) / scaling_factor``."""
    return max_wavelength ** (-np.arange(0, dim, 2, dtype=np.float64) / dim) / scaling_factor


def rope(t: Tape, x: Var, cos: np.ndarray, sin: np.ndarray) -> Var:
    """``x * cos + rotate_half(x) * sin`` on ``(batch, seq, heads, dim)``: linear in ``x``."""
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    return add(t, mul(t, x, cos), mul(t, rotate_half(t, x), sin))


def attention(t: Tape, q: Var, k: Var, v: Var, allowed: np.ndarray, scale: float, convention: str, *,
              alibi: np.ndarray | None = None, alibi_before_scale: bool = False,
              soft_cap: float | None = None, fused: bool = False) -> Var:
    """Softmax attention on ``(batch, seq, heads, dim)`` (keys and values already repeated to the
    query heads); ``allowed`` (batch, query, key). AttnLRP: both products by the uniform rule, the
    softmax by its gradient; CP-LRP: the attention weights held. ``fused``: keras'
    ``ops.dot_product_attention``, whose rows with no allowed key average all values."""
    s = einsum(t, "btnd,bsnd->bnts", q, k)
    if alibi is not None and alibi_before_scale:  # Falcon: (q.k + alibi) * scale
        s = mul(t, add(t, s, alibi), scale)
    else:
        s = mul(t, s, scale)
        if alibi is not None:  # Bloom: q.k * scale + alibi
            s = add(t, s, alibi)
    if soft_cap is not None:  # Gemma 2: c * tanh(s / c), the tanh by the identity rule
        s = mul(t, identity(t, mul(t, s, 1.0 / soft_cap), np.tanh), soft_cap)
    a = softmax(t, s, np.broadcast_to(allowed[:, None, :, :], s.shape), empty_rows_uniform=fused)
    if convention == CP:
        a = hold(a)
    return einsum(t, "bnts,bsnd->btnd", a, v)


def allowed_positions(padding_mask: np.ndarray, window: int | None = None) -> np.ndarray:
    """Causal, padded keys masked, and a sliding window (keys ``j > i - window``): (b, i, j)."""
    n = padding_mask.shape[1]
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    allowed = (j <= i)[None] & (padding_mask[:, None, :] > 0)
    if window is not None:
        allowed &= (j > i - window)[None]
    return allowed


def alibi_slopes(num_heads: int) -> np.ndarray:
    """ALiBi's slopes ``2 ** (-8 (h + 1) / n)`` (a power-of-two number of heads)."""
    assert math.log2(num_heads).is_integer()
    return 2.0 ** (-8.0 * np.arange(1, num_heads + 1) / num_heads)


def gated(t: Tape, gate: Var, up: Var, convention: str) -> Var:
    """``gate * up`` of a gated MLP (``gate`` an activation's output): AttnLRP shares it (1/2
    each); CP-LRP holds the gate."""
    return mul(t, hold(gate) if convention == CP else gate, up)


def mixture_of_experts(t: Tape, x: Var, router: Any, experts: Callable[[Tape, Var], Var], top_k: int,
                       renormalise: bool, eps: float, convention: str) -> Var:
    """keras-hub's batched MoE on ``(tokens, hidden)``: every expert computed, weighted by the
    router's top-k softmax probabilities (0 for the others; renormalised by their sum, held, if
    ``renormalise``). The product ``expert output x weight`` is a product of two signals (the
    uniform rule) under AttnLRP; under CP-LRP the softmax is held, so the weights are constants."""
    probs = softmax(t, dense(t, x, router, eps))
    weights = top_k_select(t, probs, top_k)
    if renormalise:
        weights = divide_held(t, weights, weights.value.sum(axis=-1, keepdims=True))
    routing = reshape(t, transpose(t, weights, (1, 0)), (*weights.shape[::-1], 1))  # (experts, tokens, 1)
    if convention == CP:  # the softmax held: the weights are constants
        routing = hold(routing)
    return total(t, mul(t, experts(t, x), routing), axis=0)


# -- the families ----------------------------------------------------------------------------
def _w(variable: Any) -> np.ndarray:
    return np.asarray(variable, np.float64)


def _ln(t: Tape, x: Var, layer: Any) -> Var:
    return layer_norm(t, x, _w(layer.gamma), _w(layer.beta), layer.epsilon)


def _rms(t: Tape, x: Var, layer: Any, plus_one: bool = False) -> Var:
    return rms_norm(t, x, _w(layer.scale) + (1.0 if plus_one else 0.0), layer.epsilon)


def _llama_attention(t: Tape, x: Var, layer: Any, allowed: np.ndarray, eps: float, convention: str, *,
                     names: tuple[str, str, str, str], rope_layer: Any = None,
                     qk_norms: tuple[Any, Any] | None = None) -> Var:
    """RoPE + grouped-query attention (Mistral, Mixtral, Phi-3, Qwen, Qwen3-MoE)."""
    qd, kd, vd, od = (getattr(layer, n) for n in names)
    q, k, v = einsum_dense(t, x, qd, eps), einsum_dense(t, x, kd, eps), einsum_dense(t, x, vd, eps)
    if qk_norms is not None:
        q, k = _rms(t, q, qk_norms[0]), _rms(t, k, qk_norms[1])
    head_dim = q.shape[-1]
    if rope_layer is not None:
        cos, sin = rope_tables(x.shape[1], keras_hub_inverse_frequencies(
            head_dim, rope_layer.max_wavelength, rope_layer.scaling_factor))
        q, k = rope(t, q, cos, sin), rope(t, k, cos, sin)
    groups = q.shape[2] // k.shape[2]
    k, v = repeat(t, k, groups, axis=2), repeat(t, v, groups, axis=2)
    out = attention(t, q, k, v, allowed, 1.0 / math.sqrt(head_dim), convention)
    return einsum_dense(t, out, od, eps)


def gpt_neox(t: Tape, x: Var, block: Any, mask: np.ndarray, eps: float, convention: str) -> Var:
    """``x + attn(ln1(x)) + mlp(ln2(x))``; fused q/k/v per head; RoPE on the first
    ``rotary_percentage`` of each head's features."""
    att = block._self_attention_layer
    qkv = einsum_dense(t, _ln(t, x, block._self_attention_layer_norm), att._qkv_dense, eps)
    d = att.attn_head_size
    q, k, v = (getitem(t, qkv, (..., slice(i * d, (i + 1) * d))) for i in range(3))
    r = att.rotary_dim
    cos, sin = rope_tables(x.shape[1], keras_hub_inverse_frequencies(r, att.rotary_max_wavelength))
    q = concat(t, [rope(t, getitem(t, q, (..., slice(None, r))), cos, sin), getitem(t, q, (..., slice(r, None)))])
    k = concat(t, [rope(t, getitem(t, k, (..., slice(None, r))), cos, sin), getitem(t, k, (..., slice(r, None)))])
    a = attention(t, q, k, v, allowed_positions(mask), att._inv_norm_factor, convention)
    a = einsum_dense(t, reshape(t, a, (*x.shape[:2], -1)), att._output_dense, eps)
    m = dense(t, _ln(t, x, block._feedforward_layer_norm), block._feedforward_intermediate_dense, eps,
              lambda z: gelu(z, approximate=True))
    m = dense(t, m, block._feedforward_output_dense, eps)
    return add(t, m, a, x)


def opt(t: Tape, x: Var, block: Any, mask: np.ndarray, eps: float, convention: str) -> Var:
    """keras-hub's ``TransformerDecoder``, pre-norm (``normalize_first``), ReLU MLP; keras'
    ``MultiHeadAttention`` takes the fused op when it has no dropout."""
    att = block._self_attention_layer
    h = _ln(t, x, block._self_attention_layer_norm)
    q, k, v = (einsum_dense(t, h, d, eps) for d in (att._query_dense, att._key_dense, att._value_dense))
    a = attention(t, q, k, v, allowed_positions(mask), 1.0 / math.sqrt(att._key_dim), convention,
                  fused=att._dropout == 0.0)
    x = add(t, einsum_dense(t, a, att._output_dense, eps), x)
    m = dense(t, _ln(t, x, block._feedforward_layer_norm), block._feedforward_intermediate_dense, eps, relu)
    return add(t, dense(t, m, block._feedforward_output_dense, eps), x)


def bloom(t: Tape, x: Var, block: Any, mask: np.ndarray, eps: float, convention: str) -> Var:
    """Pre-norm; ALiBi ``slope_h * (j - (n - 1))`` added after the scale; tanh-GELU MLP."""
    att = block._self_attention_layer
    h = _ln(t, x, block._pre_attention_layernorm)
    q, k, v = (einsum_dense(t, h, d, eps) for d in (att._query_dense, att._key_dense, att._value_dense))
    n = x.shape[1]
    alibi = (alibi_slopes(q.shape[2])[:, None] * (np.arange(n) - (n - 1))[None, :])[None, :, None, :]
    a = attention(t, q, k, v, allowed_positions(mask), att.inv_norm_factor, convention, alibi=alibi)
    x = add(t, dense(t, reshape(t, a, (*x.shape[:2], -1)), att._output_dense, eps), x)
    m = dense(t, _ln(t, x, block._post_attention_layernorm), block._mlp_intermediate_dense, eps)
    m = identity(t, m, lambda z: gelu(z, approximate=True))
    return add(t, dense(t, m, block._mlp_output_dense, eps), x)


def falcon(t: Tape, x: Var, block: Any, mask: np.ndarray, eps: float, convention: str) -> Var:
    """Pre-norm; ALiBi over the unpadded positions (``cumsum(mask) - 1``) added before the
    scale; exact-GELU MLP."""
    att = block.attention_layer
    h = _ln(t, x, block.input_layernorm)
    q, k, v = (einsum_dense(t, h, d, eps) for d in (att.query_dense, att.key_dense, att.value_dense))
    positions = (np.cumsum(mask, axis=-1) - 1) * mask
    alibi = alibi_slopes(q.shape[2])[None, :, None, None] * positions[:, None, None, :]
    a = attention(t, q, k, v, allowed_positions(mask), att.inv_norm_factor, convention,
                  alibi=alibi, alibi_before_scale=True)
    x = add(t, dense(t, reshape(t, a, (*x.shape[:2], -1)), att.output_dense, eps), x)
    m = dense(t, _ln(t, x, block.post_attention_layernorm), block.dense_h_to_4h, eps,
              lambda z: gelu(z, approximate=False))
    return add(t, dense(t, m, block.dense_4h_to_h, eps), x)


_LLAMA_NAMES = ("_query_dense", "_key_dense", "_value_dense", "_output_dense")


def _swiglu(t: Tape, x: Var, gate: Any, up: Any, down: Any, eps: float, convention: str) -> Var:
    g = dense(t, x, gate, eps, silu)
    return dense(t, gated(t, g, dense(t, x, up, eps), convention), down, eps)


def mistral(t: Tape, x: Var, block: Any, mask: np.ndarray, eps: float, convention: str) -> Var:
    """RMSNorm, RoPE, grouped-query attention (sliding window if set), SwiGLU. Also Qwen."""
    att = block._self_attention_layer
    window = getattr(block, "sliding_window", None)
    if getattr(att, "use_sliding_window_attention", False):
        window = att.sliding_window_size
    a = _llama_attention(t, _rms(t, x, block._self_attention_layernorm), att, allowed_positions(mask, window),
                         eps, convention, names=_LLAMA_NAMES, rope_layer=att.rotary_embedding_layer)
    x = add(t, a, x)
    m = _swiglu(t, _rms(t, x, block._feedforward_layernorm), block._feedforward_gate_dense,
                block._feedforward_intermediate_dense, block._feedforward_output_dense, eps, convention)
    return add(t, m, x)


def phi3(t: Tape, x: Var, block: Any, mask: np.ndarray, eps: float, convention: str) -> Var:
    att = block.attention
    a = _llama_attention(t, _rms(t, x, block.pre_attention_layernorm), att, allowed_positions(mask), eps,
                         convention, names=("query_dense", "key_dense", "value_dense", "output_dense"),
                         rope_layer=att.rotary_embedding_layer)
    x = add(t, a, x)
    m = _swiglu(t, _rms(t, x, block.post_attention_layernorm), block.feedforward_gate_dense,
                block.feedforward_intermediate_dense, block.feedforward_output_dense, eps, convention)
    return add(t, m, x)


def _flat(t: Tape, x: Var) -> Var:
    return reshape(t, x, (-1, x.shape[-1]))


def mixtral(t: Tape, x: Var, block: Any, mask: np.ndarray, eps: float, convention: str) -> Var:
    """As Mistral, with the MLP a mixture of SwiGLU experts (top-k renormalised)."""
    att = block._self_attention_layer
    a = _llama_attention(t, _rms(t, x, block._self_attention_layernorm), att,
                         allowed_positions(mask, block.sliding_window), eps, convention,
                         names=("query_dense", "key_dense", "value_dense", "output_dense"),
                         rope_layer=att.rotary_embedding_layer)
    x = add(t, a, x)
    moe = block._sparse_moe_block
    bank = moe.expert_bank

    def experts(t: Tape, h: Var) -> Var:
        g = identity(t, einsum(t, "th,ehm->etm", h, _w(bank._expert_feedforward_gate_dense)), silu)
        u = einsum(t, "th,ehm->etm", h, _w(bank._expert_feedforward_intermediate_dense))
        return einsum(t, "eti,eih->eth", gated(t, g, u, convention), _w(bank._expert_feedforward_output_dense))

    m = mixture_of_experts(t, _flat(t, _rms(t, x, block._feedforward_layernorm)), moe._sparse_feedforward_gate_dense,
                           experts, moe.top_k, True, eps, convention)
    return add(t, reshape(t, m, x.shape), x)


def qwen3_moe(t: Tape, x: Var, block: Any, mask: np.ndarray, eps: float, convention: str) -> Var:
    """q/k RMSNorms per head, RoPE, grouped-query attention; a mixture of experts whose gate and
    up projections are one weight (split), top-k not renormalised unless ``norm_top_k_prob``."""
    att = block._self_attention_layer
    window = att.sliding_window_size or None
    a = _llama_attention(t, _rms(t, x, block._self_attention_layernorm), att, allowed_positions(mask, window),
                         eps, convention, names=_LLAMA_NAMES, rope_layer=att.rotary_embedding_layer,
                         qk_norms=(att._query_dense_layer_norm, att._key_dense_layer_norm))
    x = add(t, a, x)
    moe = block.mlp
    bank = moe.expert_bank

    def experts(t: Tape, h: Var) -> Var:
        gate_up = einsum(t, "th,ehm->etm", h, _w(bank._expert_feedforward_gate_dense))
        n = gate_up.shape[-1] // 2
        g = identity(t, getitem(t, gate_up, (..., slice(None, n))), silu)
        u = getitem(t, gate_up, (..., slice(n, None)))
        return einsum(t, "eti,eih->eth", gated(t, g, u, convention), _w(bank._expert_feedforward_output_dense))

    m = mixture_of_experts(t, _flat(t, _rms(t, x, block._feedforward_layernorm)), moe._sparse_feedforward_gate_dense,
                           experts, moe.top_k, moe.norm_top_k_prob, eps, convention)
    return add(t, reshape(t, m, x.shape), x)


def gemma(t: Tape, x: Var, block: Any, mask: np.ndarray, eps: float, convention: str) -> Var:
    """RMSNorm with ``1 + w``; RoPE with Gemma's interleaved layout; grouped-query attention
    (sliding window and attention soft cap if set: Gemma 2); post-norms if set; GeGLU."""
    att = block.attention
    h = _rms(t, x, block.pre_attention_norm, plus_one=True)
    q, k, v = (einsum_dense(t, h, d, eps) for d in (att.query_dense, att.key_dense, att.value_dense))
    head_dim = q.shape[-1]
    cos, sin = rope_tables(x.shape[1], keras_hub_inverse_frequencies(head_dim, att.rope_layer.max_wavelength))

    def gemma_rope(z: Var) -> Var:  # rotate, then interleave the halves: [a0, b0, a1, b1, ...]
        r = rope(t, z, cos, sin)
        half = head_dim // 2
        pairs = [reshape(t, getitem(t, r, (..., slice(i * half, (i + 1) * half))), (*r.shape[:-1], half, 1))
                 for i in range(2)]
        return reshape(t, concat(t, pairs, axis=-1), r.shape)

    q, k = gemma_rope(q), gemma_rope(k)
    groups = q.shape[2] // k.shape[2]
    k, v = repeat(t, k, groups, axis=2), repeat(t, v, groups, axis=2)
    scale = 1.0 / math.sqrt(head_dim if att.query_head_dim_normalize else att.hidden_dim // att.num_query_heads)
    window = att.sliding_window_size if att.use_sliding_window_attention else None
    a = attention(t, q, k, v, allowed_positions(mask, window), scale, convention, soft_cap=att.logit_soft_cap)
    a = einsum_dense(t, a, att.output_dense, eps)
    if block.use_post_attention_norm:
        a = _rms(t, a, block.post_attention_norm, plus_one=True)
    x = add(t, x, a)
    h = _rms(t, x, block.pre_ffw_norm, plus_one=True)
    g = identity(t, einsum_dense(t, h, block.gating_ffw, eps), lambda z: gelu(z, approximate=True))
    m = einsum_dense(t, gated(t, g, einsum_dense(t, h, block.gating_ffw_2, eps), convention), block.ffw_linear, eps)
    if block.use_post_ffw_norm:
        m = _rms(t, m, block.post_ffw_norm, plus_one=True)
    return add(t, m, x)


def smollm3(t: Tape, x: Var, block: Any, mask: np.ndarray, eps: float, convention: str) -> Var:
    """Keras RMSNorms; Dense q/k/v reshaped to heads; RoPE (if the layer has it) from the
    layer's stored inverse frequencies; grouped-query attention; SwiGLU written with ``*``."""
    att = block.self_attn
    h = _rms(t, x, block.input_layernorm)
    heads = (att.num_attention_heads, att.num_key_value_heads, att.num_key_value_heads)
    q, k, v = (reshape(t, dense(t, h, d, eps), (*x.shape[:2], n, att.head_dim))
               for d, n in zip((att.q_proj, att.k_proj, att.v_proj), heads))
    if att.use_rope:
        cos, sin = rope_tables(x.shape[1], _w(att.rotary_embedding.inv_freq))
        cos, sin = cos * att.rotary_embedding.attention_scaling, sin * att.rotary_embedding.attention_scaling
        q, k = rope(t, q, cos, sin), rope(t, k, cos, sin)
    groups = heads[0] // heads[1]
    k, v = repeat(t, k, groups, axis=2), repeat(t, v, groups, axis=2)
    a = attention(t, q, k, v, allowed_positions(mask), 1.0 / math.sqrt(att.head_dim), convention)
    x = add(t, x, einsum_dense(t, a, att.o_proj, eps))
    mlp = block.mlp
    m = _swiglu(t, _rms(t, x, block.post_attention_layernorm), mlp.gate_proj, mlp.up_proj, mlp.down_proj,
                eps, convention)
    return add(t, x, m)


#: keras-hub block class name -> the oracle of its ``call``.
BLOCKS: dict[str, Callable[..., Var]] = {
    "GPTNeoXDecoder": gpt_neox,
    "TransformerDecoder": opt,
    "BloomDecoder": bloom,
    "FalconTransformerDecoder": falcon,
    "MistralTransformerDecoder": mistral,
    "QwenTransformerDecoder": mistral,
    "MixtralTransformerDecoder": mixtral,
    "Phi3Decoder": phi3,
    "Qwen3MoeTransformerDecoder": qwen3_moe,
    "GemmaDecoderBlock": gemma,
    "SmolLM3DecoderLayer": smollm3,
}


def block_output(block: Any, x: np.ndarray, mask: np.ndarray, convention: str = ATTNLRP,
                 eps: float = 0.0) -> tuple[Tape, Var, Var]:
    """The oracle's forward pass of ``block`` on ``x`` (batch, seq, hidden)."""
    t = Tape()
    x_var = Var(x)
    return t, x_var, BLOCKS[type(block).__name__](t, x_var, block, np.asarray(mask), eps, convention)


def block_relevance(block: Any, x: np.ndarray, mask: np.ndarray, readout: np.ndarray, convention: str,
                    eps: float) -> np.ndarray:
    """Relevance at the block's input for the logit ``sum(block(x) * readout)`` (one per sample),
    the read-out a Dense layer with the epsilon rule: ``x * g`` with ``g`` pulled back from
    ``readout * z / (z + eps sign z)``."""
    t, x_var, y = block_output(block, x, mask, convention, eps)
    z = np.sum(y.value * readout, axis=(1, 2), keepdims=True)
    (g,) = t.gradient(y, readout * (z / (z + eps * sign0(z))), [x_var])
    return x * g
