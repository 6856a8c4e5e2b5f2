"""The ``innv`` command line. ``innv --help`` must not import TensorFlow.

- ``innv list``: every registered name and the plugin (and distribution) that gives it.
- ``innv analyze MODEL INPUTS --method NAME ...``: heatmaps, raw analyses and a grid figure.
- ``innv demo``: a small CNN on synthetic shapes explained by every analyzer family.

TensorFlow, Keras and matplotlib are imported inside the commands only. Problems with the user's
files or arguments (a :class:`UsageError` or any :class:`~innv_core.errors.InnvError`) end the
command with exit code 2 and a one-line message on stderr, before any analysis runs. Reading
and checking input files is :mod:`innv_core.app.files`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from innv_core.app.heatmap_files import write_outputs
from innv_core.errors import one_line


class UsageError(Exception):
    """A problem with the command's files or arguments: reported in one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="innv",
        description="Explain Keras 3 model predictions (gradients, LRP, DeepTaylor, PatternNet, ...).",
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="keep TensorFlow's start-up and C++ log lines (silenced by default)")
    sub = parser.add_subparsers(dest="command")
    listing = sub.add_parser("list", help="show every registered name and the plugin that gives it")
    kinds = ["analyzers", "rules", "pattern_types", "perturbations", "layers", "layer_kinds", "crossings",
             "conventions", "metrics"]
    listing.add_argument("--kind", choices=kinds, action="append", help="only these kinds (repeatable)")

    analyze = sub.add_parser(
        "analyze",
        help="explain a saved model's predictions on arrays or images",
        description=(
            "Explain a .keras model's predictions on INPUTS with one or more analyzers. Writes "
            "<method>.npy (the raw analyses, shape (N, *input shape)), heatmaps/<input>__<method>.png "
            "and grid.png (rows: inputs, columns: methods) into --out; for a model with several "
            "inputs <method>.npz, one array per input name. A softmax at the model's output "
            "is removed first (the pre-softmax scores are explained)."
        ),
    )
    analyze.add_argument("model",
                         help="a model saved with model.save('name.keras'); loaded in Keras' safe mode")
    analyze.add_argument(
        "inputs",
        help=(
            "a .npy file (N, *input shape); a .npz file (its first array, or --key; for a model with "
            "several inputs one array per input name, and the analyses come back by the same names); "
            "or a folder of PNG/JPEG images of exactly the model's input size (not resized), read as "
            "RGB floats in [0, 1] times --scale"
        ),
    )
    analyze.add_argument("--method", "-m", action="append", required=True, metavar="NAME",
                         help="a registered analyzer name, see `innv list` (repeatable)")
    analyze.add_argument("--neuron", default="max", type=_neuron, metavar="max|all|INDEX",
                         help="explain the largest output (default), the sum of all, or output INDEX")
    analyze.add_argument("--output", type=_output, metavar="NAME|INDEX",
                         help="for a model with several outputs (required then): the output to explain, "
                              "its position in model.outputs or its name (the API's output_index)")
    analyze.add_argument("--out", "-o", default="innv_analysis", metavar="DIR",
                         help="output folder (default: innv_analysis); must be writable, checked first")
    analyze.add_argument("--key", help="the array of a .npz file to use (default: the first one stored)")
    analyze.add_argument("--scale", type=float, default=1.0,
                         help="multiply image pixels (read in [0, 1]) by this, e.g. 255 (default 1)")
    analyze.add_argument("--batch-size", type=_positive_int, default=32, help="inputs per batch (default 32)")
    analyze.add_argument("--grid-rows", type=_positive_int, default=16,
                         help="at most this many inputs in grid.png (default 16)")
    analyze.add_argument("--overlay", type=_alpha, metavar="ALPHA",
                         help="draw the maps of grid.png over the grey input with this opacity (0-1)")
    _figure_arguments(analyze)
    analyze.add_argument("--width-cm", type=_positive_float, metavar="CM",
                         help="the grid's largest width with 7-pt text (default: 8.5, one journal column, "
                              "or 17.8, a page, when the maps would be narrower than 0.8 cm)")
    analyze.add_argument(
        "--classes", metavar="FILE",
        help=("class names for the grid, heatmaps and report: a text file with one name per line, "
              "ImageNet's imagenet_class_index.json, or a JSON {index: name}; 'imagenet' for the "
              "keras.applications names from the Keras cache (used by default for a keras.applications "
              "ImageNet classifier when the cache has them; nothing is downloaded)"))
    analyze.add_argument(
        "--report", action="store_true",
        help=("also write perturbation.png (does the top class stay the explained one as the most "
              "relevant regions are removed?) and report.html: one self-contained page with the "
              "grid, the heatmaps, the curves, a metrics table, the run's parameters and versions"),
    )
    analyze.add_argument("--metric", action="append", metavar="NAME[:KEY=VALUE,...]",
                         help="with --report: a metric of its table, as for `innv evaluate` (repeatable; "
                              "default: pixel_flipping in at most 32 steps, sparseness, complexity)")
    analyze.add_argument("--masks", metavar="FILE.npy",
                         help="with --report: binary masks (N, H, W[, 1]) of the objects, for the "
                              "localisation metrics (default table gains relevance_rank_accuracy)")

    evaluate = sub.add_parser(
        "evaluate",
        help="score analyzers with metrics (faithfulness, localisation, complexity, ...)",
        description=(
            "Explain a .keras model's predictions on INPUTS with each --method and score the "
            "attributions with each --metric (Quantus' names and defaults, see `innv list --kind "
            "metrics` and docs/evaluating.md). Writes metrics.csv and metrics.md (metric x method, "
            "mean ± standard error), scores/ and curves/ into --out."
        ),
    )
    evaluate.add_argument("model", help="a model saved with model.save('name.keras')")
    evaluate.add_argument("inputs", help="as for `innv analyze`: .npy, .npz or a folder of images")
    evaluate.add_argument("--method", "-m", action="append", required=True, metavar="NAME",
                          help="a registered analyzer name (repeatable)")
    evaluate.add_argument("--metric", action="append", required=True, metavar="NAME[:KEY=VALUE,...]",
                          help="a registered metric and its parameters, e.g. "
                               "pixel_flipping:features_in_step=16 (repeatable)")
    evaluate.add_argument("--labels", metavar="FILE.npy",
                          help="the class to explain per input (default: the model's prediction)")
    evaluate.add_argument("--masks", metavar="FILE.npy",
                          help="binary masks (N, H, W[, 1]) for the localisation metrics")
    evaluate.add_argument("--out", "-o", default="innv_evaluation", metavar="DIR",
                          help="output folder (default: innv_evaluation)")
    evaluate.add_argument("--key", help="the array of a .npz file to use (default: the first one)")
    evaluate.add_argument("--scale", type=float, default=1.0, help="multiply image pixels by this")
    evaluate.add_argument("--batch-size", type=_positive_int, default=32,
                          help="inputs per batch (default 32)")

    demo = sub.add_parser(
        "demo",
        help="train a small CNN on synthetic shapes and compare every analyzer on it",
        description=(
            "Generate images of squares, discs and crosses with known object masks, train a small CNN "
            "(seconds), explain it with every analyzer family in the registry, and write the grid "
            "figure, the perturbation (AOPC) curves, and a table of how much positive relevance each "
            "method puts on the object."
        ),
    )
    demo.add_argument("--out", "-o", default="innv_demo", metavar="DIR",
                      help="output folder (default: innv_demo)")
    demo.add_argument("--quick", action="store_true", help="less data and fewer steps (a first look, tests)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the data, the weights and the noise")
    _figure_arguments(demo)
    demo.add_argument("--threads", type=_positive_int, default=2, metavar="N",
                      help="TensorFlow's intra-op threads (default 2, as in docs/demo.md): the numbers "
                           "repeat exactly with the same count, seed and CPU")
    return parser


