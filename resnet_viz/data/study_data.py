"""What the gradient study feeds the networks: random noise, or real images with real labels.

Random inputs with random labels isolate the architecture: no property of the data can explain
a difference between the two networks, so that is the default. The synthetic shapes
(:mod:`resnet_viz.data.synthetic_shapes`) give a batch with structure and learnable labels,
which is closer to a real first training step.
"""

from __future__ import annotations

import torch

from ..core.spec import ResNetSpec, SpecError
from .synthetic_shapes import CLASSES, make_batch

DATA_SOURCES = {
    "random": "Random noise with random labels",
    "shapes": "Synthetic shapes with their labels",
}
SHAPES_SIDES = (16, 256)


def study_batch(
    source: str, spec: ResNetSpec, input_size: tuple[int, int, int], batch_size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The batch for :func:`resnet_viz.gradient_norms`, or None for its own random batch.

    Raises:
        SpecError: when the network cannot take the shapes images (they are square RGB images
            of 7 classes).
    """
    if source == "random":
        return None
    if source != "shapes":
        raise SpecError(f"Unknown data source {source!r}: choose one of {', '.join(DATA_SOURCES)}.")
    channels, height, width = input_size
    if channels != 3 or height != width:
        raise SpecError(
            "The synthetic shapes are square colour images: use 3 input channels and equal "
            f"height and width (now {channels}×{height}×{width})."
        )
    low, high = SHAPES_SIDES
    if not low <= height <= high:
        raise SpecError(
            f"The synthetic shapes are drawn at {low} to {high} px; this input is {height}."
        )
    if spec.num_classes < len(CLASSES):
        raise SpecError(
            f"The shapes have {len(CLASSES)} classes but this network has {spec.num_classes} "
            "outputs: raise its number of classes."
        )
    return make_batch(batch_size, size=height, seed=seed).to_tensors()
