"""Perturbation ``gaussian``: add normal noise to the chosen pixels.

The registered function draws from a process-wide generator. For reproducible runs pass your own
instance, seeded: ``Perturbation(Gaussian(seed=0))`` (or ``Gaussian(scale=0.3, seed=0)``).
"""

from __future__ import annotations

import numpy as np

from innv_core.errors import check_number
from innv_core.hookspecs import hookimpl


class Gaussian:
    """``x + N(0, scale²)`` noise, drawn from a generator owned by this instance."""

    innv_region_vectorized = True  # see innv_core.tools.perturbation_functions

    def __init__(self, scale: float = 1.0, seed: int | np.random.Generator | None = None) -> None:
        self.scale = check_number("scale", scale, minimum=0.0)
        self.rng = np.random.default_rng(seed)

    def __call__(self, regions: np.ndarray, axis: tuple[int, ...] | None = None) -> np.ndarray:
        noise = self.rng.normal(loc=0.0, scale=self.scale, size=np.shape(regions))
        return regions + noise.astype(np.result_type(regions, np.float32), copy=False)

    def __repr__(self) -> str:
        return f"Gaussian(scale={self.scale})"


gaussian = Gaussian()


@hookimpl
def innv_register_perturbations(registry):
    registry.add_perturbation("gaussian", gaussian)
