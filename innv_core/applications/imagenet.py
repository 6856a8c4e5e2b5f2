"""ImageNet classifiers from ``keras.applications``, ready to analyze.

Each function returns a dict with the keys ``model``, ``in``, ``sm_out``, ``out``,
``image_shape``, ``color_coding``, ``preprocess_f``, ``patterns`` (as in iNNvestigate), plus
``name``, ``input_shape`` and ``input_range`` (the value range after ``preprocess_f``, e.g. for
``Perturbation(value_range=...)``):

* ``model``: the network **without softmax** (built with ``classifier_activation=None``), so
  its output is the logits, which is what analyzers explain.
* ``in``: ``model.inputs``; ``out``: ``model.outputs`` (the logits);
  ``sm_out``: the softmax of the logits, as a list of Keras tensors on ``model.inputs``
  (``keras.Model(net["in"], net["sm_out"])`` is the classifier with probabilities).
* ``image_shape``: ``[height, width]``; ``preprocess_f``: Keras' own ``preprocess_input`` of the
  network; ``color_coding``: ``"BGRtoRGB"`` for the caffe-style networks (VGG, ResNet50), whose
  preprocessed inputs are BGR, else None (pass it to ``postprocess_images`` for display).
* ``patterns``: None, or the list of PatternNet patterns loaded from a pattern file.
* ``class_names``: the 1000 ImageNet class names (index 0 first) if Keras' class index file is
  in the Keras cache (:func:`imagenet_class_index_path`), else None; nothing is downloaded.

Args of every function:
    load_weights: Load the ImageNet weights through Keras (downloads once into ``~/.keras``);
        False gives random weights.
    load_patterns: False; a path to a pattern ``.npz`` file, or to a directory holding
        ``<name>.npz``; or True for the cache: ``$INNV_HOME/patterns/<name>.npz`` (if
        ``INNV_HOME`` is set), then ``~/.innv/patterns/<name>.npz``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import attrs

from innv_core.utils.pattern_files import load_patterns as _load_pattern_file

__all__ = [
    "vgg16",
    "vgg19",
    "resnet50",
    "inception_v3",
    "inception_resnet_v2",
    "densenet121",
    "densenet169",
    "densenet201",
    "nasnet_large",
    "nasnet_mobile",
    "pattern_search_paths",
    "imagenet_class_index_path",
    "imagenet_class_names",
    "is_imagenet_classifier",
]

HOME_ENV = "INNV_HOME"
#: The file ``keras.applications.imagenet_utils.decode_predictions`` downloads into its cache.
CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
IMAGENET_CLASSES = 1000
INPUT_RANGES = {"caffe": (-128.0, 128.0), "tf": (-1.0, 1.0), "torch": (-3.0, 3.0)}


@attrs.frozen
class NetSpec:
    """How to build one network: its ``keras.applications`` module, constructor and input."""

    name: str
    module: str
    constructor: str
    image_shape: tuple[int, int]
    preprocess_mode: str
    color_coding: str | None = None


_SPECS = {
    spec.name: spec
    for spec in (
        NetSpec("vgg16", "vgg16", "VGG16", (224, 224), "caffe", "BGRtoRGB"),
        NetSpec("vgg19", "vgg19", "VGG19", (224, 224), "caffe", "BGRtoRGB"),
        NetSpec("resnet50", "resnet50", "ResNet50", (224, 224), "caffe", "BGRtoRGB"),
        NetSpec("inception_v3", "inception_v3", "InceptionV3", (299, 299), "tf"),
        NetSpec("inception_resnet_v2", "inception_resnet_v2", "InceptionResNetV2", (299, 299), "tf"),
        NetSpec("densenet121", "densenet", "DenseNet121", (224, 224), "torch"),
        NetSpec("densenet169", "densenet", "DenseNet169", (224, 224), "torch"),
        NetSpec("densenet201", "densenet", "DenseNet201", (224, 224), "torch"),
        NetSpec("nasnet_large", "nasnet", "NASNetLarge", (331, 331), "tf"),
        NetSpec("nasnet_mobile", "nasnet", "NASNetMobile", (224, 224), "tf"),
    )
}


def vgg16(load_weights: bool = False, load_patterns: Any = False) -> dict[str, Any]:
    """VGG16 (caffe-style BGR input, 224x224)."""
    return _prepare_net(_SPECS["vgg16"], load_weights, load_patterns)


def vgg19(load_weights: bool = False, load_patterns: Any = False) -> dict[str, Any]:
    """VGG19 (caffe-style BGR input, 224x224)."""
    return _prepare_net(_SPECS["vgg19"], load_weights, load_patterns)


def resnet50(load_weights: bool = False, load_patterns: Any = False) -> dict[str, Any]:
    """ResNet50 (caffe-style BGR input, 224x224)."""
    return _prepare_net(_SPECS["resnet50"], load_weights, load_patterns)


def inception_v3(load_weights: bool = False, load_patterns: Any = False) -> dict[str, Any]:
    """InceptionV3 (input in [-1, 1], 299x299)."""
    return _prepare_net(_SPECS["inception_v3"], load_weights, load_patterns)


def inception_resnet_v2(load_weights: bool = False, load_patterns: Any = False) -> dict[str, Any]:
    """InceptionResNetV2 (input in [-1, 1], 299x299)."""
    return _prepare_net(_SPECS["inception_resnet_v2"], load_weights, load_patterns)


def densenet121(load_weights: bool = False, load_patterns: Any = False) -> dict[str, Any]:
    """DenseNet121 (torch-style standardized input, 224x224)."""
    return _prepare_net(_SPECS["densenet121"], load_weights, load_patterns)


def densenet169(load_weights: bool = False, load_patterns: Any = False) -> dict[str, Any]:
    """DenseNet169 (torch-style standardized input, 224x224)."""
    return _prepare_net(_SPECS["densenet169"], load_weights, load_patterns)


def densenet201(load_weights: bool = False, load_patterns: Any = False) -> dict[str, Any]:
    """DenseNet201 (torch-style standardized input, 224x224)."""
    return _prepare_net(_SPECS["densenet201"], load_weights, load_patterns)


def nasnet_large(load_weights: bool = False, load_patterns: Any = False) -> dict[str, Any]:
    """NASNetLarge (input in [-1, 1], 331x331)."""
    return _prepare_net(_SPECS["nasnet_large"], load_weights, load_patterns)


def nasnet_mobile(load_weights: bool = False, load_patterns: Any = False) -> dict[str, Any]:
    """NASNetMobile (input in [-1, 1], 224x224)."""
    return _prepare_net(_SPECS["nasnet_mobile"], load_weights, load_patterns)


def _prepare_net(spec: NetSpec, load_weights: bool, load_patterns: Any) -> dict[str, Any]:
    """Build the logits model of ``spec`` and the dict described in the module docstring."""
    patterns = _patterns(spec.name, load_patterns)  # fail before the slow build
    import keras

    module = importlib.import_module(f"keras.applications.{spec.module}")
    channels_first = keras.config.image_data_format() == "channels_first"
    input_shape = (3, *spec.image_shape) if channels_first else (*spec.image_shape, 3)
    build = getattr(module, spec.constructor)
    model = build(
        weights="imagenet" if load_weights else None,
        input_shape=input_shape,
        classifier_activation=None,
    )
    softmax = keras.layers.Activation("softmax", name=f"{model.name}_softmax")
    return {
        "name": spec.name,
        "model": model,
        "in": list(model.inputs),
        "out": list(model.outputs),
        "sm_out": [softmax(output) for output in model.outputs],
        "image_shape": list(spec.image_shape),
        "input_shape": [None, *input_shape],
        "input_range": INPUT_RANGES[spec.preprocess_mode],
        "color_coding": spec.color_coding,
        "preprocess_f": module.preprocess_input,
        "patterns": patterns,
        "class_names": _cached_class_names(),
    }


def imagenet_class_index_path() -> Path:
    """Where Keras caches ``imagenet_class_index.json`` (``decode_predictions`` downloads it there
    once): ``$KERAS_HOME/models/``, else ``~/.keras/models/`` (``/tmp/.keras`` if home is not
    writable), as Keras decides, without importing Keras."""
    if "KERAS_HOME" in os.environ:
        home = Path(os.environ["KERAS_HOME"])
    else:
        base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
        home = base / ".keras"
    return home.expanduser() / "models" / CLASS_INDEX_FILE


def imagenet_class_names(path: str | os.PathLike[str] | None = None) -> list[str]:
    """The 1000 ImageNet class names of ``keras.applications`` (``"tench"``, ...), index 0 first,
    from ``path`` or else the Keras cache (:func:`imagenet_class_index_path`). Nothing is
    downloaded: a missing file is an error saying where to get it."""
    from innv_core.errors import InvalidInputError
    from innv_core.utils.class_names import check_class_count, read_class_names

    source = Path(path) if path is not None else imagenet_class_index_path()
    if not source.is_file():
        raise InvalidInputError(
            f"No ImageNet class index at {str(source)!r}. innv does not download it: fetch "
            f"{CLASS_INDEX_URL} (or run keras.applications.imagenet_utils.decode_predictions once "
            "with a network), and pass its path or leave it in the Keras cache.")
    return check_class_count(read_class_names(source), IMAGENET_CLASSES, repr(str(source)))


def is_imagenet_classifier(model: Any) -> bool:
    """Whether ``model`` looks like a ``keras.applications`` ImageNet classifier: its last layer
    is the applications' 1000-way ``Dense`` named "predictions"."""
    layers = getattr(model, "layers", None) or []
    if not layers:
        return False
    last = layers[-1]
    return last.name == "predictions" and getattr(last, "units", None) == IMAGENET_CLASSES


