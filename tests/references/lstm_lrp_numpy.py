"""An independent float64 numpy LRP-epsilon for recurrent networks (Arras et al. 2017 conventions).

Written from the equations, with explicit loops over samples and time steps, and sharing no code
with innv (``innv_plugins/lrp/recurrent.py`` computes the same rules as modified gradients in
TensorFlow). The conventions are those of Arras et al.'s ``code/LSTM/LSTM_bidi.py``
(github.com/ArrasL/LRP_for_LSTM) with ``bias_factor=0``; ``gen_arras.py`` checks this oracle
against that code on a bidirectional LSTM:

- relevance starts as one-hot x the selected logit;
- every linear map ``z = sum_j x_j w_jk + b_k`` gets the epsilon rule
  ``R_j = sum_k x_j w_jk / (z_k + eps sign(z_k)) R_k``, ``sign(0) = +1``; the bias and the
  stabilizer keep (absorb) their share;
- gates get nothing; ``h = o * tanh(c)`` gives ``c`` all of ``h``'s relevance;
  ``c = f*c_prev + i*g`` splits it by the epsilon rule between ``f*c_prev`` and ``i*g``, which
  gives all of its share to ``g``; ``g = tanh(z_g)`` passes it to its pre-activation;
- GRU: ``h = z*h_prev + (1-z)*n`` split by the epsilon rule, ``n = tanh(n_pre)`` passes,
  ``n_pre`` (reset gate held) by the epsilon rule; SimpleRNN: the activation passes, epsilon on
  ``W x + U h + b``;
- masked steps (Keras' mask) are skipped with the state carried (their input gets 0); a masked
  step's output is the carried output, or 0 with ``zero_output_for_mask``;
- Bidirectional: ``concat`` slices, ``sum``/``ave`` split in proportion to the two outputs,
  ``mul`` half each; the backward direction's relevance flipped back to the time order and added.
- Embedding: the relevance of each looked-up vector summed over the embedding axis;
  GlobalAveragePooling1D (masked mean): proportional split; Dense on a sequence: per step.

Keras weight layout: kernel (F, G*U), recurrent_kernel (U, G*U), bias (G*U,) — GRU with
``reset_after`` (2, 3U) — with the gates of an LSTM in the order i, f, c, o and of a GRU z, r, h.

``from_keras(model)`` turns a Keras Sequential/functional chain into these layers (reading its
weights and config); ``lrp(net, X, eps, neuron)`` gives the input relevance per sample.
"""

from __future__ import annotations

import numpy as np

ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
}


def sign0(z):
    return np.where(z >= 0, 1.0, -1.0)


def stabilized(z, eps):
    return z + eps * sign0(z)


def lrp_linear(x, w, z, R, eps):
    """Epsilon rule through ``z = x @ w + (absorbed terms)``: x (D,), w (D, M), z, R (M,)."""
    return x * (w @ (R / stabilized(z, eps)))


def proportional(part, total, R):
    """The z-rule of a sum: ``part / total * R`` (0 where ``total == 0``)."""
    safe = np.where(total == 0, 1.0, total)
    return np.where(total == 0, 0.0, part / safe * R)


# -- layers (one sample at a time) -----------------------------------------------------------
class Dense:
    def __init__(self, kernel, bias=None):
        self.w = np.asarray(kernel, np.float64)
        self.b = np.zeros(self.w.shape[1]) if bias is None else np.asarray(bias, np.float64)

    def forward(self, x, mask=None):
        self.x = x
        self.z = x @ self.w + self.b
        return self.z, mask

    def relevance(self, R, eps):
        if self.x.ndim == 1:
            return lrp_linear(self.x, self.w, self.z, R, eps)
        return np.stack([lrp_linear(self.x[t], self.w, self.z[t], R[t], eps) for t in range(len(R))])


