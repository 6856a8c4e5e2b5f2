"""Literal numpy oracles for the LRP rules (float64, the slowest and most obvious form).

Every kernel layer is written as one matrix ``M`` (inputs x outputs) acting on the flattened,
channels-last input, so that ``z = x_flat @ M + b``: a Dense layer is its kernel; a Conv2D is
built entry by entry with explicit loops over the output position, the kernel tap and the
channels (Keras kernel layout ``(kh, kw, in, out)``, padding ``"valid"`` or ``"same"``, strides).
Each rule is then the contribution matrix ``C[n, i, j]`` of input ``i`` to output ``j`` and a
denominator ``d[n, j]``: ``R_i = sum_j C_ij / d_j * R_j``. Nothing here calls TensorFlow or innv.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# -- layers as matrices ------------------------------------------------------------------------


def same_padding(size: int, k: int, stride: int) -> tuple[int, int]:
    """Keras/TF "same" padding (before, after) for one spatial axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


class Dense:
    """``z = x @ kernel + bias``."""

    def __init__(self, kernel: np.ndarray, bias: np.ndarray | None, relu: bool = False) -> None:
        self.kernel = np.asarray(kernel, np.float64)
        self.bias = None if bias is None else np.asarray(bias, np.float64)
        self.relu = relu

    @property
    def input_shape(self) -> tuple[int]:
        return (self.kernel.shape[0],)

    def matrix(self, kernel: np.ndarray) -> np.ndarray:
        return np.asarray(kernel, np.float64)

    def connectivity(self) -> np.ndarray:
        """1 where input i feeds output j (every pair for Dense)."""
        return np.ones_like(self.kernel)

    def bias_vector(self) -> np.ndarray:
        return np.zeros(self.kernel.shape[1]) if self.bias is None else self.bias


