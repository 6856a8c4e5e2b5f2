"""innv_core.utils: to_list, batch sequences, image pre/postprocessing, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import innv_core.utils as iutils
from innv_core.utils import postprocess_images, preprocess_images, to_list


def test_to_list():
    assert to_list(3) == [3]
    a = [1, 2]
    assert to_list(a) is a
    assert to_list((1, 2)) == [(1, 2)]


def test_light_modules_do_not_import_keras_or_matplotlib():
    code = (
        "import sys\n"
        "import innv_core.utils, innv_core.utils.visualizations, innv_core.tools.perturbate\n"
        "import innv_core.tools.aopc, innv_core.applications.imagenet\n"
        "import innv_plugins.perturbations.gaussian\n"
        "heavy = [m for m in ('keras', 'tensorflow', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- BatchSequence ----------------------------------------------------------------------------
def test_batch_sequence_single_array_with_partial_last_batch():
    from innv_core.utils import BatchSequence

    X = np.arange(10 * 2).reshape(10, 2)
    seq = BatchSequence(X, batch_size=4)
    assert len(seq) == 3
    batches = [seq[i] for i in range(len(seq))]
    assert [len(b) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(batches), X)
    np.testing.assert_array_equal(seq[-1], X[8:])
    np.testing.assert_array_equal(list(seq)[1], X[4:8])  # PyDataset iteration
    with pytest.raises(IndexError):
        seq[3]
    assert len(BatchSequence(X)) == 1  # default batch size 32
    assert len(BatchSequence(X[:8], batch_size=4)) == 2


def test_batch_sequence_lists_of_arrays():
    import keras

    from innv_core.utils import BatchSequence

    X, Y, W = np.zeros((7, 3)), np.arange(7), np.ones((7, 2, 2))
    seq = BatchSequence([X, Y, W], batch_size=3)
    assert isinstance(seq, keras.utils.PyDataset)
    assert len(seq) == 3
    x, y, w = seq[2]
    assert x.shape == (1, 3) and w.shape == (1, 2, 2)
    np.testing.assert_array_equal(y, [6])
    np.testing.assert_array_equal(seq[0][1], [0, 1, 2])
    np.testing.assert_array_equal(BatchSequence([Y], batch_size=5)[1], [5, 6])  # list of one
    with pytest.raises(ValueError, match="same length"):
        BatchSequence([X, Y[:5]])
    with pytest.raises(ValueError, match="positive"):
        BatchSequence(X, batch_size=0)


def test_batch_sequence_feeds_keras():
    import keras

    from innv_core.utils import BatchSequence

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 4)).astype("float32"), rng.integers(0, 2, 10)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy")
    loss = model.evaluate(BatchSequence([X, Y], batch_size=3), verbose=0)
    assert loss == pytest.approx(model.evaluate(X, Y, verbose=0), rel=1e-5)


# -- TargetAugmentedSequence ---------------------------------------------------------------
def test_target_augmented_sequence():
    from innv_core.utils import BatchSequence, TargetAugmentedSequence

    X = np.arange(10.0).reshape(5, 2)
    received = []

    def augment(inputs):
        received.append(inputs)
        return inputs[0].sum(axis=1)

    seq = TargetAugmentedSequence(BatchSequence(X, batch_size=2), augment)
    assert len(seq) == 3
    x, y = seq[1]
    np.testing.assert_array_equal(x, X[2:4])
    np.testing.assert_array_equal(y, X[2:4].sum(axis=1))
    assert isinstance(received[0], list) and len(received[0]) == 1
    x, y = TargetAugmentedSequence([(X[:2],)], augment)[0]  # 1-tuples are unwrapped
    np.testing.assert_array_equal(x, X[:2])
    with pytest.raises(ValueError, match="inputs only"):
        TargetAugmentedSequence([(X, X)], augment)[0]


# -- images ------------------------------------------------------------------------------------
@pytest.mark.parametrize("coding", [None, "RGBtoBGR", "BGRtoRGB"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_pre_postprocess_round_trip(coding, data_format):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(2, 5, 6, 3))  # channels-last RGB
    pre = preprocess_images(images, coding, data_format=data_format)
    expected_shape = (2, 5, 6, 3) if data_format == "channels_last" else (2, 3, 5, 6)
    assert pre.shape == expected_shape
    channels = pre if data_format == "channels_last" else np.moveaxis(pre, 1, -1)
    flipped = images[..., ::-1] if coding else images
    np.testing.assert_array_equal(channels, flipped)
    np.testing.assert_array_equal(postprocess_images(pre, coding, data_format=data_format), images)
    back_first = postprocess_images(pre, coding, channels_first=True, data_format=data_format)
    np.testing.assert_array_equal(back_first, np.moveaxis(images, -1, 1))


def test_preprocess_moves_channels_first_input_and_uses_keras_default():
    import keras

    images = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)  # channels-first
    assert keras.config.image_data_format() == "channels_last"
    out = preprocess_images(images)
    np.testing.assert_array_equal(out, images.transpose(0, 2, 3, 1))


def test_image_errors():
    with pytest.raises(ValueError, match="color_coding"):
        preprocess_images(np.zeros((1, 2, 2, 3)), "RGB", data_format="channels_last")
    with pytest.raises(ValueError, match="4 axes"):
        postprocess_images(np.zeros((2, 2, 3)), data_format="channels_last")


def test_model_wo_softmax_is_resolved_lazily():
    graph = pytest.importorskip("innv_core.graph")
    assert iutils.model_wo_softmax is graph.model_wo_softmax
    with pytest.raises(AttributeError, match="no attribute"):
        iutils.no_such_thing  # noqa: B018


# -- pattern files ---------------------------------------------------------------------------
def test_pattern_file_round_trip(tmp_path):
    from innv_core.utils.pattern_files import load_patterns, save_patterns

    patterns = [np.arange(6.0).reshape(2, 3), np.ones((3, 3, 1, 4), "float32")] + [
        np.full(2, i) for i in range(10)
    ]
    save_patterns(tmp_path / "p.npz", patterns)
    loaded = load_patterns(tmp_path / "p.npz")
    assert len(loaded) == 12
    for a, b in zip(loaded, patterns):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    np.savez(tmp_path / "other.npz", arr_0=np.zeros(2))
    with pytest.raises(ValueError, match="pattern_000"):
        load_patterns(tmp_path / "other.npz")
