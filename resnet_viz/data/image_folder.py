"""A labelled image set from a zip of class folders, or from images grouped by class in the page.

The zip follows torchvision's ``ImageFolder`` convention (``dogs/1.jpg``, ``cats/2.png``: the
folder is the class; torchvision.datasets.ImageFolder, which also takes the files of nested
folders into their top class). A zip made by right-clicking one folder holds a single top folder
around the classes (``pets/dogs/1.jpg``); that wrapper is looked through.

Everything in the zip is untrusted, and nothing is written to disk: members are read into memory
one at a time, each through a reader that stops at the size limit whatever the zip's header
claims (a zip bomb declares small sizes and inflates to gigabytes), and each image is decoded by
the app's defensive loader (:func:`resnet_viz.data.images.load_image`: format allow-list, pixel
limits, 16-bit and grey images converted to 8-bit RGB). What is refused outright, with a
:class:`~resnet_viz.errors.DatasetError` that says why and what to do: a file that is not a zip,
more than :data:`MAX_MEMBERS` entries, more than :data:`MAX_TOTAL_BYTES` of content, more than
:data:`MAX_IMAGES` images or :data:`MAX_CLASSES` classes, fewer than two classes with images.
What is left out and counted, the rest kept (:attr:`ImageFolder.skipped`): files that are not
images, hidden files and macOS metadata (``__MACOSX/``, ``._x``, ``.DS_Store``), files outside
any class folder, names that climb out of the zip (``../x.jpg``, absolute paths), empty class
folders, the second copy of an image within one class, and an image found under two classes
(its label is ambiguous: every copy is left out).

Kept images are shrunk so that their longer side is at most :data:`KEEP_SIDE` (the training
transforms resize to 256 and crop 224 anyway): a thousand 12-megapixel photos would otherwise
hold ~36 GB of pixels.

This module does not import streamlit.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..errors import DatasetError, ImageError
from .images import load_image

__all__ = [
    "KEEP_SIDE",
    "MAX_CLASSES",
    "MAX_IMAGES",
    "MAX_MEMBERS",
    "MAX_TOTAL_BYTES",
    "ImageFolder",
    "Skipped",
    "image_folder",
]

MAX_IMAGES = 1_000
"""Most images one set may hold: a lecture's training run on a laptop CPU (a linear probe on
ResNet-18 extracts ~30 images per second here) stays within a minute or two."""

MAX_CLASSES = 20
"""Most classes: the confusion matrix and the per-class table stay readable on a projector."""

MAX_MEMBERS = 5_000
"""Most entries a zip may list (files and folders), checked before anything is read."""

MAX_TOTAL_BYTES = 500_000_000
"""Most bytes the zip's members may inflate to, all together (500 MB), counted as they are read."""

MAX_MEMBER_BYTES = 25_000_000
"""Most bytes one member may inflate to: the image loader's own upload limit."""

KEEP_SIDE = 512
"""The longer side, in pixels, that kept images are shrunk to (never enlarged)."""

_HIDDEN = ("__MACOSX/",)


@dataclass(frozen=True)
class Skipped:
    """A file or folder left out of the set, and why (a sentence for the page)."""

    name: str
    reason: str


@dataclass(frozen=True, eq=False)
class ImageFolder:
    """Decoded images with their labels.

    Attributes:
        images: RGB images, the longer side at most :data:`KEEP_SIDE`.
        labels: the class index of each image, an index into ``classes``.
        classes: class names, sorted (torchvision's ``ImageFolder`` order).
        skipped: what was left out, one entry per file or empty folder, in the zip's order.
    """

    images: tuple[Image.Image, ...]
    labels: tuple[int, ...]
    classes: tuple[str, ...]
    skipped: tuple[Skipped, ...] = ()

    def counts(self) -> dict[str, int]:
        """Images per class, in class order."""
        return {name: self.labels.count(i) for i, name in enumerate(self.classes)}


def image_folder(
    source: bytes | str | Path | Mapping[str, Sequence[bytes]],
    *,
    max_images: int = MAX_IMAGES,
    max_classes: int = MAX_CLASSES,
) -> ImageFolder:
    """The labelled images of ``source``: a zip of class folders (its bytes or its path), or a
    mapping from class name to the bytes of that class's images (uploads or camera captures).

    Raises:
        DatasetError: the source cannot be used (not a zip, too large, too many files, images or
            classes, fewer than two classes with images); the message says what to change.
    """
    if isinstance(source, Mapping):
        files = [(f"{name}/{i + 1}", name, data) for name, items in source.items()
                 for i, data in enumerate(items)]  # fmt: skip
        skipped: list[Skipped] = []
        folders = {str(name) for name in source}
    else:
        files, skipped, folders = _zip_members(_zip_bytes(source))
    return _decoded(files, skipped, folders, max_images, max_classes)


def _zip_bytes(source: bytes | str | Path) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise DatasetError(f"There is no file at {path}.")
        if path.stat().st_size > MAX_TOTAL_BYTES:
            raise DatasetError(_too_big(path.stat().st_size))
        return path.read_bytes()
    raise DatasetError(f"Expected a zip file's bytes or path, got {type(source).__name__}.")


def _too_big(size: int) -> str:
    return (
        f"The zip holds {size / 1e6:,.0f} MB; the limit is {MAX_TOTAL_BYTES / 1e6:,.0f} MB. "
        "Zip fewer or smaller images (a few hundred photos at phone size are enough)."
    )


