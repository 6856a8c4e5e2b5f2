"""ImageNet factories: build without weights, Keras' own preprocessing, pattern files."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from innv_core.applications import imagenet
from innv_core.utils.pattern_files import save_patterns

KEYS = {"model", "in", "sm_out", "out", "image_shape", "color_coding", "preprocess_f", "patterns"}

# name, keras.applications module, image size, colour coding
NETS = [
    ("vgg16", "vgg16", 224, "BGRtoRGB"),
    ("vgg19", "vgg19", 224, "BGRtoRGB"),
    ("resnet50", "resnet50", 224, "BGRtoRGB"),
    ("inception_v3", "inception_v3", 299, None),
    ("inception_resnet_v2", "inception_resnet_v2", 299, None),
    ("densenet121", "densenet", 224, None),
    ("densenet169", "densenet", 224, None),
    ("densenet201", "densenet", 224, None),
    ("nasnet_large", "nasnet", 331, None),
    ("nasnet_mobile", "nasnet", 224, None),
]
# Building these takes > 3 s each on a CPU (VGG: ~140M parameters to initialize).
SLOW = {"vgg16", "vgg19", "inception_resnet_v2", "densenet169", "densenet201", "nasnet_large"}


@pytest.fixture(autouse=True)
def _free_models():
    yield
    import keras

    keras.backend.clear_session()


@pytest.mark.parametrize(
    "name, module, size, coding",
    [pytest.param(*net, marks=[pytest.mark.slow] if net[0] in SLOW else []) for net in NETS],
)
def test_factory_builds_without_weights(name, module, size, coding):
    import keras

    net = getattr(imagenet, name)(load_weights=False)
    assert KEYS <= set(net)
    model = net["model"]
    assert isinstance(model, keras.Model)
    assert net["image_shape"] == [size, size]
    assert model.input_shape == (None, size, size, 3)
    assert model.output_shape == (None, 1000)
    assert net["color_coding"] == coding
    assert net["patterns"] is None
    assert net["in"] == list(model.inputs) and net["out"] == list(model.outputs)
    assert model.layers[-1].activation.__name__ == "linear"  # the model gives logits
    assert len(net["sm_out"]) == 1 and tuple(net["sm_out"][0].shape) == (None, 1000)

    keras_module = importlib.import_module(f"keras.applications.{module}")
    assert net["preprocess_f"] is keras_module.preprocess_input
    image = np.random.default_rng(0).uniform(0, 255, size=(1, size, size, 3)).astype("float32")
    np.testing.assert_array_equal(
        net["preprocess_f"](image.copy()), keras_module.preprocess_input(image.copy())
    )
    low, high = net["input_range"]
    assert low < high


def test_softmax_output_is_the_softmax_of_the_logits():
    import keras

    net = imagenet.resnet50()
    classifier = keras.Model(net["in"], net["sm_out"])
    image = net["preprocess_f"](
        np.random.default_rng(1).uniform(0, 255, size=(1, 224, 224, 3)).astype("float32")
    )
    logits = np.asarray(net["model"](image))
    probabilities = np.asarray(classifier([image])).reshape(logits.shape)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probabilities, expected, rtol=1e-4, atol=1e-7)


# -- patterns ------------------------------------------------------------------------------------
def _patterns():
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3, 3, 3, 4)).astype("float32"), rng.normal(size=(5, 2))]


def _check(loaded, patterns):
    assert len(loaded) == len(patterns)
    for a, b in zip(loaded, patterns):
        np.testing.assert_array_equal(a, b)


def test_patterns_from_file_and_directory(tmp_path):
    patterns = _patterns()
    save_patterns(tmp_path / "nasnet_mobile.npz", patterns)
    _check(imagenet._patterns("nasnet_mobile", tmp_path / "nasnet_mobile.npz"), patterns)
    _check(imagenet._patterns("nasnet_mobile", str(tmp_path)), patterns)
    assert imagenet._patterns("nasnet_mobile", False) is None


def test_patterns_from_the_cache(tmp_path, monkeypatch):
    patterns = _patterns()
    monkeypatch.setenv("INNV_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    (tmp_path / "home" / "patterns").mkdir(parents=True)
    save_patterns(tmp_path / "home" / "patterns" / "vgg16.npz", patterns)
    _check(imagenet._patterns("vgg16", True), patterns)
    assert imagenet.pattern_search_paths("vgg16") == [
        tmp_path / "home" / "patterns" / "vgg16.npz",
        tmp_path / "user" / ".innv" / "patterns" / "vgg16.npz",
    ]


def test_factory_loads_patterns(tmp_path):
    patterns = _patterns()
    save_patterns(tmp_path / "resnet50.npz", patterns)
    net = imagenet.resnet50(load_patterns=tmp_path)
    _check(net["patterns"], patterns)


def test_missing_patterns_say_where_they_were_looked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("INNV_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    with pytest.raises(FileNotFoundError) as info:
        imagenet._patterns("vgg19", True)
    message = str(info.value)
    assert str(tmp_path / "home" / "patterns" / "vgg19.npz") in message
    assert str(tmp_path / "user" / ".innv" / "patterns" / "vgg19.npz") in message
    assert "save_patterns" in message and "load_patterns=" in message

    with pytest.raises(FileNotFoundError, match="missing.npz"):
        imagenet._patterns("vgg19", tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError) as info:  # the factory itself, before building
        imagenet.resnet50(load_patterns=str(tmp_path))
    assert str(tmp_path / "resnet50.npz") in str(info.value)
    with pytest.raises(TypeError, match="load_patterns"):
        imagenet._patterns("vgg19", 3)
