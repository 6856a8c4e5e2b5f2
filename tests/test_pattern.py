"""PatternComputer, the pattern types, PatternNet and PatternAttribution.

Oracles: the moments against a literal numpy computation (explicit im2col for convolutions),
the paper's toy problem with a known signal direction, PatternNet with the kernels as patterns
against the gradient.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import nested_model, sequential_cnn

from innv_core import create_analyzer
from innv_core.errors import InvalidParameterError, NotAnalyzableModelError
from innv_core.registry import get_registry
from innv_core.tools.pattern import PatternComputer, PatternType
from innv_core.utils.pattern_files import load_patterns, save_patterns
from innv_plugins.pattern.analyzer import PatternAttribution, PatternNet
from innv_plugins.pattern_types.linear import LinearPattern

L = keras.layers


# -- numpy oracles ----------------------------------------------------------------------------
def numpy_moments(X: np.ndarray, Y: np.ndarray, mask: np.ndarray | None) -> dict[str, np.ndarray]:
    """The moments of neuron-wise inputs ``X`` (N, in) and outputs ``Y`` (N, out), literally."""
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    if mask is None:
        return {"n": len(X), "count": np.full(Y.shape[1], len(X)), "sum_x": X.sum(0)[:, None],
                "sum_y": Y.sum(0), "sum_xy": X.T @ Y}
    mask = mask.astype(np.float64)
    return {"n": len(X), "count": mask.sum(0), "sum_x": X.T @ mask, "sum_y": Y.sum(0),
            "sum_xy": X.T @ (Y * mask)}


def numpy_linear_pattern(m: dict[str, np.ndarray], W2: np.ndarray) -> np.ndarray:
    """``(E+[xy] - E+[x] E[y]) / w^T(...)`` per output column, as the paper and iNNvestigate."""
    count = np.where(m["count"] == 0, 1, m["count"])
    cov = m["sum_xy"] / count - (m["sum_x"] / count) * (m["sum_y"] / m["n"])
    scale = np.sum(W2 * cov, axis=0)
    return cov / np.where(scale == 0, 1, scale)


def same_padding(size: int, k: int, s: int) -> tuple[int, int, int]:
    """TF's 'same' padding: (output size, pad before, pad after)."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


