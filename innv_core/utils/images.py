"""Image batches between the user's layout and Keras': channel axis and colour order."""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidInputError, invalid_parameter

COLOR_CODINGS = (None, "RGBtoBGR", "BGRtoRGB")


def preprocess_images(
    images: Any, color_coding: str | None = None, data_format: str | None = None
) -> np.ndarray:
    """Move the channel axis to Keras' image data format and fix the colour coding.

    A batch whose axis 1 has 1 or 3 entries and whose last axis has not is taken as
    channels-first; otherwise it is taken as channels-last.

    Args:
        images: Batch of images with 4 axes.
        color_coding: None, ``"RGBtoBGR"`` or ``"BGRtoRGB"`` (both reverse the channels).
        data_format: ``"channels_last"``/``"channels_first"``; default Keras' setting.
    """
    images = _check_batch(images)
    _check_color_coding(color_coding)
    data_format = _data_format(data_format)
    channels_first = images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3)
    if data_format == "channels_first" and not channels_first:
        images = images.transpose(0, 3, 1, 2)
    if data_format == "channels_last" and channels_first:
        images = images.transpose(0, 2, 3, 1)
    if color_coding is not None:
        images = _flip_channels(images, data_format)
    return images


def postprocess_images(
    images: Any,
    color_coding: str | None = None,
    channels_first: bool | None = None,
    data_format: str | None = None,
) -> np.ndarray:
    """Revert :func:`preprocess_images`: undo the colour coding and set the channel axis.

    Args:
        images: Batch of images with 4 axes, in Keras' data format.
        color_coding: The coding given to :func:`preprocess_images`.
        channels_first: The output layout; None or False gives channels-last.
        data_format: Layout of ``images``; default Keras' setting.
    """
    images = _check_batch(images)
    _check_color_coding(color_coding)
    data_format = _data_format(data_format)
    if color_coding is not None:
        images = _flip_channels(images, data_format)
    if data_format == "channels_first" and not channels_first:
        images = images.transpose(0, 2, 3, 1)
    if data_format == "channels_last" and channels_first:
        images = images.transpose(0, 3, 1, 2)
    return images


def _data_format(data_format: str | None) -> str:
    if data_format is None:
        import keras

        return keras.config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise invalid_parameter("data_format", data_format, "'channels_last' or 'channels_first'")
    return data_format


def _flip_channels(images: np.ndarray, data_format: str) -> np.ndarray:
    return images[:, ::-1] if data_format == "channels_first" else images[..., ::-1]


def _check_batch(images: Any) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4:
        raise InvalidInputError(
            f"Expected a batch of images with 4 axes, got shape {images.shape}. "
            "Add a batch axis with images[None] or a channel axis with images[..., None]."
        )
    return images


def _check_color_coding(color_coding: str | None) -> None:
    if color_coding not in COLOR_CODINGS:
        raise invalid_parameter("color_coding", color_coding, f"one of {COLOR_CODINGS}")
