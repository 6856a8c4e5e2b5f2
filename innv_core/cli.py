"""The ``innv`` command line. ``innv --help`` must not import TensorFlow.

- ``innv list``: every registered name and the plugin (and distribution) that gives it.
- ``innv analyze MODEL INPUTS --method NAME ...``: heatmaps, raw analyses and a grid figure.
- ``innv demo``: a small CNN on synthetic shapes explained by every analyzer family.

TensorFlow, Keras and matplotlib are imported inside the commands only. Problems with the user's
files or arguments end the command with exit code 2 and a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class UsageError(Exception):
    """A problem with the command's files or arguments: reported in one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="innv",
        description="Explain Keras 3 model predictions (gradients, LRP, DeepTaylor, PatternNet, ...).",
    )
    sub = parser.add_subparsers(dest="command")
    listing = sub.add_parser("list", help="show every registered name and the plugin that gives it")
    listing.add_argument("--kind", choices=["analyzers", "rules", "pattern_types", "perturbations", "layers"],
                         action="append", help="only these kinds (repeatable)")

    analyze = sub.add_parser(
        "analyze",
        help="explain a saved model's predictions on arrays or images",
        description=(
            "Explain a .keras model's predictions on INPUTS with one or more analyzers. Writes "
            "<method>.npy (the raw analyses, shape (N, *input shape)), heatmaps/<input>__<method>.png "
            "and grid.png (rows: inputs, columns: methods) into --out. A softmax at the model's output "
            "is removed first (the pre-softmax scores are explained)."
        ),
    )
    analyze.add_argument("model",
                         help="a model saved with model.save('name.keras'); loaded in Keras' safe mode")
    analyze.add_argument(
        "inputs",
        help=(
            "a .npy file (N, *input shape); a .npz file (its first array, or --key); or a folder of "
            "PNG/JPEG images of exactly the model's input size (not resized), read as RGB floats in "
            "[0, 1] times --scale"
        ),
    )
    analyze.add_argument("--method", "-m", action="append", required=True, metavar="NAME",
                         help="a registered analyzer name, see `innv list` (repeatable)")
    analyze.add_argument("--neuron", default="max", type=_neuron, metavar="max|all|INDEX",
                         help="explain the largest output (default), the sum of all, or output INDEX")
    analyze.add_argument("--out", "-o", default="innv_analysis", metavar="DIR",
                         help="output folder (default: innv_analysis)")
    analyze.add_argument("--key", help="the array of a .npz file to use (default: the first one stored)")
    analyze.add_argument("--scale", type=float, default=1.0,
                         help="multiply image pixels (read in [0, 1]) by this, e.g. 255 (default 1)")
    analyze.add_argument("--batch-size", type=_positive_int, default=32, help="inputs per batch (default 32)")
    analyze.add_argument("--grid-rows", type=_positive_int, default=16,
                         help="at most this many inputs in grid.png (default 16)")

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
    return parser