def im2col(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
    """Patches of ``x`` (B, H, W, C) for a 'same' convolution: (B * H' * W', kh * kw * C)."""
    (kh, kw), (sh, sw) = kernel, strides
    oh, th, _ = same_padding(x.shape[1], kh, sh)
    ow, tw, _ = same_padding(x.shape[2], kw, sw)
    pad_h = max((oh - 1) * sh + kh - x.shape[1], 0)
    pad_w = max((ow - 1) * sw + kw - x.shape[2], 0)
    xp = np.pad(x, ((0, 0), (th, pad_h - th), (tw, pad_w - tw), (0, 0)))
    rows = []
    for b in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                rows.append(xp[b, i * sh:i * sh + kh, j * sw:j * sw + kw, :].reshape(-1))
    return np.array(rows)


def assert_moments(got, want: dict[str, np.ndarray], kernel_shape: tuple[int, ...]) -> None:
    assert got.n == want["n"]
    np.testing.assert_allclose(got.count, want["count"], rtol=0, atol=0)
    for name in ("sum_x", "sum_y", "sum_xy"):
        value = getattr(got, name)
        value = value.reshape(-1, value.shape[-1]) if value.ndim > 1 else value
        scale = np.abs(want[name]).max() + 1e-12
        np.testing.assert_allclose(value, want[name], rtol=1e-5, atol=1e-5 * scale, err_msg=name)
    assert got.sum_xy.shape == kernel_shape


def dense_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inp = keras.Input((7,))
    out = L.Dense(5, activation="relu", bias_initializer=keras.initializers.RandomNormal(0, 0.5))(inp)
    return keras.Model(inp, out)


def conv_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inp = keras.Input((9, 7, 3))
    out = L.Conv2D(5, (3, 2), strides=(2, 1), padding="same", activation="relu",
                   bias_initializer=keras.initializers.RandomNormal(0, 0.5))(inp)
    return keras.Model(inp, out)


def data(shape: tuple[int, ...], n: int = 37, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


TYPES = ("linear", "relu.positive", "relu.negative")


# -- moments ----------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [5, 16, 64])
def test_dense_moments_equal_numpy(batch_size):
    model = dense_model()
    X = data((7,))
    W, b = model.layers[-1].get_weights()
    Y = X @ W
    fires = (X @ W + b) > 0
    computer = PatternComputer(model, pattern_type=TYPES)
    moments = computer.compute_moments(X, batch_size=batch_size)
    for got, mask in zip(moments, (None, fires, ~fires)):
        assert_moments(got[0], numpy_moments(X, Y, mask), W.shape)


@pytest.mark.parametrize("batch_size", [4, 37])
def test_conv2d_moments_equal_numpy(batch_size):
    model = conv_model()
    X = data((9, 7, 3))
    W, b = model.layers[-1].get_weights()
    patches = im2col(X, (3, 2), (2, 1))
    Y = patches @ W.reshape(-1, W.shape[-1])
    # the im2col oracle is the layer's own map
    np.testing.assert_allclose(np.maximum(Y + b, 0), model(X).numpy().reshape(Y.shape), rtol=1e-4, atol=1e-4)
    fires = (Y + b) > 0
    moments = PatternComputer(model, pattern_type=TYPES).compute_moments(X, batch_size=batch_size)
    for got, mask in zip(moments, (None, fires, ~fires)):
        assert_moments(got[0], numpy_moments(patches, Y, mask), W.shape)


def test_patterns_equal_numpy_formula_and_do_not_depend_on_batch_size():
    model = conv_model()
    X = data((9, 7, 3), n=50)
    W, b = model.layers[-1].get_weights()
    W2 = W.reshape(-1, W.shape[-1])
    patches = im2col(X, (3, 2), (2, 1))
    Y = patches @ W2
    fires = (Y + b) > 0
    small = PatternComputer(model, pattern_type=TYPES).compute(X, batch_size=3)
    large = PatternComputer(model, pattern_type=TYPES).compute(X, batch_size=50)
    for mask, p_small, p_large in zip((None, fires, ~fires), small, large):
        want = numpy_linear_pattern(numpy_moments(patches, Y, mask), W2).reshape(W.shape)
        np.testing.assert_allclose(p_small[0], want, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(p_small[0], p_large[0], rtol=1e-4, atol=1e-6)
        assert p_small[0].dtype == W.dtype


def test_depthwise_moments_equal_numpy():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 5, 2))
    layer = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")
    model = keras.Model(inp, layer(inp))
    X = data((6, 5, 2), n=11)
    W, b = layer.get_weights()  # (3, 3, 2, 2): channel c, multiplier m -> output c * 2 + m
    (got_lin, got_pos) = PatternComputer(model, pattern_type=("linear", "relu")).compute_moments(X, batch_size=4)
    patches = im2col(X, (3, 3), (1, 1)).reshape(-1, 3, 3, 2)
    for c in range(2):
        Xc = patches[..., c].reshape(len(patches), -1)
        Y = Xc @ W[:, :, c, :].reshape(9, 2)
        fires = (Y + b[c * 2:c * 2 + 2]) > 0
        want = numpy_moments(Xc, Y, fires)
        np.testing.assert_allclose(got_pos[0].sum_xy[:, :, c, :].reshape(9, 2), want["sum_xy"], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(got_pos[0].count[c], want["count"])
        np.testing.assert_allclose(got_lin[0].sum_x[:, :, c, 0].reshape(9), Xc.sum(0), rtol=1e-5, atol=1e-4)


def test_relu_mask_follows_batchnorm_to_the_activation_layer():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,))
    dense = L.Dense(4)
    bn = L.BatchNormalization()
    model = keras.Model(inp, L.ReLU()(bn(dense(inp))))
    bn.set_weights([np.array([1.0, -1.0, 2.0, 0.5]), np.array([0.3, 0.1, -0.2, 0.0]),
                    np.array([0.5, -0.5, 0.2, 0.1]), np.array([1.0, 2.0, 0.5, 1.5])])
    X = data((6,), n=40)
    W, b = dense.get_weights()
    (m,) = PatternComputer(model, pattern_type="relu").compute_moments(X, batch_size=16)
    fires = model(X).numpy() > 0
    assert not np.array_equal(fires, (X @ W + b) > 0)  # the activation search matters here
    np.testing.assert_allclose(m[0].count, fires.sum(0))


