"""Labelled image sets the project ships, so the transfer-learning page works with nothing uploaded.

- ``"shapes"``: fresh images of the synthetic shapes (:mod:`.synthetic_shapes`), drawn from seeds
  the demo model never saw in training or validation (at or above
  ``resnet_viz.training.demo_model.FRESH_SEED``; a test checks it), the same number per class.
  The demo model was trained on this task, so a linear probe on its features shows what a
  backbone that already knows the classes gives; a network trained from scratch on the same few
  images shows what pretraining is worth.
- ``"digits"``: the UCI handwritten digits (:mod:`.digits`, 8 x 8 grey images as RGB), the same
  number per class in the file's order: a task the demo model never saw (a domain shift), where
  its features transfer less well.

This module does not import streamlit.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..errors import DatasetError
from .digits import DIGITS_CLASSES, DIGITS_MAX_LEVEL, _digits_arrays
from .image_folder import ImageFolder
from .shape_geometry import CLASSES as SHAPE_CLASSES
from .synthetic_shapes import make_batch

__all__ = ["BUNDLED_SETS", "DEFAULT_PER_CLASS", "MAX_PER_CLASS", "SHAPES_SEED", "bundled_set"]

#: The sets, by key, with a label for the page.
BUNDLED_SETS = {
    "shapes": f"Synthetic shapes ({len(SHAPE_CLASSES)} classes, the demo model's task)",
    "digits": f"Handwritten digits ({len(DIGITS_CLASSES)} classes, new to the demo model)",
}
#: The first seed of the shapes drawn here (the demo model's fresh seeds start at 300,000).
SHAPES_SEED = 310_000
SHAPES_SIDE = 64
DEFAULT_PER_CLASS = 12
#: At most this many per class: the digits file has 174 of its rarest class.
MAX_PER_CLASS = 150


def bundled_set(name: str, per_class: int = DEFAULT_PER_CLASS) -> ImageFolder:
    """``per_class`` images of every class of the bundled set ``name``.

    Raises:
        DatasetError: an unknown name, or ``per_class`` outside 2 to :data:`MAX_PER_CLASS`.
    """
    if name not in BUNDLED_SETS:
        raise DatasetError(
            f"Unknown bundled set {name!r}: choose one of {', '.join(BUNDLED_SETS)}."
        )
    if (
        isinstance(per_class, bool)
        or not isinstance(per_class, int)
        or not 2 <= per_class <= MAX_PER_CLASS
    ):
        raise DatasetError(
            f"Images per class must be a whole number from 2 to {MAX_PER_CLASS}, got {per_class!r}."
        )
    if name == "shapes":
        pixels, labels = _shapes(per_class)
        classes = tuple(SHAPE_CLASSES)
    else:
        images, all_labels = _digits_arrays()
        index = _first_per_class(all_labels, len(DIGITS_CLASSES), per_class)
        grey = (images[index].astype(np.float32) * (255 / DIGITS_MAX_LEVEL)).round()
        pixels = np.repeat(grey.astype(np.uint8)[..., None], 3, axis=-1)
        labels = all_labels[index]
        classes = DIGITS_CLASSES
    return ImageFolder(
        images=tuple(Image.fromarray(p) for p in pixels),
        labels=tuple(int(label) for label in labels),
        classes=classes,
    )


def _first_per_class(labels: np.ndarray, classes: int, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` examples of each class, in their original order."""
    taken = [np.flatnonzero(labels == c)[:per_class] for c in range(classes)]
    return np.sort(np.concatenate(taken))


def _shapes(per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw batches from :data:`SHAPES_SEED` on until every class has ``per_class`` images."""
    images, labels = [], []
    seed = SHAPES_SEED
    while True:
        batch = make_batch(per_class * len(SHAPE_CLASSES) * 2, size=SHAPES_SIDE, seed=seed)
        images.append(batch.images)
        labels.append(batch.labels)
        all_labels = np.concatenate(labels)
        if np.bincount(all_labels, minlength=len(SHAPE_CLASSES)).min() >= per_class:
            index = _first_per_class(all_labels, len(SHAPE_CLASSES), per_class)
            return np.concatenate(images)[index], all_labels[index]
        seed += 1
