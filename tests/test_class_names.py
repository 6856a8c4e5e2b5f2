"""Class names: the file formats, the ImageNet names from the Keras cache (nothing downloads), and
``innv analyze --classes`` in the grid, the heatmaps and the report; figure formats and dpi."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_cli import _tiny_cnn

from innv_core.errors import InnvError


# -- the files --------------------------------------------------------------------------------
def test_the_three_formats_and_a_json_list(tmp_path):
    from innv_core.utils.class_names import read_class_names

    (tmp_path / "a.txt").write_text("cat\ndog\n golden retriever \n\n\n")
    imagenet = {"0": ["n01440764", "tench"], "1": ["n01443537", "goldfish"], "2": ["n01484850", "great white shark"]}
    (tmp_path / "b.json").write_text(json.dumps(imagenet))
    (tmp_path / "c.json").write_text(json.dumps({"1": "dog", "0": "cat"}))
    (tmp_path / "d.json").write_text(json.dumps(["cat", "dog"]))
    (tmp_path / "e.txt").write_text("7\n")  # a name that happens to be JSON
    assert read_class_names(tmp_path / "a.txt") == ["cat", "dog", "golden retriever"]
    assert read_class_names(tmp_path / "b.json") == ["tench", "goldfish", "great white shark"]
    assert read_class_names(tmp_path / "c.json") == ["cat", "dog"]
    assert read_class_names(tmp_path / "d.json") == ["cat", "dog"]
    assert read_class_names(tmp_path / "e.txt") == ["7"]


@pytest.mark.parametrize(("content", "match"), [
    ("cat\n\ndog\n", r"empty lines \(2\)"),
    ("", "is empty"),
    (json.dumps({"0": "cat", "2": "bird"}), r"lacks the classes 1"),
    (json.dumps({"zero": "cat"}), "not class indices"),
    (json.dumps({"0": ["n1", "cat"], "1": 5}), "class 1 is 5, not a name"),
])
def test_bad_files_name_the_problem_and_the_formats(tmp_path, content, match):
    from innv_core.utils.class_names import read_class_names

    (tmp_path / "x.txt").write_text(content)
    with pytest.raises(InnvError, match=match):
        read_class_names(tmp_path / "x.txt")


def test_unreadable_files(tmp_path):
    from innv_core.utils.class_names import read_class_names

    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00\x81")
    for path in (tmp_path / "missing.txt", tmp_path, tmp_path / "bin.txt"):
        with pytest.raises(InnvError, match="cannot read the class names file .*one name per line"):
            read_class_names(path)


# -- ImageNet ---------------------------------------------------------------------------------
def _imagenet_cache(root):
    models = root / "models"
    models.mkdir(parents=True)
    index = {str(i): [f"n{i:08d}", f"class {i}"] for i in range(1000)}
    (models / "imagenet_class_index.json").write_text(json.dumps(index))
    return models / "imagenet_class_index.json"


def test_imagenet_names_come_from_the_keras_cache_or_a_path(tmp_path, monkeypatch):
    from innv_core.applications.imagenet import imagenet_class_index_path, imagenet_class_names

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    assert imagenet_class_index_path() == tmp_path / "empty" / "models" / "imagenet_class_index.json"
    with pytest.raises(InnvError, match="does not download it: fetch https://storage.googleapis.com"):
        imagenet_class_names()
    index = _imagenet_cache(tmp_path / "given")
    assert imagenet_class_names(index)[:2] == ["class 0", "class 1"]  # a given path
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "given"))
    names = imagenet_class_names()
    assert len(names) == 1000 and names[999] == "class 999"
    (tmp_path / "short.json").write_text(json.dumps({"0": ["n0", "a"]}))
    with pytest.raises(InnvError, match="has 1 class names but .* 1000 classes"):
        imagenet_class_names(tmp_path / "short.json")


def _imagenet_like(softmax=True):
    """A tiny classifier with keras.applications' head: Dense(1000) named "predictions"."""
    import keras

    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(),
                             keras.layers.Dense(1000, activation="softmax" if softmax else None,
                                                name="predictions")])


def test_imagenet_classifiers_are_recognised_by_their_head():
    from innv_core.applications.imagenet import is_imagenet_classifier

    assert is_imagenet_classifier(_imagenet_like())
    assert not is_imagenet_classifier(_tiny_cnn())


# -- innv analyze --classes -------------------------------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("classes")
    _tiny_cnn().save(root / "tiny.keras")
    np.save(root / "x.npy", np.random.default_rng(0).uniform(0, 1, (6, 8, 8, 3)).astype("float32"))
    (root / "classes.txt").write_text("cat\ndog\ngolden retriever\n")
    return root


def _analyze(files, out, *extra):
    from innv_core.app.cli import main

    return main(["analyze", str(files / "tiny.keras"), str(files / "x.npy"), "-m", "gradient",
                 "--out", str(out), *extra])