def _zip_members(data: bytes) -> tuple[list[tuple[str, str, bytes]], list[Skipped], set[str]]:
    """(name, class, bytes) of every candidate file, what was skipped, and every class folder
    seen (so that an empty one can be named)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise DatasetError(
            "This file is not a zip archive that can be read. Zip a folder that holds one "
            "folder of images per class (dogs/, cats/, ...)."
        ) from error
    if len(entries) > MAX_MEMBERS:
        raise DatasetError(
            f"The zip lists {len(entries):,} entries; the limit is {MAX_MEMBERS:,}. Keep at most "
            f"{MAX_IMAGES:,} images (a few dozen per class are enough for a lecture)."
        )
    names = [_safe_name(e.filename) for e in entries]
    wrapper = _single_wrapper([n for n, e in zip(names, entries, strict=True)
                               if n is not None and not e.is_dir()])  # fmt: skip
    files: list[tuple[str, str, bytes]] = []
    skipped: list[Skipped] = []
    folders: set[str] = set()
    total = 0
    for entry, name in zip(entries, names, strict=True):
        if name is None:
            skipped.append(Skipped(entry.filename, "its name points outside the zip"))
            continue
        parts = name.split("/")[wrapper:]
        if entry.is_dir():
            if len(parts) >= 1 and parts[0] and not _hidden(name):
                folders.add(parts[0])
            continue
        if _hidden(name):
            continue  # metadata a zip tool adds: not the user's file, not worth a line
        if len(parts) < 2:
            skipped.append(Skipped(name, "it is not inside a class folder"))
            continue
        folders.add(parts[0])
        if entry.file_size > MAX_MEMBER_BYTES:
            skipped.append(Skipped(name, f"it is larger than {MAX_MEMBER_BYTES / 1e6:g} MB"))
            continue
        try:
            content = _read_capped(archive, entry, MAX_MEMBER_BYTES)
        except (
            zipfile.BadZipFile,
            OSError,
            ValueError,
            EOFError,
            NotImplementedError,
            RuntimeError,
        ):
            skipped.append(
                Skipped(name, "it could not be read from the zip (damaged or encrypted)")
            )
            continue
        if content is None:
            skipped.append(Skipped(name, f"it inflates past {MAX_MEMBER_BYTES / 1e6:g} MB"))
            continue
        total += len(content)
        if total > MAX_TOTAL_BYTES:
            raise DatasetError(_too_big(total))
        files.append((name, parts[0], content))
    return files, skipped, folders


def _safe_name(name: str) -> str | None:
    """The member's name as a relative path inside the zip, or None when it climbs out of it
    (``../x``, ``/etc/x``, ``C:\\x``)."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    normal = posixpath.normpath(name)
    if normal == ".." or normal.startswith("../"):
        return None
    return normal + ("/" if name.endswith("/") and normal != "." else "")


def _hidden(name: str) -> bool:
    base = posixpath.basename(name.rstrip("/"))
    return name.startswith(_HIDDEN) or base.startswith(".")


def _single_wrapper(files: list[str]) -> int:
    """1 when every visible file lies two or more folders deep under one common top folder
    (``pets/dogs/1.jpg``), else 0."""
    visible = [f for f in files if not _hidden(f)]
    tops = {f.split("/")[0] for f in visible}
    if len(tops) == 1 and all(f.count("/") >= 2 for f in visible):
        return 1
    return 0


def _read_capped(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int) -> bytes | None:
    """The member's bytes, or None when it inflates past ``limit`` (read stops there)."""
    with archive.open(entry) as member:
        content = member.read(limit + 1)
    return None if len(content) > limit else content


def _decoded(
    files: list[tuple[str, str, bytes]],
    skipped: list[Skipped],
    folders: set[str],
    max_images: int,
    max_classes: int,
) -> ImageFolder:
    if len(files) > max_images:
        raise DatasetError(
            f"There are {len(files):,} files; the limit is {max_images:,} images. A few dozen "
            "per class are enough to see transfer learning work."
        )
    classes_of: dict[str, set[str]] = {}
    for _, label, content in files:
        classes_of.setdefault(hashlib.sha256(content).hexdigest(), set()).add(label)
    decoded: list[tuple[str, Image.Image]] = []
    seen: set[tuple[str, str]] = set()
    for name, label, content in files:
        digest = hashlib.sha256(content).hexdigest()
        if len(classes_of[digest]) > 1:
            others = ", ".join(sorted(classes_of[digest] - {label}))
            skipped.append(Skipped(name, f"the same image is also under {others}"))
            continue
        if (digest, label) in seen:
            skipped.append(Skipped(name, "it is a copy of another image in this class"))
            continue
        seen.add((digest, label))
        try:
            image = load_image(content)
        except ImageError as error:
            skipped.append(Skipped(name, str(error)))
            continue
        image.thumbnail((KEEP_SIDE, KEEP_SIDE))
        decoded.append((label, image))
    with_images = sorted({label for label, _ in decoded})
    for folder in sorted(folders - set(with_images)):
        skipped.append(Skipped(f"{folder}/", "the folder holds no usable image"))
    if len(with_images) > max_classes:
        raise DatasetError(
            f"There are {len(with_images)} classes; the limit is {max_classes}. Keep the classes "
            "you want to tell apart."
        )
    if len(with_images) < 2:
        found = f"only one class with images ({with_images[0]})" if with_images else "no image"
        raise DatasetError(
            f"Found {found}: a classifier needs at least two classes. Put each class's images in "
            "a folder of its own (dogs/, cats/) and zip the folders together."
        )
    index = {name: i for i, name in enumerate(with_images)}
    return ImageFolder(
        images=tuple(image for _, image in decoded),
        labels=tuple(index[label] for label, _ in decoded),
        classes=tuple(with_images),
        skipped=tuple(skipped),
    )
