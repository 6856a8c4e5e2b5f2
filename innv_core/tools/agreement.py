"""Perturbation curves without labels: does the model still predict the explained class?

``innv analyze`` has no true labels, so it scores a perturbed image by whether the model's top
class is still the class that was explained (the predicted one with ``--neuron max``). The curve
starts at the share of inputs predicted as their explained class (1.0 with ``max``) and falls as
the most relevant regions are removed; random relevance, with a few seeds, gives the baseline
and ``1 / classes`` the chance level. It is :class:`PerturbationAnalysis` on a model compiled for
it, so the AOPC means what it means in the demo.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from innv_core.errors import InvalidInputError

__all__ = ["AgreementCurves", "agreement_curves", "default_region"]


@attrs.frozen
class AgreementCurves:
    """The curves of :func:`agreement_curves`, in :func:`~innv_core.tools.aopc.aopc`'s format.

    Attributes:
        curves: method -> scores per step (``[loss, agreement]``; step 0 unperturbed).
        baseline: one score list per seed of random relevance (empty if not computed).
        chance: the agreement of a random guess, ``1 / classes``.
        region: side of the square regions removed, in pixels.
        regions_per_step: regions removed per image at each step.
        perturbation: the perturbation function's name.
    """

    curves: dict[str, list]
    baseline: list
    chance: float
    region: int
    regions_per_step: int
    perturbation: str


def default_region(shape: tuple[int, ...]) -> int:
    """An eighth of the short side of ``(H, W[, C])`` images (4 px for 32x32), at least 1 px."""
    return max(1, min(shape[0], shape[1]) // 8)


def agreement_curves(
    model: Any,
    x: np.ndarray,
    targets: np.ndarray,
    analyses: Mapping[str, np.ndarray],
    output_index: int = 0,
    steps: int = 10,
    region: int | None = None,
    perturbation: str = "zeros",
    baseline_seeds: int = 3,
    seed: int = 0,
    batch_size: int = 32,
) -> AgreementCurves:
    """Perturbation curves of the agreement of the model's top class with ``targets``.

    Args:
        model: the explained model (its softmax removed or not: only the top class counts).
        x: ``(N, H, W[, C])`` images.
        targets: ``(N,)`` the class explained for each image.
        analyses: method -> its ``(N, H, W[, C])`` analysis of ``x``.
        output_index: the explained output of a model with several.
        steps: perturbation steps after the unperturbed one.
        region: side of the removed square regions (default :func:`default_region`).
        perturbation: a registered perturbation function (``"zeros"``, ``"mean"``, ...).
        baseline_seeds: seeds of random relevance for the baseline band (0: none).
        seed: the first of those seeds.
        batch_size: images per evaluation batch.
    """
    from innv_core.create import create_analyzer
    from innv_core.registry import get_registry
    from innv_core.tools.perturbate import Perturbation, PerturbationAnalysis

    if "random" not in get_registry().names("analyzers"):  # the baseline's analyzer is a plugin too
        baseline_seeds = 0
    randoms = [create_analyzer("random", model, seed=seed + k).analyze(x) for k in range(baseline_seeds)]
    scorer, classes = _scoring_model(model, output_index, grey=x.ndim == 3)
    x = x.reshape(*x.shape[:3], -1)  # (N, H, W, C): grey images get their channel axis
    region = region or default_region(x.shape[1:])
    n_regions = -(-x.shape[1] // region) * -(-x.shape[2] // region)
    per_step = max(1, round(n_regions / (4 * steps)))  # a quarter of the image at the last step
    targets = np.asarray(targets, np.int64)

    def curve(analysis: np.ndarray) -> list:
        batches = [(x[i : i + batch_size], targets[i : i + batch_size], analysis[i : i + batch_size])
                   for i in range(0, len(x), batch_size)]
        fn = Perturbation(perturbation, region_shape=(region, region))
        return PerturbationAnalysis(None, scorer, batches, fn, steps=steps,
                                    regions_per_step=per_step).compute_perturbation_analysis()

    curves = {name: curve(np.asarray(a).reshape(x.shape)) for name, a in analyses.items()}
    baseline = [curve(np.asarray(r).reshape(x.shape)) for r in randoms]
    return AgreementCurves(curves, baseline, 1.0 / classes, region, per_step, perturbation)


def _scoring_model(model: Any, output_index: int, grey: bool = False) -> tuple[Any, int]:
    """A model of the explained output alone, compiled so that its metric is the agreement.
    For ``(H, W)`` grey images it reads ``(H, W, 1)``, the shape the perturbation works on."""
    import keras

    output = model.outputs[output_index]
    if len(output.shape) != 2 or (output.shape[-1] or 0) < 2:
        raise InvalidInputError(
            f"the explained output has shape {tuple(output.shape)}; the agreement curves need "
            "class scores (batch, classes) with at least 2 classes."
        )
    if grey:
        image = keras.Input((*model.inputs[0].shape[1:], 1))
        squeezed = keras.layers.Reshape(tuple(model.inputs[0].shape[1:]))(image)
        scorer = keras.Model(image, keras.tree.flatten(model(squeezed))[output_index])
    else:
        scorer = keras.Model(model.inputs, output)
    scorer.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=[keras.metrics.SparseCategoricalAccuracy(name="agreement")])
    return scorer, int(output.shape[-1])