def test_class_names_and_probabilities_in_the_grid_and_heatmaps(files, tmp_path):
    assert _analyze(files, tmp_path / "out", "--classes", str(files / "classes.txt"), "--format", "svg") == 0
    grid = (tmp_path / "out" / "grid.svg").read_text()
    names = ("cat", "dog", "golden retriever")
    assert "pred. " in grid and "(p=0." in grid  # the model ends in a softmax: its probability
    assert any(f"explained {n}" in grid for n in names)
    heatmap = (tmp_path / "out" / "heatmaps" / "input_0000__gradient.svg").read_text()
    assert any(f"pred. {n}" in heatmap for n in names)
    assert not (tmp_path / "out" / "grid.png").exists()


def test_wrong_count_or_unreadable_classes_fail_with_the_fix(files, tmp_path, capsys):
    (tmp_path / "two.txt").write_text("cat\ndog\n")
    assert _analyze(files, tmp_path / "a", "--classes", str(tmp_path / "two.txt")) == 2
    err = capsys.readouterr().err
    assert "has 2 class names but the model's explained output has 3 classes" in err
    assert "one name per class in the order of the model's outputs" in err and err.count("\n") == 1
    assert not (tmp_path / "a").exists()  # nothing written
    assert _analyze(files, tmp_path / "b", "--classes", str(tmp_path / "none.txt")) == 2
    assert "cannot read the class names file" in capsys.readouterr().err


def test_keras_applications_imagenet_models_get_the_cached_names(tmp_path, monkeypatch, capsys):
    from innv_core.app.cli import main

    _imagenet_like().save(tmp_path / "net.keras")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).uniform(0, 1, (2, 4, 4, 3)).astype("float32"))
    args = ["analyze", str(tmp_path / "net.keras"), str(tmp_path / "x.npy"), "-m", "gradient", "--format", "svg"]
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "nothing"))
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert "its class names are not in the Keras cache" in capsys.readouterr().out
    _imagenet_cache(tmp_path / "cache")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "cache"))
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert "class names from the Keras cache" in capsys.readouterr().out
    assert "pred. class " in (tmp_path / "b" / "grid.svg").read_text()
    assert main([*args, "--out", str(tmp_path / "c"), "--classes", "imagenet"]) == 0


# -- formats and dpi --------------------------------------------------------------------------
def test_report_in_vector_formats_states_its_sample(files, tmp_path):
    out = tmp_path / "svg"
    assert _analyze(files, out, "--report", "--format", "svg", "--classes", str(files / "classes.txt")) == 0
    curves = (out / "perturbation.svg").read_text()
    assert "N = 6 inputs" in curves and "steps of 1/6 = 0.17" in curves and "band min" in curves
    page = (out / "report.html").read_text()
    assert "data:image/svg+xml;base64," in page and "data:image/png" not in page
    assert "explained cat" in page or "explained dog" in page or "explained golden retriever" in page

    out = tmp_path / "pdf"
    assert _analyze(files, out, "--report", "--format", "pdf") == 0
    for name in ("grid", "perturbation"):
        assert (out / f"{name}.pdf").read_bytes().startswith(b"%PDF-")
        assert (out / f"{name}.png").is_file()  # what the page shows


def test_dpi_sets_the_png_resolution(files, tmp_path):
    import matplotlib.image

    assert _analyze(files, tmp_path / "a", "--dpi", "150") == 0
    assert _analyze(files, tmp_path / "b") == 0  # 300 by default
    low = matplotlib.image.imread(tmp_path / "a" / "grid.png").shape[1]
    high = matplotlib.image.imread(tmp_path / "b" / "grid.png").shape[1]
    assert high == pytest.approx(2 * low, abs=2) and high >= 900  # about 8.5 cm at 300 dpi


def test_format_and_dpi_are_checked_by_argparse(capsys):
    from innv_core.app.cli import main

    for bad in (["--format", "jpg"], ["--dpi", "0"], ["--width-cm", "-1"]):
        with pytest.raises(SystemExit):
            main(["analyze", "m.keras", "x.npy", "-m", "gradient", *bad])
    assert "invalid choice: 'jpg'" in capsys.readouterr().err


def test_the_imagenet_helpers_give_the_cached_names_and_are_recognised(tmp_path, monkeypatch):
    import keras

    from innv_core.applications import imagenet

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    net = imagenet.resnet50(load_weights=False)
    assert net["class_names"] is None  # not in the cache: nothing is downloaded
    assert imagenet.is_imagenet_classifier(net["model"])  # keras.applications' own head
    _imagenet_cache(tmp_path / "cache")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "cache"))
    assert imagenet.resnet50(load_weights=False)["class_names"][:2] == ["class 0", "class 1"]
    keras.backend.clear_session()
