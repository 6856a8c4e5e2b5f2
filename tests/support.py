"""Small helpers shared by several test files (not a test module)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REFERENCES = Path(__file__).parent / "references"

#: The parameters an analyzer has no default for, as a user would give them, plus cheap
#: settings for the path methods (few steps) and seeds for the random ones.
ANALYZER_PARAMETERS = {
    "lrp": {"rule": "Epsilon"},
    "lrp.alpha_beta": {"alpha": 2, "beta": 1},
    "deep_taylor.bounded": {"low": -3, "high": 3},
    "lrp.epsilon_gamma_box": {"low": -3, "high": 3},
    "integrated_gradients": {"steps": 8},
    "smoothgrad": {"augment_by_n": 4, "seed": 0},
    "random": {"seed": 0},
}


def reference_module(name: str) -> ModuleType:
    """The script ``tests/references/<name>.py`` imported as a module (it builds the Keras side
    of a cross-check)."""
    spec = importlib.util.spec_from_file_location(name, REFERENCES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
