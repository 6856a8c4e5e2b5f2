"""Sphinx configuration of the innv documentation: ``nox -s docs`` builds it, warnings are errors.

Pages are Markdown (MyST); the API reference is autodoc on the docstrings, whose ``Args:`` blocks
napoleon reads.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the documented packages, also without an installed innv
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import innv_core  # noqa: E402

project = "innv"
author = "the innv authors"
copyright = "the innv authors, BSD-2-Clause"
release = innv_core.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "myst_parser",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]

autodoc_default_options = {"members": True, "member-order": "bysource", "show-inheritance": True}
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

myst_heading_anchors = 3

html_theme = "alabaster"
html_title = f"innv {release}"
html_theme_options = {"description": "Explain Keras 3 predictions", "fixed_sidebar": True}
