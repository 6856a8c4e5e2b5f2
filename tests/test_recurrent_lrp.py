"""LRP through LSTM, GRU, SimpleRNN and Bidirectional (Arras et al. 2017 conventions).

Three oracles: the stored references of ``references/lstm_lrp.npz`` (a BiLSTM over tokens whose
relevance comes from Arras et al.'s own code, and two LSTMs from the numpy oracle; made by
``references/gen_arras.py``), the float64 numpy oracle ``references/lstm_lrp_numpy.py`` run
here on small models, and conservation (no biases, eps -> 0: the relevance sums to the logit).
Compared at max|a - b| / max|b| < 1e-3.

Compiling an analysis costs about a second per recurrent layer (TensorFlow builds the gradient
of every ``tf.while_loop`` while tracing), so the default run covers each convention once, mostly
on stacked models, and the full matrix (every cell and eps alone, every merge mode with and
without sequences, the references in both selection modes, Keras' own loop) is marked ``slow``.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from innv_core import create_analyzer
from innv_core.errors import NotAnalyzableModelError
from innv_plugins.lrp.recurrent import layer_forward

sys.path.insert(0, str(Path(__file__).parent / "references"))
import gen_arras  # noqa: E402
import lstm_lrp_numpy as oracle  # noqa: E402

L = keras.layers
T, F = 7, 4
TOL = 1e-3
slow = pytest.mark.slow


def rel(a, b) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def unrolled(model: keras.Model, masked: bool = False) -> keras.Model:
    """``unroll=True`` on the model's recurrent layers: the same computation, traced faster.

    The engine replays each layer under its tapes, and TensorFlow builds the gradient of a
    ``tf.while_loop`` recorded on a tape while tracing (1.5 s per Keras LSTM under the engine's
    two tapes, 0.1 s unrolled); innv's own recurrence is a ``tf.while_loop`` either way. Left
    alone in a ``masked`` model: a ``go_backwards`` layer with ``zero_output_for_mask`` (a
    Bidirectional returning sequences), which Keras' unrolled path zeroes at the positions of the
    un-reversed mask (it then differs from Keras' loop; innv follows the loop).
    """
    for layer in model.layers:
        inner = [layer.forward_layer, layer.backward_layer] if isinstance(layer, L.Bidirectional) else [layer]
        for rnn in inner:
            if isinstance(rnn, L.RNN) and not (masked and rnn.go_backwards and rnn.zero_output_for_mask):
                rnn.unroll = True
    return model


def chain(*layers, inputs=(T, F), dtype="float32", seed=0, unroll=True, bias=0.5) -> keras.Model:
    """A Sequential model with every bias set non-zero (``bias`` = their scale)."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(inputs, dtype=dtype), *layers])
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if "bias" in w.path:
            w.assign(rng.normal(0.0, bias, size=w.shape).astype(np.float32))
    masked = any(getattr(layer, "mask_zero", False) or isinstance(layer, L.Masking) for layer in layers)
    return unrolled(model, masked) if unroll else model


def lrp(model, x, eps=1e-3, neuron=None, **kwargs):
    mode = "max_activation" if neuron is None else "index"
    analyzer = create_analyzer("lrp.epsilon", model, epsilon=eps, neuron_selection_mode=mode, **kwargs)
    return analyzer.analyze(x) if neuron is None else analyzer.analyze(x, neuron_selection=neuron)


def against_oracle(model, x, eps=1e-3, neuron=None) -> np.ndarray:
    net = oracle.from_keras(model)
    np.testing.assert_allclose(oracle.outputs(net, x), model(x).numpy(), atol=1e-5)
    got = lrp(model, x, eps, neuron)
    expected = oracle.lrp(net, x, eps, neuron)
    assert got.shape == expected.shape
    assert rel(got, expected) < TOL
    return got


X = np.random.default_rng(0).normal(size=(3, T, F)).astype(np.float32)
IDS = np.random.default_rng(1).integers(1, 20, size=(4, 8)).astype(np.int32)
IDS[1, 5:] = 0
IDS[2, 3:] = 0
IDS[3, :2] = 0  # padding in front too


# -- the stored references (Arras et al.'s code; the oracle) --------------------------------------
@pytest.fixture(scope="module")
def npz():
    return gen_arras.load_npz()


def _reference_model(name, npz, unroll=True):
    model, _ = gen_arras.load_reference(name, npz)
    x = npz[f"x/{name}"]
    np.testing.assert_allclose(model(x).numpy(), npz[f"y/{name}"], atol=1e-6)
    return (unrolled(model) if unroll else model), x


def _check_reference(analyzer, npz, name, eps, target, x, neuron):
    key = f"{name}/eps={eps:g}/{target}"
    selection = {} if neuron is None else {"neuron_selection": neuron}
    assert rel(analyzer.analyze(x, **selection), npz[f"a/{key}"]) < TOL
    if name == "bilstm_tokens":  # Arras' relevance per embedding dimension
        assert rel(analyzer.analyze(x, token_reduce=None, **selection), npz[f"v/{key}"]) < TOL


@pytest.mark.parametrize("eps", gen_arras.EPSILONS)
@pytest.mark.parametrize("name", list(gen_arras.MODELS))
def test_lrp_epsilon_matches_the_references(npz, name, eps):
    """Both targets from one analyzer: neuron 1, and each sample's max logit given by index."""
    model, x = _reference_model(name, npz)
    analyzer = create_analyzer("lrp.epsilon", model, epsilon=eps, neuron_selection_mode="index")
    assert analyzer._inner_epsilon == eps  # the recurrent layers' epsilon is the rule's
    _check_reference(analyzer, npz, name, eps, "index", x, 1)
    _check_reference(analyzer, npz, name, eps, "max_activation", x, npz[f"y/{name}"].argmax(1))


_DEFAULT_MODE_CASE = ("lstm_float", 1e-3, "max_activation", True)


@pytest.mark.parametrize("name,eps,target,unroll", [
    case if case == _DEFAULT_MODE_CASE else pytest.param(*case, marks=slow)
    for name in gen_arras.MODELS for eps in gen_arras.EPSILONS for target in sorted(gen_arras.TARGETS)
    for unroll in (True, False) for case in [(name, eps, target, unroll)]
])
def test_references_in_each_selection_mode(npz, name, eps, target, unroll):
    """``neuron_selection_mode="max_activation"`` and ``"index"`` as such, with Keras' loop too."""
    model, x = _reference_model(name, npz, unroll)
    analyzer = create_analyzer("lrp.epsilon", model, epsilon=eps, neuron_selection_mode=target)
    _check_reference(analyzer, npz, name, eps, target, x, gen_arras.TARGETS[target])


def test_the_references_were_checked_against_arras_code(npz):
    checks = json.loads(str(npz["meta"]))["cross_check"]
    assert max(v for k, v in checks.items() if "oracle vs Arras" in k) < 1e-8


# -- the numpy oracle on the other layers and options ---------------------------------------------
@pytest.mark.parametrize("eps", [1e-3, pytest.param(1e-9, marks=slow)])
def test_stacked_cells_against_the_oracle(eps):
    """SimpleRNN (backwards) -> GRU (reset before) -> GRU -> LSTM (backwards) -> Dense."""
    model = chain(L.SimpleRNN(6, return_sequences=True, go_backwards=True),
                  L.GRU(6, return_sequences=True, reset_after=False), L.GRU(5, return_sequences=True),
                  L.LSTM(5, go_backwards=True), L.Dense(3), bias=0.3)
    against_oracle(model, X, eps)


@slow
@pytest.mark.parametrize("layer", [
    lambda: L.GRU(5),
    lambda: L.GRU(5, reset_after=False),
    lambda: L.SimpleRNN(5),
    lambda: L.LSTM(5, go_backwards=True),
    lambda: L.GRU(5, go_backwards=True),
], ids=["gru", "gru_reset_before", "simple_rnn", "lstm_go_backwards", "gru_go_backwards"])
@pytest.mark.parametrize("eps", [1e-3, 1e-9])
def test_each_cell_against_the_oracle(layer, eps):
    against_oracle(chain(layer(), L.Dense(3)), X, eps)


_DEFAULT_MERGES = {("concat", False), ("sum", True), ("mul", True)}  # ave: sum halved


@pytest.mark.parametrize("merge_mode,return_sequences", [
    (m, rs) if (m, rs) in _DEFAULT_MERGES else pytest.param(m, rs, marks=slow)
    for m in ("concat", "sum", "ave", "mul") for rs in (False, True)
])
def test_bidirectional_merge_modes(merge_mode, return_sequences):
    head = [L.Flatten()] if return_sequences else []
    model = chain(L.Bidirectional(L.LSTM(5, return_sequences=return_sequences), merge_mode=merge_mode),
                  *head, L.Dense(3))
    against_oracle(model, X, neuron=1)


@slow
def test_bidirectional_gru():
    against_oracle(chain(L.Bidirectional(L.GRU(4)), L.Dense(3)), X)


@slow
@pytest.mark.parametrize("head", ["gap", "flatten"])
def test_return_sequences_into_a_following_layer(head):
    tail = [L.GlobalAveragePooling1D()] if head == "gap" else [L.Flatten()]
    against_oracle(chain(L.LSTM(5, return_sequences=True), *tail, L.Dense(3)), X)


def test_masked_final_states_of_both_directions():
    model = chain(L.Embedding(20, 6, mask_zero=True), L.Bidirectional(L.LSTM(4)), L.Dense(3),
                  inputs=(8,), dtype="int32")
    got = against_oracle(model, IDS)
    assert np.all(got[IDS == 0] == 0.0) and np.all(got[IDS != 0] != 0.0)


def test_masked_sequences_through_stacked_layers_into_masked_pooling():
    """Masked outputs zeroed (``zero_output_for_mask``, as Bidirectional sets it when it returns
    sequences), the GRU skips masked steps, GlobalAveragePooling1D averages the rest."""
    model = chain(L.Embedding(20, 6, mask_zero=True),
                  L.LSTM(4, return_sequences=True, zero_output_for_mask=True),
                  L.GRU(4, return_sequences=True), L.GlobalAveragePooling1D(), L.Dense(3),
                  inputs=(8,), dtype="int32", bias=0.3)
    got = against_oracle(model, IDS, neuron=0)
    assert np.all(got[IDS == 0] == 0.0) and np.all(got[IDS != 0] != 0.0)


@slow
@pytest.mark.parametrize("layers", [
    lambda: [L.LSTM(5)],
    lambda: [L.GRU(5, go_backwards=True)],
    lambda: [L.SimpleRNN(5)],
    lambda: [L.Bidirectional(L.LSTM(4, return_sequences=True)), L.GRU(3, return_sequences=True),
             L.GlobalAveragePooling1D()],
], ids=["lstm", "gru_go_backwards", "simple_rnn", "bilstm_sequences"])
def test_each_masked_layer(layers):
    model = chain(L.Embedding(20, 6, mask_zero=True), *layers(), L.Dense(3), inputs=(8,), dtype="int32")
    got = against_oracle(model, IDS)
    assert np.all(got[IDS == 0] == 0.0)


def test_a_masking_layer_mask_reaches_the_lstm():
    """``Masking`` records ``keras.ops.any``, which no plugin registers yet: checks disabled."""
    model = chain(L.Masking(), L.LSTM(5), L.Dense(3))
    x = X.copy()
    x[0, 5:] = 0.0
    x[1, :2] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = lrp(model, x, disable_model_checks=True)
    lstm, dense = oracle.rnn_from_keras(model.layers[1]), oracle.Dense(*model.layers[2].get_weights())
    expected = []
    for xi in x.astype(np.float64):
        h, _ = lstm.forward(xi, np.any(xi != 0, -1))
        y, _ = dense.forward(h)
        R = np.zeros_like(y)
        R[y.argmax()] = y.max()
        expected.append(lstm.relevance(dense.relevance(R, 1e-3), 1e-3))
    assert rel(got, np.stack(expected)) < TOL
    assert np.all(got[0, 5:] == 0.0) and np.all(got[1, :2] == 0.0)


def test_return_state_relevance_enters_the_last_step():
    keras.utils.set_random_seed(3)
    inp = keras.Input((T, F))
    lstm = L.LSTM(5, return_state=True, bias_initializer="random_normal", unroll=True)
    out, _, c = lstm(inp)
    dense = L.Dense(3, bias_initializer="random_normal")
    model = keras.Model(inp, dense(L.Concatenate()([out, c])))
    got = lrp(model, X)
    o_lstm = oracle.LSTM(*lstm.get_weights())
    o_dense = oracle.Dense(*dense.get_weights())
    expected = []
    for xi in X.astype(np.float64):
        h, _ = o_lstm.forward(xi)
        y, _ = o_dense.forward(np.concatenate([h, o_lstm.final_states[1]]))
        R = np.zeros_like(y)
        R[y.argmax()] = y.max()
        R_in = o_dense.relevance(R, 1e-3)
        expected.append(o_lstm.relevance(R_in[:5], 1e-3, R_final_states=[np.zeros(5), R_in[5:]]))
    assert rel(got, np.stack(expected)) < TOL


def test_variable_lengths_and_batch_sizes_compile_once():
    model = chain(L.LSTM(5), L.Dense(3), inputs=(None, F), unroll=False)
    analyzer = create_analyzer("lrp.epsilon", model, epsilon=1e-3)
    net = oracle.from_keras(model)
    for n, steps in ((2, 3), (1, 9), (3, T)):
        x = np.random.default_rng(steps).normal(size=(n, steps, F)).astype(np.float32)
        assert rel(analyzer.analyze(x), oracle.lrp(net, x, 1e-3)) < TOL
    assert analyzer._trace_count == 1


# -- conservation: no biases, eps -> 0 -------------------------------------------------------
def test_without_biases_the_relevance_sums_to_the_logit():
    keras.utils.set_random_seed(4)
    model = unrolled(keras.Sequential([
        keras.Input((T, F)), L.SimpleRNN(6, use_bias=False, return_sequences=True),
        L.GRU(6, use_bias=False, return_sequences=True), L.LSTM(5, use_bias=False),
        L.Dense(3, use_bias=False),
    ]))
    got = lrp(model, X, eps=1e-9)
    np.testing.assert_allclose(got.sum((1, 2)), model(X).numpy().max(1), rtol=1e-4)


def test_relevance_crosses_states_passed_as_initial_state():
    """Encoder-decoder: the encoder's final states start the decoder; the sum is conserved."""
    keras.utils.set_random_seed(5)
    enc_in, dec_in = keras.Input((T, F)), keras.Input((5, F))
    _, h, c = L.LSTM(6, use_bias=False, return_state=True, unroll=True)(enc_in)
    dec = L.LSTM(6, use_bias=False, unroll=True)(dec_in, initial_state=[h, c])
    model = keras.Model([enc_in, dec_in], L.Dense(3, use_bias=False)(dec))
    x = [X, np.random.default_rng(6).normal(size=(3, 5, F)).astype(np.float32)]
    a_enc, a_dec = lrp(model, x, eps=1e-9)
    assert np.abs(a_enc).max() > 0.01 * np.abs(a_dec).max()
    np.testing.assert_allclose(a_enc.sum((1, 2)) + a_dec.sum((1, 2)), model(x).numpy().max(1), rtol=1e-4)


# -- the unrolled recurrence computes the layer's outputs ------------------------------------
@pytest.mark.parametrize("layer", [
    lambda: L.LSTM(5, return_sequences=True, return_state=True, go_backwards=True),
    lambda: L.GRU(5, return_state=True, reset_after=False),
    lambda: L.SimpleRNN(5, return_sequences=True, activation="relu"),
    lambda: L.Bidirectional(L.LSTM(5, return_sequences=True, return_state=True), merge_mode="mul"),
    lambda: L.Bidirectional(L.GRU(5), merge_mode=None),
], ids=["lstm", "gru", "simple_rnn", "bilstm_state", "bigru_none"])
def test_the_unrolled_layer_computes_the_keras_outputs(layer):
    layer = layer()
    mask = np.ones((3, T), bool)
    mask[1, 4:] = False
    mask[2, :3] = False
    layer(X, mask=mask)
    for w in layer.weights:
        if "bias" in w.path:
            w.assign(np.random.default_rng(0).normal(size=w.shape).astype(np.float32))
    ys = keras.tree.flatten(layer(X, mask=mask))
    mine = layer_forward(layer, tf.constant(X), None, tf.constant(mask), 1e-3)
    assert len(mine) == len(ys)
    for a, b in zip(mine, ys):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)


