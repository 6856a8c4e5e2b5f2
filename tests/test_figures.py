"""Figures for print: no text overlaps or leaves the figure, 7 pt at a column's width, vector files
with their text as text, and titles and captions that say what the maps are."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from innv_core.utils.figure_text import COLUMN_CM, MIN_FONT_PT, PAGE_CM, print_font_sizes, text_artists

NAMES = ["Gradient", "SmoothGrad", "Deconvnet", "Guided Backprop", "Input x Gradient",
         "Integrated Gradients", "DeepTaylor", "DeepTaylor [0,1]", "LRP-epsilon", "LRP-a2b1",
         "LRP preset A", "PatternNet", "PatternAttribution", "DeepLIFT", "Random", "a plugin's method"]


def _grid(n_methods: int, rows: int = 3, short_labels: bool = False, **kwargs):
    from innv_core.utils.relevance_grid import relevance_grid_figure

    rng = np.random.default_rng(n_methods)
    analyses = {name: rng.normal(size=(rows, 16, 16, 3)) for name in NAMES[:n_methods]}
    signed = {name: name not in ("Gradient", "SmoothGrad") for name in analyses}
    labels = [f"input_{r:04d}\npred. golden retriever (p=0.93)\nexplained golden retriever" for r in range(rows)]
    if short_labels:
        labels = [f"#{r}" for r in range(rows)]
    return relevance_grid_figure(rng.uniform(size=(rows, 16, 16, 3)), analyses, signed=signed,
                                 row_labels=labels, processing={"Gradient": "abs", "SmoothGrad": "square"},
                                 **kwargs)


def layout_problems(fig, dpi: int = 300) -> list[str]:
    """Texts that overlap one another or an image, or reach outside the figure, drawn at ``dpi``
    (matplotlib's text extents with the figure's renderer)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = text_artists(fig)
    boxes = [t.get_window_extent(renderer) for t in texts]
    frame = fig.bbox
    problems = [f"{t.get_text()!r} leaves the figure" for t, b in zip(texts, boxes)
                if b.x0 < frame.x0 - 0.5 or b.y0 < frame.y0 - 0.5 or b.x1 > frame.x1 + 0.5 or b.y1 > frame.y1 + 0.5]
    problems += [f"{texts[i].get_text()!r} overlaps {texts[j].get_text()!r}"
                 for i, j in itertools.combinations(range(len(texts)), 2) if boxes[i].overlaps(boxes[j])]
    images = [ax.get_window_extent(renderer) for ax in fig.axes if ax.images]
    problems += [f"{t.get_text()!r} overlaps an image" for t, b in zip(texts, boxes)
                 if any(b.overlaps(i) for i in images)]
    return problems


# -- the relevance grid ------------------------------------------------------------------------
@pytest.mark.parametrize("n_methods", [1, 4, 16])
def test_grid_texts_neither_overlap_nor_leave_the_figure(n_methods):
    fig = _grid(n_methods)
    assert layout_problems(fig) == []
    assert layout_problems(fig, dpi=72) == []  # and at screen resolution
    # the rule: 7 pt at the width it is laid out for, one column unless the maps would be < 0.8 cm
    width = COLUMN_CM if n_methods < 16 else PAGE_CM
    assert fig.get_figwidth() * 2.54 <= width + 1e-9
    sizes = print_font_sizes(fig, width)  # every text, printed that wide
    assert len(sizes) >= 1 + n_methods + 3 + 2 and min(size for _, size in sizes) >= MIN_FONT_PT - 1e-9


def test_sixteen_methods_fit_one_column_when_asked():
    fig = _grid(16, width_cm=COLUMN_CM, short_labels=True)
    assert layout_problems(fig) == []
    assert fig.get_figwidth() * 2.54 == pytest.approx(COLUMN_CM)
    assert min(size for _, size in print_font_sizes(fig, COLUMN_CM)) >= MIN_FONT_PT - 1e-9


def test_too_many_columns_for_the_width_is_an_error_naming_the_fix():
    from innv_core.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="width_cm"):
        _grid(16, width_cm=3)


