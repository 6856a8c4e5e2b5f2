"""Perturbation and PerturbationAnalysis against plain, loop-based numpy oracles."""

from __future__ import annotations

import numpy as np
import pytest

from innv_core.tools.aopc import aopc, perturbation_curve, plot_perturbation_curves
from innv_core.tools.perturbate import Perturbation, PerturbationAnalysis
from innv_core.tools.perturbation_functions import region_vectorized
from innv_plugins.perturbations.gaussian import Gaussian


# -- oracles: the slowest, most literal version of each step -------------------------------
def oracle_pad_widths(size, region):
    total = (region - size % region) % region
    return total // 2, total - total // 2


def oracle_pad(a, region_shape, mode="reflect"):
    (bh, ah), (bw, aw) = (oracle_pad_widths(s, r) for s, r in zip(a.shape[1:3], region_shape))
    return np.pad(a, ((0, 0), (bh, ah), (bw, aw), (0, 0)), mode=mode), (bh, bw)


def oracle_region_relevance(analysis, region_shape, reduce=np.mean, aggregate=np.mean):
    n, h, w, c = analysis.shape
    reduced = np.zeros((n, h, w, 1))
    for i in range(n):
        for y in range(h):
            for x in range(w):
                reduced[i, y, x, 0] = reduce(analysis[i, y, x, :])
    reduced, _ = oracle_pad(reduced, region_shape)
    rh, rw = region_shape
    hr, wr = reduced.shape[1] // rh, reduced.shape[2] // rw
    out = np.zeros((n, hr, wr, 1))
    for i in range(n):
        for r in range(hr):
            for q in range(wr):
                out[i, r, q, 0] = aggregate(reduced[i, r * rh : (r + 1) * rh, q * rw : (q + 1) * rw, 0])
    return out


def oracle_ranks(aggregated):
    """Rank 0 = largest; ties by row-major position; NaN last."""
    n, hr, wr, _ = aggregated.shape
    ranks = np.zeros(aggregated.shape, dtype=int)
    for i in range(n):
        cells = [(r, q) for r in range(hr) for q in range(wr)]

        def key(cell, i=i):
            v = aggregated[i, cell[0], cell[1], 0]
            return (1, 0.0, cell) if np.isnan(v) else (0, -v, cell)

        for rank, (r, q) in enumerate(sorted(cells, key=key)):
            ranks[i, r, q, 0] = rank
    return ranks


def oracle_perturbate(x, analysis, fn, k, region_shape, value_range=None):
    """Pad, rank, replace the top-k regions channel by channel with fn(region), crop, clip."""
    ranks = oracle_ranks(oracle_region_relevance(analysis, region_shape))
    xp, (bh, bw) = oracle_pad(x.astype(np.float64), region_shape)
    rh, rw = region_shape
    for i in range(x.shape[0]):
        for r in range(ranks.shape[1]):
            for q in range(ranks.shape[2]):
                if ranks[i, r, q, 0] < k:
                    for c in range(x.shape[3]):
                        block = xp[i, r * rh : (r + 1) * rh, q * rw : (q + 1) * rw, c]
                        xp[i, r * rh : (r + 1) * rh, q * rw : (q + 1) * rw, c] = fn(block.copy())
    if value_range is not None:
        xp = np.clip(xp, *value_range)
    return xp[:, bh : bh + x.shape[1], bw : bw + x.shape[2], :]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# -- region aggregation -------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 18, 27, 3), (3, 10, 13, 2)])
def test_region_relevance_matches_loops(rng, shape):
    analysis = rng.normal(size=shape)
    p = Perturbation("zeros", region_shape=(9, 9) if shape[1] == 18 else (4, 5))
    np.testing.assert_allclose(
        p.region_relevance(analysis), oracle_region_relevance(analysis, p.region_shape)
    )


