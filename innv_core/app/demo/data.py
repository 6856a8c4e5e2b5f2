"""A synthetic image set whose object masks are known: a coloured shape on a noisy background.

Each image is ``size x size`` RGB with values in [0, 1]: uniform noise (the background) with one
filled shape of a random colour, size and position drawn over it. The class is the shape
(:data:`CLASSES`); colour, size and position carry no information about it, so a model must
look at the object's outline. The mask marks the object's pixels, which makes "how much of the
relevance lies on the object" measurable for every explanation method.

Needs only numpy.
"""

from __future__ import annotations

import attrs
import numpy as np

__all__ = ["CLASSES", "ShapeImages", "make_shapes"]

#: The class names, in label order.
CLASSES = ("square", "disc", "cross")


@attrs.frozen
class ShapeImages:
    """Images ``x`` (N, H, W, 3) float32 in [0, 1], labels ``y`` (N,) int64, masks (N, H, W) bool."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: slice | np.ndarray) -> ShapeImages:
        """A subset (slice or index array) as a new :class:`ShapeImages`."""
        return ShapeImages(self.x[index], self.y[index], self.mask[index])


def make_shapes(
    n: int,
    size: int = 32,
    seed: int = 0,
    object_size: tuple[int, int] = (10, 17),
    background: float = 0.45,
    noise: float = 0.05,
) -> ShapeImages:
    """``n`` images of squares, discs and crosses (classes in turn, so balanced), reproducibly.

    Args:
        n: Number of images.
        size: Height and width in pixels.
        seed: Seed of the numpy generator: the same seed gives the same images.
        object_size: ``(low, high)``: the object's extent in pixels is drawn from
            ``low..high - 1`` (the square's side, the disc's diameter, the cross's arm span).
        background: The background is uniform noise in ``[0, background]`` per pixel and channel.
        noise: Standard deviation of Gaussian noise added to every pixel (object included),
            before clipping to [0, 1].

    Returns:
        A :class:`ShapeImages`; ``y[i] = i % 3`` before shuffling, then shuffled.
    """
    if n < 1:
        raise ValueError(f"n must be a positive number of images, got {n}.")
    low, high = object_size
    if not 3 <= low < high <= size:
        raise ValueError(
            f"object_size must be (low, high) with 3 <= low < high <= size={size}, got {object_size}."
        )
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    extent = rng.integers(low, high, n).astype(np.float64)
    # the centre keeps the object inside the image (pixel centres at 0.5, 1.5, ...)
    margin = extent / 2
    cy = rng.uniform(margin, size - margin)
    cx = rng.uniform(margin, size - margin)
    colour = rng.uniform(0.6, 1.0, (n, 3))
    colour[np.arange(n), rng.integers(0, 3, n)] *= rng.uniform(0.0, 0.5, n)  # one channel darker: hue

    centres = np.arange(size) + 0.5
    dy = np.abs(centres[None, :, None] - cy[:, None, None])  # (n, H, 1)
    dx = np.abs(centres[None, None, :] - cx[:, None, None])  # (n, 1, W)
    half = (extent / 2)[:, None, None]
    square = (dy < half) & (dx < half)
    disc = dy**2 + dx**2 < half**2
    arm = half / 3
    cross = ((dy < half) & (dx < arm)) | ((dx < half) & (dy < arm))
    label = y[:, None, None]
    mask = np.where(label == 0, square, np.where(label == 1, disc, cross))

    x = rng.uniform(0.0, background, (n, size, size, 3))
    x = np.where(mask[..., None], colour[:, None, None, :], x)
    x = np.clip(x + rng.normal(0.0, noise, x.shape), 0.0, 1.0)
    return ShapeImages(x.astype(np.float32), y, mask)
