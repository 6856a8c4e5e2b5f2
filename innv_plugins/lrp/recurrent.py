"""LRP through ``LSTM``, ``GRU``, ``SimpleRNN`` and ``Bidirectional``: the recurrence unrolled
with gradient rules.

The mapping re-implements the layer's recurrence in TensorFlow (one ``tf.while_loop`` over time,
the input projections of all steps computed before it), reading the layer's weights and config
(``activation``, ``recurrent_activation``, ``use_bias``, ``reset_after``, ``go_backwards``,
``return_sequences``, ``return_state``, ``zero_output_for_mask``, the mask and initial states
of the call). Every operation is written as a *gradient rule* of
:mod:`innv_core.modified_gradient`: its forward value is the layer's own (to float32 rounding)
and its gradient is the rule's, so :func:`~innv_core.modified_gradient.relevance_through`
turns the relevance at the node's outputs into relevance at its inputs.

Conventions (Arras, Montavon, Müller, Samek 2017, "Explaining recurrent neural network
predictions in sentiment analysis", WASSA; their code github.com/ArrasL/LRP_for_LSTM,
``code/LSTM/LSTM_bidi.py``, with ``bias_factor=0``; ``tests/references/gen_arras.py`` checks the
numpy oracle of ``tests/references/lstm_lrp_numpy.py`` against that code):

- **Linear maps**: the epsilon rule, ``z + eps*sign(z)``, ``sign(0) = +1``, on every linear
  map: the pre-activations ``W x_t + U h_{t-1} + b`` and the sums below. Biases and the
  stabilizer keep their share (their relevance is absorbed, not redistributed). ``eps`` is the
  analyzer's ``inner_epsilon`` (by default the epsilon of its rule).
- **Gates** are held constant and receive nothing ("signal-take-all").
- **LSTM** (Keras gate order i, f, c, o): ``h = o*act(c)`` gives its relevance to ``c``
  unchanged; ``c_t = f*c_{t-1} + i*g`` splits it by the epsilon rule between ``f*c_{t-1}``
  (to ``c_{t-1}``) and ``i*g`` (all to ``g``); ``g = act(z_g)`` passes it to ``z_g``, whose
  epsilon rule sends it to ``x_t`` and ``h_{t-1}``.
- **GRU** (Keras gate order z, r, h), the same reasoning. The update gate ``z`` and reset gate
  ``r`` are gates: held, no relevance. ``h_t = z*h_{t-1} + (1-z)*n`` is a sum of two signals,
  each scaled by a held gate: the epsilon rule splits ``h_t``'s relevance between
  ``z*h_{t-1}`` (to ``h_{t-1}``) and ``(1-z)*n`` (to ``n``). ``n = act(n_pre)`` passes it on.
  With the reset gate held, ``n_pre`` is linear in ``x_t`` and ``h_{t-1}`` in both of Keras'
  forms, and gets the epsilon rule: ``reset_after=True`` (Keras' default, cuDNN's form)
  ``n_pre = W_n x + b_n + r*(U_n h + b_rn)`` has contributions ``x_j W_jk`` and
  ``r_k h_j U_jk``, and the absorbed bias ``b_n + r*b_rn``; ``reset_after=False``
  ``n_pre = W_n x + U_n (r*h) + b_n`` has contributions ``r_j h_j U_jk``. So ``h_{t-1}`` gets
  relevance twice, directly (what the update gate keeps) and through ``n`` (what the candidate
  reads of it), as ``c_{t-1}`` and ``h_{t-1}`` both do in the LSTM. This is the convention of
  the LSTM rules applied to the GRU equations, not a separately published rule.
- **SimpleRNN**: ``h = act(W x + U h + b)``: the identity rule on ``act``, epsilon on the map.
- **Masking** (``Embedding(mask_zero=True)``): Keras skips masked steps and carries the state,
  so relevance crosses them unchanged and their inputs get exactly 0. A masked step's output is
  the carried state, or 0 where Keras zeroes it (``zero_output_for_mask``, which
  ``Bidirectional`` sets when it returns sequences).
- **Bidirectional**: the two directions as above; the backward direction's relevance reaches
  the input through Keras' own flips, so it is in the original time order and adds to the
  forward one. Merge modes: ``concat`` (each direction its slice), ``sum`` and ``ave`` (linear:
  their true gradient, i.e. a split in proportion to the two outputs), ``mul`` (a product of
  two signals: the uniform rule, half each, as AttnLRP does for products), None (two outputs).
- ``return_state``: the final states are outputs; relevance arriving at them enters the last
  step like the relevance at the output.

Refused: stateful layers (the state lives in variables the engine's forward pass updates),
layers whose cell is not one of Keras' LSTM/GRU/SimpleRNN cells.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf

from innv_core.errors import NotAnalyzableModelError
from innv_core.modified_gradient import (
    epsilon_linear,
    epsilon_sum,
    hold,
    identity_rule,
    relevance_through,
    uniform_product,
)
from innv_core.reverse import Mapping, NodeTensors, ReverseState

L = keras.layers


def recurrent_mapping(epsilon: float) -> Mapping:
    """The LRP mapping of recurrent layers, with ``epsilon`` for every linear map inside."""
    epsilon = float(epsilon)

    def mapping(nt: NodeTensors, Rs: list, state: ReverseState) -> list:
        layer = nt.layer
        check_recurrent(layer)
        unpack = call_arguments(nt)

        def forward(Xs: list[Any]) -> list[Any]:
            sequences, initial_state, mask = unpack(Xs)
            return layer_forward(layer, sequences, initial_state, mask, epsilon)

        return relevance_through(forward, nt.Xs, Rs, nt.Ys)

    mapping.__name__ = "lrp_recurrent"
    return mapping


# -- the node's call ---------------------------------------------------------------------------
def call_arguments(nt: NodeTensors) -> Callable[[Sequence[Any]], tuple[Any, Any, Any]]:
    """``unpack(Xs) -> (sequences, initial_state, mask)`` for the node's input tensors ``Xs``."""
    node = nt.node

    def unpack(Xs: Sequence[Any]) -> tuple[Any, Any, Any]:
        args, kwargs = node.arguments(dict(zip(node.input_ids, Xs, strict=True)))
        bound = dict(zip(("sequences", "initial_state", "mask"), args))
        bound.update(kwargs)
        initial_state = bound.get("initial_state")
        if initial_state is not None and not isinstance(initial_state, list | tuple):
            initial_state = [initial_state]
        return bound["sequences"], initial_state, bound.get("mask")

    return unpack