# -- other analyzers on recurrent models -------------------------------------------------------------
@pytest.fixture(scope="module")
def lstm_model():
    return chain(L.LSTM(5), L.Dense(3))


@pytest.mark.parametrize("name", ["gradient", "input_t_gradient", "integrated_gradients", "deep_lift.wrapper"])
def test_gradient_family_and_deeplift_run_on_an_lstm(lstm_model, name):
    kwargs = {"steps": 8} if name == "integrated_gradients" else {}
    a = create_analyzer(name, lstm_model, **kwargs).analyze(X)
    assert a.shape == X.shape and np.all(np.isfinite(a)) and np.abs(a).max() > 0


@pytest.mark.parametrize("layer", [
    lambda: L.LSTM(5),
    lambda: L.LSTM(5, activation="relu"),  # its gates are sigmoids
    lambda: L.Bidirectional(L.GRU(5, activation="relu")),
], ids=["lstm", "relu_lstm", "relu_bigru"])
@pytest.mark.parametrize("name", ["deep_taylor", "pattern.net"])
def test_relu_only_methods_refuse_recurrent_layers(name, layer):
    model = chain(layer(), L.Dense(3), unroll=False)
    with pytest.raises(NotAnalyzableModelError, match="ReLU networks only"):
        create_analyzer(name, model)
