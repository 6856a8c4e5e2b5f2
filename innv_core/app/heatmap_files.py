"""The files ``innv analyze`` writes: raw analyses, heatmaps per input and method, the grid.

Shared by the command (:mod:`innv_core.app.cli`) and its report (:mod:`innv_core.app.report`),
which links the heatmaps by the same paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["heatmap_path", "is_image_batch", "safe_name", "write_outputs"]


def is_image_batch(x: Any) -> bool:
    """Whether ``x`` is a batch of images (N, H, W) or (N, H, W, 1|3|4): heatmaps can be drawn."""
    return x.ndim == 3 or (x.ndim == 4 and x.shape[-1] in (1, 3, 4))


def write_outputs(out: Path, x: Any, labels: Sequence[tuple], analyses: dict[str, Any],
                   grid_rows: int, signed: dict[str, bool], overlay: float | None = None) -> list[str]:
    """Write each analysis as ``<method>.npy`` and, for image inputs, a heatmap per input and
    method and ``grid.png``; the lines describing what was written. For a model with several
    inputs (``x`` and each analysis a dict by input name): ``<method>.npz`` by input name."""
    import numpy as np

    from innv_core.utils.visualizations import plot_relevance_grid, save_relevance_map

    names = [label[0] for label in labels]
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
        for (name, predicted, explained), a in zip(labels, analysis):
            title = f"{method}: {name} (pred. {predicted}, explained {explained})"
            save_relevance_map(heatmap_path(out, name, method), a, signed[method], title)
    written.append(f"{len(analyses) * len(names)} heatmaps in heatmaps/ (<input>__<method>.png, "
                   "at least 256 px, with a colour bar)")
    rows = min(grid_rows, len(x))
    row_labels = [f"{n}\npred. {p}\nexplained {e}" for n, p, e in labels[:rows]]
    plot_relevance_grid(x[:rows], {m: a[:rows] for m, a in analyses.items()}, out / "grid.png",
                        signed=signed, row_labels=row_labels, overlay_alpha=overlay)
    more = f" (the first {rows} of {len(x)} inputs)" if rows < len(x) else ""
    written.append(f"grid.png: rows inputs, columns methods, a colour bar per column{more}")
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


def heatmap_path(out: Path, name: str, method: str) -> Path:
    """Where ``innv analyze`` writes the heatmap of input ``name`` by ``method``."""
    return out / "heatmaps" / f"{safe_name(name)}__{safe_name(method)}.png"


def safe_name(name: str) -> str:
    """A file-name-safe version of a method or input name."""
    return re.sub(r"[^\w.+-]+", "_", name) or "_"