class Embedding:
    def __init__(self, table, mask_zero=False):
        self.table = np.asarray(table, np.float64)
        self.mask_zero = mask_zero

    def forward(self, ids, mask=None):
        return self.table[ids], (ids != 0 if self.mask_zero else None)

    def relevance(self, R, eps):
        return R.sum(-1)


class GlobalAveragePooling1D:
    def forward(self, x, mask=None):
        self.x = x
        self.weights = np.ones(len(x)) if mask is None else mask.astype(np.float64)
        self.y = (x * self.weights[:, None]).sum(0) / self.weights.sum()
        return self.y, None

    def relevance(self, R, eps):
        part = self.x * self.weights[:, None] / self.weights.sum()
        return np.stack([proportional(part[t], self.y, R) for t in range(len(self.x))])


class Flatten:
    def forward(self, x, mask=None):
        self.shape = x.shape
        return x.reshape(-1), None

    def relevance(self, R, eps):
        return R.reshape(self.shape)


class RNN:
    """The time loop shared by the cells: masking, go_backwards, return_sequences."""

    n_states = 1

    def __init__(self, kernel, recurrent_kernel, bias=None, return_sequences=False, go_backwards=False,
                 zero_output_for_mask=False, activation="tanh", recurrent_activation="sigmoid"):
        self.K = np.asarray(kernel, np.float64)
        self.U = np.asarray(recurrent_kernel, np.float64)
        self.b = None if bias is None else np.asarray(bias, np.float64)
        self.units = self.U.shape[0]
        self.return_sequences = return_sequences
        self.go_backwards = go_backwards
        self.zero_output_for_mask = zero_output_for_mask
        self.act = ACTIVATIONS[activation]
        self.gate = ACTIVATIONS[recurrent_activation]

    def forward(self, x, mask=None):
        T = len(x)
        order = list(range(T))[::-1] if self.go_backwards else list(range(T))
        states = [np.zeros(self.units) for _ in range(self.n_states)]
        previous_output = np.zeros(self.units)
        self.x, self.steps, outputs = x, [], []
        for t in order:
            if mask is None or mask[t]:
                states, cache = self.cell_forward(x[t], states)
                output = states[0]
            else:  # skipped: the state is carried
                cache = None
                output = np.zeros(self.units) if self.zero_output_for_mask else previous_output
            self.steps.append((t, cache))
            outputs.append(output)
            previous_output = output
        self.final_states = states
        if self.return_sequences:
            return np.stack(outputs), mask
        return outputs[-1], None

    def relevance(self, R, eps, R_final_states=None):
        T = len(self.x)
        R_states = [np.zeros(self.units) for _ in range(self.n_states)]
        if R_final_states is not None:
            R_states = [r.copy() for r in R_final_states]
        R_x = np.zeros_like(self.x)
        for k in reversed(range(T)):
            t, cache = self.steps[k]
            R_out = R[k] if self.return_sequences else (R if k == T - 1 else 0.0)
            # a step's output is its new h, or the carried one (a zero output carries no relevance)
            R_states[0] = R_states[0] + R_out
            if cache is None:
                continue
            R_states, R_x[t] = self.cell_relevance(cache, R_states, eps)
        return R_x


class LSTM(RNN):
    n_states = 2

    def cell_forward(self, x, states):
        h, c = states
        n = self.units
        z = x @ self.K + h @ self.U + (0.0 if self.b is None else self.b)
        i, f = self.gate(z[:n]), self.gate(z[n:2 * n])
        g, o = self.act(z[2 * n:3 * n]), self.gate(z[3 * n:])
        c_new = f * c + i * g
        h_new = o * self.act(c_new)
        return [h_new, c_new], (x, h, c, i, f, g, z[2 * n:3 * n], c_new)

    def cell_relevance(self, cache, R_states, eps):
        x, h, c, i, f, g, z_g, c_new = cache
        n = self.units
        R_h, R_c = R_states
        R_c = R_c + R_h  # h = o * tanh(c): all to c
        R_c_prev = lrp_linear(f * c, np.eye(n), c_new, R_c, eps)
        R_g = lrp_linear(i * g, np.eye(n), c_new, R_c, eps)  # i * g: all to g
        R_x = lrp_linear(x, self.K[:, 2 * n:3 * n], z_g, R_g, eps)
        R_h_prev = lrp_linear(h, self.U[:, 2 * n:3 * n], z_g, R_g, eps)
        return [R_h_prev, R_c_prev], R_x