def test_aggregate_regions_with_other_functions(rng):
    analysis = rng.normal(size=(2, 8, 12, 3))
    p = Perturbation("zeros", region_shape=(4, 4), reduce_function=np.sum, aggregation_function=np.max)
    expected = oracle_region_relevance(analysis, (4, 4), reduce=np.sum, aggregate=np.max)
    np.testing.assert_allclose(p.region_relevance(analysis), expected)
    reduced = analysis.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(p.aggregate_regions(reduced), expected)


def test_aggregate_regions_rejects_unreduced_analysis(rng):
    with pytest.raises(ValueError, match="reduced to one channel"):
        Perturbation("zeros", region_shape=(2, 2)).aggregate_regions(rng.normal(size=(1, 4, 4, 3)))


def test_reshape_to_regions_and_back(rng):
    p = Perturbation("zeros", region_shape=(2, 3))
    a = rng.normal(size=(2, 4, 6, 3))
    regions = p.reshape_to_regions(a)
    assert regions.shape == (2, 2, 2, 2, 3, 3)
    for i in range(2):
        for r in range(2):
            for q in range(2):
                np.testing.assert_array_equal(
                    regions[i, r, :, q, :, :], a[i, r * 2 : r * 2 + 2, q * 3 : q * 3 + 3, :]
                )
    np.testing.assert_array_equal(p.reshape_region_pixels(regions, a.shape), a)
    with pytest.raises(ValueError, match="not a multiple"):
        p.reshape_to_regions(rng.normal(size=(1, 5, 6, 1)))


def test_expand_regions_to_pixels(rng):
    p = Perturbation("zeros", region_shape=(2, 3))
    regions = rng.normal(size=(2, 3, 4, 1))
    pixels = p.reshape_region_pixels(p.expand_regions_to_pixels(regions), (2, 6, 12, 1))
    for i in range(2):
        for y in range(6):
            for x in range(12):
                assert pixels[i, y, x, 0] == regions[i, y // 2, x // 3, 0]


# -- ordering and masks --------------------------------------------------------------------
def test_region_ordering_breaks_ties_by_position():
    values = np.array([[1.0, 3.0, 3.0], [0.0, 3.0, 2.0]])[None, :, :, None]
    ranks = Perturbation.compute_region_ordering(values)
    # 3.0 at (0,1), (0,2), (1,1) in row-major order, then 2.0, 1.0, 0.0
    np.testing.assert_array_equal(ranks[0, :, :, 0], [[4, 0, 1], [5, 2, 3]])
    np.testing.assert_array_equal(ranks, oracle_ranks(values))


def test_region_ordering_random_with_ties_and_nan(rng):
    values = rng.integers(0, 4, size=(5, 6, 7, 1)).astype(float)
    values[0, 0, 0, 0] = np.nan
    values[2, 3, 4, 0] = np.nan
    ranks = Perturbation.compute_region_ordering(values)
    np.testing.assert_array_equal(ranks, oracle_ranks(values))
    assert ranks[0, 0, 0, 0] == 6 * 7 - 1  # NaN is least relevant
    assert Perturbation.compute_region_ordering(values[..., 0]).shape == (5, 6, 7)


@pytest.mark.parametrize("k", [0, 1, 5, 42, 100])
def test_perturbation_mask(rng, k):
    ranks = Perturbation.compute_region_ordering(rng.normal(size=(3, 6, 7, 1)))
    mask = Perturbation.compute_perturbation_mask(ranks, k)
    for i in range(3):
        assert mask[i].sum() == min(k, 42)
        for r in range(6):
            for q in range(7):
                assert mask[i, r, q, 0] == (ranks[i, r, q, 0] < k)


# -- padding -------------------------------------------------------------------------------
@pytest.mark.parametrize("hw", [(10, 13), (12, 13), (10, 12), (3, 3)])
def test_pad_splits_evenly_and_reflects(rng, hw):
    a = rng.normal(size=(2, *hw, 3))
    p = Perturbation("zeros", region_shape=(4, 4))
    padded, (bh, bw) = p.pad(a)
    assert padded.shape[1] % 4 == 0 and padded.shape[2] % 4 == 0
    assert padded.shape[1] - hw[0] < 4 and padded.shape[2] - hw[1] < 4
    assert (bh, bw) == (oracle_pad_widths(hw[0], 4)[0], oracle_pad_widths(hw[1], 4)[0])
    np.testing.assert_array_equal(padded[:, bh : bh + hw[0], bw : bw + hw[1]], a)
    for y in range(padded.shape[1]):
        src_y = y - bh
        src_y = -src_y if src_y < 0 else (2 * (hw[0] - 1) - src_y if src_y >= hw[0] else src_y)
        for x in range(padded.shape[2]):
            src_x = x - bw
            src_x = -src_x if src_x < 0 else (2 * (hw[1] - 1) - src_x if src_x >= hw[1] else src_x)
            np.testing.assert_array_equal(padded[:, y, x], a[:, src_y, src_x])


def test_pad_mode_is_numpy_pad_mode(rng):
    a = rng.normal(size=(1, 5, 5, 1))
    padded, _ = Perturbation("zeros", region_shape=(4, 4), pad_mode="constant").pad(a)
    assert padded.shape == (1, 8, 8, 1)
    assert padded[0, 0, 0, 0] == 0 and padded[0, -1, -1, 0] == 0


# -- the whole pipeline ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, fn",
    [
        ("zeros", np.zeros_like),
        ("invert", lambda v: -v),
        ("mean", np.mean),
    ],
)
@pytest.mark.parametrize("shape, region", [((2, 12, 12, 3), (4, 4)), ((3, 10, 13, 2), (4, 5))])
def test_perturbate_on_batch_matches_loops(rng, name, fn, shape, region):
    x = rng.normal(size=shape)
    analysis = rng.normal(size=shape)
    for k in (0, 1, 3, 100):
        p = Perturbation(name, num_perturbed_regions=k, region_shape=region)
        expected = oracle_perturbate(x, analysis, fn, k, region)
        np.testing.assert_allclose(p.perturbate_on_batch(x, analysis), expected, atol=1e-12)


