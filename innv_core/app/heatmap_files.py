"""The files ``innv analyze`` writes: raw analyses, heatmaps per input and method, the grid.

Shared by the command (:mod:`innv_core.app.cli`) and its report (:mod:`innv_core.app.report`),
which links the heatmaps by the same paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from innv_core.utils.figure_files import FIGURE_DPI

__all__ = ["FigureOptions", "embeddable", "heatmap_path", "is_image_batch", "safe_name", "write_outputs"]


@attrs.frozen
class FigureOptions:
    """How ``innv analyze`` writes its figures: the formats (each figure once per format), a
    PNG's dpi, the grid's width (None: one column, or a page for many methods) and overlay."""

    formats: tuple[str, ...] = ("png",)
    dpi: int = FIGURE_DPI
    width_cm: float | None = None
    overlay: float | None = None


def is_image_batch(x: Any) -> bool:
    """Whether ``x`` is a batch of images (N, H, W) or (N, H, W, 1|3|4): heatmaps can be drawn."""
    return x.ndim == 3 or (x.ndim == 4 and x.shape[-1] in (1, 3, 4))


def write_outputs(out: Path, x: Any, labels: Sequence[Any], analyses: dict[str, Any], grid_rows: int,
                  signed: dict[str, bool], options: FigureOptions = FigureOptions(),
                  classes: Sequence[str] | None = None) -> list[str]:
    """Write each analysis as ``<method>.npy`` and, for image inputs, a heatmap per input and
    method and the grid, in each of ``options.formats``; the lines describing what was written.
    ``labels`` are :class:`~innv_core.app.input_labels.InputLabel`; ``classes`` the class names.
    For a model with several inputs (``x`` and each analysis a dict by input name):
    ``<method>.npz`` by input name."""
    import numpy as np

    from innv_core.utils.figure_files import save_figure
    from innv_core.utils.visualizations import relevance_grid_figure, save_relevance_map

    out.mkdir(parents=True, exist_ok=True)
    if isinstance(x, dict):
        return _write_by_input_name(out, analyses)
    written = []
    for method, analysis in analyses.items():
        np.save(out / f"{safe_name(method)}.npy", analysis, allow_pickle=False)
    written.append(f"{len(analyses)} analyses: {', '.join(safe_name(m) + '.npy' for m in analyses)}")
    if not is_image_batch(x):
        written.append(f"no heatmaps or grid: the inputs {x.shape[1:]} are not images (H, W[, C]).")
        return written
    (out / "heatmaps").mkdir(exist_ok=True)
    for method, analysis in analyses.items():
        for label, a in zip(labels, analysis):
            for fmt in options.formats:
                save_relevance_map(heatmap_path(out, label.name, method, fmt), a, signed[method],
                                   label.title(method, classes), dpi=options.dpi)
    kinds = "/".join(options.formats)
    written.append(f"{len(analyses) * len(labels)} heatmaps in heatmaps/ (<input>__<method>.{kinds}, "
                   "with a colour bar)")
    rows = min(grid_rows, len(x))
    fig = relevance_grid_figure(x[:rows], {m: a[:rows] for m, a in analyses.items()}, signed=signed,
                                row_labels=[label.row_label(classes) for label in labels[:rows]],
                                overlay_alpha=options.overlay, width_cm=options.width_cm)
    for fmt in options.formats:
        save_figure(fig, out / f"grid.{fmt}", options.dpi)
    more = f" (the first {rows} of {len(x)} inputs)" if rows < len(x) else ""
    width = f"{fig.get_figwidth() * 2.54:.1f} cm wide, 7-pt text"
    written.append(f"grid.{kinds}: rows inputs, columns methods, {width}{more}")
    return written


def _write_by_input_name(out: Path, analyses: dict[str, dict[str, Any]]) -> list[str]:
    """``<method>.npz`` holding one array per input name (the names of the inputs' file), as
    ``np.savez`` writes it (any input name, ``file`` included; never pickled)."""
    import zipfile

    import numpy as np

    for method, by_name in analyses.items():
        with zipfile.ZipFile(out / f"{safe_name(method)}.npz", "w") as archive:
            for name, analysis in by_name.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as fp:
                    np.lib.format.write_array(fp, np.asarray(analysis), allow_pickle=False)
    inputs = ", ".join(next(iter(analyses.values())))
    return [f"{len(analyses)} analyses: {', '.join(safe_name(m) + '.npz' for m in analyses)}, "
            f"one array per input ({inputs})",
            "no heatmaps or grid: the model has several inputs (read the .npz files by input name)."]


def heatmap_path(out: Path, name: str, method: str, fmt: str = "png") -> Path:
    """Where ``innv analyze`` writes the heatmap of input ``name`` by ``method``."""
    return out / "heatmaps" / f"{safe_name(name)}__{safe_name(method)}.{fmt}"


def embeddable(formats: Sequence[str]) -> str:
    """The format of the figures an HTML page shows: PNG, else SVG (a PDF cannot be an <img>)."""
    return "png" if "png" in formats or "svg" not in formats else "svg"


def safe_name(name: str) -> str:
    """A file-name-safe version of a method or input name."""
    return re.sub(r"[^\w.+-]+", "_", name) or "_"