def _figure_arguments(parser: argparse.ArgumentParser) -> None:
    """``--format`` and ``--dpi`` of the commands that write figures."""
    from innv_core.utils.figure_files import FIGURE_DPI, FORMATS

    parser.add_argument("--format", choices=FORMATS, default="png",
                        help="the figures' file format: png (default), or pdf/svg (vector, text kept as "
                             "text, for papers); with --report a PDF run also writes the PNGs the page shows")
    parser.add_argument("--dpi", type=_positive_int, default=FIGURE_DPI,
                        help=f"resolution of PNG figures (default {FIGURE_DPI}: print quality)")


def _neuron(text: str) -> str | int:
    if text in ("max", "all"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected max, all or an integer index, got {text!r}") from None


def _output(text: str) -> str | int:
    try:
        return int(text)
    except ValueError:
        return text


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected an opacity in (0, 1], got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


# -- innv list -------------------------------------------------------------------------------
def cmd_list(kinds: Sequence[str] | None) -> int:
    from innv_core import registry
    from innv_core.app import name_index

    index = _quietly(name_index.load)  # from the cache file unless the plugins changed
    for kind in tuple(kinds) if kinds else registry.KINDS:
        entries = index.of_kind(kind)  # a name given by several plugins: one line each
        print(f"{kind}:")
        width = max((len(e.name) for e in entries), default=0)
        for entry in entries:
            print(f"  {entry.name:<{width}}  plugin {entry.plugin} ({entry.distribution or '-'})"
                  + (f"  [{entry.note}]" if entry.note else ""))
        print()
    if index.broken:
        print("\nbroken plugins (skipped):")
        for name, distribution, error in index.broken:
            print(f"  {name} ({distribution or '-'}): {error}")
    return 0


# -- innv analyze ----------------------------------------------------------------------------
def cmd_analyze(args: argparse.Namespace) -> int:
    """Run ``innv analyze``: every check first (files, --out, model, methods, neuron), then the work.

    User errors are :class:`UsageError` or :class:`~innv_core.errors.InnvError` (exit code 2);
    nothing is written into --out unless every check passed.
    """
    from innv_core.app.files import check_input_source

    model_path = _checked_model_path(Path(args.model))
    check_input_source(args.inputs, args.key)  # headers only, before TensorFlow is loaded
    _check_shape(model_path, args.inputs, args.key)
    classes = _read_classes(args.classes)  # the file's format now; its count once the model is loaded
    specs = _metric_specs(args.metric or ())
    if (specs or args.masks) and not args.report:
        flag = "--metric" if specs else "--masks"
        raise UsageError(f"{flag} fills the metrics table of --report: add --report, or use "
                         "`innv evaluate` for metrics alone.")
    if args.masks:
        from innv_core.app.files import array_header

        array_header(Path(args.masks))  # the file's problems before the model is loaded
    out = Path(args.out)
    created = _prepare_out(out)
    try:
        # the name index (builds it, with TensorFlow, on a first run)
        _check_methods(args.method, [spec.name for spec in specs])
        run = _prepare_analysis(args, model_path, classes)
        x, labels, analyzers = run.x, run.labels, run.analyzers
        print(f"Explaining {_count(x)} input(s) of {_shapes(x)} with {', '.join(analyzers)}.")
        analyses = _run_analyzers(analyzers, x, args.neuron, args.batch_size)
    except BaseException:
        _remove_empty(created)
        raise
    signed = {name: analyzer.signed for name, analyzer in analyzers.items()}
    options = _figure_options(args)
    files = write_outputs(out, x, labels, analyses, args.grid_rows, signed, options, run.class_names)
    if args.report:
        from innv_core.app.report import write_analysis_report

        files += write_analysis_report(out, args, run, analyses, signed, options)
    print(f"Wrote into {args.out}/:")
    for line in files:
        print(f"  {line}")
    return 0


def _figure_options(args: argparse.Namespace) -> Any:
    """The figures' formats (a PDF report also writes the PNGs its page shows), dpi and width."""
    from innv_core.app.heatmap_files import FigureOptions

    formats = (args.format, "png") if args.report and args.format == "pdf" else (args.format,)
    return FigureOptions(formats, args.dpi, args.width_cm, args.overlay)


def _read_classes(source: str | None) -> Any:
    """``--classes``: None, ``"imagenet"``, or the names read from the file (its format checked
    here, before TensorFlow loads; the count against the model's outputs later)."""
    if source is None or source == "imagenet":
        return source
    from innv_core.utils.class_names import read_class_names

    return read_class_names(source)


def _class_names(classes: Any, source: str | None, loaded: Any, model: Any,
                 output_index: int) -> tuple[list[str] | None, str | None]:
    """The class names of the explained output and where they come from: ``--classes``, or the
    ImageNet names in the Keras cache for a keras.applications ImageNet classifier."""
    import math

    from innv_core.applications.imagenet import (
        imagenet_class_index_path,
        imagenet_class_names,
        is_imagenet_classifier,
    )
    from innv_core.errors import InnvError
    from innv_core.utils.class_names import check_class_count

    output = model.outputs[output_index]
    n_classes = math.prod(output.shape[1:]) if all(output.shape[1:]) else None
    if classes is None and is_imagenet_classifier(loaded):
        cache = imagenet_class_index_path()
        try:
            classes = imagenet_class_names()
        except InnvError:
            print(f"Note: a keras.applications ImageNet classifier, but its class names are not in the "
                  f"Keras cache ({cache}); pass --classes FILE to show names.")
            return None, None
        print(f"Note: class names from the Keras cache ({cache}), the keras.applications ImageNet names.")
        source = f"ImageNet, from the Keras cache {cache}"
    elif classes == "imagenet":
        classes = imagenet_class_names()
        source = f"ImageNet, from the Keras cache {imagenet_class_index_path()}"
    if classes is None:
        return None, None
    if n_classes is not None:
        check_class_count(classes, n_classes, f"--classes {source!r}")
    return list(classes), source


def _checked_model_path(model_path: Path) -> Path:
    """``model_path`` if it is a readable ``.keras`` archive; a :class:`UsageError` otherwise."""
    if not model_path.is_file():
        raise UsageError(f"model file {str(model_path)!r} does not exist.")
    if model_path.suffix != ".keras":
        raise UsageError(
            f"MODEL must be a .keras file (saved with model.save('name.keras')), got {str(model_path)!r}."
        )
    if not zipfile.is_zipfile(model_path):
        raise UsageError(f"{str(model_path)!r} is not a saved Keras model (a .keras file is a zip archive).")
    return model_path


def _check_methods(methods: Sequence[str], metrics: Sequence[str] = ()) -> None:
    """Unknown analyzer and metric names fail at once, from the name index (no TensorFlow)."""
    from innv_core.app import name_index

    index = _quietly(name_index.load)
    for name in methods:
        index.check_name("analyzers", name)
    for name in metrics:
        index.check_name("metrics", name)


def _metric_specs(texts: Sequence[str]) -> list[Any]:
    """The parsed ``--metric`` specs; a :class:`UsageError` for a malformed one."""
    from innv_core.app.evaluate import parse_metric

    try:
        return [parse_metric(text) for text in texts]
    except ValueError as error:
        raise UsageError(str(error)) from None


def _check_shape(model_path: Path, inputs: str, key: str | None) -> None:
    """An array of the wrong shape fails at once: its header against the model file's config."""
    from innv_core.app.files import array_header
    from innv_core.app.keras_file import declared_input_shapes, shape_problem

    declared = declared_input_shapes(model_path)
    if Path(inputs).is_dir() or not declared or len(declared) != 1:
        return  # images are checked when read; other models after loading
    problem = shape_problem(array_header(inputs, key)[0], declared[0])
    if problem:
        raise UsageError(f"the inputs in {inputs!r} do not fit the model: {problem}")


def _prepare_out(out: Path) -> list[Path]:
    """Check that ``out`` can be created and written into; the folders created (deepest first)."""
    created = []
    existing = out
    while not existing.exists() and existing != existing.parent:
        created.append(existing)
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        what = "is a file" if existing == out else f"lies under {str(existing)!r}, which is a file"
        raise UsageError(f"--out {str(out)!r} {what}, not a folder; give a folder to write into.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".innv-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        _remove_empty(created)
        reason = error.strerror or one_line(error)
        raise UsageError(f"cannot write into --out {str(out)!r}: {reason}.") from None
    return created


def _remove_empty(folders: Sequence[Path]) -> None:
    """Remove the folders ``_prepare_out`` created (deepest first) if nothing was written in them."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


@attrs.frozen
class PreparedRun:
    """What ``innv analyze`` checked and built before the first analysis: the inputs, their
    :class:`~innv_core.app.input_labels.InputLabel`, one analyzer per method, the model (softmax
    removed), the explained output's position and its class names (and where they come from)."""

    x: Any  # an array, or for a model with several inputs a dict by input name (model order)
    labels: list[Any]
    analyzers: dict[str, Any]
    model: Any
    output_index: int
    class_names: list[str] | None = None
    classes_source: str | None = None


def _prepare_analysis(args: argparse.Namespace, model_path: Path, classes: Any = None) -> PreparedRun:
    """The checked inputs, their labels (:func:`_row_labels`), one analyzer per method and the
    model: everything that can fail on the user's files or arguments fails here, before the first
    analysis."""
    _import_tensorflow()
    from innv_core.create import create_analyzer
    from innv_core.errors import InnvError, InvalidInputError, NeuronSelectionError
    from innv_core.inputs import specs_of_model
    from innv_core.registry import get_registry

    registry = get_registry()
    for name in args.method:  # unknown names fail before the model is loaded
        registry.get("analyzers", name)
    loaded = _load_model(model_path, several_inputs=True)
    mode = {"max": "max_activation", "all": "all"}.get(args.neuron, "index")
    kwargs: dict[str, Any] = {"neuron_selection_mode": mode}
    if len(loaded.outputs) > 1 or args.output is not None:  # the names of the model as saved
        kwargs["output_index"] = _output_index(loaded, args.output)
    model = _without_softmax(loaded)
    x, names = _read_inputs(args, specs_of_model(model))

    analyzers = {}
    for name in dict.fromkeys(args.method):
        try:
            analyzer = create_analyzer(name, model, **kwargs)  # runs the analyzer's model checks
        except (InnvError, ValueError) as error:
            raise UsageError(f"{name} cannot analyze this model: {one_line(error)}") from None
        neuron = args.neuron if isinstance(args.neuron, int) else None
        try:  # the analyzer's own checks: token ids in the Embedding's range, the neuron's range
            analyzer.check_inputs(x, neuron)
        except NeuronSelectionError as error:
            raise UsageError(f"--neuron {args.neuron}: {one_line(error)}") from None
        except InvalidInputError as error:
            message = f"the inputs in {args.inputs!r} do not fit {name}: {one_line(error)}"
            raise UsageError(message) from None
        analyzers[name] = analyzer
    output_index = kwargs.get("output_index", 0)
    class_names, source = _class_names(classes, args.classes, loaded, model, output_index)
    labels = _row_labels(model, x, names, args.neuron, args.batch_size, output_index, model is not loaded)
    return PreparedRun(x, labels, analyzers, model, output_index, class_names, source)


def _read_inputs(args: argparse.Namespace, specs: Sequence[Any]) -> tuple[Any, list[str]]:
    """The checked inputs and a name per sample: an array for a one-input model, else a dict by
    input name read from a ``.npz`` file (analyze then answers by the same names)."""
    from innv_core.app.files import load_inputs, load_named_inputs

    if len(specs) == 1:
        return load_inputs(args.inputs, specs[0], key=args.key, scale=args.scale)
    names = ", ".join(spec.name for spec in specs)
    if args.key is not None:
        raise UsageError(f"--key picks the array of a one-input model; this model has {len(specs)} inputs "
                         f"({names}) and reads the .npz arrays of these names.")
    if args.report:
        raise UsageError(f"--report draws heatmaps and perturbation curves of one input; this model has "
                         f"{len(specs)} ({names}). Leave out --report: the analyses are written by "
                         "input name.")
    x, rows, unused = load_named_inputs(args.inputs, specs)
    if unused:
        print(f"Note: the arrays {', '.join(unused)} of {args.inputs} are no input of the model; not used.")
    return x, rows


def _count(x: Any) -> int:
    """The number of samples of an array or of a dict of arrays."""
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)


def _shapes(x: Any) -> str:
    if isinstance(x, dict):
        return "shapes " + ", ".join(f"{name} {a.shape[1:]}" for name, a in x.items())
    return f"shape {x.shape[1:]}"


def _rows(x: Any, start: int, stop: int) -> Any:
    """Samples ``start:stop`` of an array or of each array of a dict."""
    return {k: a[start:stop] for k, a in x.items()} if isinstance(x, dict) else x[start:stop]


def _concatenate(parts: Sequence[Any]) -> Any:
    """Batches of analyses (arrays, or dicts by input name) joined along the first axis."""
    import numpy as np

    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate([np.asarray(p) for p in parts])


def _output_index(model: Any, output: str | int | None) -> int:
    """``--output`` as a position in ``model.outputs`` (resolved as the analyzers do)."""
    from innv_core import keras_adapter as ka
    from innv_core.errors import NeuronSelectionError
    from innv_core.selection import resolve_output_index

    if output is None:
        names = ka.output_names(model) or []
        listing = ", ".join(f"{i}: {'/'.join(sorted(a)) or '?'}" for i, a in enumerate(names))
        raise UsageError(
            f"the model has {len(model.outputs)} outputs ({listing}); choose the one to explain "
            "with --output NAME|INDEX."
        )
    try:
        return resolve_output_index(model, output)
    except NeuronSelectionError as error:
        raise UsageError(f"--output {output}: {one_line(error)}") from None


def _import_tensorflow() -> None:
    """Import TensorFlow with its start-up noise silenced (see :func:`_quietly`)."""
    if "tensorflow" not in sys.modules:
        _quietly(lambda: importlib.import_module("tensorflow"))


def _quietly(fn: Any) -> Any:
    """``fn()`` with TensorFlow's start-up noise silenced, in case it imports TensorFlow.

    TF_CPP_MIN_LOG_LEVEL quiets TF's own logging, but on a machine without GPU the CUDA build
    still prints its "could not find cuda drivers" lines through absl before logging is set up;
    the C-level stderr is sent to /dev/null meanwhile so that errors stay one line. ``-v`` (the
    ``INNV_VERBOSE`` environment variable) keeps everything.
    """
    if os.environ.get("INNV_VERBOSE"):
        return fn()
    _quiet_tensorflow()
    sys.stderr.flush()
    saved = os.dup(2)
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1)  # Python's own warnings stay visible
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            return fn()
    finally:
        sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)


