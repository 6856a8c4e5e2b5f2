"""The command line: fast help, listing, ``innv analyze`` and the ``innv demo`` wiring."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest


def test_help_does_not_import_tensorflow():
    code = "import sys; from innv_core.cli import main; main(['--help'])"
    code = f"import sys\ntry:\n    {code.split('; ', 1)[1]}\nexcept SystemExit:\n    pass\nprint('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "usage: innv" in out and out.strip().endswith("False")


def test_list_shows_names_plugins_and_distributions(capsys):
    from innv_core.cli import main

    assert main(["list", "--kind", "analyzers"]) == 0
    out = capsys.readouterr().out
    assert "gradient" in out and "plugin gradient (innv)" in out


def test_subcommand_help_does_not_import_tensorflow():
    code = (
        "import sys\nfrom innv_core.cli import main\n"
        "for cmd in (['--help'], ['analyze', '--help'], ['demo', '--help']):\n"
        "    try:\n        main(cmd)\n    except SystemExit:\n        pass\n"
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "{list,analyze,demo}" in out and "--neuron" in out and "--quick" in out
    assert out.strip().endswith("False")


# -- innv analyze ----------------------------------------------------------------------------
def _tiny_cnn(softmax: bool = True):
    import keras

    keras.utils.set_random_seed(0)
    L = keras.layers
    return keras.Sequential([
        keras.Input((8, 8, 3)),
        L.Conv2D(4, 3, padding="same", activation="relu", bias_initializer="ones"),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(3, activation="softmax" if softmax else None),
    ])


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A tiny CNN ending in a softmax, saved as .keras; and 4 inputs in [0, 1]."""
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model = _tiny_cnn()
    model.save(path)
    x = np.random.default_rng(0).uniform(0, 1, (4, 8, 8, 3)).astype("float32")
    return path, model, x


def _reference(model, name, x, **kwargs):
    from innv_core import create_analyzer, model_wo_softmax

    mode = kwargs.pop("mode", "max_activation")
    analyzer = create_analyzer(name, model_wo_softmax(model), neuron_selection_mode=mode)
    return analyzer.analyze(x, **kwargs)


def _png_size(path):
    import matplotlib.image

    return matplotlib.image.imread(path).shape[:2]