def test_grid_titles_say_what_was_done_and_the_caption_names_only_the_maps_present():
    from innv_core.utils.relevance_grid import relevance_grid_figure

    fig = _grid(4)
    texts = [" ".join(t.get_text().split()) for t in fig.texts]
    assert any(t.startswith("Gradient abs, sum over RGB") for t in texts)
    assert any(t.startswith("SmoothGrad square, sum over RGB") for t in texts)
    assert any(t.startswith("Deconvnet sum over RGB") for t in texts)
    caption = texts[-1]
    assert "RdBu_r" in caption and "magma_r" in caption and "its own max |R|" in caption

    rng = np.random.default_rng(0)
    grey = relevance_grid_figure(rng.uniform(size=(2, 8, 8)), {"LRP": rng.normal(size=(2, 8, 8))})
    texts = [" ".join(t.get_text().split()) for t in grey.texts]
    assert "LRP" in texts  # no channels: nothing was reduced
    assert "magma" not in texts[-1] and "RdBu_r" in texts[-1]
    assert [t.get_text() for t in grey.texts if t.get_text() in ("signed", "magnitude")] == ["signed"]


def test_grid_caption_is_wrapped_inside_the_figure():
    fig = _grid(1)
    caption = fig.texts[-1]
    assert caption.get_text().count("\n") >= 2  # wrapped, not one long line
    assert layout_problems(fig) == []


def test_shared_colour_bars_tick_labels_apart():
    fig = _grid(4)
    assert layout_problems(fig) == []
    bars = [ax for ax in fig.axes if not ax.images and ax.get_xticklabels()]
    assert len(bars) == 2
    assert [t.get_text() for t in bars[0].get_xticklabels()] == ["\u22121", "0", "+1"]


# -- files ---------------------------------------------------------------------------------------
def test_vector_and_png_files(tmp_path):
    import matplotlib.image

    from innv_core.utils.visualizations import plot_relevance_grid

    rng = np.random.default_rng(1)
    images, analyses = rng.uniform(size=(2, 8, 8, 3)), {"LRP-epsilon": rng.normal(size=(2, 8, 8, 3))}
    pdf = plot_relevance_grid(images, analyses, tmp_path / "g.pdf", row_labels=["cat", "dog"])
    svg = plot_relevance_grid(images, analyses, tmp_path / "g.svg", row_labels=["cat", "dog"])
    png = plot_relevance_grid(images, analyses, tmp_path / "g.png", dpi=200)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert b"/FontFile2" in pdf.read_bytes()  # TrueType fonts embedded: the text is text
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "<text" in text and "LRP-epsilon" in text and "dog" in text  # not drawn as paths
    assert "Colours:" in text
    width_in = _grid_width_inches(images, analyses)
    assert matplotlib.image.imread(png).shape[1] == pytest.approx(200 * width_in, abs=1)
    again = plot_relevance_grid(images, analyses, tmp_path / "h.pdf", row_labels=["cat", "dog"])
    assert again.read_bytes() == pdf.read_bytes()  # no creation date: the same figure, the same file


def _grid_width_inches(images, analyses):
    from innv_core.utils.relevance_grid import relevance_grid_figure

    return relevance_grid_figure(images, analyses).get_figwidth()


def test_the_default_png_is_print_resolution(tmp_path):
    import matplotlib.image

    from innv_core.utils.figure_files import FIGURE_DPI
    from innv_core.utils.visualizations import plot_relevance_grid

    rng = np.random.default_rng(2)
    images, analyses = rng.uniform(size=(1, 8, 8, 3)), {"m": rng.normal(size=(1, 8, 8, 3))}
    path = plot_relevance_grid(images, analyses, tmp_path / "g.png")
    assert FIGURE_DPI >= 200
    width = matplotlib.image.imread(path).shape[1]
    assert width == pytest.approx(FIGURE_DPI * _grid_width_inches(images, analyses), abs=1)


def test_unknown_suffix_names_the_formats(tmp_path):
    from matplotlib.figure import Figure

    from innv_core.errors import InvalidParameterError
    from innv_core.utils.figure_files import save_figure

    with pytest.raises(InvalidParameterError, match=r"\.png, \.pdf, \.svg"):
        save_figure(Figure(), tmp_path / "g.bmp")
    with pytest.raises(InvalidParameterError, match="dpi"):
        save_figure(Figure(), tmp_path / "g.png", dpi=0)


