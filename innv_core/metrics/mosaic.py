"""Mosaics for the Focus metric (Arias-Duart et al. 2022): 2x2 grids of images, two of the target class.

:func:`mosaic_creation` builds them from a labelled image set as Quantus'
``quantus.functions.mosaic_func.mosaic_creation`` does (channels last here), drawing with a
``random.Random(seed)`` in the same order, so the same seed picks the same images in the same
places. Its result unpacks into Quantus' five values; ``mosaics.s`` is what ``focus`` takes as
``s`` and ``mosaics.y`` the class to explain::

    mosaics = mosaic_creation(x, labels, mosaics_per_class=4, seed=1)
    create_metric("focus").evaluate(mosaics.x, mosaics.y, analyzer=..., s=mosaics.s)
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np

from innv_core.errors import InvalidInputError, check_positive_int

__all__ = ["Mosaics", "build_single_mosaic", "mosaic_creation"]


def build_single_mosaic(images: Any) -> np.ndarray:
    """Four images ``(H, W, C)`` as one ``(2H, 2W, C)``: top left, top right, bottom left, bottom right."""
    images = [np.asarray(image) for image in images]
    if len(images) != 4 or len({image.shape for image in images}) != 1 or images[0].ndim < 2:
        raise InvalidInputError("A mosaic is made of four images of the same shape (H, W[, C]).")
    return np.concatenate([np.concatenate(images[:2], axis=1), np.concatenate(images[2:], axis=1)], axis=0)


@attrs.frozen(eq=False)
class Mosaics:
    """Mosaics and what they are made of (one row per mosaic).

    Attributes:
        x: the mosaics, ``(m, 2H, 2W, C)``.
        indices: ``(m, 4)``, the index of each quadrant's image in the image set.
        labels: ``(m, 4)``, each quadrant's class.
        s: ``(m, 4)``, 1 where the quadrant holds the target class (Quantus' ``p_batch``).
        y: ``(m,)``, the target class.

    The order of the quadrants is top left, top right, bottom left, bottom right. Unpacks as
    Quantus' result: ``x, indices, labels, p_batch, targets = mosaic_creation(...)``.
    """

    x: np.ndarray
    indices: np.ndarray
    labels: np.ndarray
    s: np.ndarray
    y: np.ndarray

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.x, self.indices, self.labels, self.s, self.y))


def mosaic_creation(images: Any, labels: Any, mosaics_per_class: int, seed: int | None = None) -> Mosaics:
    """``mosaics_per_class`` mosaics for each class of ``labels``: two images of the class and two
    of the other classes, in random places (Quantus 0.6's draws for the same ``seed``; Quantus
    treats ``seed=0`` as no seed, innv seeds with 0).

    Raises:
        InvalidInputError: fewer than two classes, or ``labels`` not one per image.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    mosaics_per_class = check_positive_int("mosaics_per_class", mosaics_per_class)
    if images.ndim < 3 or labels.shape != (len(images),):
        raise InvalidInputError(f"Give images (n, H, W[, C]) and one label per image; got images "
                                f"{images.shape} and labels {labels.shape}.")
    classes = list(np.unique(labels))
    if len(classes) < 2:
        raise InvalidInputError("Mosaics mix the target class with others: labels need two classes or more.")
    rng = random.Random(seed)
    rows: list[tuple[tuple[int, ...], tuple[Any, ...], Any]] = []
    for target in classes:
        others = [c for c in classes if c != target]
        own = np.flatnonzero(labels == target).tolist()
        pool = own * math.ceil(2 * mosaics_per_class / len(own))
        rng.shuffle(pool)
        per_class = math.ceil(2 * mosaics_per_class / len(others))
        outer: list[tuple[int, Any]] = []
        for other in others:
            chosen = rng.choices(np.flatnonzero(labels == other).tolist(), k=per_class)
            outer += [(int(i), other) for i in chosen]
        rng.shuffle(outer)
        for m in range(mosaics_per_class):
            quadrants = [(pool[2 * m], target), (pool[2 * m + 1], target), outer[2 * m], outer[2 * m + 1]]
            rng.shuffle(quadrants)
            rows.append((tuple(int(i) for i, _ in quadrants), tuple(c for _, c in quadrants), target))
    indices = np.array([row[0] for row in rows], dtype=np.int64)
    return Mosaics(
        x=np.stack([build_single_mosaic(images[list(row)]) for row in indices]),
        indices=indices,
        labels=np.array([row[1] for row in rows]),
        s=np.array([[int(c == row[2]) for c in row[1]] for row in rows], dtype=np.int64),
        y=np.array([row[2] for row in rows]),
    )