# -- the paper's toy problem --------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy():
    """``x = a_s * y + a_d * d``; ``w`` extracts ``y`` (``w ⟂ a_d``, ``w^T a_s = 1``)."""
    rng = np.random.default_rng(0)
    dim, n = 6, 5000
    a_s = rng.normal(size=dim)
    a_d = 3.0 * a_s + rng.normal(size=dim)  # a distractor overlapping the signal
    w = a_s - a_d * (a_d @ a_s) / (a_d @ a_d)
    w /= w @ a_s
    y, d = rng.normal(size=n), rng.normal(size=n)
    X = (np.outer(y, a_s) + np.outer(d, a_d)).astype(np.float32)
    inp = keras.Input((dim,))
    dense = L.Dense(1, use_bias=False)
    model = keras.Model(inp, dense(inp))
    dense.set_weights([w[:, None].astype(np.float32)])
    return model, X, a_s, w


def cosine(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    u = u.reshape(len(u), -1) if u.ndim > 1 else u[None]
    return (u @ v) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v))


def test_toy_linear_pattern_recovers_signal_direction(toy):
    model, X, a_s, w = toy
    (pattern,) = PatternComputer(model, pattern_type="linear").compute(X, batch_size=256)
    assert cosine(pattern[:, 0], a_s)[0] > 0.99
    assert abs(cosine(w, a_s)[0]) < 0.7  # the filter is not the signal
    np.testing.assert_allclose(w @ pattern[:, 0], 1.0, rtol=1e-4)  # normalised: w^T a = 1


def test_toy_patternnet_is_signal_gradient_is_filter_attribution_is_w_times_a(toy):
    model, X, a_s, w = toy
    net = PatternNet(model, pattern_type="linear")
    net.fit(X, batch_size=500)
    x = X[:8]
    assert np.all(np.abs(cosine(net.analyze(x), a_s)) > 0.99)
    gradient = create_analyzer("gradient", model).analyze(x)
    assert np.all(np.abs(cosine(gradient, w)) > 0.999)
    attribution = PatternAttribution(model, patterns=net.patterns).analyze(x)
    assert np.all(np.abs(cosine(attribution, w * a_s)) > 0.99)
    # exactly w * a * y for the learnt pattern a (the backward pass starts from the output y)
    a = net.patterns[0][:, 0]
    y = model(x).numpy()
    np.testing.assert_allclose(attribution, y * (w * a)[None], rtol=1e-4, atol=1e-6)


# -- PatternNet / PatternAttribution mechanics ----------------------------------------------------
def test_patternnet_with_kernels_as_patterns_is_gradient_times_output():
    model = sequential_cnn()
    X = data((8, 8, 3), n=4)
    dummy = PatternComputer(model, pattern_type="dummy").compute(X)
    assert all(np.array_equal(p, k) for p, k in zip(dummy, [l.get_weights()[0] for l in model.layers if l.weights]))
    net = PatternNet(model, patterns=dummy, reverse_project_bottleneck_layers=False)
    y = model(X).numpy()
    top = y.max(axis=1)
    want = create_analyzer("gradient", model).analyze(X) * top[:, None, None, None]
    np.testing.assert_allclose(net.analyze(X), want, rtol=1e-4, atol=1e-5)


