"""The docs examples (docs/examples/*.py) run and their maps are sane."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


@pytest.mark.slow
def test_efficientnet_example_writes_finite_maps(tmp_path):
    example = _load("efficientnet_shapes")
    analyses = example.main(tmp_path, epochs=1)
    assert (tmp_path / "efficientnet_heatmaps.png").stat().st_size > 10_000
    assert set(analyses) == set(example.METHODS)
    for name, a in analyses.items():
        assert a.shape == (150, 32, 32, 3), name
        assert np.all(np.isfinite(a)), name
        assert np.abs(a).max() > 0, name


@pytest.mark.slow
def test_marker_token_example_finds_the_marker(tmp_path):
    shares = _load("marker_tokens").main(tmp_path)
    assert (tmp_path / "marker_tokens.png").exists() and (tmp_path / "marker_tokens.html").exists()
    for name in ("lrp.epsilon", "input_t_gradient", "integrated_gradients", "deep_lift.wrapper"):
        assert shares[name] > 0.8, (name, shares[name])


@pytest.mark.slow
def test_vit_example_writes_finite_maps(tmp_path):
    pytest.importorskip("keras_hub")
    example = _load("vit_shapes")
    analyses = example.main(tmp_path, epochs=1)
    assert (tmp_path / "vit_heatmaps.png").stat().st_size > 10_000
    assert set(analyses) == set(example.METHODS)
    for name, a in analyses.items():
        assert a.shape == (150, 32, 32, 3), name
        assert np.all(np.isfinite(a)), name
        assert np.abs(a).max() > 0, name