def _load_model(path: Path, several_inputs: bool = False) -> Any:
    import keras

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # noqa: BLE001 - any reason Keras gives: one line for the user
        raise UsageError(f"cannot load model {str(path)!r}: {one_line(error)}") from None
    count = len(getattr(model, "inputs", None) or [])
    if count == 0 or (count > 1 and not several_inputs):
        raise UsageError(
            f"innv evaluate supports models with exactly one input, this one has {count}; use "
            "`innv analyze` (a .npz with one array per input name) or the Python API "
            "(innv_core.create_analyzer(...).analyze({'name': x, ...}))."
            if count else "the model declares no inputs (a subclassed model?); save a functional one."
        )
    return model


def _without_softmax(model: Any) -> Any:
    from innv_core.errors import NotAnalyzableModelError
    from innv_core.graph import model_wo_softmax

    try:
        stripped = model_wo_softmax(model)
    except NotAnalyzableModelError as error:
        raise UsageError(f"the model cannot be analyzed: {one_line(error)}") from None
    if stripped is not model:
        print("Note: the model ends in a softmax; explaining its pre-softmax outputs "
              "(innv_core.model_wo_softmax).")
    return stripped


def _fit_trainers(analyzers: dict[str, Any], x: Any, batch_size: int) -> None:
    """Fit the analyzers that learn from data on ``x``, saying so (errors as usage errors)."""
    from innv_core.app.evaluate import fit_trainers
    from innv_core.errors import InnvError

    try:
        fitted = fit_trainers(analyzers, x, batch_size)
    except (InnvError, ValueError) as error:
        raise UsageError(f"fitting on the inputs given: {one_line(error)}") from None
    for name in fitted:
        print(f"Note: {name} learns from data; it was fitted on the {_count(x)} input(s) given.")