def _cached_class_names() -> list[str] | None:
    from innv_core.errors import InnvError

    try:
        return imagenet_class_names()
    except InnvError:
        return None


def pattern_search_paths(netname: str, load_patterns: Any = True) -> list[Path]:
    """The files where the patterns of ``netname`` are looked for, in order."""
    file_name = f"{netname}.npz"
    if load_patterns is True:
        places = []
        if os.environ.get(HOME_ENV):
            places.append(Path(os.environ[HOME_ENV]).expanduser() / "patterns" / file_name)
        places.append(Path.home() / ".innv" / "patterns" / file_name)
        return places
    path = Path(os.fspath(load_patterns)).expanduser()
    return [path / file_name] if path.is_dir() else [path]


def _patterns(netname: str, load_patterns: Any) -> list[Any] | None:
    if load_patterns is False or load_patterns is None:
        return None
    if not (load_patterns is True or isinstance(load_patterns, (str, os.PathLike))):
        raise TypeError(f"load_patterns must be False, True or a path, got {type(load_patterns).__name__}.")
    places = pattern_search_paths(netname, load_patterns)
    for place in places:
        if place.is_file():
            return _load_pattern_file(place)
    raise FileNotFoundError(
        f"No patterns for {netname!r}. Looked in: {', '.join(str(p) for p in places)}. "
        f"Compute them with innv_core.tools.pattern.PatternComputer, save them with "
        f"innv_core.utils.pattern_files.save_patterns('{netname}.npz', patterns), then pass "
        f"load_patterns='path/to/{netname}.npz' (or its directory), or put the file at "
        f"~/.innv/patterns/{netname}.npz (or $INNV_HOME/patterns/) and pass load_patterns=True."
    )