def test_analyze_npy_writes_analyses_heatmaps_and_grid(saved_model, tmp_path, capsys):
    from innv_core.cli import main

    path, model, x = saved_model
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    rc = main(["analyze", str(path), str(tmp_path / "x.npy"), "-m", "gradient", "--method", "lrp.epsilon",
               "--out", str(out), "--batch-size", "3"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "softmax" in captured.out and "model_wo_softmax" in captured.out  # the user is told
    for name in ("gradient", "lrp.epsilon"):
        analysis = np.load(out / f"{name}.npy")
        np.testing.assert_allclose(analysis, _reference(model, name, x), rtol=1e-5, atol=1e-6)
    heatmaps = sorted(p.name for p in (out / "heatmaps").iterdir())
    assert heatmaps == sorted(f"input_{i:04d}__{m}.png" for i in range(4) for m in ("gradient", "lrp.epsilon"))
    assert _png_size(out / "heatmaps" / "input_0000__gradient.png") == (8, 8)
    # plot_image_grid: row labels 128 px, 3 columns (input + 2 methods) of 128, titles 24 px
    assert _png_size(out / "grid.png") == (24 + 4 * 128, 128 + 3 * 128)
    assert str(out) in captured.out


def test_analyze_npz_takes_the_first_array_or_key(saved_model, tmp_path):
    from innv_core.cli import main

    path, model, x = saved_model
    np.savez(tmp_path / "data.npz", images=x[:2], labels=np.arange(2), other=x[2:])
    assert main(["analyze", str(path), str(tmp_path / "data.npz"), "-m", "gradient", "-o", str(tmp_path / "a")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "a" / "gradient.npy"), _reference(model, "gradient", x[:2]), rtol=1e-5)
    assert main(["analyze", str(path), str(tmp_path / "data.npz"), "--key", "other", "-m", "gradient",
                 "-o", str(tmp_path / "b")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "b" / "gradient.npy"), _reference(model, "gradient", x[2:]), rtol=1e-5)


def test_analyze_folder_of_pngs_with_neuron_index(saved_model, tmp_path):
    import matplotlib.image

    from innv_core.cli import load_images, main

    path, model, x = saved_model
    folder = tmp_path / "images"
    folder.mkdir()
    matplotlib.image.imsave(folder / "b_second.png", x[1])  # RGBA PNG: the alpha channel is dropped
    matplotlib.image.imsave(folder / "a_first.PNG", x[0])
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    rc = main(["analyze", str(path), str(folder), "-m", "input_t_gradient", "--neuron", "2", "--out", str(out)])
    assert rc == 0
    images, names = load_images(folder, (8, 8, 3))
    assert names == ["a_first", "b_second"] and images.shape == (2, 8, 8, 3)
    np.testing.assert_allclose(images, x[:2], atol=1 / 255 + 1e-6)  # 8-bit PNG round trip
    expected = _reference(model, "input_t_gradient", images, mode="index", neuron_selection=2)
    np.testing.assert_allclose(np.load(out / "input_t_gradient.npy"), expected, rtol=1e-5, atol=1e-6)
    assert sorted(p.name for p in (out / "heatmaps").iterdir()) == [
        "a_first__input_t_gradient.png", "b_second__input_t_gradient.png"]
    assert _png_size(out / "grid.png") == (24 + 2 * 128, 128 + 2 * 128)


def test_analyze_neuron_all_and_scale(saved_model, tmp_path):
    import matplotlib.image

    from innv_core.cli import main

    path, model, x = saved_model
    folder = tmp_path / "images"
    folder.mkdir()
    matplotlib.image.imsave(folder / "one.png", x[0])
    rc = main(["analyze", str(path), str(folder), "-m", "gradient", "--neuron", "all", "--scale", "255",
               "-o", str(tmp_path / "out")])
    assert rc == 0
    images = matplotlib.image.imread(folder / "one.png")[None, ..., :3] * 255
    expected = _reference(model, "gradient", images, mode="all")
    np.testing.assert_allclose(np.load(tmp_path / "out" / "gradient.npy"), expected, rtol=1e-4, atol=1e-6)


class _Square:
    """A custom layer no plugin knows (defined lazily so that importing this module stays light)."""

    cls = None

    @classmethod
    def get(cls):
        if cls.cls is None:
            import keras

            @keras.saving.register_keras_serializable(package="innv_tests")
            class Square(keras.layers.Layer):
                def call(self, x):
                    return x * x

            cls.cls = Square
        return cls.cls


def _error_cases(tmp_path, saved_model):
    """(argv, fragment of the message) for each user error of innv analyze."""
    import keras
    import matplotlib.image

    path, _, x = saved_model
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "small.npy", x[:, :6, :6])
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "big").mkdir()
    matplotlib.image.imsave(tmp_path / "big" / "big.png", np.zeros((16, 16, 3)))
    (tmp_path / "empty").mkdir()
    (tmp_path / "x.csv").write_text("1,2,3")
    custom = keras.Sequential([keras.Input((8, 8, 3)), _Square.get()(), keras.layers.Flatten(), keras.layers.Dense(2)])
    custom.save(tmp_path / "custom.keras")
    (tmp_path / "broken.keras").write_bytes(b"not a zip file")
    good, inputs = str(path), str(tmp_path / "x.npy")
    return [
        (["analyze", str(tmp_path / "missing.keras"), inputs, "-m", "gradient"], "does not exist"),
        (["analyze", good, str(tmp_path / "missing.npy"), "-m", "gradient"], "do not exist"),
        (["analyze", good, inputs, "-m", "lrp.epsilom"], "Did you mean 'lrp.epsilon'"),
        (["analyze", good, str(tmp_path / "small.npy"), "-m", "gradient"], "expects (8, 8, 3)"),
        (["analyze", good, str(tmp_path / "big"), "-m", "gradient"], "does not resize"),
        (["analyze", good, str(tmp_path / "empty"), "-m", "gradient"], "no PNG or JPEG"),
        (["analyze", good, str(tmp_path / "x.csv"), "-m", "gradient"], ".npy or .npz"),
        (["analyze", good, str(tmp_path / "objects.npy"), "-m", "gradient"], "cannot read"),
        (["analyze", str(tmp_path / "broken.keras"), inputs, "-m", "gradient"], "cannot load model"),
        (["analyze", str(tmp_path / "custom.keras"), inputs, "-m", "lrp.epsilon"], "unknown to"),
        (["analyze", good, inputs, "-m", "gradient", "--neuron", "7"], "out of range"),
    ]


def test_analyze_errors_exit_2_with_one_line(saved_model, tmp_path, capsys, monkeypatch):
    from innv_core.cli import main

    monkeypatch.chdir(tmp_path)  # the default --out lands here
    failures = []
    for argv, fragment in _error_cases(tmp_path, saved_model):
        rc = main(argv)
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        ok = rc == 2 and len(lines) == 1 and lines[0].startswith("innv analyze: error: ") and fragment in lines[0]
        if not ok:
            failures.append((argv, rc, err))
    assert not failures, json.dumps([[str(a) for a in f] for f in failures], indent=1)


def test_analyze_bad_arguments_are_argparse_errors(capsys):
    from innv_core.cli import main

    for argv in (["analyze", "m.keras", "x.npy"], ["analyze", "m.keras", "x.npy", "-m", "gradient", "--neuron", "top"],
                 ["analyze", "m.keras", "x.npy", "-m", "gradient", "--batch-size", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    assert "--neuron" in capsys.readouterr().err


def test_demo_command_passes_its_options(monkeypatch, tmp_path):
    import innv_core.demo.run as demo_run
    from innv_core.cli import main

    calls = []
    monkeypatch.setattr(demo_run, "run_demo", lambda out, config: calls.append((out, config)))
    assert main(["demo", "--out", str(tmp_path), "--quick", "--seed", "3"]) == 0
    assert main(["demo"]) == 0
    (out, quick), (default_out, full) = calls
    assert out == str(tmp_path) and quick == demo_run.DemoConfig.quick(seed=3)
    assert default_out == "innv_demo" and full == demo_run.DemoConfig()
