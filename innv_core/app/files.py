"""Inputs read from files, for the command line: ``.npy``, ``.npz`` and folders of images.

Numpy and matplotlib only (no TensorFlow). Nothing is ever unpickled (``allow_pickle=False``
everywhere): a file of Python objects is refused, as unpickling can run arbitrary code. Every
problem raises :class:`~innv_core.errors.InvalidInputError` naming the file and the fix.

Two steps, so that a command can refuse a bad file before it loads TensorFlow and the model:

- :func:`check_input_source` looks at the file's header only (or lists the folder): it exists,
  is an array file numpy can read without unpickling, has the ``.npz`` member asked for, or is a
  folder with images in it.
- :func:`load_inputs` reads everything and checks it against the model's
  :class:`~innv_core.inputs.InputSpec` with :func:`~innv_core.inputs.check_array`, the check
  ``analyze`` itself runs (shape, dtype, finite values, a batch axis);
  :func:`load_named_inputs` does the same for a model with several inputs, from a ``.npz`` file
  with one array per input name.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from innv_core.errors import InvalidInputError, one_line
from innv_core.inputs.batches import InputSpec, check_array

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_SUFFIXES = (".npy", ".npz")

_NO_PICKLE = ("innv never unpickles files (unpickling can run code); save a numeric array, "
              "e.g. np.save(path, x.astype('float32')).")


def check_input_source(path: str | os.PathLike[str], key: str | None = None) -> None:
    """Refuse, cheaply, inputs that cannot be read: only headers are read, no model is needed.

    Raises:
        InvalidInputError: ``path`` does not exist; is neither a ``.npy``/``.npz`` file nor a
            folder; is not a valid array file (damaged, pickled, an array of Python objects);
            a ``.npz`` without the array ``key``; a folder without PNG/JPEG images.
    """
    p = Path(path)
    if p.is_dir():
        image_files(p)
    else:
        array_header(p, key)


def array_header(path: str | os.PathLike[str], key: str | None = None) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype stored in a ``.npy`` file or a ``.npz`` member, from its header only.

    ``key``: the member of a ``.npz`` file (default: the first one stored).
    """
    p = Path(path)
    if not p.exists():
        raise InvalidInputError(f"inputs {str(p)!r} do not exist.")
    suffix = p.suffix.lower()
    if suffix not in ARRAY_SUFFIXES or not p.is_file():
        raise InvalidInputError(
            f"INPUTS must be a .npy or .npz file or a folder of PNG/JPEG images, got {str(p)!r}."
        )
    try:
        if suffix == ".npy":
            with open(p, "rb") as fp:
                return _header(fp, repr(str(p)))
        with zipfile.ZipFile(p) as archive:
            member = _npz_member(archive, p, key)
            with archive.open(member) as fp:
                return _header(fp, f"array {member[:-4]!r} of {str(p)!r}")
    except zipfile.BadZipFile:
        raise InvalidInputError(
            f"{str(p)!r} is not a .npz file (not a zip archive); save the inputs with np.savez."
        ) from None
    except OSError as error:
        raise InvalidInputError(f"cannot read {str(p)!r}: {one_line(error)}") from None


def read_array(path: str | os.PathLike[str], key: str | None = None) -> np.ndarray:
    """The array of a ``.npy`` file, or the array ``key`` of a ``.npz`` file (default: the first).

    The header is checked first (:func:`array_header`); no file is ever unpickled.
    """
    p = Path(path)
    array_header(p, key)
    try:
        if p.suffix.lower() == ".npy":
            return np.load(p, allow_pickle=False)
        with zipfile.ZipFile(p) as archive:
            member = _npz_member(archive, p, key)
        with np.load(p, allow_pickle=False) as arrays:
            return arrays[member[:-4]]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise InvalidInputError(
            f"cannot read {str(p)!r} (damaged or truncated?): {one_line(error)}"
        ) from None