def _run_analyzers(analyzers: dict[str, Any], x: Any, neuron: str | int, batch_size: int) -> dict[str, Any]:
    from innv_core.app.progress import Progress
    from innv_core.errors import InnvError

    selection = neuron if isinstance(neuron, int) else None
    starts = range(0, _count(x), batch_size)
    _fit_trainers(analyzers, x, batch_size)
    analyses: dict[str, Any] = {}
    with Progress(len(analyzers) * len(starts), "batches") as bar:
        for name, analyzer in analyzers.items():
            try:
                parts = []
                for start in starts:  # a dict of inputs gives a dict of analyses (same names)
                    batch = _rows(x, start, start + batch_size)
                    parts.append(analyzer.analyze(batch, neuron_selection=selection))
                    bar.step(name)
            except (InnvError, ValueError) as error:
                raise UsageError(f"{name}: {one_line(error)}") from None
            analyses[name] = _concatenate(parts)
    return analyses


def _row_labels(model: Any, x: Any, names: Sequence[str], neuron: str | int, batch_size: int,
                output_index: int, softmax: bool = False) -> list[Any]:
    """Per input an :class:`~innv_core.app.input_labels.InputLabel`: its name, the predicted class
    (largest entry of the explained output), what was explained, and, if the model ended in a
    softmax (``softmax``: removed, so ``model`` gives logits), the predicted class's probability."""
    import keras
    import numpy as np

    from innv_core.app.input_labels import InputLabel

    inputs = list(x.values()) if isinstance(x, dict) else x  # a dict is in model order
    outputs = keras.tree.flatten(model.predict(inputs, batch_size=batch_size, verbose=0))[output_index]
    scores = np.asarray(outputs, np.float64).reshape(_count(x), -1)
    predicted = scores.argmax(axis=1)
    probability = [None] * _count(x)
    if softmax:
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        probability = (shifted / shifted.sum(axis=1, keepdims=True))[np.arange(_count(x)), predicted]
    explained = {"max": None, "all": "sum of all"}.get(neuron, neuron) if isinstance(neuron, str) else neuron
    return [InputLabel(n, int(c), int(c) if explained is None else explained, None if p is None else float(p))
            for n, c, p in zip(names, predicted, probability)]


