"""Perturbation analysis: how fast does a model's score fall as relevant regions are removed?

Step 0 scores the model on the unperturbed data; step ``k`` on the data with the
``k * regions_per_step`` most relevant regions of each image perturbed (MoRF order, Samek et
al. 2017). A good explanation makes the score fall fast; :func:`innv_core.tools.aopc.aopc`
sums that up in one number.

Scores are what ``model.evaluate(..., return_dict=False)`` gives: a list of floats, the loss
first, then the compiled metrics in compile order (``[loss, accuracy]`` for
``compile(loss=..., metrics=["accuracy"])``). A model compiled without metrics gives ``[loss]``.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import numpy as np

from innv_core.errors import InvalidInputError, invalid_parameter

__all__ = ["PerturbationAnalysis"]


@attrs.define
class _Batch:
    """One batch of the data, its analysis, and (when recomputing) its perturbation state."""

    x: np.ndarray
    y: Any
    analysis: np.ndarray
    ranks: np.ndarray | None = None  # fixed ranking, computed on first use
    x_current: np.ndarray | None = None  # recompute mode: the image perturbed so far
    done: np.ndarray | None = None  # recompute mode: the regions perturbed so far


class PerturbationAnalysis:
    """Performs the perturbation analysis.

    Args:
        analyzer: Anything with ``analyze(x) -> np.ndarray`` of ``x``'s shape (an innv analyzer).
        model: A trained, compiled Keras 3 model; its scores are ``model.evaluate``'s list.
        generator: The data: a :class:`innv_core.utils.BatchSequence` of ``[X, Y]``, any
            ``keras.utils.PyDataset`` or ``tf.data.Dataset`` yielding ``(x, y)`` (or
            ``(x, y, analysis)`` to skip the analyzer), or any finite iterable of such tuples.
        perturbation: A :class:`innv_core.tools.perturbate.Perturbation`; its
            ``num_perturbed_regions`` is used by ``compute_on_batch`` and ``evaluate_*`` only.
        steps: Number of perturbation steps after step 0.
        regions_per_step: Regions added to the perturbed set of each image per step.
        recompute_analysis: If true, each step re-analyzes the image perturbed so far and
            perturbs its most relevant regions not yet perturbed; otherwise the original
            image's analysis ranks the regions once.
        verbose: Show a Keras progress bar over the steps, with the last entry of the current
            score (the last metric, or the loss) and the time per step.

    ``compute_perturbation_analysis`` reads the data once and keeps it, with its analysis, in
    memory for all steps.
    """

    def __init__(
        self,
        analyzer: Any,
        model: Any,
        generator: Any,
        perturbation: Any,
        steps: int = 1,
        regions_per_step: int = 1,
        recompute_analysis: bool = False,
        verbose: bool = False,
    ) -> None:
        self.analyzer = analyzer
        self.model = model
        self.generator = generator
        self.perturbation = perturbation
        self.steps = _positive_int("steps", steps, minimum=0)
        self.regions_per_step = _positive_int("regions_per_step", regions_per_step, minimum=1)
        self.recompute_analysis = bool(recompute_analysis)
        self.verbose = bool(verbose)

    # -- one batch -------------------------------------------------------------------------
    def compute_on_batch(
        self, x: np.ndarray, analysis: np.ndarray | None = None, return_analysis: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Perturb ``x`` by ``analysis`` (computed by the analyzer if None).

        Returns the perturbed batch, and the analysis too if ``return_analysis``.
        """
        if analysis is None:
            analysis = self._analyze(x)
        x_perturbed = self.perturbation.perturbate_on_batch(x, analysis)
        return (x_perturbed, analysis) if return_analysis else x_perturbed

    def evaluate_on_batch(
        self, x: np.ndarray, y: Any, analysis: np.ndarray | None = None, sample_weight: Any = None
    ) -> list[float]:
        """Perturb ``x`` and score the model on it with ``test_on_batch``: ``[loss, *metrics]``."""
        x_perturbed = self.compute_on_batch(x, analysis)
        return _as_list(self.model.test_on_batch(x_perturbed, y, sample_weight=sample_weight))

    # -- a whole data set ------------------------------------------------------------------
    def evaluate_generator(
        self,
        generator: Any,
        steps: int | None = None,
        max_queue_size: int = 10,
        workers: int = 1,
        use_multiprocessing: bool = False,
    ) -> list[float]:
        """Perturb every batch of ``generator`` and score the model on all of them.

        ``generator`` yields ``(x, y)`` or ``(x, y, analysis)``. ``steps`` limits the number of
        batches (default: all). ``max_queue_size``, ``workers`` and ``use_multiprocessing`` are
        accepted for iNNvestigate compatibility and ignored: set them on your ``PyDataset``.
        """
        del max_queue_size, workers, use_multiprocessing

        def perturbed() -> Iterator[tuple[np.ndarray, Any]]:
            for batch in iterate_batches(generator, steps):
                x, y, analysis = _split_batch(batch)
                yield self.compute_on_batch(x, analysis), y

        return _evaluate(self.model, perturbed(), steps or _num_batches(generator))

    def compute_perturbation_analysis(self) -> list[list[float]]:
        """Scores per step: ``scores[0]`` unperturbed, ``scores[k]`` after ``k`` steps."""
        batches = self._collect()
        progbar = self._progbar()
        scores = [_score(self.model, batches, (b.x for b in batches))]
        self._report(progbar, 0, scores[-1])
        for step in range(1, self.steps + 1):
            if self.recompute_analysis:
                perturbed = self._recomputed_step(batches)
            else:
                perturbed = self._fixed_step(batches, step * self.regions_per_step)
            scores.append(_score(self.model, batches, perturbed))
            self._report(progbar, step, scores[-1])
        return scores

    # -- internals -------------------------------------------------------------------------
    def _collect(self) -> list[_Batch]:
        """Read the data once, analysing each batch that comes without an analysis."""
        batches = []
        for batch in iterate_batches(self.generator):
            x, y, analysis = _split_batch(batch)
            analysis = self._analyze(x) if analysis is None else analysis
            self.perturbation.check_batch(x, analysis)
            batches.append(_Batch(x, y, analysis))
        if not batches:
            raise InvalidInputError("The generator of PerturbationAnalysis yielded no batch.")
        return batches

    def _fixed_step(self, batches: list[_Batch], num_regions: int) -> Iterator[np.ndarray]:
        """Perturb the original images' ``num_regions`` top regions (ranks computed once)."""
        perturbation = self._copying_perturbation()
        for b in batches:
            if b.ranks is None:
                b.ranks = perturbation.compute_region_ordering(perturbation.region_relevance(b.analysis))
            mask = perturbation.compute_perturbation_mask(b.ranks, num_regions)
            yield perturbation.perturbate_with_region_mask(b.x, mask)

    def _recomputed_step(self, batches: list[_Batch]) -> list[np.ndarray]:
        """Re-analyze the current images, perturb their best regions not perturbed yet."""
        perturbation = self._copying_perturbation()
        current = []
        for b in batches:
            if b.done is None:  # first step: start from the original images and analysis
                x, analysis = b.x, b.analysis
            else:
                x, analysis = b.x_current, self._analyze(b.x_current)
            relevance = np.array(perturbation.region_relevance(analysis), dtype=np.float64)
            done = np.zeros(relevance.shape, bool) if b.done is None else b.done
            relevance[done] = -np.inf
            ranks = perturbation.compute_region_ordering(relevance)
            new = perturbation.compute_perturbation_mask(ranks, self.regions_per_step) & ~done
            b.x_current = perturbation.perturbate_with_region_mask(x, new)
            b.done = done | new
            current.append(b.x_current)
        return current

    def _copying_perturbation(self) -> Any:
        """The perturbation, made to copy: the stored original images must stay intact."""
        if not getattr(self.perturbation, "in_place", False):
            return self.perturbation
        clone = copy.copy(self.perturbation)
        clone.in_place = False
        return clone

    def _analyze(self, x: np.ndarray) -> np.ndarray:
        analysis = self.analyzer.analyze(x)
        if isinstance(analysis, (list, tuple)) and len(analysis) == 1:
            analysis = analysis[0]
        analysis = np.asarray(analysis)
        if analysis.shape != np.shape(x):
            raise InvalidInputError(
                f"{type(self.analyzer).__name__}.analyze returned shape {analysis.shape} for an "
                f"input of shape {np.shape(x)}; perturbation analysis needs an analysis of the "
                "input's shape."
            )
        return analysis

    def _progbar(self) -> Any:
        if not self.verbose:
            return None
        import keras

        return keras.utils.Progbar(self.steps + 1, stateful_metrics=["score"], unit_name="step")

    def _report(self, progbar: Any, step: int, score: list[float]) -> None:
        if progbar is not None:
            progbar.update(step + 1, values=[("score", score[-1])])