class Conv2D:
    """A 2-D convolution on ``(H, W, C)`` inputs as a ``(H*W*C, Ho*Wo*F)`` matrix."""

    def __init__(self, kernel: np.ndarray, bias: np.ndarray | None, input_shape: Sequence[int],
                 padding: str = "valid", strides: tuple[int, int] = (1, 1), relu: bool = False) -> None:
        self.kernel = np.asarray(kernel, np.float64)
        self.bias = None if bias is None else np.asarray(bias, np.float64)
        self.input_shape = tuple(input_shape)
        self.padding, self.strides, self.relu = padding, tuple(strides), relu
        H, W, _ = self.input_shape
        kh, kw = self.kernel.shape[:2]
        sh, sw = self.strides
        if padding == "valid":
            self.pads = (0, 0)
            self.out_hw = ((H - kh) // sh + 1, (W - kw) // sw + 1)
        elif padding == "same":
            self.pads = (same_padding(H, kh, sh)[0], same_padding(W, kw, sw)[0])
            self.out_hw = (math.ceil(H / sh), math.ceil(W / sw))
        else:
            raise ValueError(padding)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (*self.out_hw, self.kernel.shape[3])

    def matrix(self, kernel: np.ndarray) -> np.ndarray:
        """``M[(h, w, c), (oh, ow, f)] = kernel[dh, dw, c, f]`` where input (h, w) is under tap (dh, dw)."""
        H, W, C = self.input_shape
        kh, kw, _, F = kernel.shape
        Ho, Wo = self.out_hw
        M = np.zeros((H, W, C, Ho, Wo, F))
        for oh in range(Ho):
            for ow in range(Wo):
                for dh in range(kh):
                    for dw in range(kw):
                        h = oh * self.strides[0] + dh - self.pads[0]
                        w = ow * self.strides[1] + dw - self.pads[1]
                        if 0 <= h < H and 0 <= w < W:  # outside: zero padding
                            for c in range(C):
                                for f in range(F):
                                    M[h, w, c, oh, ow, f] = kernel[dh, dw, c, f]
        return M.reshape(H * W * C, Ho * Wo * F)

    def connectivity(self) -> np.ndarray:
        return self.matrix(np.ones_like(self.kernel))

    def bias_vector(self) -> np.ndarray:
        n = self.out_hw[0] * self.out_hw[1]
        F = self.kernel.shape[3]
        return np.zeros(n * F) if self.bias is None else np.tile(self.bias, n)  # channels last


def forward_linear(layer: Any, x: np.ndarray) -> np.ndarray:
    """``z = x @ M + b`` for flattened ``x`` of shape (N, inputs)."""
    return x @ layer.matrix(layer.kernel) + layer.bias_vector()


# -- rules: contributions C[n, i, j] and denominators d[n, j] -----------------------------------


def redistribute(C: np.ndarray, d: np.ndarray, R: np.ndarray, safe: bool = True) -> np.ndarray:
    """``R_i = sum_j C_ij / d_j R_j``; ``safe``: 0 where ``d_j == 0``."""
    out = np.zeros(C.shape[:2])
    for n in range(C.shape[0]):
        for j in range(C.shape[2]):
            if safe and d[n, j] == 0:
                continue
            out[n] += C[n, :, j] / d[n, j] * R[n, j]
    return out


def contributions(layer: Any, x: np.ndarray) -> np.ndarray:
    """``C[n, i, j] = x[n, i] * M[i, j]``."""
    M = layer.matrix(layer.kernel)
    return x[:, :, None] * M[None, :, :]


def sign_plus(z: np.ndarray) -> np.ndarray:
    """sign with sign(0) = +1."""
    return np.where(z >= 0, 1.0, -1.0)


def rule_z(layer, x, R, bias=True):
    C = contributions(layer, x)
    d = C.sum(axis=1) + (layer.bias_vector() if bias else 0.0)
    return redistribute(C, d, R)


def rule_epsilon(layer, x, R, epsilon=1e-7, bias=True):
    C = contributions(layer, x)
    z = C.sum(axis=1) + (layer.bias_vector() if bias else 0.0)
    return redistribute(C, z + epsilon * sign_plus(z), R, safe=False)


def _input_free(layer, x, R, c):
    C = np.broadcast_to(c[None], (x.shape[0], *c.shape))
    return redistribute(C, C.sum(axis=1), R)


def rule_w_square(layer, x, R):
    return _input_free(layer, x, R, layer.matrix(layer.kernel) ** 2)


def rule_flat(layer, x, R):
    return _input_free(layer, x, R, layer.connectivity())


def rule_alpha_beta(layer, x, R, alpha, beta, bias=True, epsilon=0.0):
    """``epsilon`` > 0: both denominators stabilized with their sign (sign(0) = +1)."""
    C = contributions(layer, x)
    Cp, Cn = np.maximum(C, 0.0), np.minimum(C, 0.0)
    b = layer.bias_vector() if bias else np.zeros(C.shape[2])
    dp = Cp.sum(axis=1) + np.maximum(b, 0.0)
    dn = Cn.sum(axis=1) + np.minimum(b, 0.0)
    if epsilon:
        dp, dn = dp + epsilon * sign_plus(dp), dn + epsilon * sign_plus(dn)
    safe = not epsilon
    return alpha * redistribute(Cp, dp, R, safe) - beta * redistribute(Cn, dn, R, safe)


def rule_z_plus(layer, x, R):
    return rule_alpha_beta(layer, x, R, 1.0, 0.0, bias=False)


def rule_z_plus_fast(layer, x, R):
    """``x_i w+_ij`` (equals z+ for non-negative inputs)."""
    C = x[:, :, None] * np.maximum(layer.matrix(layer.kernel), 0.0)[None]
    return redistribute(C, C.sum(axis=1), R)


def rule_bounded(layer, x, R, low, high):
    """z^B: ``C_ij = x_i w_ij - l_i w+_ij - h_i w-_ij`` (no bias), ``d_j = sum_i C_ij``.

    ``low``/``high`` broadcast to the layer's (unflattened) input shape.
    """
    M = layer.matrix(layer.kernel)
    lo = np.broadcast_to(np.asarray(low, np.float64), layer.input_shape).reshape(-1)
    hi = np.broadcast_to(np.asarray(high, np.float64), layer.input_shape).reshape(-1)
    C = (x[:, :, None] * M[None] - lo[None, :, None] * np.maximum(M, 0.0)[None]
         - hi[None, :, None] * np.minimum(M, 0.0)[None])
    return redistribute(C, C.sum(axis=1), R)


def rule_gamma(layer, x, R, gamma=0.25, epsilon=1e-6):
    """Zennit's signed gamma rule, written out per contribution.

    ``z_j > 0``: ``C_ij = x_i (w_ij + gamma w+_ij)`` for ``x_i >= 0`` and ``x_i (w_ij + gamma w-_ij)``
    for ``x_i < 0``, ``d_j = sum_i C_ij + b_j + gamma b+_j``; ``z_j < 0``: the same with ``w+`` and
    ``w-`` (and ``b+``, ``b-``) swapped; ``z_j = 0``: nothing. Denominators get ``epsilon`` with
    their sign.
    """
    M = layer.matrix(layer.kernel)
    b = layer.bias_vector()
    z = x @ M + b
    xp, xn = np.maximum(x, 0.0)[:, :, None], np.minimum(x, 0.0)[:, :, None]
    Mp, Mn = np.maximum(M, 0.0)[None], np.minimum(M, 0.0)[None]
    out = np.zeros_like(x)
    for mask, up, down, b_up in ((z > 0, Mp, Mn, np.maximum(b, 0.0)), (z < 0, Mn, Mp, np.minimum(b, 0.0))):
        C = xp * (M[None] + gamma * up) + xn * (M[None] + gamma * down)
        d = C.sum(axis=1) + b + gamma * b_up
        out += redistribute(C, d + epsilon * sign_plus(d), R * mask, safe=False)
    return out


RuleFn = Callable[[Any, np.ndarray, np.ndarray], np.ndarray]

RULES: dict[str, RuleFn] = {
    "Z": rule_z,
    "ZIgnoreBias": lambda l, x, R: rule_z(l, x, R, bias=False),
    "Epsilon": rule_epsilon,
    "EpsilonIgnoreBias": lambda l, x, R: rule_epsilon(l, x, R, bias=False),
    "WSquare": rule_w_square,
    "Flat": rule_flat,
    "Alpha2Beta1": lambda l, x, R: rule_alpha_beta(l, x, R, 2.0, 1.0, bias=True),
    "Alpha2Beta1IgnoreBias": lambda l, x, R: rule_alpha_beta(l, x, R, 2.0, 1.0, bias=False),
    "Alpha1Beta0": lambda l, x, R: rule_alpha_beta(l, x, R, 1.0, 0.0, bias=True),
    "Alpha1Beta0IgnoreBias": lambda l, x, R: rule_alpha_beta(l, x, R, 1.0, 0.0, bias=False),
    "ZPlus": rule_z_plus,
    "ZPlusFast": rule_z_plus_fast,
    "Gamma": rule_gamma,
}


def epsilon(value: float, bias: bool = True) -> RuleFn:
    return lambda l, x, R: rule_epsilon(l, x, R, epsilon=value, bias=bias)


def alpha_beta(alpha: float, beta: float, bias: bool = True) -> RuleFn:
    return lambda l, x, R: rule_alpha_beta(l, x, R, alpha, beta, bias=bias)


def gamma(value: float) -> RuleFn:
    return lambda l, x, R: rule_gamma(l, x, R, gamma=value)


def bounded(low: Any, high: Any) -> RuleFn:
    return lambda l, x, R: rule_bounded(l, x, R, low, high)


# -- whole network ----------------------------------------------------------------------------


def network_relevance(layers: Sequence[Any], x: np.ndarray, rules: Sequence[RuleFn],
                      selected: np.ndarray, relu_head: bool = False) -> np.ndarray:
    """LRP through a chain of kernel layers (each optionally followed by a ReLU).

    ``x`` is the model input (N, ...); ``rules`` one rule per layer; flattening between layers is
    a reshape (the oracle works on flattened vectors throughout). Relevance starts at the selected
    output's value (iNNvestigate's convention; after a ReLU if ``relu_head``, as DeepTaylor), ReLUs
    pass it unchanged. Returns the relevance in the input's shape.
    """
    a = np.asarray(x, np.float64).reshape(len(x), -1)
    inputs = []
    for layer in layers:
        inputs.append(a)
        a = forward_linear(layer, a)
        if layer.relu:
            a = np.maximum(a, 0.0)
    y = np.maximum(a, 0.0) if relu_head else a
    R = np.zeros_like(y)
    R[np.arange(len(y)), selected] = y[np.arange(len(y)), selected]
    for layer, a_in, rule in zip(reversed(layers), reversed(inputs), reversed(list(rules))):
        R = rule(layer, a_in, R)
    return R.reshape(x.shape)


def network_output(layers: Sequence[Any], x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, np.float64).reshape(len(x), -1)
    for layer in layers:
        a = forward_linear(layer, a)
        if layer.relu:
            a = np.maximum(a, 0.0)
    return a