# -- innv evaluate ---------------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> int:
    """Run ``innv evaluate``: the checks of ``innv analyze`` (files, --out, names), then each
    metric on each method's attributions."""
    from innv_core.app.files import check_input_source, read_array

    model_path = _checked_model_path(Path(args.model))
    check_input_source(args.inputs, args.key)
    specs = _metric_specs(args.metric)
    files = (("labels", args.labels), ("masks", args.masks))
    extra = {name: read_array(path) for name, path in files if path}
    out = Path(args.out)
    created = _prepare_out(out)
    try:
        results, methods = _evaluate(args, model_path, specs, extra)
    except BaseException:
        _remove_empty(created)
        raise
    from innv_core.app.evaluate import write_tables

    files = write_tables(out, results, methods)
    print((out / "metrics.md").read_text(encoding="utf-8"), end="")
    print(f"Wrote into {args.out}/:")
    for line in files:
        print(f"  {line}")
    return 0


def _evaluate(args: argparse.Namespace, model_path: Path, specs: Sequence[Any],
              extra: dict[str, Any]) -> tuple[dict, list[str]]:
    _import_tensorflow()
    import numpy as np

    from innv_core.app.evaluate import evaluate_methods
    from innv_core.app.files import load_inputs
    from innv_core.create import create_analyzer, create_metric
    from innv_core.errors import InnvError
    from innv_core.inputs import specs_of_model
    from innv_core.registry import get_registry

    registry = get_registry()
    for name in args.method:
        registry.get("analyzers", name)
    for spec in specs:
        registry.get("metrics", spec.name)
    model = _without_softmax(_load_model(model_path))
    x, _ = load_inputs(args.inputs, specs_of_model(model)[0], key=args.key, scale=args.scale)
    y = extra.get("labels")
    if y is None:
        y = np.asarray(model.predict(x, batch_size=args.batch_size, verbose=0)).reshape(len(x), -1).argmax(1)
    methods = list(dict.fromkeys(args.method))
    try:
        metrics = {spec.label: create_metric(spec.name, model, **spec.params) for spec in specs}
    except TypeError as error:
        raise UsageError(f"--metric: {one_line(error)}") from None
    analyzers = {}
    for name in methods:
        try:
            analyzers[name] = create_analyzer(name, model, neuron_selection_mode="index")
        except (InnvError, ValueError) as error:
            raise UsageError(f"{name} cannot analyze this model: {one_line(error)}") from None
    print(f"Evaluating {', '.join(methods)} on {len(x)} input(s) with {', '.join(metrics)}.")
    _fit_trainers(analyzers, x, args.batch_size)
    return evaluate_methods(model, x, y, extra.get("masks"), analyzers, metrics, args.batch_size), methods


# -- innv demo -------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    _import_tensorflow()
    from innv_core.app.demo.run import DemoConfig, run_demo

    config = DemoConfig.quick(seed=args.seed) if args.quick else DemoConfig(seed=args.seed)
    try:
        run_demo(args.out, config, figure_format=args.format, dpi=args.dpi, threads=args.threads)
    except OSError as error:  # the output folder cannot be written
        raise UsageError(one_line(error)) from None
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.verbose:
        os.environ["INNV_VERBOSE"] = "1"
    commands = {"analyze": cmd_analyze, "evaluate": cmd_evaluate, "demo": cmd_demo}
    if args.command == "list":
        return cmd_list(args.kind)
    if args.command in commands:
        from innv_core.errors import InnvError  # light: no TensorFlow

        try:
            return commands[args.command](args)
        except (UsageError, InnvError) as error:
            print(f"innv {args.command}: error: {one_line(error)}", file=sys.stderr)
            return 2
    _parser().print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