def check_recurrent(layer: Any) -> None:
    """Refuse what the mapping cannot unroll, naming the layer."""
    inner = [layer.forward_layer, layer.backward_layer] if isinstance(layer, L.Bidirectional) else [layer]
    for rnn in inner:
        if getattr(rnn, "stateful", False):
            raise NotAnalyzableModelError(
                f"Layer {layer.name!r} is stateful: its initial state lives in variables that the "
                "forward pass updates, so LRP cannot replay it. Rebuild the model with "
                "stateful=False (pass the state as initial_state if it matters)."
            )
        if type(getattr(rnn, "cell", None)) not in _CELLS:
            raise NotAnalyzableModelError(
                f"Layer {layer.name!r} ({type(rnn).__name__}) has a cell LRP cannot unroll "
                f"({type(getattr(rnn, 'cell', None)).__name__}); innv unrolls Keras' LSTM, GRU "
                "and SimpleRNN cells."
            )


# -- forward passes with gradient rules ------------------------------------------------------
def layer_forward(layer: Any, sequences: Any, initial_state: Any, mask: Any, epsilon: float) -> list[Any]:
    """The layer's outputs (flattened as the engine sees them), computed with gradient rules."""
    if isinstance(layer, L.Bidirectional):
        return _bidirectional(layer, sequences, initial_state, mask, epsilon)
    return rnn_forward(layer, sequences, initial_state, mask, epsilon)