def _neuron(text: str) -> str | int:
    if text in ("max", "all"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected max, all or an integer index, got {text!r}") from None


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
    _quiet_tensorflow()
    from innv_core import registry

    reg = registry.get_registry()
    for kind in tuple(kinds) if kinds else registry.KINDS:
        entries = registry.list_registered([kind])  # a name given by several plugins: one line each
        print(f"{kind}:")
        width = max((len(e.name) for e in entries), default=0)
        for entry in entries:
            note = reg.describe(entry)
            print(f"  {entry.name:<{width}}  plugin {entry.plugin} ({entry.distribution or '-'})"
                  + (f"  [{note}]" if note else ""))
        print()
    broken = registry.broken_plugins()
    if broken:
        print("\nbroken plugins (skipped):")
        for b in broken:
            print(f"  {b.name} ({b.distribution or '-'}): {b.error}")
    return 0


# -- innv analyze ----------------------------------------------------------------------------
def cmd_analyze(args: argparse.Namespace) -> int:
    """Run ``innv analyze``; user errors become :class:`UsageError` (exit code 2)."""
    _quiet_tensorflow()
    model_path = Path(args.model)
    if not model_path.is_file():
        raise UsageError(f"model file {str(model_path)!r} does not exist.")
    if model_path.suffix != ".keras":
        raise UsageError(
            f"MODEL must be a .keras file (saved with model.save('name.keras')), got {str(model_path)!r}."
        )
    if not Path(args.inputs).exists():
        raise UsageError(f"inputs {args.inputs!r} do not exist.")

    from innv_core.registry import get_registry

    registry = get_registry()
    for name in args.method:  # unknown names fail before anything slow happens
        try:
            registry.get("analyzers", name)
        except KeyError as error:
            raise UsageError(error.args[0]) from None

    model = _load_model(model_path)
    x, names = load_inputs(args.inputs, model, key=args.key, scale=args.scale)
    _check_shape(x, tuple(model.inputs[0].shape[1:]), args.inputs)
    print(f"Explaining {len(x)} input(s) of shape {x.shape[1:]} with {', '.join(args.method)}.")
    analyses = _run_analyzers(model, x, args.method, args.neuron, args.batch_size)
    files = _write_outputs(Path(args.out), x, names, analyses, args.grid_rows)
    print(f"Wrote into {args.out}/:")
    for line in files:
        print(f"  {line}")
    return 0


def _load_model(path: Path) -> Any:
    import keras

    from innv_core.errors import NotAnalyzableModelError
    from innv_core.graph import model_wo_softmax

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # any reason Keras gives: one line for the user
        raise UsageError(f"cannot load model {str(path)!r}: {_one_line(error)}") from None
    if len(getattr(model, "inputs", None) or []) != 1:
        raise UsageError(
            "innv analyze supports models with exactly one input; use the Python API "
            "(innv_core.create_analyzer(...).analyze([x1, x2])) for the others."
        )
    try:
        stripped = model_wo_softmax(model)
    except NotAnalyzableModelError as error:
        raise UsageError(f"the model cannot be analyzed: {_one_line(error)}") from None
    if stripped is not model:
        print("Note: the model ends in a softmax; explaining its pre-softmax outputs "
              "(innv_core.model_wo_softmax).")
    return stripped


def load_inputs(path: str | os.PathLike[str], model: Any, key: str | None = None,
                scale: float = 1.0) -> tuple[Any, list[str]]:
    """The inputs as one float array ``(N, *model input shape)`` and a name per input.

    ``.npy``: the array; ``.npz``: the array ``key`` (default: the first one stored); a folder:
    its PNG/JPEG images in name order (see :func:`load_images`). Shapes are checked by ``analyze``
    for arrays and here for images.
    """
    import numpy as np

    p = Path(path)
    if p.is_dir():
        return load_images(p, tuple(model.inputs[0].shape[1:]), scale)
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            x = np.load(p, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(p, allow_pickle=False) as arrays:
                if not arrays.files:
                    raise UsageError(f"{str(p)!r} holds no array.")
                key = key or arrays.files[0]
                if key not in arrays.files:
                    raise UsageError(f"{str(p)!r} has no array {key!r}; it has {', '.join(arrays.files)}.")
                x = arrays[key]
        else:
            raise UsageError(
                f"INPUTS must be a .npy or .npz file or a folder of PNG/JPEG images, got {str(p)!r}."
            )
    except (ValueError, OSError) as error:
        raise UsageError(f"cannot read {str(p)!r}: {_one_line(error)}") from None
    if x.ndim == 0 or len(x) == 0:
        raise UsageError(f"{str(p)!r} holds no inputs (array of shape {x.shape}).")
    return x, [f"input_{i:04d}" for i in range(len(x))]


def load_images(folder: Path, input_shape: tuple[Any, ...], scale: float = 1.0) -> tuple[Any, list[str]]:
    """The PNG/JPEG images of ``folder`` (sorted by name) as floats in [0, 1] times ``scale``.

    The model input must be ``(H, W, C)`` with C 1, 3 or 4; gray images are repeated to 3
    channels, RGB(A) images averaged to 1 for a gray model, the alpha channel dropped for an RGB
    one. Images must already have the model's size: they are not resized.
    """
    import matplotlib.image
    import numpy as np

    files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UsageError(f"no PNG or JPEG image in folder {str(folder)!r}.")
    if len(input_shape) != 3 or input_shape[-1] not in (1, 3, 4):
        raise UsageError(
            f"the model's input has shape {input_shape}, not an image (height, width, 1|3|4 channels); "
            "give a .npy or .npz file instead of a folder."
        )
    channels = input_shape[-1]
    images = []
    for f in files:
        try:
            image = np.asarray(matplotlib.image.imread(f))
        except Exception as error:  # Pillow's or matplotlib's reason
            raise UsageError(f"cannot read image {str(f)!r}: {_one_line(error)}") from None
        if np.issubdtype(image.dtype, np.integer):
            image = image / np.iinfo(image.dtype).max
        image = _match_channels(image.astype(np.float32), channels, f)
        expected = tuple(input_shape[:2])
        if any(e is not None and e != a for e, a in zip(expected, image.shape[:2])):
            raise UsageError(
                f"image {f.name!r} is {image.shape[0]}x{image.shape[1]} pixels but the model expects "
                f"{expected[0]}x{expected[1]}; innv analyze does not resize: resize the images first."
            )
        if images and image.shape != images[0].shape:
            raise UsageError(
                f"image {f.name!r} is {image.shape[0]}x{image.shape[1]} but {files[0].name!r} is "
                f"{images[0].shape[0]}x{images[0].shape[1]}; all images must have the same size."
            )
        images.append(image)
    return np.stack(images) * np.float32(scale), [f.stem for f in files]


def _match_channels(image: Any, channels: int, path: Path) -> Any:
    import numpy as np

    if image.ndim == 2:
        image = image[..., None]
    have = image.shape[-1]
    if have == channels:
        return image
    if have == 4 and channels == 3:
        return image[..., :3]
    if have == 1 and channels in (3, 4):
        rgb = np.repeat(image, 3, axis=-1)
        return rgb if channels == 3 else np.concatenate([rgb, np.ones_like(image)], axis=-1)
    if have in (3, 4) and channels == 1:
        return image[..., :3].mean(axis=-1, keepdims=True)
    raise UsageError(f"image {path.name!r} has {have} channels but the model expects {channels}.")


def _check_shape(x: Any, expected: tuple[Any, ...], source: str) -> None:
    """Each input must have the model's input shape (``None`` matches any size)."""
    got = tuple(x.shape[1:])
    if len(got) != len(expected) or any(e is not None and e != g for e, g in zip(expected, got)):
        shown = "(" + ", ".join("any" if e is None else str(e) for e in expected) + ")"
        raise UsageError(
            f"the inputs in {source!r} have shape {got} each (array {tuple(x.shape)}) but the model "
            f"expects {shown} per input."
        )


def _run_analyzers(model: Any, x: Any, methods: Sequence[str], neuron: str | int,
                   batch_size: int) -> dict[str, Any]:
    import keras
    import numpy as np

    from innv_core.analyzer import TrainerMixin
    from innv_core.create import create_analyzer
    from innv_core.errors import NotAnalyzableModelError

    mode = {"max": "max_activation", "all": "all"}.get(neuron, "index")
    selection = neuron if mode == "index" else None
    starts = range(0, len(x), batch_size)
    analyzers = {}
    for name in dict.fromkeys(methods):
        try:
            analyzers[name] = create_analyzer(name, model, neuron_selection_mode=mode)
        except (NotAnalyzableModelError, ValueError) as error:
            raise UsageError(f"{name} cannot analyze this model: {_one_line(error)}") from None
    for name, analyzer in analyzers.items():
        if isinstance(analyzer, TrainerMixin):
            print(f"Note: {name} learns from data; it is fitted on the {len(x)} input(s) given.")
    bar = keras.utils.Progbar(len(analyzers) * len(starts), unit_name="batch")
    analyses: dict[str, Any] = {}
    for name, analyzer in analyzers.items():
        try:
            if isinstance(analyzer, TrainerMixin):
                analyzer.fit(x, batch_size=batch_size)
            parts = []
            for start in starts:
                batch = x[start : start + batch_size]
                parts.append(np.asarray(analyzer.analyze(batch, neuron_selection=selection)))
                bar.add(1)
        except (NotAnalyzableModelError, ValueError) as error:
            print(file=sys.stderr)
            raise UsageError(f"{name}: {_one_line(error)}") from None
        analyses[name] = np.concatenate(parts)
    return analyses


def _is_image_batch(x: Any) -> bool:
    return x.ndim == 3 or (x.ndim == 4 and x.shape[-1] in (1, 3, 4))


def _write_outputs(out: Path, x: Any, names: Sequence[str], analyses: dict[str, Any],
                   grid_rows: int) -> list[str]:
    import matplotlib.image
    import numpy as np

    from innv_core.utils.visualizations import heatmap, plot_image_grid

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for method, analysis in analyses.items():
        np.save(out / f"{_safe(method)}.npy", analysis, allow_pickle=False)
    written.append(f"{len(analyses)} analyses: {', '.join(_safe(m) + '.npy' for m in analyses)}")
    if not _is_image_batch(x):
        written.append(f"no heatmaps or grid: the inputs {x.shape[1:]} are not images (H, W[, C]).")
        return written
    images = x if x.ndim == 4 else x[..., None]
    maps = {m: heatmap(a if a.ndim == 4 else a[..., None]) for m, a in analyses.items()}
    folder = out / "heatmaps"
    folder.mkdir(exist_ok=True)
    for method, colours in maps.items():
        for name, colour in zip(names, colours):
            matplotlib.image.imsave(folder / f"{_safe(name)}__{_safe(method)}.png", colour)
    written.append(f"{len(maps) * len(names)} heatmaps in heatmaps/ (<input>__<method>.png)")
    rows = min(grid_rows, len(images))
    grid = [[_displayable(images[i])] + [maps[m][i] for m in maps] for i in range(rows)]
    plot_image_grid(grid, out / "grid.png", row_labels=list(names[:rows]), col_labels=["input", *maps],
                    cell_px=128, fontsize=8)
    more = f" (the first {rows} of {len(images)} inputs)" if rows < len(images) else ""
    written.append(f"grid.png: rows inputs, columns methods{more}")
    return written


def _displayable(image: Any) -> Any:
    """An input image scaled to [0, 1] for display (RGB kept, alpha dropped, gray as gray)."""
    import numpy as np

    image = np.asarray(image, np.float64)[..., :3]
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def _safe(name: str) -> str:
    """A file-name-safe version of a method or input name."""
    return re.sub(r"[^\w.+-]+", "_", name) or "_"


def _one_line(error: BaseException) -> str:
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(str(text).split()) or type(error).__name__


# -- innv demo -------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from innv_core.demo.run import DemoConfig, run_demo

    config = DemoConfig.quick(seed=args.seed) if args.quick else DemoConfig(seed=args.seed)
    try:
        run_demo(args.out, config)
    except OSError as error:  # the output folder cannot be written
        raise UsageError(_one_line(error)) from None
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"analyze": cmd_analyze, "demo": cmd_demo}
    if args.command == "list":
        return cmd_list(args.kind)
    if args.command in commands:
        try:
            return commands[args.command](args)
        except UsageError as error:
            print(f"innv {args.command}: error: {error}", file=sys.stderr)
            return 2
    _parser().print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