def test_patternattribution_uses_kernel_times_pattern():
    model = sequential_cnn()
    X = data((8, 8, 3), n=24)
    patterns = PatternComputer(model, pattern_type="relu").compute(X)
    kernels = [l.get_weights()[0] for l in model.layers if l.weights]
    attribution = PatternAttribution(model, patterns=patterns).analyze(X[:3])
    net = PatternNet(model, patterns=[p * k for p, k in zip(patterns, kernels)]).analyze(X[:3])
    np.testing.assert_allclose(attribution, net, rtol=1e-5, atol=1e-6)


def test_bottleneck_projection_is_on_by_default():
    model = sequential_cnn()
    assert PatternNet(model)._reverse_options.project_bottleneck is True
    assert PatternAttribution(model)._reverse_options.project_bottleneck is True
    assert PatternNet(model, reverse_project_bottleneck_layers=False)._reverse_options.project_bottleneck is False


def test_analyze_before_fit_raises_clear_error():
    from innv_core.errors import InnvError, NotFittedError

    with pytest.raises(RuntimeError, match="no patterns yet.*fit") as caught:
        PatternNet(sequential_cnn()).analyze(data((8, 8, 3), n=2))
    assert isinstance(caught.value, NotFittedError) and isinstance(caught.value, InnvError)


def test_fit_default_type_is_relu_and_fit_on_dataset_with_labels():
    model = sequential_cnn()
    X = data((8, 8, 3), n=30)
    labels = np.zeros((30, 5), np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((X, labels)).batch(8)
    net = create_analyzer("pattern.net", model)
    net.fit(dataset)
    want = PatternComputer(model, pattern_type="relu").compute(X, batch_size=8)
    for got, expected in zip(net.patterns, want):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    generator_fit = PatternNet(model)
    generator_fit.fit_generator((X[i:i + 10] for i in range(0, 30, 10)), steps_per_epoch=2)
    partial = PatternComputer(model, pattern_type="relu").compute(X[:20], batch_size=10)
    np.testing.assert_allclose(generator_fit.patterns[2], partial[2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [PatternNet, PatternAttribution])
def test_save_load_round_trip_is_bit_identical(tmp_path, cls):
    model = sequential_cnn()
    X = data((8, 8, 3), n=20)
    analyzer = cls(model, pattern_type="linear")
    analyzer.fit(X, batch_size=10)
    before = analyzer.analyze(X[:3])
    path = str(tmp_path / "analyzer.npz")
    analyzer.save_npz(path)
    with np.load(path, allow_pickle=False) as f:
        assert any("pattern_000" in k for k in f.files)
    loaded = cls.load_npz(path)
    assert type(loaded) is cls and loaded._pattern_type == "linear"
    for a, b in zip(loaded.patterns, analyzer.patterns):
        assert np.array_equal(a, b)
    assert np.array_equal(loaded.analyze(X[:3]), before)
    # patterns given to the constructor are saved once, as arrays of the state
    given = cls(model, patterns=analyzer.patterns)
    _, state = given.save()
    assert "patterns" not in state["params"] and len(state["arrays"]) == len(analyzer.patterns)
    assert np.array_equal(cls.load(*given.save()).analyze(X[:3]), before)


def test_unfitted_analyzer_round_trips_without_patterns():
    net = PatternNet(sequential_cnn())
    loaded = PatternNet.load(*net.save())
    assert loaded.patterns is None


def test_pattern_file_round_trip(tmp_path):
    model = sequential_cnn()
    patterns = PatternComputer(model).compute(data((8, 8, 3), n=10))
    save_patterns(tmp_path / "p.npz", patterns)
    loaded = load_patterns(tmp_path / "p.npz")
    assert len(loaded) == len(patterns)
    for a, b in zip(loaded, patterns):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    x = data((8, 8, 3), n=2)
    np.testing.assert_array_equal(PatternNet(model, patterns=loaded).analyze(x),
                                  PatternNet(model, patterns=patterns).analyze(x))


# -- pattern types --------------------------------------------------------------------------------
def test_relu_types_on_a_deeper_relu_net_equal_numpy():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,))
    # positive weights and bias: on positive inputs the first layer always fires (and its 5 units
    # differ, so the hidden layers' inputs span 5 dimensions)
    d0 = L.Dense(5, activation="relu", kernel_initializer=keras.initializers.RandomUniform(0.1, 1.0),
                 bias_initializer="ones")
    d1 = L.Dense(4, activation="relu", bias_initializer=keras.initializers.RandomNormal(0, 0.3))
    d2 = L.Dense(3)
    model = keras.Model(inp, d2(d1(d0(inp))))
    X = np.abs(data((6,), n=200))
    linear, relu, positive, negative = PatternComputer(
        model, pattern_type=("linear", "relu", "relu.positive", "relu.negative")
    ).compute(X, batch_size=32)
    assert all(np.array_equal(a, b) for a, b in zip(relu, positive))
    np.testing.assert_allclose(positive[0], linear[0], rtol=1e-4, atol=1e-6)  # mask is all ones
    assert np.all(negative[0] == 0)  # never silent: no samples, no covariance
    # the hidden layers against numpy, from the layer inputs the model computes
    (W0, b0), (W1, b1), (W2, b2) = d0.get_weights(), d1.get_weights(), d2.get_weights()
    H1 = np.maximum(X @ W0 + b0, 0)
    H2 = np.maximum(H1 @ W1 + b1, 0)
    for layer, (H, W, b) in ((1, (H1, W1, b1)), (2, (H2, W2, b2))):
        Y = H @ W
        fires = (Y + b) > 0
        # no sample within float32 rounding of the threshold: the model's mask is the same
        assert np.abs(Y + b).min() > 1e-5 * np.abs(Y + b).max()
        for got, mask in ((linear[layer], None), (positive[layer], fires), (negative[layer], ~fires)):
            if mask is not None:
                assert 0 < mask.sum() < mask.size or layer == 2  # both kinds of samples occur
            want = numpy_linear_pattern(numpy_moments(H, Y, mask), W)
            # float32 layer inputs, float64 sums: the covariance of 200 samples to ~1e-6
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max(), err_msg=str(layer))