def test_single_heatmap_in_every_format(tmp_path):
    from innv_core.utils.visualizations import save_relevance_map

    a = np.random.default_rng(3).normal(size=(8, 8, 3))
    title = "lrp.epsilon: a long input file name (pred. golden retriever, explained golden retriever)"
    for suffix in ("png", "pdf", "svg"):
        path = save_relevance_map(tmp_path / f"one.{suffix}", a, title=title)
        assert path.stat().st_size > 0
    assert "<text" in (tmp_path / "one.svg").read_text()


# -- perturbation curves -------------------------------------------------------------------------
def _curves(n_methods: int = 12, steps: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)

    def curve(rate):
        return [[0.0, v] for v in np.clip(1 - np.concatenate([[0], np.cumsum(rng.uniform(0, rate, steps))]), 0, 1)]

    return ({f"method {k}": curve(0.15) for k in range(n_methods)}, [curve(0.04) for _ in range(3)])


def _curve_plot(n_inputs=6, **kwargs):
    from innv_core.tools.aopc import plot_perturbation_curves

    curves, baseline = _curves()
    kwargs = {"regions_per_step": 3, "chance": 1 / 3, "baseline": baseline, "n_inputs": n_inputs,
              "share_of_inputs": True, "ylabel": "share still predicted as the explained class",
              "title": "Removing the most relevant 4x4 regions (zeros)", **kwargs}
    return plot_perturbation_curves(curves, **kwargs)


def test_curves_state_the_sample_and_what_the_band_is():
    ax = _curve_plot(n_inputs=6)
    title = ax.get_title()
    assert "N = 6 inputs" in title
    assert "steps of 1/6 = 0.17" in title  # few inputs: the share moves in steps of 1/N
    legend = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert legend[0] == "random relevance: mean of 3 seeds,\nband min\u2013max (AOPC " + legend[0].split("(AOPC ")[1]
    ax.figure.canvas.draw()
    low, high = ax.get_ylim()
    shares = [t * 6 for t in ax.get_yticks() if low <= t <= high]
    assert len(shares) >= 5 and np.allclose(shares, np.round(shares))  # a tick at each k/6
    many = _curve_plot(n_inputs=128).get_title()
    assert "N = 128 inputs" in many and "steps of" not in many


def test_no_method_curve_looks_like_the_random_baseline_or_another_method():
    from matplotlib.colors import to_rgb

    ax = _curve_plot()
    baseline, *methods = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]
    assert len(methods) == 12
    styles = {(to_rgb(m.get_color()), m.get_marker(), m.get_linestyle()) for m in methods}
    assert len(styles) == 12  # each method its own look
    base = (to_rgb(baseline.get_color()), baseline.get_marker(), baseline.get_linestyle())
    assert base not in styles and baseline.get_marker() in ("None", "", None) and baseline.get_linestyle() == "-."
    for m in methods:
        r, g, b = to_rgb(m.get_color())
        assert max(r, g, b) - min(r, g, b) > 0.15, m.get_label()  # a colour, not a grey like the baseline
        assert m.get_marker() not in ("None", "", None)


def test_curve_ticks_count_whole_regions():
    ax = _curve_plot()
    ax.figure.canvas.draw()
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert ticks and all(float(t).is_integer() and t % 3 == 0 for t in ticks)  # 3 regions per step


def test_print_curves_fit_one_column_without_overlaps(tmp_path):
    footnote = "Not perturbed, to keep the demo short (each curve is 10 evaluations): SmoothGrad, Deconvnet."
    ax = _curve_plot(footnote=footnote, path=tmp_path / "curves.svg")
    assert ax.figure.get_figwidth() * 2.54 == pytest.approx(COLUMN_CM)
    assert layout_problems(ax.figure) == []
    assert min(size for _, size in print_font_sizes(ax.figure, COLUMN_CM)) >= MIN_FONT_PT - 1e-9
    svg = (tmp_path / "curves.svg").read_text()
    assert "N = 6 inputs" in svg and "band min" in svg
