"""Token heatmaps: colours centred on zero, escaped HTML, a PNG with wrapped lines."""

from __future__ import annotations

import numpy as np
import pytest

from innv_core.errors import InvalidInputError
from innv_core.utils.visualizations import plot_token_heatmap, token_colors, token_heatmap_html

TOKENS = ["a", "<script>alert(1)</script>", "c", "d"]
RELEVANCE = np.array([2.0, -1.0, 0.0, -2.0])


def test_colours_are_red_for_positive_blue_for_negative_white_for_zero():
    rgb = token_colors(RELEVANCE)
    assert rgb.shape == (4, 3)
    assert rgb[0, 0] > rgb[0, 2] and rgb[3, 2] > rgb[3, 0]  # red / blue
    np.testing.assert_allclose(rgb[2], rgb[2].mean(), atol=0.03)  # (near) white: a grey of ~1
    assert rgb[2].min() > 0.95
    # the scale is the largest |R|: -2 and 2 are the two ends, -1 half-way to white
    assert rgb[1, 2] > rgb[1, 0] and rgb[1].min() > rgb[3].min()


def test_html_escapes_tokens_and_states_the_scale():
    page = token_heatmap_html(TOKENS, RELEVANCE, title="t<1>")
    assert "<script>" not in page and "&lt;script&gt;" in page and "t&lt;1&gt;" in page
    assert page.count("<span") == 4 and "|R| = 2" in page


def test_png_is_written_and_wraps_long_sequences(tmp_path):
    from PIL import Image

    short = plot_token_heatmap(TOKENS, RELEVANCE, tmp_path / "short.png")
    long = plot_token_heatmap(TOKENS * 30, np.tile(RELEVANCE, 30), tmp_path / "long.png", width_px=400)
    w_short, h_short = Image.open(short).size
    w_long, h_long = Image.open(long).size
    assert w_short == 800 and w_long == 400 and h_long > 2 * h_short


@pytest.mark.parametrize("relevance,match", [
    (np.ones((2, 4)), "one value per token"),
    (np.ones(3), "4 tokens but 3"),
    (np.array([1.0, np.nan, 0, 0]), "NaN"),
])
def test_bad_relevance_is_refused(relevance, match):
    with pytest.raises(InvalidInputError, match=match):
        token_heatmap_html(TOKENS, relevance)