def test_plain_callable_and_vectorized_callable_agree(rng):
    x, analysis = rng.normal(size=(2, 9, 9, 3)), rng.normal(size=(2, 9, 9, 3))
    calls = []

    def plain(values):
        calls.append(values.shape)
        return values.max()

    @region_vectorized
    def vectorized(regions, axis=None):
        return regions.max(axis=axis, keepdims=True)

    a = Perturbation(plain, num_perturbed_regions=2, region_shape=(3, 3)).perturbate_on_batch(x, analysis)
    b = Perturbation(vectorized, num_perturbed_regions=2, region_shape=(3, 3)).perturbate_on_batch(
        x, analysis
    )
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, oracle_perturbate(x, analysis, np.max, 2, (3, 3)))
    assert calls == [(3, 3)] * (2 * 2 * 3)  # one call per chosen region and channel


def test_bad_callable_result_is_explained(rng):
    x = rng.normal(size=(1, 4, 4, 1))
    p = Perturbation(lambda v: np.zeros(7), num_perturbed_regions=1, region_shape=(2, 2))
    with pytest.raises(ValueError, match="does not broadcast"):
        p.perturbate_on_batch(x, x)


def test_not_in_place_leaves_input_alone(rng):
    x = rng.normal(size=(2, 10, 13, 3))
    before = x.copy()
    out = Perturbation("zeros", num_perturbed_regions=3, region_shape=(4, 4)).perturbate_on_batch(x, x)
    np.testing.assert_array_equal(x, before)
    assert out is not x and not np.shares_memory(out, x)
    assert out.flags.c_contiguous


@pytest.mark.parametrize("shape", [(2, 12, 12, 3), (2, 10, 13, 3)])  # without and with padding
def test_in_place_writes_into_input(rng, shape):
    x = rng.normal(size=shape)
    expected = oracle_perturbate(x, x, np.zeros_like, 3, (4, 4))
    p = Perturbation("zeros", num_perturbed_regions=3, region_shape=(4, 4), in_place=True)
    out = p.perturbate_on_batch(x, x.copy())
    assert out is x
    np.testing.assert_allclose(x, expected)


