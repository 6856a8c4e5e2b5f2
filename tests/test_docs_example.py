"""The docs example (docs/examples/efficientnet_shapes.py) runs and its maps are sane."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "efficientnet_shapes.py"


@pytest.mark.slow
def test_efficientnet_example_writes_finite_maps(tmp_path):
    spec = importlib.util.spec_from_file_location("efficientnet_shapes", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    analyses = example.main(tmp_path, epochs=1)
    assert (tmp_path / "efficientnet_heatmaps.png").stat().st_size > 10_000
    assert set(analyses) == set(example.METHODS)
    for name, a in analyses.items():
        assert a.shape == (150, 32, 32, 3), name
        assert np.all(np.isfinite(a)), name
        assert np.abs(a).max() > 0, name