class GRU(RNN):
    def __init__(self, *args, reset_after=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.reset_after = reset_after

    def cell_forward(self, x, states):
        (h,) = states
        n = self.units
        if self.b is None:
            b_in, b_rec = np.zeros(3 * n), np.zeros(3 * n)
        elif self.reset_after:
            b_in, b_rec = self.b[0], self.b[1]
        else:
            b_in, b_rec = self.b, np.zeros(3 * n)
        xz = x @ self.K + b_in
        if self.reset_after:
            hz = h @ self.U + b_rec
            z, r = self.gate(xz[:n] + hz[:n]), self.gate(xz[n:2 * n] + hz[n:2 * n])
            n_pre = xz[2 * n:] + r * hz[2 * n:]
        else:
            hz = h @ self.U[:, :2 * n]
            z, r = self.gate(xz[:n] + hz[:n]), self.gate(xz[n:2 * n] + hz[n:])
            n_pre = xz[2 * n:] + (r * h) @ self.U[:, 2 * n:]
        cand = self.act(n_pre)
        h_new = z * h + (1.0 - z) * cand
        return [h_new], (x, h, z, r, cand, n_pre, h_new)

    def cell_relevance(self, cache, R_states, eps):
        x, h, z, r, cand, n_pre, h_new = cache
        n = self.units
        (R_h,) = R_states
        R_h_direct = lrp_linear(z * h, np.eye(n), h_new, R_h, eps)
        R_n = lrp_linear((1.0 - z) * cand, np.eye(n), h_new, R_h, eps)  # n = tanh(n_pre): passes
        R_x = lrp_linear(x, self.K[:, 2 * n:], n_pre, R_n, eps)
        if self.reset_after:  # contributions r_k h_j U_jk
            R_h_cand = lrp_linear(h, self.U[:, 2 * n:] * r[None, :], n_pre, R_n, eps)
        else:  # contributions r_j h_j U_jk
            R_h_cand = lrp_linear(r * h, self.U[:, 2 * n:], n_pre, R_n, eps)
        return [R_h_direct + R_h_cand], R_x


class SimpleRNN(RNN):
    def cell_forward(self, x, states):
        (h,) = states
        z = x @ self.K + h @ self.U + (0.0 if self.b is None else self.b)
        h_new = self.act(z)
        return [h_new], (x, h, z)

    def cell_relevance(self, cache, R_states, eps):
        x, h, z = cache
        (R_h,) = R_states  # the activation passes relevance unchanged
        return [lrp_linear(h, self.U, z, R_h, eps)], lrp_linear(x, self.K, z, R_h, eps)


class Bidirectional:
    def __init__(self, forward_layer, backward_layer, merge_mode="concat"):
        assert backward_layer.go_backwards and not forward_layer.go_backwards
        self.f, self.b, self.merge_mode = forward_layer, backward_layer, merge_mode
        self.return_sequences = forward_layer.return_sequences

    def forward(self, x, mask=None):
        y_f, mask_out = self.f.forward(x, mask)
        y_b, _ = self.b.forward(x, mask)
        if self.return_sequences:
            y_b = y_b[::-1]
        self.y_f, self.y_b = y_f, y_b
        mode = self.merge_mode
        y = {"concat": lambda: np.concatenate([y_f, y_b], -1), "sum": lambda: y_f + y_b,
             "ave": lambda: (y_f + y_b) / 2, "mul": lambda: y_f * y_b}[mode]()
        return y, mask_out

    def relevance(self, R, eps):
        n = self.f.units
        if self.merge_mode == "concat":
            R_f, R_b = R[..., :n], R[..., n:]
        elif self.merge_mode in ("sum", "ave"):
            total = self.y_f + self.y_b
            R_f, R_b = proportional(self.y_f, total, R), proportional(self.y_b, total, R)
        else:  # mul: a product of two signals, half each
            R_f, R_b = R / 2, R / 2
        if self.return_sequences:
            R_b = R_b[::-1]
        return self.f.relevance(R_f, eps) + self.b.relevance(R_b, eps)


# -- networks --------------------------------------------------------------------------------
class Chain:
    def __init__(self, layers):
        self.layers = list(layers)

    def forward(self, x):
        mask = None
        for layer in self.layers:
            x, mask = layer.forward(x, mask)
        return x

    def relevance(self, R, eps):
        for layer in reversed(self.layers):
            R = layer.relevance(R, eps)
        return R


def lrp(net: Chain, X, eps: float, neuron=None) -> np.ndarray:
    """Input relevance per sample: one-hot x the logit of ``neuron`` (None: each sample's max)."""
    out = []
    for x in X:
        x = x if np.issubdtype(np.asarray(x).dtype, np.integer) else np.asarray(x, np.float64)
        y = net.forward(x)
        j = int(np.argmax(y)) if neuron is None else int(neuron)
        R = np.zeros_like(y)
        R[j] = y[j]
        out.append(net.relevance(R, eps))
    return np.stack(out)


def outputs(net: Chain, X) -> np.ndarray:
    return np.stack([net.forward(x if np.issubdtype(np.asarray(x).dtype, np.integer)
                                 else np.asarray(x, np.float64)) for x in X])


# -- from Keras ------------------------------------------------------------------------------
def _name(fn) -> str:
    return getattr(fn, "__name__", str(fn))


def rnn_from_keras(layer):
    import keras

    weights = [w.astype(np.float64) for w in layer.get_weights()]
    kernel, recurrent = weights[:2]
    bias = weights[2] if len(weights) > 2 else None
    common = dict(
        return_sequences=layer.return_sequences, go_backwards=layer.go_backwards,
        zero_output_for_mask=layer.zero_output_for_mask, activation=_name(layer.cell.activation),
    )
    if isinstance(layer, keras.layers.LSTM):
        return LSTM(kernel, recurrent, bias, recurrent_activation=_name(layer.cell.recurrent_activation),
                    **common)
    if isinstance(layer, keras.layers.GRU):
        return GRU(kernel, recurrent, bias, reset_after=layer.cell.reset_after,
                   recurrent_activation=_name(layer.cell.recurrent_activation), **common)
    if isinstance(layer, keras.layers.SimpleRNN):
        return SimpleRNN(kernel, recurrent, bias, **common)
    raise TypeError(type(layer))


def from_keras(model) -> Chain:
    """The oracle layers of a Keras model that is a chain of supported layers."""
    import keras

    L = keras.layers
    out = []
    for layer in model.layers:
        if isinstance(layer, L.InputLayer | L.Dropout):
            continue
        if isinstance(layer, L.Dense):
            w = [v.astype(np.float64) for v in layer.get_weights()]
            assert _name(layer.activation) == "linear", "oracle Dense layers are linear"
            out.append(Dense(w[0], w[1] if len(w) > 1 else None))
        elif isinstance(layer, L.Embedding):
            out.append(Embedding(layer.get_weights()[0], layer.mask_zero))
        elif isinstance(layer, L.GlobalAveragePooling1D):
            out.append(GlobalAveragePooling1D())
        elif isinstance(layer, L.Flatten):
            out.append(Flatten())
        elif isinstance(layer, L.Bidirectional):
            out.append(Bidirectional(rnn_from_keras(layer.forward_layer),
                                     rnn_from_keras(layer.backward_layer), layer.merge_mode))
        else:
            out.append(rnn_from_keras(layer))
    return Chain(out)