def test_in_place_with_non_contiguous_input(rng):
    base = rng.normal(size=(2, 3, 12, 12))
    x = base.transpose(0, 2, 3, 1)  # a channels-last view of channels-first data
    expected = oracle_perturbate(np.array(x), np.array(x), np.zeros_like, 2, (4, 4))
    out = Perturbation("zeros", 2, (4, 4), in_place=True).perturbate_on_batch(x, np.array(x))
    assert out is x
    np.testing.assert_allclose(base.transpose(0, 2, 3, 1), expected)


def test_in_place_needs_a_numpy_array(rng):
    x = rng.normal(size=(1, 4, 4, 1)).tolist()
    with pytest.raises(TypeError, match="in_place"):
        Perturbation("zeros", 1, (2, 2), in_place=True).perturbate_on_batch(x, x)


def test_value_range_clips_whole_image(rng):
    x = rng.normal(scale=2.0, size=(2, 8, 8, 3))
    analysis = rng.normal(size=x.shape)
    p = Perturbation("invert", num_perturbed_regions=2, region_shape=(4, 4), value_range=(-1, 1.5))
    out = p.perturbate_on_batch(x, analysis)
    assert out.min() >= -1 and out.max() <= 1.5
    expected = oracle_perturbate(x, analysis, lambda v: -v, 2, (4, 4), value_range=(-1, 1.5))
    np.testing.assert_allclose(out, expected)


def test_perturbate_regions_direct(rng):
    x = rng.normal(size=(1, 4, 4, 2))
    mask = np.array([[[True, False], [False, True]]])
    out = Perturbation("zeros", region_shape=(2, 2)).perturbate_regions(x, mask)
    expected = x.copy()
    expected[0, :2, :2] = 0
    expected[0, 2:, 2:] = 0
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match="region mask"):
        Perturbation("zeros", region_shape=(2, 2)).perturbate_regions(x, mask[:, :1])


def test_gaussian_is_seeded_and_adds_unit_noise(rng):
    x = np.zeros((4, 90, 90, 3))
    analysis = rng.normal(size=x.shape)
    a = Perturbation(Gaussian(seed=7), num_perturbed_regions=50).perturbate_on_batch(x, analysis)
    b = Perturbation(Gaussian(seed=7), num_perturbed_regions=50).perturbate_on_batch(x, analysis)
    np.testing.assert_array_equal(a, b)
    changed = a != 0
    chosen = oracle_perturbate(np.ones_like(x), analysis, np.zeros_like, 50, (9, 9)) == 0
    np.testing.assert_array_equal(changed, chosen)
    assert changed.sum() == 4 * 50 * 81 * 3
    assert abs(a[changed].mean()) < 0.05 and abs(a[changed].std() - 1) < 0.05
    c = Perturbation(Gaussian(scale=0.1, seed=8), num_perturbed_regions=50).perturbate_on_batch(x, analysis)
    assert abs(c[changed].std() - 0.1) < 0.01