def image_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The PNG/JPEG files of ``folder``, sorted by name; at least one."""
    folder = Path(folder)
    files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InvalidInputError(f"no PNG or JPEG image in folder {str(folder)!r}.")
    return files


def load_images(folder: str | os.PathLike[str], input_shape: Sequence[int | None],
                scale: float = 1.0) -> tuple[np.ndarray, list[str]]:
    """The PNG/JPEG images of ``folder`` (sorted by name) as floats in [0, 1] times ``scale``.

    ``input_shape`` (without the batch axis) must be ``(H, W, C)`` with C 1, 3 or 4; gray images
    are repeated to 3 channels, RGB(A) images averaged to 1 for a gray model, the alpha channel
    dropped for an RGB one. Images must already have the model's size: they are not resized.
    Returns the images ``(N, H, W, C)`` and their names (file names without suffix).
    """
    import matplotlib.image

    files = image_files(folder)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[-1] not in (1, 3, 4):
        raise InvalidInputError(
            f"the model's input has shape {input_shape}, not an image (height, width, 1|3|4 channels); "
            "give a .npy or .npz file instead of a folder."
        )
    expected = input_shape[:2]
    images: list[np.ndarray] = []
    for f in files:
        try:
            image = np.asarray(matplotlib.image.imread(f))
        except Exception as error:  # noqa: BLE001 - Pillow's or matplotlib's reason
            raise InvalidInputError(f"cannot read image {str(f)!r}: {one_line(error)}") from None
        if np.issubdtype(image.dtype, np.integer):
            image = image / np.iinfo(image.dtype).max
        image = _match_channels(image.astype(np.float32), input_shape[-1], f)
        if any(e is not None and e != a for e, a in zip(expected, image.shape[:2])):
            raise InvalidInputError(
                f"image {f.name!r} is {image.shape[0]}x{image.shape[1]} pixels but the model expects "
                f"{expected[0]}x{expected[1]}; innv does not resize: resize the images first."
            )
        if images and image.shape != images[0].shape:
            raise InvalidInputError(
                f"image {f.name!r} is {image.shape[0]}x{image.shape[1]} but {files[0].name!r} is "
                f"{images[0].shape[0]}x{images[0].shape[1]}; all images must have the same size."
            )
        images.append(image)
    return np.stack(images) * np.float32(scale), [f.stem for f in files]


def load_inputs(path: str | os.PathLike[str], spec: InputSpec, key: str | None = None,
                scale: float = 1.0) -> tuple[np.ndarray, list[str]]:
    """The inputs of a one-input model, read and checked: an array ``(N, *spec.shape)``, a name each.

    ``path``: a ``.npy`` file; a ``.npz`` file (its array ``key``, default the first one stored);
    or a folder of PNG/JPEG images (see :func:`load_images`; ``scale`` multiplies their pixels).
    The result passed :func:`~innv_core.inputs.check_array` against ``spec`` (and has its dtype).
    """
    p = Path(path)
    if p.is_dir():
        x, names = load_images(p, spec.shape, scale)
    else:
        x = read_array(p, key)
        names = [f"input_{i:04d}" for i in range(len(x))] if x.ndim else []
    try:
        x = check_array(x, spec)
    except InvalidInputError as error:
        raise InvalidInputError(f"the inputs in {str(p)!r} do not fit the model: {error}") from None
    return x, names


def load_named_inputs(path: str | os.PathLike[str], specs: Sequence[InputSpec]
                      ) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """The inputs of a model with several inputs: a ``.npz`` file with one array per input name.

    Returns the arrays by input name (model order; each passed
    :func:`~innv_core.inputs.check_array` against its spec), a name per sample, and the names of
    the file's other arrays (not used). ``analyze`` gives the analyses back by the same names.

    Raises:
        InvalidInputError: not a ``.npz`` file, an input name without an array, arrays that do not
            fit their input, or arrays of different lengths.
    """
    p = Path(path)
    names = [spec.name for spec in specs]
    example = ", ".join(f"{n}=..." for n in names)
    if p.is_dir() or p.suffix.lower() != ".npz":
        raise InvalidInputError(
            f"the model has {len(names)} inputs ({', '.join(names)}): give a .npz file with one array "
            f"per input name, e.g. np.savez('inputs.npz', {example}); got {str(p)!r}."
        )
    with zipfile.ZipFile(p) as archive:
        stored = [m[:-4] for m in archive.namelist() if m.endswith(".npy")]
    missing = [n for n in names if n not in stored]
    if missing:
        raise InvalidInputError(
            f"{str(p)!r} has no array for the model's input(s) {missing}; it has "
            f"{', '.join(stored) or 'none'}. "
            f"Save one array per input name: np.savez({p.name!r}, {example})."
        )
    arrays = {}
    for i, spec in enumerate(specs):
        try:
            arrays[spec.name] = check_array(read_array(p, spec.name), spec, i, len(specs))
        except InvalidInputError as error:
            raise InvalidInputError(f"the inputs in {str(p)!r} do not fit the model: {error}") from None
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise InvalidInputError(
            f"the arrays of {str(p)!r} must hold the same number of samples; got "
            + ", ".join(f"{n}: {k}" for n, k in lengths.items()) + "."
        )
    count = next(iter(lengths.values()))
    return arrays, [f"input_{i:04d}" for i in range(count)], [n for n in stored if n not in names]


# -- helpers ---------------------------------------------------------------------------------
def _header(fp: Any, where: str) -> tuple[tuple[int, ...], np.dtype]:
    start = fp.read(2)
    if start[:1] == b"\x80":  # a pickle (protocol 2 or later), not numpy's header
        raise InvalidInputError(f"{where} holds pickled Python data, not a .npy array; {_NO_PICKLE}")
    rest = fp.read(4)
    magic = start + rest
    if magic != np.lib.format.MAGIC_PREFIX:
        raise InvalidInputError(
            f"{where} is not a .npy array (damaged, or another format: it does not start with "
            "numpy's header); save the inputs with np.save or np.savez."
        )
    version = tuple(fp.read(2))
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in readers:  # a newer format: np.load decides
        return (), np.dtype(np.float32)
    try:
        shape, _, dtype = readers[version](fp)
    except ValueError as error:
        raise InvalidInputError(f"{where} has a damaged .npy header: {one_line(error)}") from None
    if dtype.hasobject:
        raise InvalidInputError(
            f"{where} holds an array of Python objects (dtype {dtype}), which can only be read by "
            f"unpickling: pickled objects are refused. {_NO_PICKLE}"
        )
    return tuple(shape), dtype


def _npz_member(archive: zipfile.ZipFile, p: Path, key: str | None) -> str:
    members = [n for n in archive.namelist() if n.endswith(".npy")]
    if not members:
        raise InvalidInputError(f"{str(p)!r} holds no array.")
    if key is None:
        return members[0]
    if f"{key}.npy" not in members:
        have = ", ".join(m[:-4] for m in members)
        raise InvalidInputError(f"{str(p)!r} has no array {key!r}; it has {have}.")
    return f"{key}.npy"


def _match_channels(image: np.ndarray, channels: int, path: Path) -> np.ndarray:
    if image.ndim == 2:
        image = image[..., None]
    have = image.shape[-1]
    if have == channels:
        return image
    if have == 4 and channels == 3:
        return image[..., :3]
    if have == 1 and channels in (3, 4):
        rgb = np.repeat(image, 3, axis=-1)
        return rgb if channels == 3 else np.concatenate([rgb, np.ones_like(image)], axis=-1)
    if have in (3, 4) and channels == 1:
        return image[..., :3].mean(axis=-1, keepdims=True)
    raise InvalidInputError(f"image {path.name!r} has {have} channels but the model expects {channels}.")