def iterate_batches(data: Any, steps: int | None = None) -> Iterator[tuple]:
    """Yield the batches of a ``tf.data.Dataset``, ``PyDataset``, sequence or iterable as numpy.

    Stops after ``steps`` batches if given.
    """
    if hasattr(data, "as_numpy_iterator"):  # tf.data.Dataset, without importing TensorFlow
        source: Iterable[Any] = data.as_numpy_iterator()
    elif _num_batches(data) is not None:
        source = (data[i] for i in range(_num_batches(data)))
    else:
        source = data
    for i, batch in enumerate(source):
        if steps is not None and i >= steps:
            break
        yield tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)


def _num_batches(data: Any) -> int | None:
    """The number of batches of an indexable data source, None if unknown or infinite."""
    if not hasattr(data, "__getitem__"):
        return None
    try:
        n = data.num_batches if hasattr(data, "num_batches") else len(data)
    except (TypeError, NotImplementedError):
        return None
    return None if n is None else int(n)


def _split_batch(batch: tuple) -> tuple[np.ndarray, Any, np.ndarray | None]:
    if len(batch) not in (2, 3):
        raise InvalidInputError(
            f"Each batch must be (x, y) or (x, y, analysis); got a tuple of {len(batch)} items."
        )
    x = batch[0]
    if isinstance(x, (list, tuple)):
        if len(x) != 1:
            raise InvalidInputError(
                f"PerturbationAnalysis supports models with one image input; a batch had {len(x)}."
            )
        x = x[0]
    analysis = np.asarray(batch[2]) if len(batch) == 3 else None
    return np.asarray(x), batch[1], analysis


def _score(model: Any, batches: list[_Batch], xs: Iterable[np.ndarray]) -> list[float]:
    """Score the model on the images ``xs`` with the labels of ``batches``."""
    pairs = ((x, b.y) for x, b in zip(xs, batches))
    return _evaluate(model, pairs, len(batches))


def _evaluate(model: Any, batches: Iterator[tuple], steps: int | None) -> list[float]:
    """``model.evaluate`` over ``(x, y)`` batches, exact over all batches; a list of floats."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ran out of data.*")
        result = model.evaluate(batches, steps=steps, verbose=0, return_dict=False)
    return _as_list(result)


def _as_list(result: Any) -> list[float]:
    if isinstance(result, (list, tuple)):
        return [float(r) for r in result]
    return [float(result)]


def _positive_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise invalid_parameter(name, value, f"an integer >= {minimum}")
    return int(value)