def test_names_come_from_the_registry():
    with pytest.raises(KeyError, match="zeros"):
        Perturbation("zeroes")
    with pytest.raises(TypeError, match="registered name or a callable"):
        Perturbation(3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_perturbed_regions": -1}, "num_perturbed_regions"),
        ({"region_shape": (0, 3)}, "region_shape"),
        ({"region_shape": 3}, "region_shape"),
        ({"value_range": (2, 1)}, "value_range"),
    ],
)
def test_bad_arguments_are_explained(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Perturbation("zeros", **kwargs)


def test_bad_batches_are_explained(rng):
    p = Perturbation("zeros", 1, (2, 2))
    with pytest.raises(ValueError, match="channels-last"):
        p.perturbate_on_batch(rng.normal(size=(4, 4, 1)), rng.normal(size=(4, 4, 1)))
    with pytest.raises(ValueError, match="shape of x"):
        p.perturbate_on_batch(rng.normal(size=(1, 4, 4, 1)), rng.normal(size=(1, 4, 4, 2)))


def test_float32_batch_with_the_default_regions_matches_loops():
    """float32 images (the usual dtype) stay float32, padded on both axes (22 x 31 with 9 x 9
    regions), the default region shape, many regions: the same numbers as the loop oracle."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 22, 31, 3)).astype(np.float32)
    analysis = rng.normal(size=x.shape).astype(np.float32)
    p = Perturbation("mean", num_perturbed_regions=7)
    assert p.region_shape == (9, 9)
    out = p.perturbate_on_batch(x, analysis)
    assert out.shape == x.shape and out.dtype == np.float32
    expected = oracle_perturbate(x, analysis, np.mean, 7, (9, 9))  # float64
    # a region's mean over 81 float32 values, rounded to float32 (random-walk rounding)
    np.testing.assert_allclose(out, expected, rtol=0, atol=4 * np.finfo(np.float32).eps * 9 * np.abs(x).max())
    changed = (out != x).any(axis=-1).sum(axis=(1, 2))
    assert np.all(changed > 0) and np.all(changed <= 7 * 81)


# -- AOPC ------------------------------------------------------------------------------------
def test_aopc_definition():
    scores = [[0.3, 1.0], [0.9, 0.5], [1.5, 0.25]]
    assert aopc(scores) == pytest.approx((0 + 0.5 + 0.75) / 3)
    assert aopc([1.0, 0.5, 0.25]) == pytest.approx((0 + 0.5 + 0.75) / 3)
    assert aopc(scores, index=0) == pytest.approx((0 - 0.6 - 1.2) / 3)
    np.testing.assert_allclose(perturbation_curve(scores), [1.0, 0.5, 0.25])
    with pytest.raises(IndexError, match="index"):
        aopc([[0.3], [0.4]])
    with pytest.raises(ValueError, match="No scores"):
        aopc([])


def test_plot_perturbation_curves(tmp_path):
    path = tmp_path / "curves.png"
    ax = plot_perturbation_curves(
        {"gradient": [[0, 1.0], [0, 0.4], [0, 0.2]], "random": [[0, 1.0], [0, 0.9], [0, 0.8]]},
        path=path,
        regions_per_step=5,
    )
    assert path.exists() and path.stat().st_size > 0
    assert len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0, 5, 10])
    assert ax.get_xlabel() == "perturbed regions per image"
    labels = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert labels[0].startswith("gradient (AOPC 0.467")
    ax = plot_perturbation_curves({"random": [1.0, 0.9]})
    assert ax.get_xlabel() == "perturbation step"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0, 1])


def test_perturbation_plot_explains_itself():
    """Chance line, the random baseline's band over seeds, the reading aid and a footnote."""
    seeds = [[1.0, 0.9, 0.7], [1.0, 0.8, 0.75], [1.0, 0.95, 0.8]]
    ax = plot_perturbation_curves({"gradient": [1.0, 0.5, 0.3]}, chance=1 / 3, baseline=seeds,
                                  footnote="Not perturbed: Deconvnet.")
    labels = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert labels[0] == "random relevance: mean of 3 seeds,\nband min\u2013max (AOPC 0.083\u20130.150)"
    assert labels[1].startswith("gradient (AOPC 0.400") and labels[2] == "chance (0.333)"
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(0.7) and band.max() == pytest.approx(1.0)
    assert "higher AOPC (faster fall) = more faithful" in ax.get_title()
    assert ax.figure.legends[0].get_title().get_text() == "Not perturbed: Deconvnet."


# -- PerturbationAnalysis --------------------------------------------------------------------
class FixedAnalyzer:
    """Relevance = a fixed map (for every input); counts its calls."""

    def __init__(self, relevance):
        self.relevance = relevance
        self.calls = 0

    def analyze(self, x):
        self.calls += 1
        return np.broadcast_to(self.relevance, np.shape(x)).copy()


class InputAnalyzer:
    """Relevance = the input itself."""

    calls = 0

    def analyze(self, x):
        self.calls += 1
        return np.array(x)


@pytest.fixture(scope="module")
def tiny_problem():
    """A linear softmax model that only looks at the top-left 4x4 corner of 8x8 images."""
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    X = rng.uniform(0.1, 1.0, size=(20, 8, 8, 1)).astype("float32")
    Y = (X[:, :4, :4, 0].sum(axis=(1, 2)) > 8.8).astype("int64")
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")]
    )
    w = np.zeros((64, 2), "float32")
    corner = np.zeros((8, 8), bool)
    corner[:4, :4] = True
    w[corner.ravel(), 1] = 1.0
    model.layers[-1].set_weights([w, np.array([8.8, 0.0], "float32")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, X, Y


def _expected_scores(model, X, Y, analysis, steps, regions_per_step, fn=np.zeros_like):
    scores = [model.evaluate(X, Y, verbose=0)]
    for k in range(1, steps + 1):
        xp = oracle_perturbate(X, analysis, fn, k * regions_per_step, (2, 2)).astype("float32")
        scores.append(model.evaluate(xp, Y, verbose=0))
    return scores


def test_perturbation_analysis_scores_per_step(tiny_problem):
    from innv_core.utils import BatchSequence

    model, X, Y = tiny_problem
    relevance = np.zeros((8, 8, 1))
    relevance[:4, :4] = np.arange(16).reshape(4, 4, 1)[::-1]  # the corner first
    analyzer = FixedAnalyzer(relevance)
    pa = PerturbationAnalysis(
        analyzer,
        model,
        BatchSequence([X, Y], batch_size=6),
        Perturbation("zeros", region_shape=(2, 2)),
        steps=4,
        regions_per_step=1,
    )
    scores = pa.compute_perturbation_analysis()
    expected = _expected_scores(model, X, Y, np.broadcast_to(relevance, X.shape), 4, 1)
    assert len(scores) == 5 and all(len(s) == 2 for s in scores)
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    assert analyzer.calls == 4  # once per batch: 20 samples in batches of 6
    assert scores[-1][1] < scores[0][1]  # removing the corner destroys the evidence


def test_generators_of_every_kind_give_the_same_scores(tiny_problem):
    import keras
    import tensorflow as tf

    from innv_core.utils import BatchSequence

    model, X, Y = tiny_problem

    class Pairs(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return X[i * 5 : (i + 1) * 5], Y[i * 5 : (i + 1) * 5]

    def run(generator):
        pa = PerturbationAnalysis(
            InputAnalyzer(),
            model,
            generator,
            Perturbation("mean", region_shape=(2, 2)),
            steps=2,
            regions_per_step=3,
        )
        return pa.compute_perturbation_analysis()

    reference = run(BatchSequence([X, Y], batch_size=7))
    np.testing.assert_allclose(reference, _expected_scores(model, X, Y, X, 2, 3, np.mean), rtol=1e-5)
    for generator in (
        Pairs(),
        tf.data.Dataset.from_tensor_slices((X, Y)).batch(8),
        [(X[:10], Y[:10]), (X[10:], Y[10:])],
    ):
        np.testing.assert_allclose(run(generator), reference, rtol=1e-5)


def test_recompute_analysis_perturbs_new_regions_each_step(tiny_problem):
    model, X, Y = tiny_problem
    relevance = np.random.default_rng(3).normal(size=(8, 8, 1))
    fixed, recomputed = FixedAnalyzer(relevance), FixedAnalyzer(relevance)
    kwargs = dict(steps=3, regions_per_step=2)
    zeros = Perturbation("zeros", region_shape=(2, 2))
    a = PerturbationAnalysis(fixed, model, [(X, Y)], zeros, **kwargs)
    b = PerturbationAnalysis(recomputed, model, [(X, Y)], zeros, recompute_analysis=True, **kwargs)
    # a fixed relevance map ranks the same regions either way
    np.testing.assert_allclose(
        a.compute_perturbation_analysis(), b.compute_perturbation_analysis(), rtol=1e-6
    )
    assert (fixed.calls, recomputed.calls) == (1, 3)  # steps 2 and 3 re-analyze


def test_recompute_analysis_never_perturbs_a_region_twice(tiny_problem):
    model, X, Y = tiny_problem
    X_before = X.copy()
    seen = []

    @region_vectorized
    def add_one(regions, axis=None):
        seen.append(regions.copy())
        return regions + 1

    # the input is the relevance: a region raised by +1 would be ranked first again
    perturbation = Perturbation(add_one, region_shape=(2, 2), in_place=True)
    pa = PerturbationAnalysis(
        InputAnalyzer(),
        model,
        [(X, Y)],
        perturbation,
        steps=3,
        regions_per_step=2,
        recompute_analysis=True,
    )
    pa.compute_perturbation_analysis()
    assert [s.shape for s in seen] == [(20 * 2, 2, 2, 1)] * 3
    assert max(s.max() for s in seen) <= 1.0  # never a region already raised above 1
    np.testing.assert_array_equal(X, X_before)  # in_place perturbation never touches the data


def test_evaluate_on_batch_and_generator(tiny_problem):
    from innv_core.utils import BatchSequence

    model, X, Y = tiny_problem
    perturbation = Perturbation("invert", num_perturbed_regions=3, region_shape=(2, 2))
    pa = PerturbationAnalysis(InputAnalyzer(), model, None, perturbation)
    expected_x = oracle_perturbate(X, X, lambda v: -v, 3, (2, 2)).astype("float32")
    np.testing.assert_allclose(pa.compute_on_batch(X), expected_x, rtol=1e-6)
    xp, analysis = pa.compute_on_batch(X, return_analysis=True)
    np.testing.assert_array_equal(analysis, X)
    np.testing.assert_allclose(pa.evaluate_on_batch(X, Y), model.test_on_batch(expected_x, Y), rtol=1e-5)
    weights = np.linspace(0.1, 1.0, len(X))
    np.testing.assert_allclose(
        pa.evaluate_on_batch(X, Y, sample_weight=weights),
        model.test_on_batch(expected_x, Y, sample_weight=weights),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        pa.evaluate_generator(BatchSequence([X, Y], batch_size=6)),
        model.evaluate(expected_x, Y, verbose=0),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        pa.evaluate_generator(BatchSequence([X, Y, X], batch_size=6), steps=2),
        model.evaluate(expected_x[:12], Y[:12], verbose=0),
        rtol=1e-5,
    )


def test_verbose_shows_a_progress_bar(tiny_problem, capsys):
    model, X, Y = tiny_problem
    pa = PerturbationAnalysis(
        InputAnalyzer(),
        model,
        [(X, Y)],
        Perturbation("zeros", region_shape=(2, 2)),
        steps=2,
        verbose=True,
    )
    pa.compute_perturbation_analysis()
    out = capsys.readouterr().out
    assert "3/3" in out and "score" in out


def test_perturbation_analysis_explains_bad_input(tiny_problem):
    model, X, Y = tiny_problem

    class Flat:
        def analyze(self, x):
            return np.zeros(len(x))

    pa = PerturbationAnalysis(Flat(), model, [(X, Y)], Perturbation("zeros", region_shape=(2, 2)))
    with pytest.raises(ValueError, match="analysis of the input's shape"):
        pa.compute_perturbation_analysis()
    with pytest.raises(ValueError, match=r"\(x, y\)"):
        PerturbationAnalysis(Flat(), model, [(X,)], None).compute_perturbation_analysis()
    with pytest.raises(ValueError, match="steps"):
        PerturbationAnalysis(Flat(), model, [(X, Y)], None, steps=-1)


def test_integer_images_keep_their_dtype_and_clip_inside_the_range():
    x = np.arange(32, dtype=np.uint8).reshape(1, 4, 4, 2)
    p = Perturbation("mean", 1, (2, 2), value_range=(0.5, 20.5))
    out = p.perturbate_on_batch(x, x.astype(float))
    assert out.dtype == np.uint8
    expected = oracle_perturbate(x, x.astype(float), np.mean, 1, (2, 2))
    np.testing.assert_array_equal(out, np.clip(expected.astype(np.uint8), 1, 20))
