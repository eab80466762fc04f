"""The UCI handwritten digits: a small real task that networks learn in seconds on a CPU.

scikit-learn's copy of the UCI "Optical Recognition of Handwritten Digits" test set (Alpaydin &
Kaynak 1998): 1,797 images of 8x8 pixels with 17 grey levels (0-16), 10 classes. It is shipped
as ``assets/digits.npz`` (45 KB; the UCI data is CC BY 4.0, see ``assets/DIGITS_LICENSE.md``),
so nothing is downloaded and scikit-learn is not a dependency. The degradation experiment and
the lesion study train on it (:mod:`resnet_viz.experiments.degradation`,
:mod:`resnet_viz.experiments.lesion`); at 8x8 an image costs 16 times less than a 32x32 one.

Order: the file's own (scikit-learn's); callers take the first ``n`` for training and the ones
after them as held-out images.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from ..assets import ASSETS_DIR

DIGITS_PATH = ASSETS_DIR / "digits.npz"

#: The digits' classes, in label order.
DIGITS_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
#: Images in the file.
DIGITS_COUNT = 1797
#: Side of an image, in pixels.
DIGITS_SIZE = 8
#: Largest grey level (pixels are 0..16).
DIGITS_MAX_LEVEL = 16
#: Mean and standard deviation of all 1,797 digits' pixels scaled to [0, 1] (a test recomputes
#: them from the shipped file).
DIGITS_MEAN = 0.30526
DIGITS_STD = 0.37605


@cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DIGITS_PATH) as data:
        images, labels = data["images"], data["labels"]
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def load_digits(n: int | None = None, image_size: int = DIGITS_SIZE) -> tuple[torch.Tensor, ...]:
    """The first ``n`` digits (all 1,797 by default) as ``(x, y)``: float32 N x 1 x S x S,
    normalised with :data:`DIGITS_MEAN`/:data:`DIGITS_STD`, upsampled by nearest neighbour to
    ``image_size``; int64 labels."""
    images, labels = _digits_arrays()
    n = len(labels) if n is None else n
    x = torch.from_numpy(images[:n].astype(np.float32) / float(DIGITS_MAX_LEVEL)).unsqueeze(1)
    x = (x - DIGITS_MEAN) / DIGITS_STD
    if image_size != DIGITS_SIZE:
        x = F.interpolate(x, size=(image_size, image_size), mode="nearest")
    return x.contiguous(), torch.from_numpy(labels[:n].astype(np.int64))
