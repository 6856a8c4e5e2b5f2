"""Visualizations: value ranges, shapes, colours against matplotlib, and the grid PNG."""

from __future__ import annotations

import matplotlib
import matplotlib.image
import numpy as np
import pytest

from innv_core.utils.visualizations import (
    clip_quantile,
    gamma,
    graymap,
    heatmap,
    plot_image_grid,
    project,
)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def oracle_project(X, output_range=(0, 1), absmax=None, positive=False):
    out = np.zeros(X.shape)
    for i in range(X.shape[0]):
        m = np.abs(X[i]).max() if absmax is None else absmax
        v = X[i] / m if m != 0 else X[i]
        if not positive:
            v = (v + 1) / 2
        v = np.minimum(np.maximum(v, 0), 1)
        out[i] = output_range[0] + v * (output_range[1] - output_range[0])
    return out


# -- project --------------------------------------------------------------------------------
def test_project_per_sample_into_range(rng):
    X = rng.normal(size=(3, 5, 5, 2)) * np.array([1, 10, 100])[:, None, None, None]
    before = X.copy()
    out = project(X)
    np.testing.assert_array_equal(X, before)  # the input is not modified
    np.testing.assert_allclose(out, oracle_project(X))
    for i in range(3):  # each sample reaches an end of the range
        assert np.isclose(out[i].min(), 0) or np.isclose(out[i].max(), 1)
    np.testing.assert_allclose(project(np.zeros((1, 2, 2, 1))), 0.5)  # zero stays neutral


def test_project_options(rng):
    X = rng.normal(size=(2, 4, 4, 3))
    np.testing.assert_allclose(project(X, output_range=(0, 255)), oracle_project(X, (0, 255)))
    np.testing.assert_allclose(project(X, absmax=0.5), oracle_project(X, absmax=0.5))
    per_sample = project(X, absmax=np.array([1.0, 2.0]))
    np.testing.assert_allclose(per_sample[1], oracle_project(X[1:], absmax=2.0)[0])
    P = np.abs(X)
    out = project(P, output_range=(-1, 1), input_is_positive_only=True)
    np.testing.assert_allclose(out, oracle_project(P, (-1, 1), positive=True))
    assert out.min() >= -1 and out.max() <= 1