def _bidirectional(layer: Any, sequences: Any, initial_state: Any, mask: Any, epsilon: float) -> list:
    forward_state = backward_state = None
    if initial_state is not None:
        half = len(initial_state) // 2
        forward_state, backward_state = initial_state[:half], initial_state[half:]
    ys = rnn_forward(layer.forward_layer, sequences, forward_state, mask, epsilon)
    ys_rev = rnn_forward(layer.backward_layer, sequences, backward_state, mask, epsilon)
    y, states = ys[0], ys[1:]
    y_rev, states_rev = ys_rev[0], ys_rev[1:]
    if layer.return_sequences:
        y_rev = tf.reverse(y_rev, [1])
    mode = layer.merge_mode
    if mode == "concat":
        merged = [tf.concat([y, y_rev], axis=-1)]
    elif mode == "sum":
        merged = [y + y_rev]
    elif mode == "ave":
        merged = [(y + y_rev) / 2]
    elif mode == "mul":
        merged = [uniform_product(y, y_rev)]
    elif mode is None:
        merged = [y, y_rev]
    else:
        raise NotAnalyzableModelError(f"Layer {layer.name!r} has an unknown merge_mode {mode!r}.")
    return [*merged, *states, *states_rev]


def rnn_forward(layer: Any, sequences: Any, initial_state: Any, mask: Any, epsilon: float) -> list:
    """An ``LSTM``/``GRU``/``SimpleRNN`` layer's outputs (``[output, *states]`` with
    ``return_state``), its recurrence in one ``tf.while_loop`` over time.

    Also for ``unroll=True`` layers: a loop traces its body once, and TensorFlow builds the
    gradient of an unrolled one step by step (slower to trace even over 7 steps, and 100 s
    instead of 5 s for the first call over 200 steps, ``bench/recurrent.py``).
    """
    cell = layer.cell
    project, step = _CELLS[type(cell)](cell, epsilon)
    dtype = cell.compute_dtype
    x = tf.cast(sequences, dtype)
    n = tf.shape(x)[0]
    if initial_state is None:
        states = [tf.zeros(tf.stack([n, size]), dtype) for size in _state_sizes(cell)]
    else:
        states = [tf.cast(s, dtype) for s in initial_state]
    xs = tf.transpose(project(x), [1, 0, 2])  # time-major input projections (T, N, G)
    masks = None if mask is None else tf.transpose(tf.cast(mask, tf.bool), [1, 0])
    if layer.go_backwards:
        xs = tf.reverse(xs, [0])
        masks = None if masks is None else tf.reverse(masks, [0])
    zero_output = bool(getattr(layer, "zero_output_for_mask", False))

    def masked_step(x_t: Any, m_t: Any, last: Any, carried: list) -> tuple[Any, list]:
        output, new_states = step(x_t, carried)
        if m_t is not None:  # a masked step: the state is carried, the output too (or 0)
            m = m_t[:, None]
            new_states = [tf.where(m, s_new, s) for s_new, s in zip(new_states, carried)]
            output = tf.where(m, output, tf.zeros_like(output) if zero_output else last)
        return output, new_states

    output, _, states = _time_loop(masked_step, xs, masks, tf.zeros_like(states[0]), states,
                                   layer.return_sequences)
    return [output, *states] if layer.return_state else [output]


def _time_loop(masked_step: Callable, xs: Any, masks: Any, last: Any, states: list,
               return_sequences: bool) -> tuple[Any, Any, list]:
    """``masked_step`` over the time-major ``xs`` in a ``tf.while_loop``: (output, last, states)."""
    steps = tf.shape(xs)[0]
    inputs_ta = tf.TensorArray(xs.dtype, size=steps).unstack(xs)
    masks_ta = None if masks is None else tf.TensorArray(tf.bool, size=steps).unstack(masks)
    outputs_ta = tf.TensorArray(xs.dtype, size=steps if return_sequences else 0,
                                element_shape=last.shape)

    def body(t: Any, outputs: Any, last: Any, *carried: Any) -> tuple:
        m_t = None if masks_ta is None else masks_ta.read(t)
        output, new_states = masked_step(inputs_ta.read(t), m_t, last, list(carried))
        if return_sequences:
            outputs = outputs.write(t, output)
        return (t + 1, outputs, output, *new_states)

    loop = tf.while_loop(
        lambda t, *_: t < steps, body, (tf.constant(0), outputs_ta, last, *states),
        parallel_iterations=32, maximum_iterations=steps,
    )
    output = tf.transpose(loop[1].stack(), [1, 0, 2]) if return_sequences else loop[2]
    return output, loop[2], list(loop[3:])