def test_pattern_types_are_registered_plugins_and_custom_types_work():
    registry = get_registry()
    assert {"linear", "relu", "relu.positive", "relu.negative", "dummy"} <= set(registry.names("pattern_types"))
    assert registry.get("pattern_types", "linear") is LinearPattern

    class Half(PatternType):
        def pattern(self, moments, kernel):
            return kernel * 0.5

    model = sequential_cnn()
    patterns = PatternComputer(model, pattern_type=Half()).compute(data((8, 8, 3), n=4))
    assert np.array_equal(patterns[0], model.layers[0].get_weights()[0] * 0.5)


def test_unknown_pattern_type_names_the_choices():
    with pytest.raises(KeyError, match="relu"):
        PatternComputer(sequential_cnn(), pattern_type="rel")


# -- computer options and errors -------------------------------------------------------------------
def test_gpus_are_refused_with_a_clear_error():
    with pytest.raises(NotImplementedError, match="tf.distribute"):
        PatternComputer(sequential_cnn(), gpus=2)


def test_compute_layers_in_parallel_is_accepted_and_has_no_effect():
    """Accepted for iNNvestigate code and ignored (documented in PatternComputer): every layer's
    moments come from the same single pass, so the patterns are the same bits."""
    model = sequential_cnn()
    X = data((8, 8, 3), n=10)
    sequential = PatternComputer(model, compute_layers_in_parallel=False)
    assert sequential.compute_layers_in_parallel is False
    a = sequential.compute(X)
    b = PatternComputer(model).compute(X)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    with pytest.raises(InvalidParameterError, match="compute_layers_in_parallel.*True or False"):
        PatternComputer(model, compute_layers_in_parallel="no")


