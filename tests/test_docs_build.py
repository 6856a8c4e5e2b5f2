"""The documentation builds without a warning (``sphinx-build -W``, as ``nox -s docs``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_parser")

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(DOCS), str(tmp_path)],
        capture_output=True, text=True,
    )
    warnings = [line for line in done.stderr.splitlines()
                if ("WARNING" in line or "ERROR" in line) and "absl" not in line]
    assert done.returncode == 0, "\n".join(warnings) or done.stderr[-2000:]
    plugin_page = (tmp_path / "writing-a-plugin.html").read_text(encoding="utf-8")
    assert "innv_register_rules" in plugin_page  # the included example code is rendered
    assert (tmp_path / "performance.html").is_file() and (tmp_path / "supported-layers.html").is_file()
    analyzers = (tmp_path / "api" / "analyzers.html").read_text(encoding="utf-8")
    assert "<table" in analyzers and "memory_budget=2147483648" in analyzers  # the generated tables
    assert "pixel_flipping" in (tmp_path / "api" / "metrics.html").read_text(encoding="utf-8")