def _state_sizes(cell: Any) -> list[int]:
    size = cell.state_size
    return list(size) if isinstance(size, list | tuple) else [size]


def _project(kernel: Any, bias: Any) -> Callable[[Any], Any]:
    """``x @ kernel + bias`` over (N, T, F): the input part of every step's pre-activations."""

    def project(x: Any) -> Any:
        z = tf.matmul(x, kernel)
        return z if bias is None else z + bias

    return project


def _lstm(cell: Any, epsilon: float) -> tuple[Callable, Callable]:
    act, gate = cell.activation, cell.recurrent_activation
    recurrent = cell.recurrent_kernel

    def step(xz: Any, states: list) -> tuple[Any, list]:
        h, c = states
        z_i, z_f, z_c, z_o = tf.split(xz + tf.matmul(h, recurrent), 4, axis=-1)
        i, f, o = hold(gate(z_i)), hold(gate(z_f)), hold(gate(z_o))
        g = identity_rule(act, epsilon_linear(z_c, epsilon), 0.0)
        c_new = epsilon_sum([f * c, i * g], epsilon)
        h_new = identity_rule(lambda v: o * act(v), c_new, 0.0)
        return h_new, [h_new, c_new]

    return _project(cell.kernel, cell.bias if cell.use_bias else None), step


def _gru(cell: Any, epsilon: float) -> tuple[Callable, Callable]:
    act, gate, units = cell.activation, cell.recurrent_activation, cell.units
    recurrent = cell.recurrent_kernel
    input_bias = recurrent_bias = None
    if cell.use_bias:
        if cell.reset_after:
            input_bias, recurrent_bias = cell.bias[0], cell.bias[1]
        else:
            input_bias = cell.bias

    def step(xz: Any, states: list) -> tuple[Any, list]:
        (h,) = states
        x_z, x_r, x_h = tf.split(xz, 3, axis=-1)
        if cell.reset_after:
            inner = tf.matmul(h, recurrent)
            if recurrent_bias is not None:
                inner = inner + recurrent_bias
            h_z, h_r, h_h = tf.split(inner, 3, axis=-1)
            z, r = hold(gate(x_z + h_z)), hold(gate(x_r + h_r))
            n_pre = x_h + r * h_h
        else:
            inner = tf.matmul(h, recurrent[:, : 2 * units])
            h_z, h_r = tf.split(inner, 2, axis=-1)
            z, r = hold(gate(x_z + h_z)), hold(gate(x_r + h_r))
            n_pre = x_h + tf.matmul(r * h, recurrent[:, 2 * units:])
        n = identity_rule(act, epsilon_linear(n_pre, epsilon), 0.0)
        h_new = epsilon_sum([z * h, (1 - z) * n], epsilon)
        return h_new, [h_new]

    return _project(cell.kernel, input_bias), step


def _simple_rnn(cell: Any, epsilon: float) -> tuple[Callable, Callable]:
    act = cell.activation or (lambda v: v)
    recurrent = cell.recurrent_kernel

    def step(xz: Any, states: list) -> tuple[Any, list]:
        (h,) = states
        h_new = identity_rule(act, epsilon_linear(xz + tf.matmul(h, recurrent), epsilon), 0.0)
        return h_new, [h_new]

    return _project(cell.kernel, cell.bias if cell.use_bias else None), step


_CELLS = {L.LSTMCell: _lstm, L.GRUCell: _gru, L.SimpleRNNCell: _simple_rnn}