# -- heatmap / graymap --------------------------------------------------------------------------
def test_heatmap_colours_match_matplotlib(rng):
    X = rng.normal(size=(2, 4, 5, 3))
    out = heatmap(X)
    assert out.shape == (2, 4, 5, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    cmap = matplotlib.colormaps["seismic"]
    summed = X.sum(axis=-1)
    for i in range(2):
        m = np.abs(summed[i]).max()
        for y in range(4):
            for x in range(5):
                index = int((summed[i, y, x] / m + 1) / 2 * 255)
                np.testing.assert_allclose(out[i, y, x], cmap(index)[:3], rtol=1e-6)


def test_heatmap_alpha_and_channels_first(rng):
    X = rng.normal(size=(2, 4, 5, 3))
    assert heatmap(X, alpha_cmap=True).shape == (2, 4, 5, 4)
    channels_first = heatmap(np.moveaxis(X, -1, 1), reduce_axis=1)
    assert channels_first.shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(np.moveaxis(channels_first, 1, -1), heatmap(X))


def test_heatmap_absmax_keeps_the_largest_magnitude_with_sign():
    X = np.array([[[[1.0, -3.0, 2.0], [0.5, 0.2, -0.1]]]])  # (1, 1, 2, 3)
    cmap = matplotlib.colormaps["bwr"]
    out = heatmap(X, cmap_type="bwr", reduce_op="absmax")
    # reduced: [-3.0, 0.5]; projected by absmax 3
    np.testing.assert_allclose(out[0, 0, 0], cmap(int((-1 + 1) / 2 * 255))[:3])
    np.testing.assert_allclose(out[0, 0, 1], cmap(int((0.5 / 3 + 1) / 2 * 255))[:3])


def test_heatmap_bad_options():
    with pytest.raises(ValueError, match="reduce_op"):
        heatmap(np.ones((1, 2, 2, 3)), reduce_op="mean")
    with pytest.raises(ValueError, match="colour map"):
        heatmap(np.ones((1, 2, 2, 3)), cmap_type="no-such-map")


def test_graymap_is_gray_heatmap(rng):
    X = rng.normal(size=(1, 3, 3, 3))
    out = graymap(X, input_is_positive_only=True)
    np.testing.assert_array_equal(out, heatmap(X, cmap_type="gray", input_is_positive_only=True))
    np.testing.assert_allclose(out[..., 0], out[..., 1])  # gray: r == g == b
    np.testing.assert_allclose(out[..., 1], out[..., 2])


# -- gamma, clip_quantile -------------------------------------------------------------------
def test_gamma_matches_formula_and_keeps_order(rng):
    X = rng.normal(size=(50,))
    before = X.copy()
    Y = gamma(X, gamma=0.5)
    np.testing.assert_array_equal(X, before)
    m = np.abs(X).max()
    expected = [np.sign(v) * m * (abs(v) / m) ** 0.5 for v in X]
    np.testing.assert_allclose(Y, expected)
    np.testing.assert_array_equal(np.argsort(Y), np.argsort(X))
    assert np.isclose(np.abs(Y).max(), m)


def test_gamma_minamp_and_maxamp():
    X = np.array([1.0, 2.0, 3.0, 5.0])
    Y = gamma(X, gamma=2.0, minamp=2.0, maxamp=4.0)
    expected = [2 - 4 * (1 / 4) ** 2, 2.0, 2 + 4 * (1 / 4) ** 2, 2 + 4 * (3 / 4) ** 2]
    np.testing.assert_allclose(Y, expected)
    np.testing.assert_array_equal(gamma(np.zeros(3)), 0)


def test_clip_quantile(rng):
    X = rng.normal(size=(1000,))
    before = X.copy()
    out = clip_quantile(X, 5)
    np.testing.assert_array_equal(X, before)
    ordered = np.sort(X)
    low, high = np.percentile(ordered, 5), np.percentile(ordered, 95)
    for v, o in zip(X, out):
        assert o == min(max(v, low), high)
    np.testing.assert_array_equal(clip_quantile(X, (0, 100)), X)
    assert clip_quantile(X, (10, 50)).max() == pytest.approx(np.median(X))


# -- the grid ---------------------------------------------------------------------------------
def test_plot_image_grid_writes_png_of_expected_size(rng, tmp_path):
    images = rng.uniform(size=(2, 16, 16, 3))
    grid = [
        [images[0], heatmap(rng.normal(size=(1, 16, 16, 3)))[0], rng.uniform(size=(16, 16))],
        [images[1], None, (images[1] * 255).astype(np.uint8)],
    ]
    path = tmp_path / "grid.png"
    result = plot_image_grid(
        grid, path, row_labels=["cat", "dog"], col_labels=["input", "gradient", "lrp"], cell_px=64
    )
    assert result == path and path.exists()
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (24 + 2 * 64, 64 + 3 * 64)

    bare = plot_image_grid(grid, tmp_path / "bare.png", cell_px=50)
    assert matplotlib.image.imread(bare).shape[:2] == (2 * 50, 3 * 50)
    # the first cell shows the image: its centre pixel has the image's colour
    rgb = matplotlib.image.imread(bare)[25, 25, :3]
    np.testing.assert_allclose(rgb, images[0][8, 8], atol=2 / 255)


def test_plot_image_grid_errors(tmp_path):
    with pytest.raises(ValueError, match="row_labels"):
        plot_image_grid([[np.zeros((2, 2))]], tmp_path / "x.png", row_labels=["a", "b"])
    with pytest.raises(ValueError, match="heatmap"):
        plot_image_grid([[np.zeros((2, 2, 2, 3))]], tmp_path / "x.png")
    with pytest.raises(ValueError, match="at least one"):
        plot_image_grid([], tmp_path / "x.png")


def test_relevance_grid_colours_by_sign_and_says_how_it_scales(tmp_path):
    from innv_core.utils.visualizations import normalized_maps, plot_relevance_grid, save_relevance_map

    rng = np.random.default_rng(0)
    images = rng.uniform(size=(2, 6, 6, 3))
    signed, magnitude = rng.normal(size=(2, 6, 6, 3)), np.abs(rng.normal(size=(2, 6, 6, 3)))
    maps = normalized_maps(signed)
    assert maps.shape == (2, 6, 6) and np.allclose(np.abs(maps).reshape(2, -1).max(axis=1), 1.0)
    column = normalized_maps(signed, "column")
    assert np.isclose(np.abs(column).max(), 1.0) and np.abs(column).reshape(2, -1).max(axis=1).min() <= 1.0
    assert np.abs(normalized_maps(signed, "percentile", percentile=50)).max() == 1.0  # clipped
    assert not normalized_maps(np.zeros((1, 4, 4))).any()  # an all-zero map stays 0
    with pytest.raises(ValueError, match="normalization"):
        normalized_maps(signed, "global")
    path = plot_relevance_grid(images, {"LRP": signed, "|grad|": magnitude}, tmp_path / "g.png",
                               signed={"|grad|": False}, row_labels=["a", "b"])
    import matplotlib.image

    from innv_core.utils.figure_files import FIGURE_DPI
    from innv_core.utils.visualizations import relevance_grid_figure

    fig = relevance_grid_figure(images, {"LRP": signed, "|grad|": magnitude}, signed={"|grad|": False},
                                row_labels=["a", "b"])
    expected = tuple(round(v * FIGURE_DPI) for v in fig.get_size_inches()[::-1])
    assert matplotlib.image.imread(path).shape[:2] == pytest.approx(expected, abs=1)
    single = save_relevance_map(tmp_path / "one.png", signed[0], title="LRP")
    assert min(matplotlib.image.imread(single).shape[:2]) >= 256
