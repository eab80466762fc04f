"""The images of a training run prepared once, as uint8: the evaluation view (the weights' own
transform) and the training square from which each epoch takes a random crop, flipped half the
time (:mod:`resnet_viz.training.transfer` documents the recipe).

This module does not import streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision.transforms.v2 import functional as TF  # noqa: N812 (torchvision convention)

from ..data.image_folder import ImageFolder
from ..data.images import center_crop_for_display
from ..data.split import Split
from ..weights.common import Preprocessing

#: The training view's square side for a model that squashes its input, as a multiple of its
#: input side (ImageNet's 256 for 224).
SQUASHED_MARGIN = 8 / 7


def train_side(preprocessing: Preprocessing) -> int:
    if preprocessing.resize is not None:
        return preprocessing.resize
    return round(preprocessing.size * SQUASHED_MARGIN)


@dataclass(frozen=True)
class PreparedPixels:
    """The images prepared once, as uint8, and only the views a run reads: the evaluation view
    of the validation images (and of the training images for a probe, whose head trains on
    them), the training square of the training images (not for a probe)."""

    train_view: dict[int, torch.Tensor]  # image index -> C x R x R
    eval_view: dict[int, torch.Tensor]  # image index -> C x S x S
    size: int
    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def of(cls, data: ImageFolder, preprocessing: Preprocessing, split: Split,
           mode: str) -> PreparedPixels:  # fmt: skip
        side = train_side(preprocessing)
        size = preprocessing.size

        def uint8(index: int, crop: int, resize: int | None):
            image = data.images[index]
            return TF.pil_to_tensor(center_crop_for_display(image, size=crop, resize=resize))

        # A squashing model's square is the whole image squashed to R x R (resize=None).
        keep = side if preprocessing.resize is not None else None
        probe = mode == "probe"
        evaluated = (*split.train, *split.validation) if probe else split.validation
        shape = (1, -1, 1, 1)
        return cls(
            train_view={} if probe else {i: uint8(i, side, keep) for i in split.train},
            eval_view={i: uint8(i, size, preprocessing.resize) for i in evaluated},
            size=size,
            mean=torch.tensor(preprocessing.mean).view(shape),
            std=torch.tensor(preprocessing.std).view(shape),
        )

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        # As :func:`resnet_viz.data.images.preprocess`: divide by 255, then normalise.
        return (pixels.to(torch.float32).div(255) - self.mean) / self.std

    def evaluation(self, index: torch.Tensor) -> torch.Tensor:
        return self.normalise(torch.stack([self.eval_view[i] for i in index.tolist()]))

    def augmented(self, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Random ``size`` crops of the training squares, half of them flipped left-right."""
        side = side_of(self.train_view)
        room = side - self.size + 1
        offsets = torch.randint(0, room, (len(index), 2), generator=generator)
        flips = torch.rand(len(index), generator=generator) < 0.5
        crops = []
        for i, (top, left), flip in zip(index.tolist(), offsets.tolist(), flips.tolist(),
                                        strict=True):  # fmt: skip
            crop = self.train_view[i][:, top : top + self.size, left : left + self.size]
            crops.append(crop.flip(-1) if flip else crop)
        return self.normalise(torch.stack(crops))


def side_of(views: dict[int, torch.Tensor]) -> int:
    return next(iter(views.values())).shape[-1]