@pytest.mark.parametrize("layer", [L.Conv2DTranspose(2, 3), L.SeparableConv2D(2, 3)])
def test_unsupported_kernel_layers_raise_naming_the_layer(layer):
    inp = keras.Input((6, 6, 2))
    model = keras.Model(inp, layer(inp))
    with pytest.raises(NotAnalyzableModelError, match=layer.name):
        PatternComputer(model)
    with pytest.raises(NotAnalyzableModelError, match=layer.name):
        PatternNet(model)


def test_wrong_number_or_shape_of_patterns_is_refused():
    model = sequential_cnn()
    patterns = PatternComputer(model, pattern_type="dummy").compute(data((8, 8, 3), n=2))
    with pytest.raises(ValueError, match="3 pattern.*4 layer"):
        PatternNet(model, patterns=patterns[:3])
    with pytest.raises(ValueError, match="shape"):
        PatternNet(model, patterns=[p.T for p in patterns])


def test_shared_layers_get_one_pattern_from_all_calls():
    model = nested_model()
    X = data((4,), n=25)
    computer = PatternComputer(model, pattern_type="linear")
    assert len(computer.layers) == 3 and len(computer.layers[1].nodes) == 2
    (moments,) = computer.compute_moments(X, batch_size=10)
    assert moments[1].n == 2 * len(X)
    # the shared Dense's pattern: the moments of both calls' inputs and outputs, pooled
    (W0, b0), (W1, b1) = [p.layer.get_weights() for p in computer.layers[:2]]
    H1 = np.maximum(X @ W0 + b0, 0)
    H2 = np.maximum(H1 @ W1 + b1, 0)
    H = np.concatenate([H1, H2])
    want = numpy_linear_pattern(numpy_moments(H, H @ W1, None), W1)
    np.testing.assert_allclose(computer.compute(X)[1], want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_verbose_shows_a_progress_bar(capsys):
    PatternComputer(sequential_cnn()).compute(data((8, 8, 3), n=12), batch_size=4, verbose=1)
    assert "3/3" in capsys.readouterr().out


def test_empty_data_is_refused():
    with pytest.raises(ValueError, match="empty"):
        PatternComputer(sequential_cnn()).compute_generator([])


def test_non_relu_networks_are_refused():
    """PatternNet is derived for ReLU networks (more in test_model_checks.py)."""
    from innv_core.errors import NotAnalyzableModelError

    inp = keras.Input((4,))
    model = keras.Model(inp, L.Dense(2)(L.Dense(3, activation="tanh")(inp)))
    with pytest.raises(NotAnalyzableModelError, match="ReLU networks only"):
        PatternNet(model)


def test_a_computer_can_be_reused_without_carrying_sums_over():
    model = sequential_cnn()
    X = data((8, 8, 3), n=12)
    computer = PatternComputer(model, pattern_type=("linear", "relu"))
    first = computer.compute(X, batch_size=4)
    computer.compute(X[:5], batch_size=4)
    again = computer.compute(X, batch_size=4)
    for a, b in zip(first, again):
        assert all(np.array_equal(p, q) for p, q in zip(a, b))


def test_one_compiled_pass_serves_every_batch_size():
    computer = PatternComputer(sequential_cnn(), pattern_type="relu")
    computer.compute(data((8, 8, 3), n=11), batch_size=4)  # batches of 4, 4 and 3
    computer.compute(data((8, 8, 3), n=5), batch_size=5)
    assert computer._step.experimental_get_tracing_count() == 1


def test_fit_accepts_a_pattern_type_override():
    model = sequential_cnn()
    X = data((8, 8, 3), n=16)
    net = PatternNet(model, pattern_type="relu")
    net.fit(X, batch_size=8, pattern_type="linear")
    want = PatternComputer(model, pattern_type="linear").compute(X, batch_size=8)
    np.testing.assert_allclose(net.patterns[0], want[0], rtol=1e-5, atol=1e-6)
