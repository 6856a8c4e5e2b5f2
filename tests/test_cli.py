"""The command line: fast help, listing, ``innv analyze`` and the ``innv demo`` wiring."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest


def test_help_does_not_import_tensorflow():
    code = "import sys; from innv_core.app.cli import main; main(['--help'])"
    code = f"import sys\ntry:\n    {code.split('; ', 1)[1]}\nexcept SystemExit:\n    pass\nprint('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "usage: innv" in out and out.strip().endswith("False")


def test_list_shows_names_plugins_and_distributions(capsys):
    from innv_core.app.cli import main

    assert main(["list", "--kind", "analyzers"]) == 0
    out = capsys.readouterr().out
    assert "gradient" in out and "plugin gradient (innv)" in out


def test_subcommand_help_does_not_import_tensorflow():
    code = (
        "import sys\nfrom innv_core.app.cli import main\n"
        "for cmd in (['--help'], ['analyze', '--help'], ['evaluate', '--help'], ['demo', '--help']):\n"
        "    try:\n        main(cmd)\n    except SystemExit:\n        pass\n"
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "{list,analyze,evaluate,demo}" in out and "--neuron" in out and "--quick" in out and "--masks" in out
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


def _grid_size(path, rows, cols):
    """plot_relevance_grid's PNG at 300 dpi: at most one column (8.5 cm) wide; rows of square maps
    (about as wide as a column's share of the width) make up most of its height."""
    height, width = _png_size(path)
    return width <= round(300 * 8.5 / 2.54) + 1 and height >= rows * 0.6 * width / (cols + 1)


def test_analyze_npy_writes_analyses_heatmaps_and_grid(saved_model, tmp_path, capsys):
    from innv_core.app.cli import main

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
    assert min(_png_size(out / "heatmaps" / "input_0000__gradient.png")) >= 256  # readable, colour bar
    assert _grid_size(out / "grid.png", rows=4, cols=3)
    assert str(out) in captured.out


def test_analyze_npz_takes_the_first_array_or_key(saved_model, tmp_path):
    from innv_core.app.cli import main

    path, model, x = saved_model
    np.savez(tmp_path / "data.npz", images=x[:2], labels=np.arange(2), other=x[2:])
    assert main(["analyze", str(path), str(tmp_path / "data.npz"), "-m", "gradient", "-o", str(tmp_path / "a")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "a" / "gradient.npy"), _reference(model, "gradient", x[:2]), rtol=1e-5)
    assert main(["analyze", str(path), str(tmp_path / "data.npz"), "--key", "other", "-m", "gradient",
                 "-o", str(tmp_path / "b")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "b" / "gradient.npy"), _reference(model, "gradient", x[2:]), rtol=1e-5)


def test_analyze_folder_of_pngs_with_neuron_index(saved_model, tmp_path):
    import matplotlib.image

    from innv_core.app.cli import main
    from innv_core.app.files import load_images

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
    assert _grid_size(out / "grid.png", rows=2, cols=2)


def test_analyze_neuron_all_and_scale(saved_model, tmp_path):
    import matplotlib.image

    from innv_core.app.cli import main

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
                def call(self, x):  # x * x would be a product of two signals, which LRP has a rule for
                    return keras.ops.square(x)

            cls.cls = Square
        return cls.cls


def _two_outputs():
    """A model with outputs 'probs' (softmax, removed by the CLI) and 'aux', on (4,) inputs."""
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(5, activation="relu", bias_initializer="ones")(inputs)
    return keras.Model(inputs, {"probs": keras.layers.Dense(3, activation="softmax", name="probs_layer")(hidden),
                                "aux": keras.layers.Dense(2, name="aux_layer")(hidden)})


@pytest.fixture(scope="module")
def files(saved_model, tmp_path_factory):
    """Every file the error cases need, made once: bad inputs and models that analyzers refuse."""
    import pickle
    import zipfile

    import keras
    import matplotlib.image

    root = tmp_path_factory.mktemp("files")
    _, _, x = saved_model
    np.save(root / "x.npy", x)
    np.save(root / "small.npy", x[:, :6, :6])
    np.save(root / "one.npy", x[0])  # a single image, no batch axis
    np.save(root / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(root / "mixed.npz", x=x, meta=np.array([None], dtype=object))
    (root / "corrupt.npy").write_bytes(b"these are not numpy's bytes")
    (root / "truncated.npy").write_bytes((root / "x.npy").read_bytes()[:300])
    (root / "pickled.npy").write_bytes(pickle.dumps(x))
    (root / "big").mkdir()
    matplotlib.image.imsave(root / "big" / "big.png", np.zeros((16, 16, 3)))
    (root / "empty").mkdir()
    (root / "empty" / "notes.txt").write_text("no image here")
    (root / "x.csv").write_text("1,2,3")
    (root / "a_file").write_text("a regular file")
    (root / "broken.keras").write_bytes(b"not a zip file")
    with zipfile.ZipFile(root / "not_keras.keras", "w") as archive:
        archive.writestr("notes.txt", "a zip archive, but no model in it")
    L = keras.layers
    keras.Sequential([keras.Input((8, 8, 3)), _Square.get()(), L.Flatten(), L.Dense(2)]).save(root / "custom.keras")
    keras.Sequential([keras.Input((8, 8, 3)), L.Flatten(), L.Dense(4, activation="tanh"), L.Dense(3)]).save(
        root / "tanh.keras")
    keras.Sequential([keras.Input((5,), dtype="int32"), L.Embedding(10, 4), L.Flatten(), L.Dense(2)]).save(
        root / "tokens.keras")
    np.save(root / "tokens.npy", np.arange(10).reshape(2, 5))
    np.save(root / "bad_tokens.npy", np.arange(10).reshape(2, 5) + 3)
    _two_outputs().save(root / "two.keras")
    np.save(root / "v.npy", np.random.default_rng(0).normal(size=(3, 4)).astype("float32"))
    return root


# (id, model, inputs, extra arguments, fragment of the one-line message); "good" is the tiny CNN
ERROR_CASES = [
    ("missing model", "missing.keras", "x.npy", ["-m", "gradient"], "does not exist"),
    ("missing inputs", "good", "missing.npy", ["-m", "gradient"], "do not exist"),
    ("method typo", "good", "x.npy", ["-m", "lrp.epsilom"], "Did you mean 'lrp.epsilon'"),
    ("wrong shape", "good", "small.npy", ["-m", "gradient"], "expected (batch, 8, 8, 3), got (4, 6, 6, 3)"),
    ("no batch axis", "good", "one.npy", ["-m", "gradient"], "Add a batch axis"),
    ("image size", "good", "big", ["-m", "gradient"], "does not resize"),
    ("no images", "good", "empty", ["-m", "gradient"], "no PNG or JPEG"),
    ("not an array file", "good", "x.csv", ["-m", "gradient"], ".npy or .npz"),
    ("object array", "good", "objects.npy", ["-m", "gradient"], "pickled objects are refused"),
    ("object array in npz", "good", "mixed.npz", ["-m", "gradient", "--key", "meta"], "pickled objects are refused"),
    ("npz key", "good", "mixed.npz", ["-m", "gradient", "--key", "nope"], "has no array 'nope'; it has x, meta"),
    ("corrupt npy", "good", "corrupt.npy", ["-m", "gradient"], "is not a .npy array"),
    ("truncated npy", "good", "truncated.npy", ["-m", "gradient"], "damaged or truncated"),
    ("pickle as npy", "good", "pickled.npy", ["-m", "gradient"], "holds pickled Python data"),
    ("not a model", "broken.keras", "x.npy", ["-m", "gradient"], "is not a saved Keras model"),
    ("broken model", "not_keras.keras", "x.npy", ["-m", "gradient"], "cannot load model"),
    ("unknown layer", "custom.keras", "x.npy", ["-m", "lrp.epsilon"], "no relevance rule covers: Square"),
    ("deep_taylor tanh", "tanh.keras", "x.npy", ["-m", "gradient", "-m", "deep_taylor"], "ReLU networks only"),
    ("token ids", "tokens.keras", "bad_tokens.npy", ["-m", "lrp.epsilon"], "do not fit lrp.epsilon: Token ids"),
    ("neuron too large", "good", "x.npy", ["-m", "gradient", "--neuron", "7"], "--neuron 7: neuron_selection [7] out"),
    ("neuron too small", "good", "x.npy", ["-m", "gradient", "--neuron", "-4"], "valid indices are 0..2"),
    ("out under a file", "good", "x.npy", ["-m", "gradient", "--out", "{root}/a_file/out"], "which is a file"),
    ("out is a file", "good", "x.npy", ["-m", "gradient", "--out", "{root}/a_file"], "is a file, not a folder"),
    ("several outputs", "two.keras", "v.npy", ["-m", "gradient"], "(0: aux/aux_layer, 1: probs/probs_layer)"),
    ("unknown output", "two.keras", "v.npy", ["-m", "gradient", "--output", "nope"], "names no output"),
    ("output index", "two.keras", "v.npy", ["-m", "gradient", "--output", "2"], "has 2 output(s)"),
]


def _argv(case, root, model_path, out):
    _, model, inputs, extra, _ = case
    model = str(model_path) if model == "good" else str(root / model)
    extra = [e.format(root=root) for e in extra]
    return ["analyze", model, str(root / inputs), *extra, *([] if "--out" in extra else ["--out", str(out)])]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_analyze_errors_exit_2_with_one_line_before_any_analysis(case, files, saved_model, tmp_path, capsys):
    from innv_core.app.cli import main

    out = tmp_path / "results" / "out"
    rc = main(_argv(case, files, saved_model[0], out))
    captured = capsys.readouterr()
    assert rc == 2
    assert captured.err.count("\n") == 1 and captured.err.startswith("innv analyze: error: "), captured.err
    assert case[-1] in captured.err and "Traceback" not in captured.err
    assert "Explaining" not in captured.out  # refused before the first analysis
    assert not list(tmp_path.rglob("*.npy")) and not (tmp_path / "results").exists()  # --out left alone


def test_analyze_errors_end_to_end_without_traceback(files, saved_model):
    """In a fresh process: the errors seen from headers do not load TensorFlow; none prints more
    than its line (no traceback, no TensorFlow start-up noise) and the exit code is 2."""
    import os

    cheap = [c for c in ERROR_CASES if c[0] in (
        "missing model", "not a model", "object array", "corrupt npy", "pickle as npy", "no images", "out under a file")]
    late = next(c for c in ERROR_CASES if c[0] == "deep_taylor tanh")
    argvs = [_argv(c, files, saved_model[0], files / "never") for c in [*cheap, late]]
    code = (
        "import sys\nfrom innv_core.app.cli import main\n"
        f"codes = [main(argv) for argv in {argvs[:-1]!r}]\n"
        "print(codes, 'tensorflow' in sys.modules, flush=True)\n"
        f"sys.exit(main({argvs[-1]!r}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.splitlines()[0] == f"{[2] * len(cheap)} False"
    lines = proc.stderr.splitlines()
    assert len(lines) == len(argvs) and all(line.startswith("innv analyze: error: ") for line in lines), proc.stderr
    assert "ReLU networks only" in lines[-1] and not (files / "never").exists()


def test_analyze_output_of_a_multi_output_model(files, tmp_path):
    import keras

    from innv_core import create_analyzer, model_wo_softmax
    from innv_core.app.cli import main

    model = model_wo_softmax(keras.saving.load_model(files / "two.keras"))
    v = np.load(files / "v.npy")
    for output in ("aux", "0", "probs_layer"):  # dict outputs: Keras' order, sorted by key
        out = tmp_path / output
        rc = main(["analyze", str(files / "two.keras"), str(files / "v.npy"), "-m", "gradient", "--output", output,
                   "--neuron", "1", "-o", str(out)])
        assert rc == 0
        index = {"aux": 0, "0": 0, "probs_layer": 1}[output]  # positions in model.outputs
        analyzer = create_analyzer("gradient", model, neuron_selection_mode="index", output_index=index)
        expected = analyzer.analyze(v, neuron_selection=1)
        np.testing.assert_allclose(np.load(out / "gradient.npy"), expected, rtol=1e-5, atol=1e-7)
    assert not np.allclose(np.load(tmp_path / "aux" / "gradient.npy"), np.load(tmp_path / "probs_layer" / "gradient.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "aux" / "gradient.npy"), np.load(tmp_path / "0" / "gradient.npy"))


def test_analyze_a_two_input_model_from_a_npz_by_input_name(tmp_path, capsys):
    """An .npz whose keys are the model's input names: the analyses come back by the same names."""
    import keras
    from conftest import multi_input_model, random_inputs

    from innv_core import create_analyzer
    from innv_core.app.cli import main

    model = multi_input_model()  # inputs "a" (5,) and "c" (4, 4, 2)
    model.save(tmp_path / "two_in.keras")
    xa, xc = random_inputs(model, batch=5)
    np.savez(tmp_path / "inputs.npz", c=xc, labels=np.arange(5), a=xa)
    out = tmp_path / "out"
    rc = main(["analyze", str(tmp_path / "two_in.keras"), str(tmp_path / "inputs.npz"), "-m", "gradient",
               "-m", "integrated_gradients", "--batch-size", "2", "-o", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "labels" in captured.out and "not used" in captured.out
    loaded = keras.saving.load_model(tmp_path / "two_in.keras")
    for name in ("gradient", "integrated_gradients"):
        want = create_analyzer(name, loaded).analyze({"a": xa, "c": xc})
        with np.load(out / f"{name}.npz") as got:
            assert sorted(got.files) == ["a", "c"]
            assert got["a"].shape == xa.shape and got["c"].shape == xc.shape
            np.testing.assert_allclose(got["a"], want["a"], rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(got["c"], want["c"], rtol=1e-5, atol=1e-7)
    np.savez(tmp_path / "missing.npz", a=xa)
    np.save(tmp_path / "one.npy", xa)
    for argv, message in (([str(tmp_path / "missing.npz")], "no array for the model's input(s) ['c']"),
                          ([str(tmp_path / "one.npy")], "one array per input name"),
                          ([str(tmp_path / "inputs.npz"), "--report"], "--report draws"),
                          ([str(tmp_path / "inputs.npz"), "--key", "a"], "--key picks")):
        assert main(["analyze", str(tmp_path / "two_in.keras"), *argv, "-m", "gradient",
                     "-o", str(tmp_path / "never")]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "never").exists()


def test_input_files_raise_invalid_input_errors(files):
    from innv_core.app.files import check_input_source, load_images, load_inputs
    from innv_core.errors import InvalidInputError
    from innv_core.inputs import InputSpec

    spec = InputSpec("x", (8, 8, 3), "float32")
    x, names = load_inputs(files / "x.npy", spec)
    assert x.shape == (4, 8, 8, 3) and x.dtype == np.float32 and names[0] == "input_0000"
    with pytest.raises(InvalidInputError, match="small.npy.*do not fit the model: Wrong shape"):
        load_inputs(files / "small.npy", spec)
    with pytest.raises(InvalidInputError, match="Add a batch axis"):
        load_inputs(files / "one.npy", spec)
    with pytest.raises(InvalidInputError, match="not an image"):
        load_images(files / "big", (16, 16, 2))
    for name in ("objects.npy", "corrupt.npy", "pickled.npy", "empty"):
        with pytest.raises(InvalidInputError, match=name):
            check_input_source(files / name)
    check_input_source(files / "mixed.npz", "x")


def test_analyze_bad_arguments_are_argparse_errors(capsys):
    from innv_core.app.cli import main

    for argv in (["analyze", "m.keras", "x.npy"], ["analyze", "m.keras", "x.npy", "-m", "gradient", "--neuron", "top"],
                 ["analyze", "m.keras", "x.npy", "-m", "gradient", "--batch-size", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    assert "--neuron" in capsys.readouterr().err


def test_demo_command_passes_its_options(monkeypatch, tmp_path):
    import innv_core.app.demo.run as demo_run
    from innv_core.app.cli import main

    calls = []
    monkeypatch.setattr(demo_run, "run_demo", lambda out, config, **options: calls.append((out, config, options)))
    assert main(["demo", "--out", str(tmp_path), "--quick", "--seed", "3", "--format", "pdf", "--dpi", "200",
                 "--threads", "1"]) == 0
    assert main(["demo"]) == 0
    (out, quick, vector), (default_out, full, png) = calls
    assert out == str(tmp_path) and quick == demo_run.DemoConfig.quick(seed=3)
    assert default_out == "innv_demo" and full == demo_run.DemoConfig()
    assert vector == {"figure_format": "pdf", "dpi": 200, "threads": 1}
    assert png == {"figure_format": "png", "dpi": 300, "threads": 2}  # 2: the numbers of docs/demo.md


# -- answers without TensorFlow (the name index, the model file's config) --------------------
def _run_without_tensorflow(code: str, cache_dir, cwd=None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; it prints whether TensorFlow got imported."""
    import os

    env = {**os.environ, "INNV_CACHE_DIR": str(cache_dir)}
    script = f"import sys\nfrom innv_core.app.cli import main\n{code}\nprint('tensorflow' in sys.modules)"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=cwd)


def test_list_and_typos_answer_from_the_index_without_tensorflow(saved_model, tmp_path):
    cache = tmp_path / "cache"
    first = _run_without_tensorflow("main(['list'])", cache)  # builds the index (imports plugins)
    assert first.returncode == 0 and first.stdout.strip().endswith("True")
    assert len(list(cache.glob("names-*.json"))) == 1
    again = _run_without_tensorflow("main(['list'])", cache)
    assert again.stdout.strip().endswith("False")
    assert again.stdout.rsplit("\n", 2)[0] == first.stdout.rsplit("\n", 2)[0]  # the same listing
    model, _, x = saved_model
    np.save(tmp_path / "x.npy", x)
    typo = _run_without_tensorflow(
        f"print(main(['analyze', {str(model)!r}, {str(tmp_path / 'x.npy')!r}, '-m', 'lrp.epsilonn', "
        f"'-o', {str(tmp_path / 'out')!r}]))", cache)
    assert "Unknown analyzer 'lrp.epsilonn'. Did you mean 'lrp.epsilon'" in typo.stderr
    assert len(typo.stderr.strip()) < 300 and "innv list --kind analyzers" in typo.stderr  # one short line
    assert typo.stdout.split() == ["2", "False"]


def test_a_single_image_without_batch_axis_fails_before_tensorflow(saved_model, tmp_path):
    model, _, x = saved_model
    np.save(tmp_path / "one.npy", x[0])
    np.save(tmp_path / "wrong.npy", x[:, :4])
    cache = tmp_path / "cache"
    _run_without_tensorflow("main(['list', '--kind', 'rules'])", cache)  # warm the index
    for name, message in [("one.npy", "expected (batch, 8, 8, 3), got (8, 8, 3). Add a batch axis"),
                          ("wrong.npy", "expected (batch, 8, 8, 3), got (4, 4, 8, 3).")]:
        args = ['analyze', str(model), str(tmp_path / name), '-m', 'gradient', '-o', str(tmp_path / 'o')]
        done = _run_without_tensorflow(f"print(main({args!r}))", cache)
        assert message in done.stderr and done.stdout.split() == ["2", "False"], done.stderr


def test_the_index_is_rebuilt_when_a_plugin_changes(tmp_path, monkeypatch):
    import os

    from innv_core.app import name_index

    monkeypatch.setenv("INNV_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(name_index.reg, "in_use", lambda: False)
    key = name_index.index_key()
    assert key is not None and name_index.load() == name_index.build()
    assert (tmp_path / f"names-{key}.json").is_file()
    calls, real_build = [], name_index.build
    monkeypatch.setattr(name_index, "build", lambda: calls.append(1) or real_build())
    assert name_index.load().of_kind("analyzers")  # read back from the file, not rebuilt
    assert calls == []
    monkeypatch.setenv(name_index.reg.AUTOLOAD_ENV, "1")  # another set of plugins: another key
    assert name_index.index_key() != key
    monkeypatch.delenv(name_index.reg.AUTOLOAD_ENV)
    restriction = os.environ.get(name_index.reg.DISTRIBUTIONS_ENV, "")
    monkeypatch.setenv(name_index.reg.DISTRIBUTIONS_ENV, "innv,lab-a")  # so does another restriction
    assert name_index.index_key() != key
    monkeypatch.setenv(name_index.reg.DISTRIBUTIONS_ENV, restriction)
    assert name_index.index_key() == key
    monkeypatch.setenv(name_index.reg.AUTOLOAD_ENV, "1")
    (tmp_path / f"names-{key}.json").write_text("{not json")
    monkeypatch.delenv(name_index.reg.AUTOLOAD_ENV)
    name_index.load()  # a damaged file is rebuilt
    assert calls == [1]


def test_declared_input_shapes_of_saved_models(tmp_path):
    import keras

    from innv_core.app.keras_file import declared_input_shapes

    a, b = keras.Input((5,), name="a"), keras.Input((2, 3), name="b")
    merged = keras.layers.Concatenate()([a, keras.layers.Flatten()(b)])
    two = keras.Model([b, a], keras.layers.Dense(1)(merged))
    two.save(tmp_path / "two.keras")
    assert declared_input_shapes(tmp_path / "two.keras") == [(None, 2, 3), (None, 5)]
    _tiny_cnn().save(tmp_path / "seq.keras")
    assert declared_input_shapes(tmp_path / "seq.keras") == [(None, 8, 8, 3)]
    (tmp_path / "broken.keras").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    assert declared_input_shapes(tmp_path / "broken.keras") is None
